"""What the maker does with each input, as effects (kernel.effects): a MakerSession's
commands turned into sends, what it decided turned into publishes, and every maker timer
decided here. A plain object (no threads, no clock reads): the actor shell hands it a
message and `now_ns` and carries out what it returns, in order.

- Commands go down to the risk governor (Send to ORDERS); fill reads down to the REST
  client (Send to REST, replied to the maker's reader name).
- Published: MakerStatus on every change of state, pause reason or throttle;
  RealizationRecorded for every closed FIFO round trip; MakerFinished once, when the
  session reaches DONE or, failing that, when the actor stops; OrderFilled for fills only
  the REST read-back found (the WS feed lost them), so risk and analytics see them too.
  A session-end read's finish waits until the ledger's view shows those fills counted.
- Timers (keys below) are mirrored here: this object arms them all and hears of each that
  fires (`on_due`, called only for a timer `KeyedTimers.fired` accepts). The periodic check
  is armed on a grid whose deadline the shell's clock settles (`ArmOnGrid`); the shell
  reports the deadline back (`check_armed_at`).

Hazard, order: the effects of one input come out in the order the shell always carried
them out (commands, publishes, then the wake-up and the check); timers due at one instant
are delivered in the order they were armed, so reordering moves a replay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from actors.rest import order_filled_from, parse_fill
from kernel.clock import seconds
from kernel.effects import ArmOnGrid, ArmTimer, CancelTimer, Publish, Send
from messages import (
    BookUpdated,
    ExposureChanged,
    FeedHealthChanged,
    KillSwitchEngaged,
    KillSwitchReleased,
    MakerFinished,
    MakerStatus,
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

from ._session import MakerSession, MakerState

__all__ = ["MakerPlan", "LogNote", "ORDERS", "REST"]

ORDERS, REST = "orders", "rest"  # the collaborators a Send goes to

# timer keys; the messages carry the ticker, so equal deadlines of several makers are
# delivered in ticker order
REQUOTE = "requote"  # the periodic check (RequoteDue), on its grid; not stepped while it has nothing to do
WARMUP = "warmup"  # RequoteWarmupOverDue
WAKE = "wake"  # RequoteOnDeadlineDue: a hold's cooldown or an exit phase ends
_FILLS_PATH = "/portfolio/fills"


@dataclass(frozen=True, slots=True)
class LogNote:
    """Log `text` at `level`; counted under errors[`error`] when `error` is set."""

    text: str
    level: int = logging.INFO
    error: str = ""


class MakerPlan:
    INPUTS = (
        BookUpdated, TradePrinted, TradingStateChanged, MarketLifecycleChanged, RiskDirective, KillSwitchEngaged,
        KillSwitchReleased, FeedHealthChanged, StopSession, RestReadCompleted,
    )
    KEPT = (ReferencePriceUpdated, SpotPriceUpdated, ExposureChanged)  # remembered for the next quote; no requote
    DUES = (RequoteWarmupOverDue, RequoteOnDeadlineDue, RequoteDue)

    def __init__(
        self,
        session: MakerSession,
        *,
        reader: str,
        reads_fills: bool = True,
        turn_passed: Callable[[int, Any], bool] | None = None,
    ) -> None:
        """`reads_fills`: a REST client is wired (fill read-backs go to REST). `turn_passed`:
        the clock's (kernel.clock.ReplayClock.turn_passed), whether a timer for a message
        due at a deadline would have been delivered by now (None: a due check still to come)."""
        self.session = session
        self.config = session.config
        self.ticker = session.ticker
        self.session_id = session.session_id
        self.reader = reader
        self._reads_fills = reads_fills
        self._turn_passed = turn_passed
        self._last_status: tuple | None = None
        self._finished_sent = False
        self._reads = 0
        self._awaited_read: str | None = None  # the session-end fill read the finish waits for
        self._awaited_fills: set[str] = set()  # its fills published, not yet back in the ledger's view
        self.fills_reconciled = 0
        self._checking = False  # the periodic checks run (from the warm-up's end until DONE)
        self._first_check_from = 0  # the checks' grid before the first one ran: the warm-up's end
        self._wake_ns: int | None = None  # the WAKE timer armed (None: none)
        self._check_armed_ns: int | None = None  # the REQUOTE tick armed (None: none)

    # -- life -----------------------------------------------------------------------
    def start(self, now_ns: int) -> list[Any]:
        self.session.start(now_ns)
        warm_until = now_ns + max(0, seconds(self.config.warmup_s))
        out: list[Any] = [ArmTimer(WARMUP, warm_until, RequoteWarmupOverDue(ticker=self.ticker, ts=now_ns))]
        self._after(now_ns, out)
        return out

    def stop(self, now_ns: int) -> list[Any]:
        """The actor stops: cancel what is working; say what the session leaves behind."""
        session = self.session
        self._catch_up(now_ns)
        out = self._cancel_timers()
        out += self._orders(session.shutdown(now_ns, "maker stopped"))
        self._publish_outcomes(now_ns, out)
        if not self._finished_sent:  # stopped before DONE
            self._finish(now_ns, session.exit.reason if session.exit else "maker stopped", out)
        return out

    # -- inputs ---------------------------------------------------------------------
    def handle(self, message: Any, now_ns: int) -> list[Any]:
        session = self.session
        if isinstance(message, (ReferencePriceUpdated, SpotPriceUpdated)):
            session.on_reference(message)
            return []
        if isinstance(message, ExposureChanged):  # the next quote is sized to the room left
            session.on_exposure(message)
            return []
        self._catch_up(now_ns)
        out: list[Any] = []
        if isinstance(message, BookUpdated):
            out += self._orders(session.on_book(message.book, now_ns))
        elif isinstance(message, TradePrinted):
            out += self._orders(session.on_trade(message, now_ns))
        elif isinstance(message, TradingStateChanged):
            out += self._orders(session.on_trading_state(message, now_ns))
            cause = message.cause
            if self._awaited_fills and isinstance(cause, OrderFilled) and cause.fill_id in self._awaited_fills:
                self._awaited_fills.discard(cause.fill_id)
                if not self._awaited_fills:  # the session-end read's fills are all counted
                    out += self._orders(session.fills_read(now_ns))
        elif isinstance(message, MarketLifecycleChanged):
            out += self._orders(session.on_lifecycle(message, now_ns))
        elif isinstance(message, RiskDirective):
            out += self._orders(session.on_risk_directive(message, now_ns))
        elif isinstance(message, (KillSwitchEngaged, KillSwitchReleased)):
            out += self._orders(session.on_kill_switch(isinstance(message, KillSwitchEngaged), message.reason, now_ns))
        elif isinstance(message, FeedHealthChanged):
            commands, reconcile = session.on_feed_health(message.healthy, now_ns)
            out += self._orders(commands)
            if reconcile:
                out += self.reconcile_fills("feed reconnected", now_ns)[1]
        elif isinstance(message, StopSession):
            self._stop_session(message, now_ns, out)
        elif isinstance(message, RestReadCompleted):
            self._read_completed(message, now_ns, out)
        else:
            raise TypeError(f"the maker does not handle {type(message).__name__}")
        self._after(now_ns, out)
        return out

    def _stop_session(self, message: StopSession, now_ns: int, out: list[Any]) -> None:
        """Every stop ends in MakerFinished within a bounded time: a cancel stops any exit
        and finishes once the orders are confirmed gone (at most exit.cancel_confirm_s);
        the session-end fill read is awaited at most exit.fills_reconcile_timeout_s."""
        session = self.session
        out += self._orders(session.stop(now_ns, message.reason, message.urgency))
        if session.state != MakerState.DONE and self._awaited_read is None:
            self._awaited_read, read = self.reconcile_fills("session end", now_ns)
            out += read
            if self._awaited_read is not None:
                session.await_fills(now_ns + seconds(self.config.exit.fills_reconcile_timeout_s))

    def _read_completed(self, message: RestReadCompleted, now_ns: int, out: list[Any]) -> None:
        """REST fills: any the WS feed did not deliver go on the bus (the risk governor
        counts them in the ledger, and analytics records them). The session-end read's
        finish waits until the ledger's view shows them counted."""
        awaited = message.request_id == self._awaited_read
        published: list[str] = []
        if message.status != 200 or not isinstance(message.body, Mapping):
            text = f"fill reconciliation failed: {message.status} {message.error}"
            out.append(LogNote(text, logging.WARNING, "fill_reconcile_failed"))
        else:
            published = self._publish_read_fills(message.body, now_ns, out)
        if awaited:
            self._awaited_read = None
            self._awaited_fills = set(published)
            if not published:
                out += self._orders(self.session.fills_read(now_ns))

    def _publish_read_fills(self, body: Mapping[str, Any], now_ns: int, out: list[Any]) -> list[str]:
        """The fill ids published: this session's, not yet counted in its book."""
        published: list[str] = []
        for raw in body.get("fills") or ():
            try:
                fill = order_filled_from(parse_fill(raw), now_ns)
            except Exception as exc:  # one malformed fill must not stop the others
                out.append(LogNote(f"unreadable fill in reconciliation: {exc}", logging.WARNING, "bad_fill"))
                continue
            if not self.session.owns_fill(fill):
                continue  # another market's, another session's or a manual order's fill
            if self.session.seen_fill(fill) or fill.fill_id in published:
                continue
            self.fills_reconciled += 1
            out.append(Publish(fill))
            published.append(fill.fill_id)
        return published

    def reconcile_fills(self, why: str, now_ns: int) -> tuple[str | None, list[Any]]:
        """Read our fills on this market since the session began from REST: the read's
        request id (None: no REST client, or not started) and the effects that send it."""
        if not self._reads_fills or self.session.start_ns is None:
            return None, []
        self._reads += 1
        request_id = f"{self.session_id}-fills-{self._reads}"
        min_ts = str(self.session.start_ns // 1_000_000_000 - 1)
        request = RestReadRequested(
            request_id=request_id, path=_FILLS_PATH, query=(("ticker", self.ticker), ("min_ts", min_ts)),
            reply_to=self.reader, ts=now_ns, all_pages=True, list_key="fills",
        )
        return request_id, [Send(REST, request), LogNote(f"reconciling fills over REST: {why}")]

    # -- timers ---------------------------------------------------------------------
    @staticmethod
    def timer_key(due: Any) -> str:
        return {RequoteWarmupOverDue: WARMUP, RequoteOnDeadlineDue: WAKE, RequoteDue: REQUOTE}[type(due)]

    def on_due(self, due: Any, now_ns: int) -> list[Any]:
        """A timer fired (the shell checked it is the one armed under `timer_key(due)`)."""
        session = self.session
        out: list[Any] = []
        if isinstance(due, RequoteWarmupOverDue):
            self._catch_up(now_ns)
            if session.state != MakerState.DONE:
                out += self._orders(session.warmup_elapsed(now_ns))
                self._checking = True  # the periodic checks run from now on, every requote_interval_s
                self._first_check_from = now_ns
        elif isinstance(due, RequoteOnDeadlineDue):
            self._wake_ns = None
            self._catch_up(now_ns)
            out += self._orders(session.requote(now_ns))
        elif isinstance(due, RequoteDue):
            self._check_armed_ns = None
            if session.state == MakerState.DONE:
                return []
            session.catch_up(now_ns - self.session.check_interval_ns)  # the checks skipped before this one
            out += self._orders(session.check(now_ns))
        else:
            raise TypeError(f"the maker has no timer {type(due).__name__}")
        self._after(now_ns, out)
        return out

    def check_armed_at(self, deadline_ns: int) -> None:
        """The shell armed the check's ArmOnGrid: the tick it settled on."""
        self._check_armed_ns = deadline_ns

    # -- queries --------------------------------------------------------------------
    def status(self, now_ns: int) -> dict:
        self._catch_up(now_ns)
        status = self.session.status()
        status["fills_reconciled"] = self.fills_reconciled
        return status

    # -- after every input ----------------------------------------------------------
    def _catch_up(self, now_ns: int) -> None:
        """Before an input: the periodic checks skipped before it (`MakerSession.next_check_ns`)
        are carried out, each as it would have run; the one due now too when its turn
        came before this input (kernel.clock.ReplayClock.turn_passed)."""
        last, interval = self.session.last_check_ns, self.session.check_interval_ns
        if not self._checking or last is None or now_ns - last < interval or self.session.state == MakerState.DONE:
            return
        until = now_ns
        if (now_ns - last) % interval == 0:
            passed = self._turn_passed
            if passed is not None and not passed(now_ns, RequoteDue(ticker=self.ticker, ts=now_ns)):
                until = now_ns - interval
        self.session.catch_up(until)

    def _after(self, now_ns: int, out: list[Any]) -> None:
        """After every input: publish what changed, and wake up when a cooldown ends."""
        session = self.session
        self._publish_outcomes(now_ns, out)
        if session.state == MakerState.DONE:
            out += self._cancel_timers()  # nothing is due any more
            if not self._finished_sent:
                self._finish(now_ns, session.finished.reason if session.finished else "done", out)
            return
        deadline = session.next_deadline_ns(now_ns)
        if deadline is not None and deadline != self._wake_ns:
            self._wake_ns = deadline
            out.append(ArmTimer(WAKE, deadline, RequoteOnDeadlineDue(ticker=self.ticker, ts=deadline)))
        if self._checking:
            self._arm_check(now_ns, out)

    def _arm_check(self, now_ns: int, out: list[Any]) -> None:
        """The next periodic check on the grid, at the first instant it may do something
        (an earlier one armed stays); none while it has nothing to do before an input."""
        due = self.session.next_check_ns(now_ns)
        if due is None:
            return
        anchor = self.session.last_check_ns
        if anchor is None:
            anchor = self._first_check_from
        armed = self._check_armed_ns
        interval = self.session.check_interval_ns
        if armed is not None and due > armed - interval:
            return  # the check armed is the first at or after `due`
        out.append(ArmOnGrid(REQUOTE, anchor, interval, due, RequoteDue(ticker=self.ticker, ts=now_ns)))

    def _cancel_timers(self) -> list[Any]:
        self._wake_ns = self._check_armed_ns = None
        return [CancelTimer(REQUOTE), CancelTimer(WARMUP), CancelTimer(WAKE)]

    def _publish_outcomes(self, now_ns: int, out: list[Any]) -> None:
        session = self.session
        reason = session.exit_reason
        for r in session.drain_realizations():
            out.append(Publish(RealizationRecorded(
                session_id=self.session_id, ticker=self.ticker, side=r.side, count=r.count,
                entry_price=r.entry_price, exit_price=r.exit_price, entry_ts=r.entry_ts, exit_ts=r.exit_ts,
                pnl=r.pnl, fees=r.fees, exit_reason=reason, ts=now_ns,
            )))
        key = session.status_key()
        if key != self._last_status:
            self._last_status = key
            out.append(Publish(MakerStatus(
                session_id=self.session_id, ticker=self.ticker, state=session.state,
                why_not_quoting=session.why_not_quoting, adverse_selection=session.throttles.verdict.adverse_selection,
                position=session.inventory.position, realized_pnl=session.inventory.realized_pnl,
                unrealized_pnl=session.unrealized_pnl(), ts=now_ns,
            )))

    def _finish(self, now_ns: int, reason: str, out: list[Any]) -> None:
        self._finished_sent = True
        inventory = self.session.inventory
        out.append(Publish(MakerFinished(
            session_id=self.session_id, ticker=self.ticker, reason=reason, position=inventory.position,
            realized_pnl=inventory.realized_pnl, fees=inventory.fees_paid, ts=now_ns,
        )))

    @staticmethod
    def _orders(commands: list[Any]) -> list[Any]:
        return [Send(ORDERS, command) for command in commands]
