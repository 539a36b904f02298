"""The maker actor: a thin shell routing market data, order events, directives and timers
to a MakerSession, and publishing what the session decided.

Direction: events come up from the bus (tell); commands go down to the risk governor
(order_sink, tell) and fill reads down to the REST client (rest, tell, reply by tell to
the maker's reader name "maker:<session id>", resolved by the REST actor's directory).
Nothing here asks another actor, so there is no ask cycle to deadlock. Our orders, fills
and inventory come from the trading ledger's views (TradingStateChanged, published by the
risk governor, its one writer), never from the raw order events.

The risk governor's ExposureChanged is kept (not requoted on): the next quote is sized to
the room the other markets leave in the category and global budgets.

Published: MakerStatus on every change of state, pause reason or throttle;
RealizationRecorded for every closed FIFO round trip; MakerFinished once, when the
session reaches DONE (the supervisor then stops the actor) or, failing that, when the
actor is stopped; OrderFilled for fills that only the REST reconciliation found (the
WS feed lost them), so risk and analytics see them too; the session counts them when the
ledger's view brings them back (a session-end read's finish waits for that).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from actors.rest import order_filled_from, parse_fill
from config import MakerConfig
from messages import (
    BookUpdated,
    ExposureChanged,
    FeedHealthChanged,
    KillSwitchEngaged,
    KillSwitchReleased,
    MakerFinished,
    MakerStatus,
    MarketConfig,
    MarketLifecycleChanged,
    OrderFilled,
    RealizationRecorded,
    ReferencePriceUpdated,
    RequoteDue,
    RequoteOnDeadlineDue,
    RequoteWarmupOverDue,
    RestReadCompleted,
    RestReadRequested,
    RiskDirective,
    SpotPriceUpdated,
    StopSession,
    TradePrinted,
    TradingStateChanged,
)
from kernel.bus import Bus, InFlightTracker
from kernel.clock import seconds
from kernel.directory import Directory

from .._base import MmdActor, handles
from ._session import MakerSession, MakerState

__all__ = ["MakerActor", "maker_reader"]


def maker_reader(session_id: str) -> str:
    """The name REST replies to a session's maker are addressed to."""
    return f"maker:{session_id}"


# keys of self.timers; the messages carry the ticker, so equal deadlines of several makers
# are delivered in ticker order
_REQUOTE = "requote"  # the periodic check (RequoteDue), on its grid; not stepped while it has nothing to do
_WARMUP = "warmup"  # RequoteWarmupOverDue
_WAKE = "wake"  # RequoteOnDeadlineDue: a hold's cooldown or an exit phase ends
_FILLS_PATH = "/portfolio/fills"


class MakerActor(MmdActor):
    ticker_subscriptions = (
        BookUpdated, TradePrinted, MarketLifecycleChanged, RiskDirective, ReferencePriceUpdated, TradingStateChanged
    )
    subscriptions = (KillSwitchEngaged, KillSwitchReleased, FeedHealthChanged, SpotPriceUpdated, ExposureChanged)

    def __init__(
        self,
        *,
        clock: Any,
        bus: Bus,
        tracker: InFlightTracker | None = None,
        ticker: str,
        session_id: str,
        config: MakerConfig,
        order_sink: Any,
        market_config: MarketConfig | None = None,
        rest: Any = None,
        market_budget: Decimal | None = None,
        directory: Directory | None = None,
        fair_value_feed_problem: str = "",
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self.ticker = ticker
        self.session_id = session_id
        self.reader = maker_reader(session_id)
        if directory is not None:  # before the loop starts, so no fill read's reply can outrun it
            directory.register(self.reader, self.actor_ref)
        self.config = config
        self.order_sink = order_sink
        self.rest = rest
        self.session = MakerSession(
            ticker=ticker,
            session_id=session_id,
            config=config,
            market_config=market_config,
            market_budget=market_budget,
            fair_value_feed_problem=fair_value_feed_problem,  # set: never quotes (why_not_quoting says why)
        )
        self._last_status: tuple | None = None
        self._finished_sent = False
        self._reads = 0
        self._awaited_read: str | None = None  # the session-end fill read the finish waits for
        self._awaited_fills: set[str] = set()  # its fills published, not yet back in the ledger's view
        self.fills_reconciled = 0
        self._checking = False  # the periodic checks run (from the warm-up's end until DONE)
        self._first_check_from = 0  # the checks' grid before the first one ran: the warm-up's end
        self._check_ns = seconds(config.requote_interval_s)

    def on_start(self) -> None:
        now = self.clock.now_ns()
        self.session.start(now)
        self.timers.arm_in(_WARMUP, seconds(self.config.warmup_s), RequoteWarmupOverDue(ticker=self.ticker, ts=now))
        self._after(now)

    def on_stop(self) -> None:
        now = self.clock.now_ns()
        self._catch_up(now)
        self.timers.cancel_all()
        self._send_all(self.session.shutdown(now, "maker stopped"))
        self._publish_outcomes(now)
        if not self._finished_sent:  # stopped before DONE: say what it leaves behind
            self._publish_finished(now, self.session.exit.reason if self.session.exit else "maker stopped")

    # -- handlers -------------------------------------------------------------------
    @handles(RequoteWarmupOverDue)
    def _on_warmup_over(self, message: RequoteWarmupOverDue) -> None:
        if not self.timers.fired(_WARMUP, message):
            return
        now = self.clock.now_ns()
        self._catch_up(now)
        if self.session.state != MakerState.DONE:
            self._send_all(self.session.warmup_elapsed(now))
            self._schedule_requote(now)
        self._after(now)

    @handles(RequoteOnDeadlineDue)
    def _on_deadline(self, message: RequoteOnDeadlineDue) -> None:
        if not self.timers.fired(_WAKE, message):
            return
        now = self.clock.now_ns()
        self._catch_up(now)
        self._send_all(self.session.requote(now))
        self._after(now)

    @handles(RequoteDue)
    def _on_requote_due(self, message: RequoteDue) -> None:
        if not self.timers.fired(_REQUOTE, message) or self.session.state == MakerState.DONE:
            return
        now = self.clock.now_ns()
        self.session.catch_up(now - self._check_ns)  # the checks skipped before this one
        self._send_all(self.session.check(now))
        self._schedule_requote(now)
        self._after(now)

    @handles(BookUpdated)
    def _on_book(self, message: BookUpdated) -> None:
        now = self.clock.now_ns()
        self._catch_up(now)
        self._send_all(self.session.on_book(message.book, now))
        self._after(now)

    @handles(TradePrinted)
    def _on_trade(self, message: TradePrinted) -> None:
        now = self.clock.now_ns()
        self._catch_up(now)
        self._send_all(self.session.on_trade(message, now))
        self._after(now)

    @handles(TradingStateChanged)
    def _on_trading_state(self, message: TradingStateChanged) -> None:
        now = self.clock.now_ns()
        self._catch_up(now)
        self._send_all(self.session.on_trading_state(message, now))
        cause = message.cause
        if self._awaited_fills and isinstance(cause, OrderFilled) and cause.fill_id in self._awaited_fills:
            self._awaited_fills.discard(cause.fill_id)
            if not self._awaited_fills:  # the session-end read's fills are all counted
                self._send_all(self.session.fills_read(now))
        self._after(now)

    @handles(MarketLifecycleChanged)
    def _on_lifecycle(self, message: MarketLifecycleChanged) -> None:
        now = self.clock.now_ns()
        self._catch_up(now)
        self._send_all(self.session.on_lifecycle(message, now))
        self._after(now)

    @handles(RiskDirective)
    def _on_risk_directive(self, message: RiskDirective) -> None:
        now = self.clock.now_ns()
        self._catch_up(now)
        self._send_all(self.session.on_risk_directive(message, now))
        self._after(now)

    @handles(KillSwitchEngaged, KillSwitchReleased)
    def _on_kill_switch(self, message: Any) -> None:
        now = self.clock.now_ns()
        self._catch_up(now)
        self._send_all(self.session.on_kill_switch(isinstance(message, KillSwitchEngaged), message.reason, now))
        self._after(now)

    @handles(FeedHealthChanged)
    def _on_feed_health(self, message: FeedHealthChanged) -> None:
        now = self.clock.now_ns()
        self._catch_up(now)
        commands, reconcile = self.session.on_feed_health(message.healthy, now)
        self._send_all(commands)
        if reconcile:
            self.reconcile_fills("feed reconnected")
        self._after(now)

    @handles(ReferencePriceUpdated, SpotPriceUpdated)
    def _on_reference(self, message: Any) -> None:
        self.session.on_reference(message)

    @handles(ExposureChanged)
    def _on_exposure(self, message: ExposureChanged) -> None:
        self.session.on_exposure(message)

    @handles(StopSession)
    def _on_stop_session(self, message: StopSession) -> None:
        """Every stop ends in MakerFinished within a bounded time: a cancel stops any exit
        and finishes once the orders are confirmed gone (at most exit.cancel_confirm_s);
        the session-end fill read is awaited at most exit.fills_reconcile_timeout_s."""
        now = self.clock.now_ns()
        self._catch_up(now)
        self._send_all(self.session.stop(now, message.reason, message.urgency))
        if self.session.state != MakerState.DONE and self._awaited_read is None:
            self._awaited_read = self.reconcile_fills("session end")
            if self._awaited_read is not None:
                self.session.await_fills(now + seconds(self.config.exit.fills_reconcile_timeout_s))
        self._after(now)

    @handles(RestReadCompleted)
    def _on_read_completed(self, message: RestReadCompleted) -> None:
        """REST fills: any the WS feed did not deliver go on the bus (the risk governor
        counts them in the ledger, and analytics records them). The session-end read's
        finish waits until the ledger's view shows them counted."""
        now = self.clock.now_ns()
        self._catch_up(now)
        awaited = message.request_id == self._awaited_read
        published: list[str] = []
        if message.status != 200 or not isinstance(message.body, Mapping):
            self.errors["fill_reconcile_failed"] += 1
            self.log.warning("fill reconciliation failed: %s %s", message.status, message.error)
        else:
            published = self._publish_read_fills(message.body, now)
        if awaited:
            self._awaited_read = None
            self._awaited_fills = set(published)
            if not published:
                self._send_all(self.session.fills_read(now))
        self._after(now)

    def _publish_read_fills(self, body: Mapping[str, Any], now: int) -> list[str]:
        """The fill ids published: this session's, not yet counted in its book."""
        published: list[str] = []
        for raw in body.get("fills") or ():
            try:
                fill = order_filled_from(parse_fill(raw), now)
            except Exception as exc:  # one malformed fill must not stop the others
                self.errors["bad_fill"] += 1
                self.log.warning("unreadable fill in reconciliation: %s", exc)
                continue
            if not self.session.owns_fill(fill):
                continue  # another market's, another session's or a manual order's fill
            if self.session.seen_fill(fill) or fill.fill_id in published:
                continue
            self.fills_reconciled += 1
            self.publish(fill)
            published.append(fill.fill_id)
        return published

    # -- queries (the composition layer asks for the daemon's status; actors never ask) --
    def get_status(self) -> dict:
        self._catch_up(self.clock.now_ns())
        status = self.session.status()
        status["fills_reconciled"] = self.fills_reconciled
        return status

    # -- helpers --------------------------------------------------------------------
    def reconcile_fills(self, why: str) -> str | None:
        """Read our fills on this market since the session began from REST; returns the
        read's request id (None: no REST client)."""
        if self.rest is None or self.session.start_ns is None:
            return None
        self._reads += 1
        request_id = f"{self.session_id}-fills-{self._reads}"
        min_ts = str(self.session.start_ns // 1_000_000_000 - 1)
        self.send(
            self.rest,
            RestReadRequested(
                request_id=request_id,
                path=_FILLS_PATH,
                query=(("ticker", self.ticker), ("min_ts", min_ts)),
                reply_to=self.reader,
                ts=self.clock.now_ns(),
                all_pages=True,
                list_key="fills",
            ),
        )
        self.log.info("reconciling fills over REST: %s", why)
        return request_id

    def _schedule_requote(self, now: int) -> None:
        """The periodic checks run from now on, every requote_interval_s from now (armed
        by `_after`, where a check may do something)."""
        self._checking = True
        self._first_check_from = now

    def _catch_up(self, now: int) -> None:
        """Before an input: the periodic checks skipped before it (`MakerSession.next_check_ns`)
        are carried out, each as it would have run; the one due now too when its turn
        came before this input (kernel.clock.ReplayClock.turn_passed)."""
        last = self.session.last_check_ns
        if not self._checking or last is None or now - last < self._check_ns or self.session.state == MakerState.DONE:
            return
        until = now
        if (now - last) % self._check_ns == 0:
            passed = getattr(self.clock, "turn_passed", None)
            if passed is not None and not passed(now, RequoteDue(ticker=self.ticker, ts=now)):
                until = now - self._check_ns
        self.session.catch_up(until)

    def _arm_check(self, now: int) -> None:
        """The next periodic check on the grid, at the first instant it may do something
        (an earlier one armed stays); none while it has nothing to do before an input."""
        due = self.session.next_check_ns(now)
        if due is None:
            return
        anchor = self.session.last_check_ns
        if anchor is None:
            anchor = self._first_check_from
        armed = self.timers.deadline(_REQUOTE)
        if armed is not None and due > armed - self._check_ns:
            return  # the check armed is the first at or after `due`
        self.timers.arm_on_grid(
            _REQUOTE, anchor_ns=anchor, interval_ns=self._check_ns, not_before_ns=due,
            message=RequoteDue(ticker=self.ticker, ts=now),
        )

    def _after(self, now: int) -> None:
        """After every input: publish what changed, and wake up when a cooldown ends."""
        self._publish_outcomes(now)
        if self.session.state == MakerState.DONE:
            self.timers.cancel_all()  # nothing is due any more
            if not self._finished_sent:
                self._publish_finished(now, self.session.finished.reason if self.session.finished else "done")
            return
        deadline = self.session.next_deadline_ns(now)
        if deadline is not None and deadline != self.timers.deadline(_WAKE):
            self.timers.arm_at(_WAKE, deadline, RequoteOnDeadlineDue(ticker=self.ticker, ts=deadline))
        if self._checking:
            self._arm_check(now)

    def _publish_outcomes(self, now: int) -> None:
        session = self.session
        reason = session.exit_reason
        for r in session.drain_realizations():
            self.publish(
                RealizationRecorded(
                    session_id=self.session_id,
                    ticker=self.ticker,
                    side=r.side,
                    count=r.count,
                    entry_price=r.entry_price,
                    exit_price=r.exit_price,
                    entry_ts=r.entry_ts,
                    exit_ts=r.exit_ts,
                    pnl=r.pnl,
                    fees=r.fees,
                    exit_reason=reason,
                    ts=now,
                )
            )
        key = session.status_key()
        if key != self._last_status:
            self._last_status = key
            self.publish(
                MakerStatus(
                    session_id=self.session_id,
                    ticker=self.ticker,
                    state=session.state,
                    why_not_quoting=session.why_not_quoting,
                    adverse_selection=session.throttles.verdict.adverse_selection,
                    position=session.inventory.position,
                    realized_pnl=session.inventory.realized_pnl,
                    unrealized_pnl=session.unrealized_pnl(),
                    ts=now,
                )
            )

    def _publish_finished(self, now: int, reason: str) -> None:
        self._finished_sent = True
        inventory = self.session.inventory
        self.publish(
            MakerFinished(
                session_id=self.session_id,
                ticker=self.ticker,
                reason=reason,
                position=inventory.position,
                realized_pnl=inventory.realized_pnl,
                fees=inventory.fees_paid,
                ts=now,
            )
        )

    def _send_all(self, commands: list) -> None:
        for command in commands:
            self.send(self.order_sink, command)
