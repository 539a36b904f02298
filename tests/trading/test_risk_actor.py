"""The risk governor actor on a replay clock: policy flattens on timers, the fill-rate
pause, breakers, warnings and the kill switch, as the rest of the daemon sees them."""

from dataclasses import replace
from decimal import Decimal as D

import pytest

from actors._base import MmdActor, handles
from actors.risk import RiskGovernorActor, TradingState
from messages import (
    AllOrdersCancelled,
    BalanceRead,
    BookUpdated,
    CancelAllOrders,
    CancelOrder,
    ExposureChanged,
    KillSwitchEngaged,
    KillSwitchReleased,
    MakerFinished,
    MarketLifecycleChanged,
    OrderRejected,
    PlaceOrder,
    RiskDirective,
    RiskStateChanged,
    RiskWarning,
    SessionStarted,
    SessionStopped,
    TriggerRecorded,
)

from .factories import T0, TICKER, accepted, book_view, fill, place, updated
from .factories import cancelled as cancelled_message

S = 1_000_000_000
MINUTE = 60 * S
WATCHED = (RiskDirective, TriggerRecorded, RiskWarning, RiskStateChanged, KillSwitchEngaged, KillSwitchReleased, OrderRejected)


class RiskEvents(MmdActor):
    def __init__(self, **wiring) -> None:
        super().__init__(**wiring)
        self.seen: list = []

    @handles(*WATCHED, ExposureChanged)
    def _record(self, message) -> None:
        self.seen.append(message)

    def messages(self) -> list:
        return list(self.seen)


@pytest.fixture
def events(harness):
    ref = RiskEvents.start(**harness.wiring)
    for message_type in WATCHED:
        harness.bus.subscribe(ref, message_type)
    return ref


def seen(events, kind):
    return [m for m in events.proxy().messages().get() if isinstance(m, kind)]


def start_risk(harness, gateway, config, **kwargs):
    ref = RiskGovernorActor.start(**harness.wiring, config=config, order_gateway=gateway, **kwargs)
    harness.quiet()
    return ref


@pytest.fixture
def risk(harness, gateway, risk_config):
    ref = start_risk(harness, gateway, risk_config)
    harness.publish(SessionStarted(session_id="s1", ticker=TICKER, reason="test", ts=harness.clock.now_ns()))
    return ref


def book(harness, bid, ask):
    now = harness.clock.now_ns()
    harness.publish(BookUpdated(ticker=TICKER, book=book_view(bids=((bid, 10),), asks=((ask, 10),)), ts_event=now, ts_recv=now))


def filled(harness, side, price, count, fill_id, fee="0"):
    now = harness.clock.now_ns()
    harness.publish(fill(side, price, count, fee=fee, fill_id=fill_id, order_id=f"o-{fill_id}", ts=now))


def refusal_code(harness, gateway, risk, events, cid, side, price, count):
    harness.tell(risk, place(cid, side, price, count))
    refusals = [r for r in seen(events, OrderRejected) if r.client_order_id == cid]
    return refusals[0].code if refusals else ""


def test_a_position_held_past_the_duration_limit_is_flattened_on_the_timer(harness, gateway, risk, events):
    book(harness, "0.50", "0.52")  # mid 0.51
    filled(harness, "bid", "0.48", 12, "f1")

    harness.run_for(41 * 60 + 39)  # 12 x 41m39s = 499.8 contract-minutes
    assert seen(events, TriggerRecorded) == []
    harness.run_for(2)  # the limit is passed at 41m40s (+1 ns)

    [trigger] = seen(events, TriggerRecorded)
    assert (trigger.session_id, trigger.reason, trigger.position_before) == ("s1", "duration_weighted_500", D(12))
    assert (trigger.vwap, trigger.exit_price, trigger.pnl_from_flatten) == (D("0.48"), D("0.51"), D("0.36"))
    assert trigger.ts == T0 + 41 * MINUTE + 40 * S + 1
    [directive] = [d for d in seen(events, RiskDirective) if d.action == "flatten"]
    assert (directive.ticker, directive.reason) == (TICKER, "duration_weighted_500")


def test_after_a_flatten_the_market_takes_only_exits_until_flat_then_resumes(harness, gateway, risk, events):
    book(harness, "0.50", "0.52")
    filled(harness, "bid", "0.48", 12, "f1")
    harness.run_for(42 * 60)

    assert refusal_code(harness, gateway, risk, events, "more", "bid", "0.47", 1) == "market_reducing"
    assert refusal_code(harness, gateway, risk, events, "exit", "ask", "0.50", 12) == ""
    filled(harness, "ask", "0.50", 12, "f2")

    assert [d.action for d in seen(events, RiskDirective)] == ["flatten", "resume"]
    assert refusal_code(harness, gateway, risk, events, "again", "bid", "0.47", 1) == ""


def test_a_goal_spike_that_recovers_inside_8_seconds_never_triggers(harness, gateway, risk, events):
    filled(harness, "bid", "0.52", 10, "f1")
    book(harness, "0.42", "0.44")  # mid 0.43: 9 cents against
    harness.run_for(6)
    book(harness, "0.47", "0.49")  # mid 0.48: 4 cents, recovered
    harness.run_for(3)
    book(harness, "0.50", "0.52")
    harness.run_for(30)

    assert seen(events, TriggerRecorded) == []


def test_a_sustained_break_triggers_when_the_8_second_window_elapses(harness, gateway, risk, events):
    filled(harness, "bid", "0.52", 10, "f1")
    book(harness, "0.42", "0.44")  # 9 cents: the window opens
    start = harness.clock.now_ns()
    harness.run_for(4)
    book(harness, "0.39", "0.41")  # 12 cents
    harness.run_for(2)
    book(harness, "0.37", "0.39")  # 14 cents, and it stays there
    harness.run_for(5)

    [trigger] = seen(events, TriggerRecorded)
    assert trigger.ts == start + 8 * S  # fired by the window's timer, with no new data
    assert (trigger.reason, trigger.exit_price, trigger.pnl_from_flatten) == ("mae_14c_persisted_8s", D("0.38"), D("-1.40"))


def test_more_than_20_dollars_of_fills_a_minute_pauses_the_market_for_120_seconds(harness, gateway, risk, events):
    filled(harness, "bid", "0.90", 10, "f1")  # $9.00
    filled(harness, "ask", "0.90", 10, "f2")  # $18.00
    paused_at = harness.clock.now_ns()
    filled(harness, "bid", "0.90", 3, "f3")  # $20.70

    [pause] = [d for d in seen(events, RiskDirective) if d.action == "pause"]
    assert pause.until_ts == paused_at + 120 * S
    [warning] = [w for w in seen(events, RiskWarning) if w.kind == "fill_rate"]
    assert (warning.ticker, warning.level) == (TICKER, D("20.70") / D("20"))
    assert refusal_code(harness, gateway, risk, events, "during", "bid", "0.40", 1) == "market_paused"

    harness.run_for(120)

    assert [d.action for d in seen(events, RiskDirective)] == ["pause", "resume"]
    assert refusal_code(harness, gateway, risk, events, "after", "bid", "0.40", 1) == ""


def test_position_alert_at_80_percent_of_the_position_limit(harness, gateway, risk_config, events):
    start_risk(harness, gateway, replace(risk_config, max_position_contracts=20))
    filled(harness, "bid", "0.10", 15, "f1")
    assert [w for w in seen(events, RiskWarning) if w.kind == "position"] == []

    filled(harness, "bid", "0.10", 1, "f2")  # 16 of 20

    [warning] = [w for w in seen(events, RiskWarning) if w.kind == "position"]
    assert (warning.ticker, warning.level) == (TICKER, D("0.8"))


def test_daily_loss_warns_at_half_and_halts_at_the_limit(harness, gateway, risk_config, events):
    config = replace(risk_config, daily_loss_limit_dollars=D("2.00"), max_drawdown_dollars=D("50"))
    risk = start_risk(harness, gateway, config)
    harness.publish(SessionStarted(session_id="s1", ticker=TICKER, reason="test", ts=harness.clock.now_ns()))
    book(harness, "0.49", "0.51")
    filled(harness, "bid", "0.50", 10, "f1")
    harness.tell(risk, place("resting", "bid", "0.30", 5))

    book(harness, "0.39", "0.41")  # -1.00
    assert [w.level for w in seen(events, RiskWarning) if w.kind == "daily_loss"] == [D("0.5")]
    book(harness, "0.29", "0.31")  # -2.00

    assert [w.level for w in seen(events, RiskWarning) if w.kind == "daily_loss"] == [D("0.5"), D("1.0")]
    [state] = seen(events, RiskStateChanged)
    assert state.state == TradingState.HALTED
    assert isinstance(gateway.proxy().commands().get()[-1], CancelAllOrders)
    assert [(d.action, d.reason) for d in seen(events, RiskDirective)] == [("end_session", "daily_loss")]


def test_drawdown_from_the_peak_moves_to_reducing(harness, gateway, risk_config, events):
    config = replace(risk_config, max_drawdown_dollars=D("1.00"), daily_loss_limit_dollars=D("50"))
    start_risk(harness, gateway, config)
    filled(harness, "bid", "0.50", 10, "f1")
    book(harness, "0.59", "0.61")  # +1.00: the peak
    book(harness, "0.49", "0.51")  # back to 0: 1.00 below the peak

    [state] = seen(events, RiskStateChanged)
    assert (state.state, state.reason) == (TradingState.REDUCING, "drawdown $1.00 reached the $1.00 limit")


def test_kill_switch_cancels_everything_refuses_orders_and_only_a_resume_lifts_it(harness, gateway, risk, events):
    harness.tell(risk, place("before", "bid", "0.40", 5))

    status = risk.proxy().engage_kill_switch("operator test").get()
    harness.quiet()

    assert (status["engaged"], status["state"]) == (True, TradingState.HALTED)
    commands = gateway.proxy().commands().get()
    assert [type(c) for c in commands] == [PlaceOrder, CancelAllOrders]
    assert commands[1].ticker is None  # every market
    assert [k.reason for k in seen(events, KillSwitchEngaged)] == ["operator test"]
    assert [(d.action, d.ticker) for d in seen(events, RiskDirective)] == [("pause", TICKER)]
    assert refusal_code(harness, gateway, risk, events, "during", "bid", "0.40", 1) == "halted"
    risk.proxy().set_trading_state(TradingState.ACTIVE, "not a resume").get()
    assert refusal_code(harness, gateway, risk, events, "still", "bid", "0.40", 1) == "halted"

    status = risk.proxy().release_kill_switch("operator resume").get()
    harness.quiet()

    assert (status["engaged"], status["state"]) == (False, TradingState.ACTIVE)
    assert [k.reason for k in seen(events, KillSwitchReleased)] == ["operator resume"]
    assert [d.action for d in seen(events, RiskDirective)] == ["pause", "resume"]
    assert refusal_code(harness, gateway, risk, events, "after", "bid", "0.40", 1) == ""
    assert [s.state for s in seen(events, RiskStateChanged)] == [TradingState.HALTED, TradingState.ACTIVE]


def test_an_engaged_kill_switch_survives_a_restart(harness, gateway, risk_config, events, tmp_path):
    path = tmp_path / "kill_switch.json"
    first = start_risk(harness, gateway, risk_config, kill_switch_path=path)
    first.proxy().engage_kill_switch("before restart").get()
    first.stop()
    harness.quiet()

    again = start_risk(harness, gateway, risk_config, kill_switch_path=path)

    status = again.proxy().get_status().get()
    assert (status["state"], status["kill_switch"]["engaged"]) == (TradingState.HALTED, True)
    assert [type(c) for c in gateway.proxy().commands().get()] == [CancelAllOrders, CancelAllOrders]
    again.proxy().release_kill_switch("operator").get()
    assert not path.exists()


def test_exposure_snapshot_is_answered_to_an_ask(harness, gateway, risk):
    harness.tell(risk, place("b1", "bid", "0.40", 5))

    snapshot = risk.proxy().exposure_snapshot().get()

    assert snapshot["markets"][TICKER]["resting_order_value"] == D("2.00")
    assert (snapshot["state"], snapshot["kill_switch"]["engaged"]) == (TradingState.ACTIVE, False)


def test_the_exposure_is_published_on_the_bus_at_start_and_after_each_change(harness, gateway, risk_config):
    watcher = RiskEvents.start(**harness.wiring)
    harness.bus.subscribe(watcher, ExposureChanged)
    risk = start_risk(harness, gateway, risk_config)
    harness.tell(risk, place("b1", "bid", "0.40", 5))
    harness.publish(accepted(place("b1", "bid", "0.40", 5), "ex-b1"))  # changes nothing

    published = watcher.proxy().messages().get()
    assert [len(e.markets) for e in published] == [0, 1]
    assert published[-1].markets[0].resting_order_value == D("2.00")
    assert published[-1].resting_order_value == risk.proxy().exposure_snapshot().get()["totals"]["resting_order_value"]


def test_a_fill_rate_pause_during_a_flatten_never_interrupts_the_exit(harness, gateway, risk, events):
    book(harness, "0.50", "0.52")
    filled(harness, "bid", "0.48", 12, "f1")
    harness.run_for(42 * 60)  # flattened on duration
    filled(harness, "bid", "0.90", 10, "f2")  # $9 + $9 + ... pushes the fill rate over $20
    filled(harness, "ask", "0.90", 10, "f3")
    filled(harness, "ask", "0.90", 3, "f4")

    assert [d.action for d in seen(events, RiskDirective)] == ["flatten"]  # no pause while flattening
    filled(harness, "ask", "0.50", 9, "f5")  # flat now: the market's pause is told

    assert [d.action for d in seen(events, RiskDirective)] == ["flatten", "pause"]


def test_an_exit_acknowledged_executed_before_its_fill_arrives_triggers_no_second_flatten(
    harness, gateway, risk, events
):
    book(harness, "0.50", "0.52")
    filled(harness, "bid", "0.48", 12, "f1")
    harness.run_for(42 * 60)
    harness.tell(risk, place("exit", "ask", "0.50", 12))  # the dummy exchange calls it ex-1

    harness.publish(updated("ex-1", "exit", side="ask", price="0.50", filled="12", remaining="0", status="executed"))
    harness.run_for(1)
    now = harness.clock.now_ns()
    harness.publish(fill("ask", "0.50", 12, fill_id="f-exit", order_id="ex-1", client_order_id="exit", ts=now))

    assert len(seen(events, TriggerRecorded)) == 1
    assert [d.action for d in seen(events, RiskDirective)] == ["flatten", "resume"]


def test_a_fill_reported_twice_counts_once_towards_the_fill_rate(harness, gateway, risk, events):
    filled(harness, "bid", "0.90", 12, "f1")  # $10.80
    filled(harness, "bid", "0.90", 12, "f1")  # the REST reconcile's copy of the same fill

    assert [d for d in seen(events, RiskDirective) if d.action == "pause"] == []
    assert risk.proxy().get_status().get()["positions"][TICKER] == "12"


def test_under_the_kill_switch_a_late_resting_order_is_cancelled_and_a_partial_cancel_all_retried(
    harness, gateway, risk, events
):
    late = place("in-flight", "bid", "0.40", 5)
    risk.proxy().engage_kill_switch("operator").get()
    harness.quiet()

    harness.publish(accepted(late, "ex-late"))  # placed before the kill, acknowledged after it
    [cancel] = [c for c in gateway.proxy().commands().get() if isinstance(c, CancelOrder)]
    assert (cancel.order_id, cancel.client_order_id) == ("ex-late", "in-flight")

    harness.publish(AllOrdersCancelled(reason="kill switch: operator", cancelled=0, still_resting=1, ts_recv=0))
    harness.run_for(2)

    cancel_alls = [c for c in gateway.proxy().commands().get() if isinstance(c, CancelAllOrders)]
    assert [c.reason for c in cancel_alls] == ["kill switch: operator", "kill switch: operator (retry)"]


def test_a_resume_lifts_the_drawdown_breaker_and_measures_again_from_there(harness, gateway, risk_config, events):
    config = replace(risk_config, max_drawdown_dollars=D("1.00"), daily_loss_limit_dollars=D("50"))
    risk = start_risk(harness, gateway, config)
    filled(harness, "bid", "0.50", 10, "f1")
    book(harness, "0.59", "0.61")
    book(harness, "0.49", "0.51")  # REDUCING

    risk.proxy().release_kill_switch("operator accepts the loss").get()
    harness.quiet()
    book(harness, "0.45", "0.47")  # 0.40 below the new peak: under the limit

    states = [(s.state, s.reason) for s in seen(events, RiskStateChanged)]
    assert states[-1] == (TradingState.ACTIVE, "resumed: operator accepts the loss")
    assert len(states) == 2


def lifecycle(harness, event_type, result):
    now = harness.clock.now_ns()
    harness.publish(
        MarketLifecycleChanged(ticker=TICKER, event_type=event_type, result=result, close_ts=None, ts_event=now, ts_recv=now)
    )


def test_a_settled_market_closes_its_position_at_a_dollar_and_frees_its_budget(harness, gateway, risk, events):
    book(harness, "0.50", "0.52")
    filled(harness, "bid", "0.48", 12, "f1")
    harness.tell(risk, place("resting", "bid", "0.40", 5))

    lifecycle(harness, "settled", "yes")
    harness.run_for(45 * 60)  # past the duration limit a live 12-lot would have hit

    status = risk.proxy().get_status().get()
    assert (status["positions"][TICKER], status["exposure"][TICKER], status["global_exposure"]) == ("0", "0", "0")
    assert D(status["pnl"]["total"]) == 12 * (1 - D("0.48"))
    assert status["resting_orders"][TICKER] == 0
    assert seen(events, TriggerRecorded) == []
    assert refusal_code(harness, gateway, risk, events, "after", "bid", "0.40", 1) == "market_settled"


def test_a_market_determined_no_with_a_flatten_under_way_ends_the_flatten_at_zero(harness, gateway, risk, events):
    book(harness, "0.50", "0.52")
    filled(harness, "bid", "0.48", 12, "f1")
    harness.run_for(42 * 60)  # flattening on duration

    lifecycle(harness, "determined", "no")
    harness.run_for(10 * 60)  # no flatten timeout, no second trigger

    status = risk.proxy().get_status().get()
    assert (status["positions"][TICKER], status["hybrid"], status["flattening"]) == ("0", {}, {})
    assert D(status["pnl"]["total"]) == 12 * (0 - D("0.48"))
    assert status["restrictions"][TICKER] == ""
    assert len(seen(events, TriggerRecorded)) == 1


def test_a_fill_that_trails_the_settlement_settles_too(harness, gateway, risk, events):
    filled(harness, "bid", "0.48", 12, "f1")
    lifecycle(harness, "settled", "yes")
    filled(harness, "bid", "0.50", 4, "late")  # executed before the settlement, reported after

    status = risk.proxy().get_status().get()
    assert status["positions"][TICKER] == "0"
    assert D(status["pnl"]["total"]) == 12 * D("0.52") + 4 * D("0.50")


def test_a_flatten_whose_session_ends_with_the_position_is_ordered_again_for_the_next_session(
    harness, gateway, risk, events
):
    book(harness, "0.50", "0.52")
    filled(harness, "bid", "0.48", 12, "f1")
    harness.run_for(42 * 60)  # the duration flatten
    # the maker's exit gives up (no bids); the session ends with the 12 left
    harness.publish(SessionStopped(session_id="s1", ticker=TICKER, reason="exit gave up", ts=harness.clock.now_ns()))

    incomplete = [w for w in seen(events, RiskWarning) if w.kind == "flatten_incomplete"]
    assert [w.ticker for w in incomplete] == [TICKER]
    triggers = seen(events, TriggerRecorded)
    assert [(t.session_id, t.position_before) for t in triggers] == [("s1", D(12)), ("", D(12))]  # judged again
    harness.publish(SessionStarted(session_id="s2", ticker=TICKER, reason="test", ts=harness.clock.now_ns()))

    assert [d.action for d in seen(events, RiskDirective)][-1] == "flatten"  # the new session is told


def test_a_flatten_not_flat_by_the_timeout_is_ordered_again(harness, gateway, risk_config, events):
    risk = start_risk(harness, gateway, risk_config)
    harness.publish(SessionStarted(session_id="s1", ticker=TICKER, reason="test", ts=harness.clock.now_ns()))
    book(harness, "0.50", "0.52")
    filled(harness, "bid", "0.48", 12, "f1")
    harness.run_for(42 * 60)
    assert [d.action for d in seen(events, RiskDirective)] == ["flatten"]

    harness.run_for(risk_config.flatten_timeout_s)  # the maker never exits

    assert [d.action for d in seen(events, RiskDirective)] == ["flatten", "flatten"]
    assert len(seen(events, TriggerRecorded)) == 2
    assert risk.proxy().get_status().get()["flattening"] == {TICKER: seen(events, TriggerRecorded)[-1].reason}


def test_after_a_maker_finished_with_the_position_the_mae_failsafe_watches_again(harness, gateway, risk, events):
    book(harness, "0.50", "0.52")
    filled(harness, "bid", "0.52", 10, "f1")
    book(harness, "0.40", "0.42")  # 11c against
    harness.run_for(9)  # the MAE flatten
    assert len(seen(events, TriggerRecorded)) == 1
    now = harness.clock.now_ns()
    harness.publish(
        MakerFinished(session_id="s1", ticker=TICKER, reason="stop: cancel", position=D(10), realized_pnl=D(0), fees=D(0), ts=now)
    )
    book(harness, "0.50", "0.52")  # recovered: the failsafe's window stays shut
    harness.run_for(30)
    assert len(seen(events, TriggerRecorded)) == 1
    book(harness, "0.30", "0.32")  # and it breaks again, for 8 s
    harness.run_for(9)

    assert len(seen(events, TriggerRecorded)) == 2


def test_under_a_daily_loss_halt_a_late_resting_order_is_cancelled_and_a_partial_cancel_all_retried(
    harness, gateway, risk_config, events
):
    risk = start_risk(harness, gateway, replace(risk_config, daily_loss_limit_dollars=D("1.00")))
    book(harness, "0.49", "0.51")
    late = place("in-flight", "bid", "0.28", 5)
    filled(harness, "bid", "0.50", 10, "f1")
    book(harness, "0.29", "0.31")  # -$2: HALTED, cancel-all
    [halt_cancel] = [c for c in gateway.proxy().commands().get() if isinstance(c, CancelAllOrders)]

    harness.publish(accepted(late, "ex-late"))  # placed before the halt, acknowledged after its cancel-all
    [cancel] = [c for c in gateway.proxy().commands().get() if isinstance(c, CancelOrder)]
    assert (cancel.order_id, cancel.reason) == ("ex-late", "risk: resting while halted")

    harness.publish(AllOrdersCancelled(reason=halt_cancel.reason, cancelled=0, still_resting=1, ts_recv=0))
    harness.run_for(risk_config.kill_cancel_retry_s)
    cancel_alls = [c.reason for c in gateway.proxy().commands().get() if isinstance(c, CancelAllOrders)]
    assert cancel_alls == [halt_cancel.reason, f"{halt_cancel.reason} (retry)"]


def test_the_status_shows_the_available_balance_less_what_was_admitted_since(harness, gateway, risk):
    assert risk.proxy().get_status().get()["available_balance"] is None
    harness.publish(BalanceRead(available=D("50.00"), ts=harness.clock.now_ns()))
    harness.tell(risk, place("b1", "bid", "0.40", 5))

    assert risk.proxy().get_status().get()["available_balance"] == "48.00"


def test_an_exposure_replaced_around_80_percent_of_its_budget_warns_once(harness, gateway, risk, events):
    for round_ in range(10):  # a quote at $6.80 of the $8 budget, cancelled and replaced each second
        harness.tell(risk, place(f"q{round_}", "bid", "0.40", 17))
        harness.publish(accepted(place(f"q{round_}", "bid", "0.40", 17), f"ex-q{round_}"))
        harness.publish(cancelled_message(f"ex-q{round_}", f"q{round_}", reduced_by="17"))
        harness.run_for(1)

    assert [(w.ticker, w.level) for w in seen(events, RiskWarning) if w.kind == "market_exposure"] == [(TICKER, D("0.8"))]
