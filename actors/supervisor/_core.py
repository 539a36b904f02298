"""The session supervisor's decisions as a plain class: given a message and the time, the
effects to carry out. No actors, no clock, no threads (its tests need none).

What it decides: admits volatility events (Admission), starts one maker per session,
ends sessions for their reasons (_rules) with escalating urgency (SessionBook), contains
maker crashes, reads balances and close times, and says what it knows (status).

Sessions are known by session id; the shell keeps each session's maker actor and carries
out the maker effects below. Facts come as messages only: the risk governor's exposure is
the latest `ExposureChanged` it published (nothing held and nothing resting until the
first one), the maker's state the latest `MakerStatus`, and each balance read is
published as `BalanceRead` for the governor's pre-trade check. Nobody is asked.

Session end protocol: StopSession(urgency) to the maker -> STOPPING -> MakerFinished
(or the exit deadline, or the maker found dead) -> stop the maker -> SessionStopped with
the reason and P&L (analytics records it in volatility_sessions). A STOPPING session is
told again when a later reason is more urgent (escalation, see _sessions). A maker stopped
before it finished sends its MakerFinished from its on_stop: that late report corrects
the recorded P&L with a second SessionStopped (same session id, reason and end time;
volatility_sessions is an upsert on (run_id, session_id), and risk and the scanner act
on a SessionStopped only while the session id is still theirs, so the repeat is inert).

Market close: a session ends close_buffer_s before its market closes. The close time
comes from the session's MarketConfig when it has one; otherwise (scanner.tickers
sessions) it is read once over REST (GET /markets/{ticker}, retried after
close_time_retry_s on failure), and a MarketLifecycleChanged close_date_updated moves it.

WS subscriptions: every session subscribes its ticker. When it ends, the subscription is
removed only where the scanner is known not to want it: an explicit (scanner.tickers)
session (that scanner mode tracks nothing), or a volatility session whose ticker the
scanner said left its tracked set (VolatilityEnded left_tracked_set; the scanner keeps a
session's ticker subscribed past that and never removes it afterwards). A ticker the
scanner still tracks stays subscribed: the scanner only subscribes newly tracked tickers,
so removing one it tracks would blind it. This relies on scanner.volatility.
rediscover_interval_s (600 s) exceeding exit_timeout_s (120 s): a ticker cannot rejoin the
tracked set between leaving it and its session's end. Discovery-style sessions keep their
subscription (the supervisor cannot tell whether the scanner tracks the ticker). Nothing
is removed at shutdown (stop_all_sessions, shut_down): the connection closes anyway.

Makers that fail (the shell tells the core, which then decides):
- a maker that cannot even start (its factory raised): `maker_did_not_start` forgets the
  session; the StartMaker's `then` effects (its timers, subscription, SessionStarted) were
  never carried out;
- a maker found gone when told to stop: `maker_gone` closes its session as crashed;
- a maker found dead on a monitor tick: `on_due(SupervisorMonitorDue, dead_makers=...)`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from config import SupervisorConfig
from kalshi.wire import ns_from_rfc3339
from kernel.clock import NS_PER_SECOND, seconds
from kernel.effects import ArmOnGrid, ArmTimer, CancelTimer, Publish, Send
from messages import (
    BalanceRead,
    CancelAllOrders,
    DiscoveryCompleted,
    ExitUrgency,
    ExposureChanged,
    KillSwitchEngaged,
    KillSwitchReleased,
    MakerFinished,
    MakerStatus,
    MarketConfig,
    MarketLifecycleChanged,
    MarketSelected,
    RegimeUpdated,
    RestReadCompleted,
    RiskDirective,
    SessionStarted,
    SessionStopped,
    StopSession,
    SubscribeMarkets,
    VolatilityDetected,
    VolatilityEnded,
)

from . import _rules as rules
from ._admission import DROP, NO_EXPOSURE, START, Admission, RegimeView, exposure_view_of
from ._crash import MakerCrashed, MakerStartFailed
from ._sessions import ACTIVE, ENDED_SHOWN, STOPPING, Session, SessionBook, SessionKind
from ._timers import (
    MONITOR_KEY,
    SupervisorAdmissionDue,
    SupervisorCloseReadRetryDue,
    SupervisorCloseWindowDue,
    SupervisorExitDeadlineDue,
    SupervisorMonitorDue,
    SupervisorRestartDue,
    SupervisorSessionTtlDue,
)

__all__ = ["SupervisorCore", "StartMaker", "TellMaker", "StopMaker", "RestRead", "FEED", "ORDER_GATEWAY"]

log = logging.getLogger("mmd.SessionSupervisorActor")

FEED = "feed"  # Send(to=...): the WS connection (market subscriptions)
ORDER_GATEWAY = "order_gateway"  # Send(to=...): sweeps (CancelAllOrders) pass through risk
BALANCE_PATH = "/portfolio/balance"
MARKET_PATH = "/markets/"  # + ticker: the close time of a market without a MarketConfig
_CLOSE_READ_ID = "supervisor-close-"  # + session id
LEFT_TRACKED_SET = "left_tracked_set"  # VolatilityEnded.reason: the scanner stopped tracking the ticker
# lifecycle events (kalshi-api.md market_lifecycle_v2) after which a market takes no new
# session; its close itself is the close-time rule's, from close_date_updated
_MARKET_OVER = frozenset({"determined", "settled"})
# Markets over, oldest first, remembered for the restart delay after a market's end
# (explicit_restart_s, minutes) and an hour more, at most this many (memory over a day of
# paper: ~400 markets settle a day, ~16 an hour; a market ended 2,000 ends ago is days old).
_REMEMBER_MARKETS_OVER = 2_000
_MARKETS_OVER_KEPT_S = 3_600  # beyond explicit_restart_s
_REGIMES_PRUNE_MIN = 256  # markets with a regime view before stale views are first forgotten


# -- the shell's own effects ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StartMaker:
    """Start the session's maker; only once it runs are `then` (the session's timers, its
    subscription, SessionStarted) carried out. If it cannot start: `maker_did_not_start`."""

    ticker: str
    session_id: str
    market_config: MarketConfig | None
    then: tuple = ()


@dataclass(frozen=True, slots=True)
class TellMaker:
    """Tell the session's maker `message`; a maker found gone: `maker_gone`."""

    session_id: str
    message: StopSession


@dataclass(frozen=True, slots=True)
class StopMaker:
    """Stop the session's maker actor (its session is over)."""

    session_id: str


@dataclass(frozen=True, slots=True)
class RestRead:
    """GET `path` from the REST client; the RestReadCompleted comes back to `on_rest_read`."""

    request_id: str
    path: str


class SupervisorCore:
    """The supervisor's state and decisions (module docstring). Every entry point takes the
    time and returns the effects to carry out, in order."""

    # what the supervisor hears on the bus, and everything it handles (replies and
    # StopSession come told, not published)
    SUBSCRIBED = (
        MarketSelected, VolatilityDetected, VolatilityEnded, RegimeUpdated, MakerStatus, MakerFinished, RiskDirective,
        KillSwitchEngaged, KillSwitchReleased, DiscoveryCompleted, MakerCrashed, MarketLifecycleChanged, ExposureChanged,
        MakerStartFailed,
    )
    INPUTS = (*SUBSCRIBED, RestReadCompleted, StopSession)

    def __init__(
        self,
        config: SupervisorConfig,
        *,
        run_id: str,
        regime_sample_interval_s: float,
        style: str = "volatility",
        errors: Counter | None = None,
    ) -> None:
        """regime_sample_interval_s: scanner.volatility.sample_interval_s (regime staleness
        allows one sample of it). errors: where failures are counted (the shell's counter)."""
        self.config = config
        self.style = style
        self.regime_sample_interval_s = regime_sample_interval_s
        self.sessions = SessionBook(run_id, config.max_concurrent_sessions, config.max_long_lived_sessions)
        self.admission = Admission(config, regime_sample_interval_s)
        self.errors: Counter = Counter() if errors is None else errors
        self.accepting = True
        self.halted_reason = ""  # kill switch engaged: no new sessions until released
        self.markets_over: dict[str, int] = {}  # determined or settled: no restart (-> when, oldest first)
        self.regimes: dict[str, RegimeView] = {}
        self._regimes_prune_above = _REGIMES_PRUNE_MIN  # regimes' size that triggers the next prune
        self.exposure = NO_EXPOSURE  # the risk governor's latest ExposureChanged
        self.dropped: list[dict] = []  # recent refused events, for status
        # the monitor ticks on the grid anchor + k * monitor_interval_s while sessions run or
        # events wait, but only where a tick may do something (_monitor_horizon): a tick
        # that would find nothing to do is not stepped
        self._monitor_armed = False  # the grid runs (its timer may be armed further on)
        self._monitor_anchor_ns = 0  # the grid: its last tick, or when it started
        self._monitor_wanted_ns: int | None = None  # the not_before of the tick armed (None: none armed)
        self._maker_start_failed = False  # a maker died starting: the next tick finds it dead
        self._balance_requests = 0
        self._balance_in_flight = False
        self._out: list = []  # effects of the message being handled
        self._inputs: dict[type, Callable[[Any, int], None]] = {
            MarketSelected: self._on_market_selected,
            VolatilityDetected: self._on_volatility_detected,
            VolatilityEnded: self._on_volatility_ended,
            RegimeUpdated: self._on_regime_updated,
            MarketLifecycleChanged: self._on_lifecycle,
            MakerStatus: self._on_maker_status,
            MakerFinished: self._on_maker_finished,
            MakerCrashed: self._on_maker_crashed,
            MakerStartFailed: self._on_maker_start_failed,
            RiskDirective: self._on_risk_directive,
            KillSwitchEngaged: self._on_kill_switch,
            KillSwitchReleased: self._on_kill_switch_released,
            DiscoveryCompleted: self._on_discovery_completed,
            ExposureChanged: self._on_exposure_changed,
            RestReadCompleted: self._on_rest_read,
            StopSession: self._on_stop_session,
        }

    # -- entry points (each returns the effects, in the order they must be carried out) ----
    def handle(self, message: Any, now_ns: int) -> list:
        with self._effects() as out:
            self._inputs[type(message)](message, now_ns)
            self._pull_monitor(now_ns)
        return out

    def on_due(self, due: Any, now_ns: int, *, dead_makers: frozenset[str] = frozenset()) -> list:
        """A timer of ours came due. dead_makers: session ids whose maker the shell found
        dead (looked at on SupervisorMonitorDue only)."""
        with self._effects() as out:
            if isinstance(due, SupervisorMonitorDue):
                self._monitor_armed = False
                self._maker_start_failed = False
                self._monitor(now_ns, dead_makers)
            elif isinstance(due, SupervisorAdmissionDue):
                self._admit_waiting(now_ns)
            elif isinstance(due, SupervisorSessionTtlDue):
                self._end_own(due.session_id, rules.TTL, now_ns)
            elif isinstance(due, SupervisorRestartDue):
                if self.sessions.get(due.ticker) is None and due.ticker not in self.markets_over:
                    self.start_session(due.ticker, "configured in scanner.tickers (restart)", now_ns)
            elif isinstance(due, SupervisorCloseReadRetryDue):
                session = self.sessions.by_session_id(due.session_id)
                if session is not None and session.close_ns is None:
                    self._read_close_time(session, now_ns)
            elif isinstance(due, SupervisorCloseWindowDue):
                self._end_own(due.session_id, rules.MARKET_CLOSE, now_ns)
            elif isinstance(due, SupervisorExitDeadlineDue):
                session = self.sessions.by_session_id(due.session_id)
                if session is not None and session.state == STOPPING and session.stop_requested_ns == due.ts:
                    log.warning(
                        "session %s on %s: maker did not finish its %s exit (%s) within supervisor.exit_timeout_s "
                        "(%.0f s): stopped, its orders swept, any position left as it stands",
                        session.session_id, session.ticker, session.end_urgency, session.end_reason,
                        self.config.exit_timeout_s,
                    )
                    self._close(session, now_ns, sweep=True)
            self._pull_monitor(now_ns)
        return out

    def stop_all_sessions(self, reason: str, now_ns: int, tickers: tuple[str, ...] | None = None) -> tuple[int, list]:
        """Stop accepting new sessions and end every open one (CANCEL: orders pulled,
        positions left to startup reconciliation), those already exiting less urgently
        included; with `tickers`, only the sessions on those markets are ended (the others
        run on, but no new session starts). Returns how many were told to end, and the effects."""
        with self._effects() as out:
            self.accepting = False
            self.admission.clear()
            told = sum(
                self.end_session(s.ticker, reason, ExitUrgency.CANCEL, now_ns)
                for s in list(self.sessions.active.values())
                if tickers is None or s.ticker in tickers
            )
            self._pull_monitor(now_ns)
        return told, out

    def open_session_tickers(self) -> list[str]:
        """Markets with a session whose maker has not finished, in the order they started."""
        return [s.ticker for s in self.sessions.active.values()]

    def shut_down(self, now_ns: int) -> list:
        """Last chance at shutdown (the shell is stopping): every maker still alive is told
        to cancel, stopped and its session recorded, so none outlives the daemon unrecorded."""
        with self._effects() as out:
            self.accepting = False
            self.admission.clear()
            for session in list(self.sessions.active.values()):
                # ACTIVE, or exiting less urgently: cancel now (an exit already cancelling keeps its reason)
                if self.sessions.begin_stop(session.ticker, rules.SHUTDOWN, ExitUrgency.CANCEL, now_ns) is not None:
                    self._tell_stop(session, rules.SHUTDOWN, ExitUrgency.CANCEL, now_ns)
                self._close(session, now_ns, sweep=True)
            if self._monitor_armed:
                self._monitor_armed = False
                self._emit(CancelTimer(MONITOR_KEY))
        return out

    def maker_did_not_start(self, session_id: str, skipped: tuple = ()) -> None:
        """The maker of a session just decided could not start (bad config): no session.
        `skipped`: the StartMaker's `then`, never carried out."""
        session = self.sessions.by_session_id(session_id)
        if session is not None:
            self.sessions.active.pop(session.ticker, None)
        if any(isinstance(e, ArmOnGrid) for e in skipped):
            self._monitor_armed = False

    def maker_gone(self, session_id: str, now_ns: int) -> list:
        """The session's maker could not be told (its actor is gone): closed as crashed."""
        with self._effects() as out:
            session = self.sessions.by_session_id(session_id)
            if session is not None:
                self._close(session, now_ns, sweep=True, reason=rules.CRASHED)
            self._pull_monitor(now_ns)
        return out

    def open_session_count(self) -> int:
        """Sessions whose maker has not finished yet (the runner waits for zero at shutdown)."""
        return len(self.sessions.active)

    # -- effects ------------------------------------------------------------------------
    def _effects(self) -> "_Collecting":
        return _Collecting(self)

    def _emit(self, effect: Any) -> None:
        self._out.append(effect)

    def _forget_stale_regimes(self, now: int) -> None:
        """A stale view never turns fresh again (judged on its data_ts) and admission reads
        a stale one as none: forget them, or every market that ever had an event stays for
        the life of the process. Amortised: pruned again once the map has doubled."""
        for ticker in [t for t, view in self.regimes.items() if not self.admission.regime_is_fresh(view, now)]:
            del self.regimes[ticker]
        self._regimes_prune_above = max(_REGIMES_PRUNE_MIN, 2 * len(self.regimes))

    # -- starting sessions --------------------------------------------------------------
    def _on_market_selected(self, event: MarketSelected, now: int) -> None:
        if self.style == "discovery":
            return  # discovery style picks from DiscoveryCompleted
        self.start_session(event.ticker, event.reason, now)

    def _on_volatility_detected(self, event: VolatilityDetected, now: int) -> None:
        if self.style == "discovery":
            return
        if not self.accepting or self.halted_reason:
            self._note_dropped(event, "not accepting new sessions: " + (self.halted_reason or "shutting down"), now)
            return
        refusal = self.admission.offer(event, now, session_active=self.sessions.get(event.ticker) is not None)
        if refusal:
            self._note_dropped(event, refusal, now)
            return
        due = SupervisorAdmissionDue(ticker=event.ticker, event_id=event.event_id, ts=now)
        self._emit(ArmTimer(due.key, now + seconds(self.config.regime_wait_s), due))
        self._request_balance_if_old(now)
        self._ensure_monitor(now)

    def _admit_waiting(self, now: int) -> None:
        """Start every waiting event that may start now, in arrival order."""
        if not self.admission.pending:
            return
        for pending in self.admission.waiting():
            if now < pending.ready_ns:
                continue
            ticker = pending.event.ticker
            verdict = self.admission.decide(
                pending,
                now,
                session_active=self.sessions.get(ticker) is not None,
                slot_free=self.sessions.slot_free(SessionKind.VOLATILITY),
                exposure=self.exposure,
                regime=self.regimes.get(ticker),
            )
            if verdict.action == START:
                self.admission.withdraw(ticker)
                event = pending.event
                self.start_session(
                    ticker, f"volatility:{event.event_id}", now, kind=SessionKind.VOLATILITY,
                    event_id=event.event_id, market_config=event.config,
                )
            elif verdict.action == DROP:
                self.admission.withdraw(ticker)
                self._note_dropped(pending.event, verdict.reason, now)
            elif pending.waiting_for != verdict.reason:
                pending.waiting_for = verdict.reason
                log.info("event %s on %s waits: %s", pending.event.event_id, ticker, verdict.reason)

    def start_session(
        self,
        ticker: str,
        reason: str,
        now: int,
        *,
        kind: str = SessionKind.EXPLICIT,
        event_id: str = "",
        market_config: MarketConfig | None = None,
    ) -> str | None:
        if not self.accepting or self.halted_reason:
            log.info("not starting %s: %s", ticker, self.halted_reason or "shutting down")
            return None
        refusal = self.sessions.refusal(ticker, kind)
        if refusal:
            log.info("not starting %s: %s", ticker, refusal)
            return None
        session_id = self.sessions.next_session_id()
        session = Session(
            session_id=session_id, ticker=ticker, reason=reason, started_ns=now, kind=kind,
            event_id=event_id, market_config=market_config, last_regime_ns=now,
        )
        view = self.regimes.get(ticker)
        if kind == SessionKind.VOLATILITY and view is not None and view.update.data_ts > 0:
            # admission saw this view fresh: staleness runs from its data, not from now
            session.last_regime_ns = view.update.data_ts
        with self._effects() as then:  # carried out once the maker runs
            ttl_s = self.config.session_ttl_s if kind == SessionKind.VOLATILITY else self.config.explicit_session_ttl_s
            if ttl_s > 0:
                due = SupervisorSessionTtlDue(ticker=ticker, session_id=session_id, ts=now)
                self._emit(ArmTimer(due.key, now + seconds(ttl_s), due))
                session.timers.append(due.key)
            self.sessions.add(session)
            if market_config is not None and market_config.close_ts is not None:
                self._set_close(session, market_config.close_ts, now)
            else:
                self._read_close_time(session, now)  # explicit tickers: no MarketConfig, no close time yet
            # snapshot: the ticker may be subscribed already (scanner tracking) and its book
            # quiet; the new maker needs the current book to leave WAIT_DATA
            self._emit(Send(FEED, SubscribeMarkets(tickers=(ticker,), ts=now, snapshot=True)))
            self._emit(
                Publish(
                    SessionStarted(
                        session_id=session_id, ticker=ticker, reason=reason, ts=now, event_id=event_id,
                        config=market_config,
                    )
                )
            )
            log.info("session %s started on %s (%s)", session_id, ticker, reason)
            self._ensure_monitor(now)
        self._emit(StartMaker(ticker, session_id, market_config, tuple(then)))
        return session_id

    # -- ending sessions ----------------------------------------------------------------
    def _on_stop_session(self, command: StopSession, now: int) -> None:
        self.end_session(command.ticker, command.reason, command.urgency, now)

    def _on_volatility_ended(self, event: VolatilityEnded, now: int) -> None:
        """Ends the event it names, and only that one: a ticker fires again after its
        session stops or its event lapses, so an end of an older event must not touch a
        newer event's wait or session (an empty event id matches any, by ticker)."""
        pending = self.admission.pending.get(event.ticker)
        if pending is not None and event.event_id in ("", pending.event.event_id):
            self.admission.withdraw(event.ticker)
            log.info("waiting event on %s withdrawn: volatility ended (%s)", event.ticker, event.reason)
        session = self.sessions.get(event.ticker)
        if session is None or session.kind != SessionKind.VOLATILITY:
            return
        if event.reason == LEFT_TRACKED_SET:
            session.left_tracked_set = True  # nobody else keeps its subscription (module docstring)
        if event.event_id in ("", session.event_id):
            self.end_session(event.ticker, rules.VOLATILITY_ENDED, ExitUrgency.PASSIVE, now)

    def _on_regime_updated(self, update: RegimeUpdated, now: int) -> None:
        self.regimes[update.ticker] = RegimeView(update, now)
        if len(self.regimes) > self._regimes_prune_above:
            self._forget_stale_regimes(now)
        session = self.sessions.get(update.ticker)
        if session is not None and session.kind == SessionKind.VOLATILITY and session.state in (ACTIVE, STOPPING):
            session.last_regime_ns = max(session.last_regime_ns, update.data_ts)
            decision = rules.regime_end(update, self.config, adverse_selection=session.adverse_selection)
            if decision is not None:  # on a STOPPING session only a more urgent exit changes anything
                self.end_session(update.ticker, decision.reason, decision.urgency, now)
        if update.ticker in self.admission.pending:
            self._admit_waiting(now)

    def _market_over(self, ticker: str, now: int) -> None:
        self.markets_over.setdefault(ticker, now)
        forget_before = now - seconds(self.config.explicit_restart_s + _MARKETS_OVER_KEPT_S)
        while self.markets_over and (
            len(self.markets_over) > _REMEMBER_MARKETS_OVER or next(iter(self.markets_over.values())) < forget_before
        ):
            del self.markets_over[next(iter(self.markets_over))]

    def _on_lifecycle(self, event: MarketLifecycleChanged, now: int) -> None:
        if event.event_type in _MARKET_OVER:
            self._market_over(event.ticker, now)
            return
        if event.event_type != "close_date_updated" or event.close_ts is None:
            return
        session = self.sessions.get(event.ticker)
        if session is not None and session.state == ACTIVE:
            log.info("session %s on %s: market close moved to %s", session.session_id, event.ticker, event.close_ts)
            self._set_close(session, event.close_ts * NS_PER_SECOND, now)

    def _on_maker_status(self, status: MakerStatus, now: int) -> None:
        session = self.sessions.get(status.ticker)
        if session is not None and session.session_id == status.session_id:
            session.last_status = status

    def _on_maker_finished(self, finished: MakerFinished, now: int) -> None:
        session = self.sessions.by_session_id(finished.session_id)
        if session is None:
            self._late_final_report(finished)  # closed at the exit deadline or as crashed
            return
        session.finished_reported = True
        if finished.position != 0:
            log.warning(
                "session %s on %s finished holding %s contract(s)", session.session_id, session.ticker, finished.position
            )
        # a maker that ended by itself (its own guardrail) is recorded as maker:<its reason>
        reason = None if session.state == STOPPING else f"maker:{finished.reason or 'finished'}"
        self._close(session, now, sweep=False, reason=reason, pnl=finished.realized_pnl, position_left=finished.position)

    def _late_final_report(self, finished: MakerFinished) -> None:
        """The last word of a maker whose session was closed without it: its P&L replaces
        the last MakerStatus's in the record (module docstring: why the repeat is safe)."""
        session = self.sessions.final_report(finished.session_id, finished.realized_pnl, finished.position)
        if session is None:
            return
        log.info(
            "session %s on %s: maker's final report after the close: pnl %s, position %s",
            session.session_id, session.ticker, finished.realized_pnl, finished.position,
        )
        self._emit(
            Publish(
                SessionStopped(
                    session_id=session.session_id, ticker=session.ticker, reason=session.end_reason,
                    ts=session.ended_ns, pnl=session.pnl,
                )
            )
        )

    def _on_maker_crashed(self, crash: MakerCrashed, now: int) -> None:
        # by session id: a late report of an old maker must not hit a newer session on the
        # ticker; the ticker only when the report could not name its session
        session = self.sessions.by_session_id(crash.session_id) if crash.session_id else self.sessions.get(crash.ticker)
        if session is None:
            return
        log.error("maker of session %s on %s crashed: %s", session.session_id, session.ticker, crash.error)
        self._close(session, now, sweep=True, reason=rules.CRASHED)

    def _on_risk_directive(self, directive: RiskDirective, now: int) -> None:
        if directive.action == "end_session":
            decision = rules.risk_end(directive.reason)
            self.end_session(directive.ticker, decision.reason, decision.urgency, now)

    def _on_kill_switch(self, message: KillSwitchEngaged, now: int) -> None:
        self.halted_reason = f"kill switch: {message.reason}"
        self.admission.clear()
        for session in list(self.sessions.active.values()):  # exiting ones too: cancel overrides their exit
            self.end_session(session.ticker, rules.KILL_SWITCH, ExitUrgency.CANCEL, now)

    def _on_kill_switch_released(self, message: KillSwitchReleased, now: int) -> None:
        self.halted_reason = ""

    def end_session(self, ticker: str, reason: str, urgency: str, now: int) -> bool:
        """Tell the maker to exit; the session ends for good on MakerFinished or the deadline.
        A session already exiting is told again only when `urgency` is more urgent than its
        exit (then `reason` is recorded); the deadline keeps running from the first stop."""
        current = self.sessions.get(ticker)
        escalating = current is not None and current.state == STOPPING
        previous = (current.end_reason, current.end_urgency) if escalating else None
        session = self.sessions.begin_stop(ticker, reason, urgency, now)
        if session is None:
            return False
        if not escalating:
            self._cancel_timers(session)
            due = SupervisorExitDeadlineDue(ticker=ticker, session_id=session.session_id, ts=now)
            self._emit(ArmTimer(due.key, now + seconds(self.config.exit_timeout_s), due))
            session.timers = [due.key]
        self._tell_stop(session, reason, urgency, now)
        if escalating:
            log.info(
                "session %s on %s: exit escalated from %s (%s) to %s (%s)",
                session.session_id, ticker, previous[1], previous[0], urgency, reason,
            )
        else:
            log.info("session %s on %s ending (%s, %s exit)", session.session_id, ticker, reason, urgency)
        return True

    def _tell_stop(self, session: Session, reason: str, urgency: str, now: int) -> None:
        stop = StopSession(ticker=session.ticker, reason=reason, ts=now, urgency=urgency)
        self._emit(TellMaker(session.session_id, stop))  # a maker found gone: maker_gone

    def _end_own(self, session_id: str, reason: str, now: int) -> None:
        """A session's own timer ended it (keyed by its id: never a later session's)."""
        session = self.sessions.by_session_id(session_id)
        if session is not None:
            self.end_session(session.ticker, reason, ExitUrgency.PASSIVE, now)

    def _cancel_timers(self, session: Session) -> None:
        for key in session.timers:
            self._emit(CancelTimer(key))
        session.timers = []
        if session.close_timer is not None:
            self._emit(CancelTimer(session.close_timer))
            session.close_timer = None

    def _close(
        self,
        session: Session,
        now: int,
        *,
        sweep: bool,
        reason: str | None = None,
        pnl: Decimal | None = None,
        position_left: Decimal | None = None,
    ) -> None:
        """Stop the maker, sweep its ticker when it did not confirm its orders gone, record the end."""
        self._cancel_timers(session)
        self._emit(StopMaker(session.session_id))
        if sweep:
            # the maker may have died or stalled with orders resting: the REST client reads
            # back and cancels whatever of ours still rests on this ticker
            sweep_reason = f"session ended: {reason or session.end_reason}"
            self._emit(Send(ORDER_GATEWAY, CancelAllOrders(reason=sweep_reason, ts=now, ticker=session.ticker)))
        if pnl is None:
            pnl = session.last_known_pnl()
        ended = self.sessions.finish(session.ticker, now, reason=reason, pnl=pnl, position_left=position_left)
        self._emit(
            Publish(
                SessionStopped(session_id=ended.session_id, ticker=ended.ticker, reason=ended.end_reason, ts=now, pnl=pnl)
            )
        )
        log.info("session %s on %s ended: %s (pnl %s)", ended.session_id, ended.ticker, ended.end_reason, pnl)
        restart = self._schedule_restart(ended, now)
        # (at shutdown the connection goes anyway)
        if self.accepting and not restart and self._scanner_does_not_track(ended):
            self._emit(Send(FEED, SubscribeMarkets(tickers=(ended.ticker,), ts=now, remove=True)))
        self._admit_waiting(now)  # a slot is free

    def _schedule_restart(self, ended: Session, now: int) -> bool:
        """A market the operator pinned (scanner.tickers) keeps ONE session through its
        life: a quiet stretch only pauses its maker, so the session ends only on a real end
        rule: the market's close window, its close or settlement, the risk governor, a kill
        switch or shutdown; none of those restarts it. Only a session lost to something else
        (a crash, an explicit TTL, the maker's own stop on a dead feed) is replaced by a new
        one after `explicit_restart_s`, so the market is still made once it trades again."""
        delay_s = self.config.explicit_restart_s
        if ended.kind != SessionKind.EXPLICIT or delay_s <= 0 or not self.accepting or self.halted_reason:
            return False
        if ended.ticker in self.markets_over or rules.is_real_end(ended.end_reason):
            return False
        if ended.close_ns is not None and now + seconds(delay_s) >= ended.close_ns - seconds(self.config.close_buffer_s):
            return False
        due = SupervisorRestartDue(ticker=ended.ticker, session_id=ended.session_id, ts=now)
        self._emit(ArmTimer(due.key, now + seconds(delay_s), due))
        log.info("pinned market %s: a new session in %.0f s", ended.ticker, delay_s)
        return True

    @staticmethod
    def _scanner_does_not_track(session: Session) -> bool:
        """Whether the session's subscription is ours alone to remove (module docstring)."""
        if session.kind == SessionKind.EXPLICIT:
            return True
        return session.kind == SessionKind.VOLATILITY and session.left_tracked_set

    # -- discovery style ----------------------------------------------------------------
    def _on_discovery_completed(self, run: DiscoveryCompleted, now: int) -> None:
        if self.style != "discovery" or not self.accepting or self.halted_reason:
            return
        chosen = [m for m in run.markets if m.selected][: self.config.max_long_lived_sessions]
        wanted = {m.ticker for m in chosen}
        for session in self.sessions.running():
            if session.kind != SessionKind.DISCOVERY or session.ticker in wanted:
                continue
            # never rotate out a market we hold or rest orders on: it keeps its maker
            if self.exposure.position(session.ticker) != 0 or self.exposure.has_resting_orders(session.ticker):
                continue
            self.end_session(session.ticker, rules.ROTATED_OUT, ExitUrgency.PASSIVE, now)
        for market in chosen:
            if self.sessions.get(market.ticker) is None:
                self.start_session(
                    market.ticker, f"discovery:{run.discovery_id}", now, kind=SessionKind.DISCOVERY,
                    market_config=market.config,
                )

    # -- the monitor ----------------------------------------------------------------------
    def _ensure_monitor(self, now: int) -> None:
        """Start the monitor's grid (ticks at now + k * monitor_interval_s) when sessions
        run or events wait."""
        if not self._monitor_armed and (self.sessions.active or self.admission.pending):
            self._monitor_armed = True
            self._monitor_anchor_ns = now
            self._monitor_wanted_ns = None
            self._pull_monitor(now)

    def _pull_monitor(self, now: int) -> None:
        """After any change: the monitor ticks no later than the first tick of its grid where
        it may do something (the grid itself never moves, so each tick that runs falls
        where it always did)."""
        if not self._monitor_armed:
            return
        horizon = self._monitor_horizon(now)
        wanted = self._monitor_wanted_ns
        if horizon is None or (wanted is not None and horizon >= wanted):
            return
        self._monitor_wanted_ns = horizon
        interval = seconds(self.config.monitor_interval_s)
        due = SupervisorMonitorDue(ts=now)
        self._emit(ArmOnGrid(due.key, self._monitor_anchor_ns, interval, horizon, due))

    def _monitor_horizon(self, now: int) -> int | None:
        """The earliest instant a monitor tick may do something, as things stand (None: not
        before some input changes them; every input asks again, see `_pull_monitor`):
        - every tick while an event waits, a volatility session runs (its regime may go
          stale), a maker died starting, or nothing runs any more (that tick ends the grid);
        - otherwise (pinned or discovery sessions only) when the balance gets old, or never
          while a read of it is under way (its reply asks again).
        Hazard: a maker that dies without a word (no MakerCrashed, no MakerStartFailed) is
        then found at the next tick that runs, not within monitor_interval_s."""
        if self.admission.pending or not self.sessions.active or self._maker_start_failed:
            return now
        if any(s.kind == SessionKind.VOLATILITY for s in self.sessions.active.values()):
            return now
        return self._balance_due_ns(now)

    def _on_maker_start_failed(self, failed: MakerStartFailed, now: int) -> None:
        # the monitor's next tick finds the maker dead (the shell looks) and closes the session
        self._maker_start_failed = True

    def _monitor(self, now: int, dead_makers: frozenset[str]) -> None:
        """Runs every monitor_interval_s while sessions run or events wait: crashed
        makers, stale regime data, waiting events, balance freshness."""
        for session in list(self.sessions.active.values()):
            if session.session_id in dead_makers:
                # Pykka ran the maker's on_failure and stopped it: it will never finish
                log.error("maker of session %s on %s crashed", session.session_id, session.ticker)
                self._close(session, now, sweep=True, reason=rules.CRASHED)
            elif (
                session.kind == SessionKind.VOLATILITY
                and session.state in (ACTIVE, STOPPING)  # a passive exit on stale data is escalated
                and rules.regime_is_stale(session.last_regime_ns, now, self.config, self.regime_sample_interval_s)
            ):
                self.end_session(session.ticker, rules.REGIME_STALE, ExitUrgency.IMMEDIATE, now)
        self._request_balance_if_old(now)
        self._admit_waiting(now)
        self._ensure_monitor(now)

    # -- facts from other actors ----------------------------------------------------------
    def _on_exposure_changed(self, changed: ExposureChanged, now: int) -> None:
        # kept for the next decision; a change alone decides nothing (the monitor re-decides)
        self.exposure = exposure_view_of(changed)

    def _balance_due_ns(self, now: int) -> int | None:
        """When the balance should next be read (None: a read is under way)."""
        if self._balance_in_flight:
            return None
        updated = self.admission.balance.updated_ns
        return now if updated is None else updated + seconds(self.config.balance_poll_interval_s)

    def _request_balance_if_old(self, now: int) -> None:
        due = self._balance_due_ns(now)
        if due is None or now < due:
            return
        self._balance_requests += 1
        self._balance_in_flight = True
        self._emit(RestRead(f"supervisor-balance-{self._balance_requests}", BALANCE_PATH))

    def _on_rest_read(self, reply: RestReadCompleted, now: int) -> None:
        if reply.request_id.startswith(_CLOSE_READ_ID):
            self._on_close_time_read(reply, now)
            return
        if reply.path != BALANCE_PATH:
            return
        self._balance_in_flight = False
        body = reply.body if isinstance(reply.body, Mapping) else {}
        cents = body.get("balance")
        if reply.status != 200 or not isinstance(cents, int) or isinstance(cents, bool):
            self.errors["balance_read"] += 1
            log.warning("balance read failed: status %s %s %r", reply.status, reply.error, body)
            return
        available = Decimal(cents) / 100
        self.admission.balance.update(available, now)
        self._emit(Publish(BalanceRead(available=available, ts=now)))  # the risk governor's pre-trade check
        self._admit_waiting(now)

    # -- market close times -------------------------------------------------------------
    def _set_close(self, session: Session, close_ns: int, now: int) -> None:
        """(Re)schedule the session's end close_buffer_s before `close_ns`."""
        session.close_ns = close_ns
        due = SupervisorCloseWindowDue(ticker=session.ticker, session_id=session.session_id, ts=now)
        self._emit(ArmTimer(due.key, rules.close_deadline_from(close_ns, self.config), due))  # replaces an earlier one
        session.close_timer = due.key

    def _read_close_time(self, session: Session, now: int) -> None:
        if session.close_read_in_flight:
            return
        session.close_read_in_flight = True
        self._emit(RestRead(_CLOSE_READ_ID + session.session_id, MARKET_PATH + session.ticker))

    def _on_close_time_read(self, reply: RestReadCompleted, now: int) -> None:
        session = self.sessions.by_session_id(reply.request_id.removeprefix(_CLOSE_READ_ID))
        if session is None:
            return  # ended meanwhile
        session.close_read_in_flight = False
        if session.state != ACTIVE or session.close_ns is not None:
            return  # exiting already, or a lifecycle event told us first
        market = reply.body.get("market") if isinstance(reply.body, Mapping) else None
        close_time = market.get("close_time") if isinstance(market, Mapping) else None
        try:
            if reply.status != 200 or not isinstance(close_time, str):
                raise ValueError(f"status {reply.status} {reply.error}, close_time {close_time!r}")
            close_ns = ns_from_rfc3339(close_time)
        except ValueError as exc:
            self.errors["close_time_read"] += 1
            log.warning(
                "session %s on %s: market close time unknown (%s); retrying in %.0f s",
                session.session_id, session.ticker, exc, self.config.close_time_retry_s,
            )
            due = SupervisorCloseReadRetryDue(ticker=session.ticker, session_id=session.session_id, ts=now)
            self._emit(ArmTimer(due.key, now + seconds(self.config.close_time_retry_s), due))
            return
        self._set_close(session, close_ns, now)

    # -- status ---------------------------------------------------------------------------
    def _note_dropped(self, event: VolatilityDetected, reason: str, now: int) -> None:
        log.info("event %s on %s not admitted: %s", event.event_id, event.ticker, reason)
        self.dropped = [*self.dropped[-19:], {"event_id": event.event_id, "ticker": event.ticker, "reason": reason, "ts": now}]

    def status(self) -> dict:
        """What the supervisor knows, makers included only as their latest MakerStatus."""
        active = [
            {
                "session_id": session.session_id,
                "ticker": session.ticker,
                "kind": session.kind,
                "reason": session.reason,
                "state": session.state,
                "end_reason": session.end_reason,
                "started_ns": session.started_ns,
                "maker": _maker_status(session),
            }
            for session in self.sessions.active.values()
        ]
        ended = [
            {
                "session_id": s.session_id,
                "ticker": s.ticker,
                "reason": s.end_reason,
                "ended_ns": s.ended_ns,
                "pnl": None if s.pnl is None else str(s.pnl),
            }
            for s in self.sessions.recently_ended(ENDED_SHOWN)
        ]
        waiting = [
            {"event_id": p.event.event_id, "ticker": p.event.ticker, "waiting_for": p.waiting_for}
            for p in self.admission.waiting()
        ]
        balance = self.admission.balance.balance
        return {
            "accepting": self.accepting,
            "halted": self.halted_reason,
            "style": self.style,
            "active": active,
            "ended": ended,
            "waiting_events": waiting,
            "dropped_events": list(self.dropped),
            "balance": None if balance is None else str(balance),
        }


def _maker_status(session: Session) -> dict:
    status = session.last_status
    if status is None:
        return {"ticker": session.ticker, "state": "unknown", "why_not_quoting": "no MakerStatus from the maker yet"}
    return {
        "ticker": status.ticker,
        "state": status.state,
        "why_not_quoting": status.why_not_quoting,
        "adverse_selection": status.adverse_selection,
        "position": status.position,
        "realized_pnl": status.realized_pnl,
        "unrealized_pnl": status.unrealized_pnl,
        "ts": status.ts,
    }


class _Collecting:
    """`with core._effects() as out`: the effects emitted inside go to `out` (a fresh list),
    the outer collection is restored after. A class, not @contextmanager: it runs on
    every message the supervisor handles (a generator per message cost more than the work)."""

    __slots__ = ("_core", "_outer")

    def __init__(self, core: SupervisorCore) -> None:
        self._core = core
        self._outer: list | None = None

    def __enter__(self) -> list:
        core = self._core
        self._outer, core._out = core._out, []
        return core._out

    def __exit__(self, *_exc: object) -> None:
        self._core._out = self._outer
