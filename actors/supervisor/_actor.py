"""Session supervisor actor shell: admits volatility events, spawns one maker actor per
session, ends sessions for their reasons, contains maker crashes.

Direction: the supervisor tells the WS connection to subscribe markets, tells makers to
stop, sends sweeps (CancelAllOrders) and balance reads down the graph, and *asks* the
risk governor for its exposure (down the graph; risk never asks the supervisor). Events
come up on the bus. Decisions live in plain classes (Admission, SessionBook, _rules).

Session end protocol: StopSession(urgency) to the maker -> STOPPING -> MakerFinished
(or the exit deadline, or the maker found dead) -> stop the actor -> SessionStopped with
the reason and P&L (analytics records it in volatility_sessions).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

import pykka

from actors._base import MmdActor, handles
from config import SupervisorConfig
from messages import (
    CancelAllOrders,
    DiscoveryCompleted,
    ExitUrgency,
    KillSwitchEngaged,
    KillSwitchReleased,
    MakerFinished,
    MakerStatus,
    MarketConfig,
    MarketSelected,
    RegimeUpdated,
    RestReadCompleted,
    RestReadRequested,
    RiskDirective,
    SessionStarted,
    SessionStopped,
    StopSession,
    SubscribeMarkets,
    TimerFired,
    VolatilityDetected,
    VolatilityEnded,
)
from mmd.clock import seconds

from . import _rules as rules
from ._admission import DROP, START, Admission, ExposureView, RegimeView, exposure_view_from
from ._crash import MakerCrashed
from ._sessions import ACTIVE, STOPPING, Session, SessionBook, SessionKind

__all__ = ["SessionSupervisorActor", "MakerFactory"]

# (ticker, session_id, market_config or None) -> started maker ActorRef
MakerFactory = Callable[[str, str, MarketConfig | None], Any]
STATUS_ASK_TIMEOUT_S = 1.0
BALANCE_PATH = "/portfolio/balance"

# timer names carry the ticker: equal-deadline timers order by it, not by thread timing
_ADMIT, _MONITOR, _TTL, _CLOSE, _EXIT = (
    "supervisor-admit:",
    "supervisor-monitor",
    "supervisor-ttl:",
    "supervisor-close:",
    "supervisor-exit:",
)


class SessionSupervisorActor(MmdActor):
    def __init__(
        self,
        *,
        clock,
        bus,
        tracker=None,
        config: SupervisorConfig,
        run_id: str,
        maker_factory: MakerFactory,
        feed: Any,
        order_gateway: Any,
        risk: Any = None,
        rest: Any = None,
        style: str = "volatility",
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self.config = config
        self.sessions = SessionBook(run_id, config.max_concurrent_sessions, config.max_long_lived_sessions)
        self.admission = Admission(config)
        self.maker_factory = maker_factory
        self.feed = feed
        self.order_gateway = order_gateway  # sweeps pass through risk, which settles exposure on them
        self.risk = risk  # asked for exposure (positions, resting orders)
        self.rest = rest  # balance reads
        self.style = style
        self.accepting = True
        self.halted_reason = ""  # kill switch engaged: no new sessions until released
        self.regimes: dict[str, RegimeView] = {}
        self.dropped: list[dict] = []  # recent refused events, for status
        self._monitor_timer = None
        self._balance_requests = 0
        self._balance_in_flight = False
        self._risk_proxy = None

    def on_start(self) -> None:
        for message_type in (
            MarketSelected,
            VolatilityDetected,
            VolatilityEnded,
            RegimeUpdated,
            MakerStatus,
            MakerFinished,
            RiskDirective,
            KillSwitchEngaged,
            KillSwitchReleased,
            DiscoveryCompleted,
            MakerCrashed,
        ):
            self.bus.subscribe(self.actor_ref, message_type)

    def on_stop(self) -> None:
        """Last chance at shutdown: every maker still alive is stopped and its session
        recorded, so no maker outlives the daemon unrecorded."""
        now = self.clock.now_ns()
        self.accepting = False
        self.admission.clear()
        makers = []
        for session in list(self.sessions.active.values()):
            if session.state == ACTIVE:
                self.sessions.begin_stop(session.ticker, rules.SHUTDOWN, ExitUrgency.CANCEL, now)
                self.send(session.maker, StopSession(ticker=session.ticker, reason=rules.SHUTDOWN, ts=now))
            makers.append(session.maker)
            self._close(session, now, sweep=True)
        self.clock.cancel(self._monitor_timer)
        for maker in makers:  # the daemon checks for survivors right after we stop
            maker.actor_stopped.wait(STATUS_ASK_TIMEOUT_S)

    # -- starting sessions ----------------------------------------------------------------
    @handles(MarketSelected)
    def on_market_selected(self, event: MarketSelected) -> None:
        if self.style == "discovery":
            return  # discovery style picks from DiscoveryCompleted
        self.start_session(event.ticker, event.reason)

    @handles(VolatilityDetected)
    def on_volatility_detected(self, event: VolatilityDetected) -> None:
        now = self.clock.now_ns()
        if self.style == "discovery":
            return
        if not self.accepting or self.halted_reason:
            self._note_dropped(event, "not accepting new sessions: " + (self.halted_reason or "shutting down"), now)
            return
        refusal = self.admission.offer(event, now, session_active=self.sessions.get(event.ticker) is not None)
        if refusal:
            self._note_dropped(event, refusal, now)
            return
        self.timer(seconds(self.config.regime_wait_s), TimerFired(what=_ADMIT + event.ticker, ts=now))
        self._request_balance_if_old(now)
        self._ensure_monitor()

    def _admit_waiting(self) -> None:
        """Start every waiting event that may start now, in arrival order."""
        if not self.admission.pending:
            return
        now = self.clock.now_ns()
        exposure = None
        for pending in self.admission.waiting():
            if now < pending.ready_ns:
                continue
            if exposure is None:
                exposure = self._exposure()
            ticker = pending.event.ticker
            verdict = self.admission.decide(
                pending,
                now,
                session_active=self.sessions.get(ticker) is not None,
                slot_free=self.sessions.slot_free(SessionKind.VOLATILITY),
                exposure=exposure,
                regime=self.regimes.get(ticker),
            )
            if verdict.action == START:
                self.admission.withdraw(ticker)
                event = pending.event
                self.start_session(
                    ticker, f"volatility:{event.event_id}", kind=SessionKind.VOLATILITY, event_id=event.event_id,
                    market_config=event.config,
                )
            elif verdict.action == DROP:
                self.admission.withdraw(ticker)
                self._note_dropped(pending.event, verdict.reason, now)
            elif pending.waiting_for != verdict.reason:
                pending.waiting_for = verdict.reason
                self.log.info("event %s on %s waits: %s", pending.event.event_id, ticker, verdict.reason)

    def start_session(
        self,
        ticker: str,
        reason: str,
        *,
        kind: str = SessionKind.EXPLICIT,
        event_id: str = "",
        market_config: MarketConfig | None = None,
    ) -> str | None:
        if not self.accepting or self.halted_reason:
            self.log.info("not starting %s: %s", ticker, self.halted_reason or "shutting down")
            return None
        refusal = self.sessions.refusal(ticker, kind)
        if refusal:
            self.log.info("not starting %s: %s", ticker, refusal)
            return None
        now = self.clock.now_ns()
        session_id = self.sessions.next_session_id()
        try:
            maker = self.maker_factory(ticker, session_id, market_config)
        except Exception:  # a maker that cannot even start (bad config): no session, carry on
            self.errors["maker_start"] += 1
            self.log.exception("session %s on %s: the maker did not start", session_id, ticker)
            return None
        session = Session(
            session_id=session_id, ticker=ticker, reason=reason, started_ns=now, maker=maker, kind=kind,
            event_id=event_id, market_config=market_config, last_regime_ns=now,
        )
        if kind == SessionKind.VOLATILITY:
            session.last_regime_ns = max(now, self.regimes[ticker].received_ns) if ticker in self.regimes else now
        ttl_s = self.config.session_ttl_s if kind == SessionKind.VOLATILITY else self.config.explicit_session_ttl_s
        if ttl_s > 0:
            session.timers.append(self.timer(seconds(ttl_s), TimerFired(what=_TTL + ticker, ts=now)))
        close_at = rules.close_deadline_ns(market_config, self.config)
        if close_at is not None:
            session.timers.append(self.clock.call_at(close_at, self.actor_ref, TimerFired(what=_CLOSE + ticker, ts=now)))
        self.sessions.add(session)
        self.send(self.feed, SubscribeMarkets(tickers=(ticker,), ts=now))
        self.publish(
            SessionStarted(session_id=session_id, ticker=ticker, reason=reason, ts=now, event_id=event_id, config=market_config)
        )
        self.log.info("session %s started on %s (%s)", session_id, ticker, reason)
        self._ensure_monitor()
        return session_id

    # -- ending sessions --------------------------------------------------------------------
    @handles(StopSession)
    def on_stop_session(self, command: StopSession) -> None:
        self.end_session(command.ticker, command.reason, command.urgency)

    @handles(VolatilityEnded)
    def on_volatility_ended(self, event: VolatilityEnded) -> None:
        if self.admission.withdraw(event.ticker) is not None:
            self.log.info("waiting event on %s withdrawn: volatility ended (%s)", event.ticker, event.reason)
        session = self.sessions.get(event.ticker)
        if session is not None and session.kind == SessionKind.VOLATILITY:
            self.end_session(event.ticker, rules.VOLATILITY_ENDED, ExitUrgency.PASSIVE)

    @handles(RegimeUpdated)
    def on_regime_updated(self, update: RegimeUpdated) -> None:
        now = self.clock.now_ns()
        self.regimes[update.ticker] = RegimeView(update, now)
        session = self.sessions.get(update.ticker)
        if session is not None and session.kind == SessionKind.VOLATILITY and session.state == ACTIVE:
            session.last_regime_ns = now
            decision = rules.regime_end(update, self.config, adverse_selection=session.adverse_selection)
            if decision is not None:
                self.end_session(update.ticker, decision.reason, decision.urgency)
        if update.ticker in self.admission.pending:
            self._admit_waiting()

    @handles(MakerStatus)
    def on_maker_status(self, status: MakerStatus) -> None:
        session = self.sessions.get(status.ticker)
        if session is not None and session.session_id == status.session_id:
            session.last_status = status

    @handles(MakerFinished)
    def on_maker_finished(self, finished: MakerFinished) -> None:
        session = self.sessions.by_session_id(finished.session_id)
        if session is None:
            return  # already closed (exit deadline passed, or found dead)
        if finished.position != 0:
            self.log.warning(
                "session %s on %s finished holding %s contract(s)", session.session_id, session.ticker, finished.position
            )
        # a maker that ended by itself (its own guardrail) is recorded as maker:<its reason>
        reason = None if session.state == STOPPING else f"maker:{finished.reason or 'finished'}"
        self._close(
            session, self.clock.now_ns(), sweep=False, reason=reason, pnl=finished.realized_pnl,
            position_left=finished.position,
        )

    @handles(MakerCrashed)
    def on_maker_crashed(self, crash: MakerCrashed) -> None:
        session = self.sessions.by_session_id(crash.session_id) or self.sessions.get(crash.ticker)
        if session is None:
            return
        self.log.error("maker of session %s on %s crashed: %s", session.session_id, session.ticker, crash.error)
        self._close(session, self.clock.now_ns(), sweep=True, reason=rules.CRASHED)

    @handles(RiskDirective)
    def on_risk_directive(self, directive: RiskDirective) -> None:
        if directive.action == "end_session":
            decision = rules.risk_end(directive.reason)
            self.end_session(directive.ticker, decision.reason, decision.urgency)

    @handles(KillSwitchEngaged)
    def on_kill_switch(self, message: KillSwitchEngaged) -> None:
        self.halted_reason = f"kill switch: {message.reason}"
        self.admission.clear()
        for session in self.sessions.running():
            self.end_session(session.ticker, rules.KILL_SWITCH, ExitUrgency.CANCEL)

    @handles(KillSwitchReleased)
    def on_kill_switch_released(self, message: KillSwitchReleased) -> None:
        self.halted_reason = ""

    def end_session(self, ticker: str, reason: str, urgency: str = ExitUrgency.CANCEL) -> bool:
        """Tell the maker to exit; the session ends for good on MakerFinished or the deadline."""
        now = self.clock.now_ns()
        session = self.sessions.begin_stop(ticker, reason, urgency, now)
        if session is None:
            return False
        for handle in session.timers:
            self.clock.cancel(handle)
        session.timers = [self.timer(seconds(self.config.exit_timeout_s), TimerFired(what=_EXIT + ticker, ts=now))]
        if not self.send(session.maker, StopSession(ticker=ticker, reason=reason, ts=now, urgency=urgency)):
            self._close(session, now, sweep=True, reason=rules.CRASHED)  # it was already dead
            return True
        self.log.info("session %s on %s ending (%s, %s exit)", session.session_id, ticker, reason, urgency)
        return True

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
        for handle in session.timers:
            self.clock.cancel(handle)
        session.maker.stop(block=False)
        if sweep:
            # the maker may have died or stalled with orders resting: the REST client reads
            # back and cancels whatever of ours still rests on this ticker
            self.send(
                self.order_gateway,
                CancelAllOrders(reason=f"session ended: {reason or session.end_reason}", ts=now, ticker=session.ticker),
            )
        if pnl is None:
            pnl = session.last_known_pnl()
        ended = self.sessions.finish(session.ticker, now, reason=reason, pnl=pnl, position_left=position_left)
        self.publish(
            SessionStopped(session_id=ended.session_id, ticker=ended.ticker, reason=ended.end_reason, ts=now, pnl=pnl)
        )
        self.log.info("session %s on %s ended: %s (pnl %s)", ended.session_id, ended.ticker, ended.end_reason, pnl)
        self._admit_waiting()  # a slot is free

    def stop_all_sessions(self, reason: str) -> int:
        """Stop accepting new sessions and end every active one (CANCEL: orders pulled,
        positions left to startup reconciliation). Returns how many were told to end."""
        self.accepting = False
        self.admission.clear()
        return sum(self.end_session(s.ticker, reason, ExitUrgency.CANCEL) for s in self.sessions.running())

    def open_session_count(self) -> int:
        """Sessions whose maker has not finished yet (the runner waits for zero at shutdown)."""
        return len(self.sessions.active)

    # -- discovery style --------------------------------------------------------------------
    @handles(DiscoveryCompleted)
    def on_discovery_completed(self, run: DiscoveryCompleted) -> None:
        if self.style != "discovery" or not self.accepting or self.halted_reason:
            return
        chosen = [m for m in run.markets if m.selected][: self.config.max_long_lived_sessions]
        wanted = {m.ticker for m in chosen}
        exposure = None
        for session in self.sessions.running():
            if session.kind != SessionKind.DISCOVERY or session.ticker in wanted:
                continue
            exposure = exposure or self._exposure()
            # never rotate out a market we hold or rest orders on: it keeps its maker
            if exposure is None or exposure.position(session.ticker) != 0 or exposure.has_resting_orders(session.ticker):
                continue
            self.end_session(session.ticker, rules.ROTATED_OUT, ExitUrgency.PASSIVE)
        for market in chosen:
            if self.sessions.get(market.ticker) is None:
                self.start_session(
                    market.ticker, f"discovery:{run.discovery_id}", kind=SessionKind.DISCOVERY,
                    market_config=market.config,
                )

    # -- timers -----------------------------------------------------------------------------
    @handles(TimerFired)
    def on_timer(self, timer: TimerFired) -> None:
        what = timer.what
        if what == _MONITOR:
            self._monitor_timer = None
            self._monitor()
        elif what.startswith(_ADMIT):
            self._admit_waiting()
        elif what.startswith(_TTL):
            self._end_if(what.removeprefix(_TTL), timer.ts, rules.TTL, ExitUrgency.PASSIVE)
        elif what.startswith(_CLOSE):
            self._end_if(what.removeprefix(_CLOSE), timer.ts, rules.MARKET_CLOSE, ExitUrgency.PASSIVE)
        elif what.startswith(_EXIT):
            session = self.sessions.get(what.removeprefix(_EXIT))
            if session is not None and session.state == STOPPING and session.stop_requested_ns == timer.ts:
                self.log.warning(
                    "session %s on %s: maker did not finish its exit in %.0f s; stopping it",
                    session.session_id, session.ticker, self.config.exit_timeout_s,
                )
                self._close(session, self.clock.now_ns(), sweep=True)

    def _end_if(self, ticker: str, scheduled_ns: int, reason: str, urgency: str) -> None:
        session = self.sessions.get(ticker)
        if session is not None and session.started_ns <= scheduled_ns:  # not a later session's timer
            self.end_session(ticker, reason, urgency)

    def _ensure_monitor(self) -> None:
        if self._monitor_timer is None and (self.sessions.active or self.admission.pending):
            now = self.clock.now_ns()
            self._monitor_timer = self.timer(seconds(self.config.monitor_interval_s), TimerFired(what=_MONITOR, ts=now))

    def _monitor(self) -> None:
        """Runs every monitor_interval_s while sessions run or events wait: crashed
        makers, stale regime data, waiting events, balance freshness."""
        now = self.clock.now_ns()
        for session in list(self.sessions.active.values()):
            if not session.maker.is_alive():
                # Pykka ran the maker's on_failure and stopped it: it will never finish
                self.log.error("maker of session %s on %s crashed", session.session_id, session.ticker)
                self._close(session, now, sweep=True, reason=rules.CRASHED)
            elif (
                session.kind == SessionKind.VOLATILITY
                and session.state == ACTIVE
                and rules.regime_is_stale(session.last_regime_ns, now, self.config)
            ):
                self.end_session(session.ticker, rules.REGIME_STALE, ExitUrgency.IMMEDIATE)
        self._request_balance_if_old(now)
        self._admit_waiting()
        self._ensure_monitor()

    # -- facts from other actors ------------------------------------------------------------
    def _exposure(self) -> ExposureView | None:
        """Ask the risk governor (down the graph; it never asks us). None when it cannot say."""
        if self.risk is None:
            return ExposureView({}, {}, Decimal("0"))  # no risk actor wired (tests of the shell)
        try:
            if self._risk_proxy is None:
                self._risk_proxy = self.risk.proxy()
            try:
                raw = self._risk_proxy.exposure_snapshot().get(timeout=self.config.ask_timeout_s)
            except AttributeError:  # a governor without exposure_snapshot: its status has the same facts
                raw = self._risk_proxy.get_status().get(timeout=self.config.ask_timeout_s)
            return exposure_view_from(raw)
        except (pykka.ActorDeadError, pykka.Timeout, ValueError) as exc:
            self.errors["exposure_unknown"] += 1
            self.log.warning("risk exposure unavailable: %s", exc)
            return None

    def _request_balance_if_old(self, now: int) -> None:
        if self.rest is None or self._balance_in_flight:
            return
        updated = self.admission.balance.updated_ns
        if updated is not None and now - updated < seconds(self.config.balance_poll_interval_s):
            return
        self._balance_requests += 1
        self._balance_in_flight = True
        self.send(
            self.rest,
            RestReadRequested(
                request_id=f"supervisor-balance-{self._balance_requests}", path=BALANCE_PATH, query=(),
                reply_to=self.actor_ref, ts=now,
            ),
        )

    @handles(RestReadCompleted)
    def on_rest_read(self, reply: RestReadCompleted) -> None:
        if reply.path != BALANCE_PATH:
            return
        self._balance_in_flight = False
        body = reply.body if isinstance(reply.body, dict) else {}
        cents = body.get("balance")
        if reply.status != 200 or not isinstance(cents, int) or isinstance(cents, bool):
            self.errors["balance_read"] += 1
            self.log.warning("balance read failed: status %s %s %r", reply.status, reply.error, body)
            return
        self.admission.balance.update(Decimal(cents) / 100, self.clock.now_ns())
        self._admit_waiting()

    # -- status -----------------------------------------------------------------------------
    def _note_dropped(self, event: VolatilityDetected, reason: str, now: int) -> None:
        self.log.info("event %s on %s not admitted: %s", event.event_id, event.ticker, reason)
        self.dropped = [*self.dropped[-19:], {"event_id": event.event_id, "ticker": event.ticker, "reason": reason, "ts": now}]

    def get_status(self) -> dict:
        sessions = []
        for session in self.sessions.active.values():
            entry = {
                "session_id": session.session_id,
                "ticker": session.ticker,
                "kind": session.kind,
                "reason": session.reason,
                "state": session.state,
                "end_reason": session.end_reason,
                "started_ns": session.started_ns,
            }
            try:
                entry["maker"] = session.maker.proxy().get_status().get(timeout=STATUS_ASK_TIMEOUT_S)
            except (pykka.ActorDeadError, pykka.Timeout, AttributeError) as exc:
                entry["maker"] = {"state": "unavailable", "why_not_quoting": type(exc).__name__}
            sessions.append(entry)
        ended = [
            {
                "session_id": s.session_id,
                "ticker": s.ticker,
                "reason": s.end_reason,
                "ended_ns": s.ended_ns,
                "pnl": None if s.pnl is None else str(s.pnl),
            }
            for s in self.sessions.ended[-20:]
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
            "active": sessions,
            "ended": ended,
            "waiting_events": waiting,
            "dropped_events": list(self.dropped),
            "balance": None if balance is None else str(balance),
        }
