"""RiskCore without threads or actors: given a message and the time, the effects it
returns (orders sent on to the gateway, refusals, directives, warnings, breakers, the
kill switch, keyed timers, and ExposureChanged whenever the exposure changes)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from decimal import Decimal as D

import pytest

from actors.risk import RiskCore, TradingState
from actors.risk._core import (
    GATEWAY,
    RiskFlattenTimeoutDue,
    RiskHybridCheckDue,
    RiskRetryCancelAllDue,
    RiskUnpauseDue,
)
from kernel.effects import ArmTimer, CancelTimer, Publish, Send
from messages import (
    AllOrdersCancelled,
    BalanceRead,
    BookUpdated,
    CancelAllOrders,
    CancelOrder,
    ExposureChanged,
    KillSwitchEngaged,
    KillSwitchReleased,
    MarketExposure,
    OrderRejected,
    RiskDirective,
    RiskStateChanged,
    RiskWarning,
    SessionStarted,
    SessionStopped,
    TradingStateChanged,
    TriggerRecorded,
)

from .factories import T0, TICKER, accepted, book_view, fill, place, updated

S = 1_000_000_000
MINUTE = 60 * S
OTHER = "KXOTHER-26JAN01-T50"


class Desk:
    """Drives a RiskCore as its shell would: keyed timers kept here, fired in time order
    (ties as kernel.clock breaks them: message type name, ticker, then arming order)."""

    def __init__(self, config, now=T0) -> None:
        self.core = RiskCore(config)
        self.now = now
        self.timers: dict[str, tuple[int, int, object]] = {}  # key -> (deadline, armed order, message)
        self.effects: list = []
        self._armed_order = itertools.count()
        self.last = self._carry(self.core.start(now))

    def _carry(self, effects: list) -> list:
        for effect in effects:
            if isinstance(effect, ArmTimer):
                self.timers[effect.key] = (effect.deadline_ns, next(self._armed_order), effect.message)
            elif isinstance(effect, CancelTimer):
                self.timers.pop(effect.key, None)
        self.effects.extend(effects)
        return effects

    def on(self, message) -> list:
        self.last = self._carry(self.core.handle(message, self.now))
        return self.last

    def run_for(self, seconds: float) -> None:
        until = self.now + int(seconds * S)
        while True:
            due = [
                (deadline, type(m).__name__, getattr(m, "ticker", ""), order, key)
                for key, (deadline, order, m) in self.timers.items()
                if deadline <= until
            ]
            if not due:
                break
            deadline, *_, key = min(due)
            _, _, message = self.timers.pop(key)
            self.now = max(self.now, deadline)
            self.on(message)
        self.now = until

    # -- what came out -----------------------------------------------------------------
    def published(self, kind=object) -> list:
        return [e.message for e in self.effects if isinstance(e, Publish) and isinstance(e.message, kind)]

    def sent(self, kind=object) -> list:
        return [e.message for e in self.effects if isinstance(e, Send) and isinstance(e.message, kind)]

    def actions(self) -> list[str]:
        return [d.action for d in self.published(RiskDirective)]

    def warnings(self, kind: str) -> list:
        return [w for w in self.published(RiskWarning) if w.kind == kind]

    # -- what goes in --------------------------------------------------------------------
    def session(self, session_id="s1", ticker=TICKER) -> None:
        self.on(SessionStarted(session_id=session_id, ticker=ticker, reason="test", ts=self.now))

    def book(self, bid: str, ask: str, ticker=TICKER) -> None:
        view = book_view(bids=((bid, 10),), asks=((ask, 10),), ticker=ticker)
        self.on(BookUpdated(ticker=ticker, book=view, ts_event=self.now, ts_recv=self.now))

    def filled(self, side: str, price: str, count, fill_id: str) -> None:
        self.on(fill(side, price, count, fill_id=fill_id, order_id=f"o-{fill_id}", ts=self.now))

    def refusal(self, cid: str, side: str, price: str, count) -> str:
        """The refusal code of a place ("" when it was sent on to the gateway)."""
        effects = self.on(place(cid, side, price, count))
        sent = [e for e in effects if isinstance(e, Send)]
        assert [e.to for e in sent] == [GATEWAY]
        return sent[0].message.code if isinstance(sent[0].message, OrderRejected) else ""


@pytest.fixture
def desk(risk_config):
    desk = Desk(risk_config)
    desk.session()
    return desk


# -- the hybrid policy ------------------------------------------------------------------
def test_a_position_held_past_the_duration_limit_is_ordered_flat_when_its_timer_comes_due(desk):
    desk.book("0.50", "0.52")  # mid 0.51
    desk.filled("bid", "0.48", 12, "f1")
    assert desk.timers[f"hybrid:{TICKER}"][0] == T0 + 41 * MINUTE + 40 * S + 1  # 12 x 41m40s = 500, exceeded 1 ns on

    desk.run_for(41 * 60 + 39)
    assert desk.published(TriggerRecorded) == []
    desk.run_for(2)

    [trigger] = desk.published(TriggerRecorded)
    assert (trigger.session_id, trigger.reason, trigger.position_before) == ("s1", "duration_weighted_500", D(12))
    assert (trigger.exit_price, trigger.pnl_from_flatten, trigger.ts) == (D("0.51"), D("0.36"), T0 + 41 * MINUTE + 40 * S + 1)
    [flatten] = desk.published(RiskDirective)
    assert (flatten.ticker, flatten.action, flatten.reason) == (TICKER, "flatten", "duration_weighted_500")
    assert desk.refusal("more", "bid", "0.47", 1) == "market_reducing"
    assert desk.refusal("exit", "ask", "0.50", 12) == ""


def test_an_adverse_excursion_held_through_its_window_is_ordered_flat_with_no_new_data(desk):
    desk.filled("bid", "0.52", 10, "f1")
    desk.book("0.42", "0.44")  # mid 0.43: 9 cents against, the 8 s window opens
    opened = desk.now

    desk.run_for(7)
    assert desk.published(TriggerRecorded) == []
    desk.run_for(2)

    [trigger] = desk.published(TriggerRecorded)
    assert (trigger.reason, trigger.ts) == ("mae_9c_persisted_8s", opened + 8 * S)
    assert desk.actions() == ["flatten"]


def test_an_excursion_that_recovers_inside_its_window_disarms_the_check(desk):
    desk.filled("bid", "0.52", 10, "f1")
    desk.book("0.42", "0.44")
    desk.run_for(6)

    desk.book("0.47", "0.49")  # 4 cents: recovered
    desk.run_for(30)

    assert desk.published(TriggerRecorded) == []


def test_a_flatten_nobody_completes_is_warned_and_ordered_again_each_time_it_runs_out(desk, risk_config):
    desk.book("0.50", "0.52")
    desk.filled("bid", "0.48", 12, "f1")
    desk.run_for(42 * 60)
    flattened_at = desk.published(TriggerRecorded)[0].ts
    assert desk.timers[f"flatten-timeout:{TICKER}"][0] == flattened_at + 120 * S

    desk.run_for(risk_config.flatten_timeout_s)  # the maker never exits

    [incomplete] = desk.warnings("flatten_incomplete")
    assert incomplete.reason == "flatten duration_weighted_500 incomplete: not flat after 120s, position 12 left"
    assert desk.actions() == ["flatten", "flatten"]
    assert len(desk.published(TriggerRecorded)) == 2
    assert desk.timers[f"flatten-timeout:{TICKER}"][0] == flattened_at + 240 * S  # and again if need be

    desk.run_for(risk_config.flatten_timeout_s)

    assert len(desk.warnings("flatten_incomplete")) == 2
    assert desk.actions() == ["flatten", "flatten", "flatten"]


def test_a_flatten_whose_session_ended_is_told_to_the_next_session(desk):
    desk.book("0.50", "0.52")
    desk.filled("bid", "0.48", 12, "f1")
    desk.run_for(42 * 60)
    desk.on(SessionStopped(session_id="s1", ticker=TICKER, reason="exit gave up", ts=desk.now))
    assert [t.session_id for t in desk.published(TriggerRecorded)] == ["s1", ""]  # judged again, no session
    assert f"flatten-timeout:{TICKER}" not in desk.timers  # nobody to carry it out yet

    desk.session("s2")

    assert desk.actions()[-1] == "flatten"
    assert f"flatten-timeout:{TICKER}" in desk.timers


def test_a_flatten_ends_when_the_position_is_flat_and_the_market_may_trade_again(desk):
    desk.book("0.50", "0.52")
    desk.filled("bid", "0.48", 12, "f1")
    desk.run_for(42 * 60)

    desk.filled("ask", "0.50", 12, "f2")

    assert desk.actions() == ["flatten", "resume"]
    assert [e for e in desk.last if isinstance(e, CancelTimer)] == [CancelTimer(f"flatten-timeout:{TICKER}")]
    assert desk.refusal("again", "bid", "0.47", 1) == ""


# -- breakers and warnings -----------------------------------------------------------------
def test_drawdown_warns_on_the_way_down_and_moves_to_reducing_at_the_limit(risk_config):
    desk = Desk(replace(risk_config, max_drawdown_dollars=D("1.00"), daily_loss_limit_dollars=D("50")))
    desk.session()
    desk.filled("bid", "0.50", 10, "f1")
    desk.book("0.59", "0.61")  # +1.00: the peak

    desk.book("0.54", "0.56")  # 0.50 below the peak
    assert [w.level for w in desk.warnings("drawdown")] == [D("0.5")]
    assert desk.published(RiskStateChanged) == []
    desk.book("0.49", "0.51")  # 1.00 below the peak

    assert [w.level for w in desk.warnings("drawdown")] == [D("0.5"), D("1.0")]
    [state] = desk.published(RiskStateChanged)
    assert (state.state, state.reason) == (TradingState.REDUCING, "drawdown $1.00 reached the $1.00 limit")
    assert [(d.action, d.reason) for d in desk.published(RiskDirective)] == [("end_session", "drawdown")]
    assert desk.refusal("adds", "bid", "0.40", 1) == "reducing_only"
    assert desk.refusal("exits", "ask", "0.50", 5) == ""


def test_the_daily_loss_limit_halts_cancels_every_order_and_ends_every_session(risk_config):
    desk = Desk(replace(risk_config, daily_loss_limit_dollars=D("2.00"), max_drawdown_dollars=D("50")))
    desk.session()
    desk.book("0.49", "0.51")
    desk.filled("bid", "0.50", 10, "f1")

    desk.book("0.39", "0.41")  # -1.00
    assert [w.level for w in desk.warnings("daily_loss")] == [D("0.5")]
    desk.book("0.29", "0.31")  # -2.00

    assert [w.level for w in desk.warnings("daily_loss")] == [D("0.5"), D("1.0")]
    assert [s.state for s in desk.published(RiskStateChanged)] == [TradingState.HALTED]
    [cancel_all] = desk.sent(CancelAllOrders)
    assert (cancel_all.ticker, cancel_all.reason) == (None, "risk: daily_loss $2.00 reached the $2.00 limit")
    assert [(d.action, d.reason) for d in desk.published(RiskDirective)] == [("end_session", "daily_loss")]
    assert desk.refusal("exits", "ask", "0.30", 5) == "halted"


def test_a_resume_lifts_the_breakers_and_measures_the_loss_again_from_there(risk_config):
    desk = Desk(replace(risk_config, max_drawdown_dollars=D("1.00"), daily_loss_limit_dollars=D("50")))
    desk.filled("bid", "0.50", 10, "f1")
    desk.book("0.59", "0.61")
    desk.book("0.49", "0.51")  # REDUCING

    desk.last = desk._carry(desk.core.release_kill_switch("operator accepts the loss", desk.now))
    desk.book("0.45", "0.47")  # 0.40 below the new peak

    assert [(s.state, s.reason) for s in desk.published(RiskStateChanged)] == [
        (TradingState.REDUCING, "drawdown $1.00 reached the $1.00 limit"),
        (TradingState.ACTIVE, "resumed: operator accepts the loss"),
    ]
    assert desk.published(KillSwitchReleased) == []  # it was not engaged


# -- the kill switch ---------------------------------------------------------------------
def test_the_kill_switch_halts_cancels_all_pauses_sessions_and_only_a_release_lifts_it(desk):
    effects = desk._carry(desk.core.engage_kill_switch("desk says stop", desk.now))

    assert [type(e.message) for e in effects if isinstance(e, Publish | Send)] == [
        RiskStateChanged, CancelAllOrders, KillSwitchEngaged, RiskDirective, ExposureChanged,
    ]
    assert desk.sent(CancelAllOrders)[0].reason == "kill switch: desk says stop"
    assert [(d.action, d.ticker) for d in desk.published(RiskDirective)] == [("pause", TICKER)]
    assert desk.core.kill_switch_status()["engaged"] is True
    assert desk.refusal("during", "bid", "0.40", 1) == "halted"
    desk._carry(desk.core.set_trading_state(TradingState.ACTIVE, "not a resume", desk.now))
    assert desk.refusal("still", "bid", "0.40", 1) == "halted"

    desk._carry(desk.core.release_kill_switch("operator resume", desk.now))

    assert [k.reason for k in desk.published(KillSwitchReleased)] == ["operator resume"]
    assert desk.actions() == ["pause", "resume"]
    assert [s.state for s in desk.published(RiskStateChanged)] == [TradingState.HALTED, TradingState.ACTIVE]
    assert desk.refusal("after", "bid", "0.40", 1) == ""


def test_a_kill_switch_engaged_elsewhere_halts_without_announcing_it_again(desk):
    desk.on(KillSwitchEngaged(reason="from the bus", ts=desk.now))
    desk.on(KillSwitchEngaged(reason="from the bus", ts=desk.now))  # our own announcement, back

    assert desk.published(KillSwitchEngaged) == []
    assert [c.reason for c in desk.sent(CancelAllOrders)] == ["kill switch: from the bus"]
    desk.on(KillSwitchReleased(reason="resumed elsewhere", ts=desk.now))
    assert desk.core.governor.state == TradingState.ACTIVE


def test_a_session_started_under_the_kill_switch_is_paused_at_once(risk_config):
    desk = Desk(risk_config)
    desk._carry(desk.core.engage_kill_switch("operator", desk.now))

    desk.session("s9", OTHER)

    [pause] = desk.published(RiskDirective)
    assert (pause.ticker, pause.action, pause.reason) == (OTHER, "pause", "kill switch: operator")


def test_while_halted_a_late_resting_order_is_cancelled_and_a_partial_cancel_all_retried(desk, risk_config):
    late = place("in-flight", "bid", "0.40", 5)
    desk._carry(desk.core.engage_kill_switch("operator", desk.now))

    desk.on(accepted(late, "ex-late"))  # placed before the kill, acknowledged after it
    [cancel] = desk.sent(CancelOrder)
    assert (cancel.order_id, cancel.client_order_id, cancel.reason) == ("ex-late", "in-flight", "kill switch: resting while halted")

    desk.on(AllOrdersCancelled(reason="kill switch: operator", cancelled=0, still_resting=1, ts_recv=desk.now))
    retry_at = desk.now + int(risk_config.kill_cancel_retry_s * S)
    assert desk.timers["cancel-all-retry"][0] == retry_at
    desk.run_for(1)
    desk.on(AllOrdersCancelled(reason="kill switch: operator", cancelled=0, still_resting=1, ts_recv=desk.now))
    assert desk.timers["cancel-all-retry"][0] == retry_at  # one retry armed, not pushed back
    desk.run_for(1)

    assert [c.reason for c in desk.sent(CancelAllOrders)] == ["kill switch: operator", "kill switch: operator (retry)"]


def test_a_resume_drops_a_pending_cancel_all_retry(desk):
    desk._carry(desk.core.engage_kill_switch("operator", desk.now))
    desk.on(AllOrdersCancelled(reason="kill switch: operator", cancelled=0, still_resting=2, ts_recv=desk.now))

    effects = desk._carry(desk.core.release_kill_switch("operator", desk.now))
    desk.run_for(10)

    assert CancelTimer("cancel-all-retry") in effects
    assert len(desk.sent(CancelAllOrders)) == 1


# -- the fill-rate limiter ------------------------------------------------------------------
def test_fills_over_the_rate_limit_pause_the_market_until_the_pause_runs_out(desk):
    desk.filled("bid", "0.90", 10, "f1")  # $9.00
    desk.filled("ask", "0.90", 10, "f2")  # $18.00
    paused_at = desk.now
    desk.filled("bid", "0.90", 3, "f3")  # $20.70 in the minute

    [pause] = desk.published(RiskDirective)
    assert (pause.action, pause.until_ts) == ("pause", paused_at + 120 * S)
    [warning] = desk.warnings("fill_rate")
    assert warning.level == D("20.70") / D("20")
    assert desk.refusal("during", "bid", "0.40", 1) == "market_paused"

    desk.run_for(120)

    assert desk.actions() == ["pause", "resume"]
    assert desk.refusal("after", "bid", "0.40", 1) == ""


def test_the_fill_rate_limiter_pauses_again_once_its_window_came_back_under_the_limit(desk):
    for n, side in enumerate(("bid", "ask", "bid")):
        desk.filled(side, "0.90", 10 if n < 2 else 3, f"a{n}")
    desk.run_for(120)  # paused, then resumed; the window emptied meanwhile

    for n, side in enumerate(("ask", "bid", "ask")):
        desk.filled(side, "0.90", 10 if n < 2 else 3, f"b{n}")

    assert desk.actions() == ["pause", "resume", "pause"]
    assert len(desk.warnings("fill_rate")) == 2


def test_a_fill_reported_twice_counts_once_towards_the_fill_rate(desk):
    desk.filled("bid", "0.90", 12, "f1")  # $10.80
    desk.filled("bid", "0.90", 12, "f1")  # the REST reconcile's copy

    assert desk.actions() == []
    assert desk.core.governor.position(TICKER) == D(12)


# -- what is published about the exposure --------------------------------------------------
def test_the_exposure_is_published_once_at_start_with_nothing_in_it(risk_config):
    desk = Desk(risk_config, now=T0)

    assert desk.last == [
        Publish(ExposureChanged(markets=(), resting_order_value=D(0), global_exposure=D(0), state="ACTIVE", ts=T0,
                                market_budget=risk_config.per_market_budget_dollars,
                                category_budget=risk_config.per_category_budget_dollars,
                                global_budget=risk_config.global_budget_dollars))
    ]


def test_a_session_start_publishes_the_exposure_again_for_its_new_maker(desk):
    """The new maker subscribed after the last ExposureChanged: it sizes its first quotes
    to the room the other markets leave only if it hears the view again."""
    desk.on(place("b1", "bid", "0.40", 5, ticker="KXOTHER-26JAN01-T50"))
    before = desk.published(ExposureChanged)[-1]

    desk.session("s2")

    again = desk.published(ExposureChanged)[-1]
    assert again is not before and (again.markets, again.global_exposure) == (before.markets, before.global_exposure)
    assert again.category_budget == desk.core.config.per_category_budget_dollars


def test_exposure_changed_goes_out_only_when_the_exposure_changes(desk):
    order = place("b1", "bid", "0.40", 5)

    assert desk.on(order)[-1] == Publish(
        ExposureChanged(
            markets=(
                MarketExposure(
                    ticker=TICKER, position=D(0), resting_orders=1, resting_order_value=D("2.00"), exposure=D("2.00")
                ),
            ),
            resting_order_value=D("2.00"),
            global_exposure=D("2.00"),
            state="ACTIVE",
            ts=desk.now,
            market_budget=desk.core.config.per_market_budget_dollars,
            category_budget=desk.core.config.per_category_budget_dollars,
            global_budget=desk.core.config.global_budget_dollars,
        )
    )
    acknowledged = desk.on(accepted(order, "ex-b1"))  # acknowledged as admitted: no exposure changed
    assert [type(e.message) for e in acknowledged] == [TradingStateChanged]  # the ledger's word only
    desk.book("0.40", "0.42")
    assert desk.last == []  # a book moves no exposure
    assert desk.refusal("too-close", "ask", "0.40", 5) == "min_spread"
    assert desk.published(ExposureChanged)[-1].global_exposure == D("2.00")
    assert len(desk.published(ExposureChanged)) == 3  # at start, again for the session's maker, then the order

    desk.on(fill("bid", "0.40", 2, fill_id="f1", order_id="ex-b1", client_order_id="b1", ts=desk.now))

    [market] = desk.published(ExposureChanged)[-1].markets
    assert (market.position, market.resting_orders, market.resting_order_value) == (D(2), 1, D("1.20"))


def test_exposure_changed_carries_the_trading_state(desk):
    desk._carry(desk.core.engage_kill_switch("operator", desk.now))

    assert desk.published(ExposureChanged)[-1].state == TradingState.HALTED


def test_a_breaker_tripped_by_a_book_publishes_the_new_state_with_the_same_markets(risk_config):
    desk = Desk(replace(risk_config, max_drawdown_dollars=D("1.00"), daily_loss_limit_dollars=D("50")))
    desk.filled("bid", "0.50", 10, "f1")
    desk.book("0.59", "0.61")
    before = desk.published(ExposureChanged)[-1]

    desk.book("0.49", "0.51")  # REDUCING

    after = desk.published(ExposureChanged)[-1]
    assert (after.state, after.markets, after.global_exposure) == (TradingState.REDUCING, before.markets, before.global_exposure)
    assert after.markets == desk.core.exposure_changed(desk.now).markets


def test_exposure_changed_mirrors_the_snapshot_with_fills_reported_but_not_yet_seen(desk):
    desk.on(place("b1", "bid", "0.40", 5))
    desk.on(place("o1", "bid", "0.30", 4, ticker=OTHER))
    desk.on(updated("ex-b1", "b1", price="0.40", filled="5", remaining="0", status="executed"))  # its fills trail

    published = desk.published(ExposureChanged)[-1]
    snapshot = desk.core.exposure_snapshot()
    assert [m.ticker for m in published.markets] == sorted([TICKER, OTHER])
    for market in published.markets:
        seen = snapshot["markets"][market.ticker]
        assert (market.position, market.resting_orders, market.resting_order_value, market.exposure) == (
            seen["position"], seen["resting_orders"], seen["resting_order_value"], seen["exposure"],
        )
    assert published.resting_order_value == snapshot["totals"]["resting_order_value"]
    assert published.global_exposure == snapshot["totals"]["exposure"]
    assert {m.ticker: m.position for m in published.markets} == {TICKER: D(5), OTHER: D(0)}


def test_a_market_with_nothing_left_leaves_the_published_exposure(desk):
    desk.filled("bid", "0.40", 3, "f1")
    assert [m.ticker for m in desk.published(ExposureChanged)[-1].markets] == [TICKER]

    desk.filled("ask", "0.45", 3, "f2")

    assert desk.published(ExposureChanged)[-1].markets == ()


# -- the balance ---------------------------------------------------------------------------
def test_a_balance_read_is_what_orders_are_checked_against(desk):
    assert desk.on(BalanceRead(available=D("3.00"), ts=desk.now)) == []

    assert desk.refusal("too-big", "bid", "0.50", 8) == "insufficient_balance"  # $4.00 of collateral
    assert desk.refusal("fits", "bid", "0.50", 4) == ""  # $2.00
    assert desk.core.status(desk.now)["available_balance"] == "1.00"
    desk.on(BalanceRead(available=D("10.00"), ts=desk.now))  # a later read replaces it
    assert desk.refusal("now-fits", "bid", "0.40", 5) == ""


# -- timers ----------------------------------------------------------------------------------
def test_risk_timers_due_together_keep_the_order_the_single_timer_style_had():
    # formerly TimerFired "risk:flatten-timeout:", "risk:hybrid:", "risk:kill-cancel-retry",
    # "risk:unpause:": ties break on the type name now, so the names must sort the same way
    names = [RiskFlattenTimeoutDue.__name__, RiskHybridCheckDue.__name__, RiskRetryCancelAllDue.__name__, RiskUnpauseDue.__name__]

    assert names == sorted(names)


def test_each_timer_message_names_the_key_it_was_armed_under(desk):
    desk.filled("bid", "0.90", 10, "f1")
    desk.filled("ask", "0.90", 10, "f2")
    desk.filled("bid", "0.90", 3, "f3")

    for key, (_, _, message) in desk.timers.items():
        assert desk.core.timer_key(message) == key
    assert desk.core.timer_key(object()) is None


def test_a_command_passed_on_alone_is_only_its_send_and_recording_it_gives_the_rest_of_handle(risk_config):
    """The shell sends the command on before risk records it (pass_on, then record): the
    two give exactly what handle gives, in its order."""
    whole, split = Desk(risk_config), Desk(risk_config)
    for desk in (whole, split):
        desk.session()
        desk.book("0.40", "0.60")
    huge = place("c2", "bid", "0.50", 10**6)  # refused: the refusal is the whole of it
    cancel = CancelOrder(order_id="", client_order_id="c1", ticker=TICKER, ts=T0, reason="test")
    for command in (place("c1", "bid", "0.45", 5), huge, cancel, CancelAllOrders(reason="test", ts=T0)):
        expected = whole.on(command)
        passed = split.core.pass_on(command, split.now)
        assert passed == [e for e in expected if isinstance(e, Send)][:1] == expected[:1]
        assert passed + split.core.record(split.now) == expected
