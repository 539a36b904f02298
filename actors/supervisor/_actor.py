"""Session supervisor actor shell: admits volatility events, spawns one maker actor per
session, ends sessions for their reasons, contains maker crashes.

Direction: the supervisor tells the WS connection to subscribe markets, tells makers to
stop, sends sweeps (CancelAllOrders) and balance reads down the graph, *asks* the risk
governor for its exposure and tells it each balance it reads (`note_balance`, for the
pre-trade balance check), all down the graph (risk never asks the supervisor). Events
come up on the bus. Decisions live in plain classes (Admission, SessionBook, _rules).

Session end protocol: StopSession(urgency) to the maker -> STOPPING -> MakerFinished
(or the exit deadline, or the maker found dead) -> stop the actor -> SessionStopped with
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
rediscover_interval_s (600 s) exceeding exit_timeout_s (60 s): a ticker cannot rejoin the
tracked set between leaving it and its session's end. Discovery-style sessions keep their
subscription (the supervisor cannot tell whether the scanner tracks the ticker). Nothing
is removed at shutdown (stop_all_sessions, on_stop): the connection closes anyway.
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
    MarketLifecycleChanged,
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
from kernel.clock import NS_PER_SECOND, seconds
from kalshi.wire import ns_from_rfc3339

from . import _rules as rules
from ._admission import DROP, START, Admission, ExposureView, RegimeView, exposure_view_from
from ._crash import MakerCrashed
from ._sessions import ACTIVE, STOPPING, Session, SessionBook, SessionKind

__all__ = ["SessionSupervisorActor", "MakerFactory"]

# (ticker, session_id, market_config or None) -> started maker ActorRef
MakerFactory = Callable[[str, str, MarketConfig | None], Any]
STATUS_ASK_TIMEOUT_S = 1.0
BALANCE_PATH = "/portfolio/balance"
MARKET_PATH = "/markets/"  # + ticker: the close time of a market without a MarketConfig
_CLOSE_READ_ID = "supervisor-close-"  # + session id
LEFT_TRACKED_SET = "left_tracked_set"  # VolatilityEnded.reason: the scanner stopped tracking the ticker

# timer names carry the ticker: equal-deadline timers order by it, not by thread timing
_ADMIT, _MONITOR, _TTL, _CLOSE, _EXIT, _CLOSE_RETRY, _RESTART = (
    "supervisor-admit:",
    "supervisor-monitor",
    "supervisor-ttl:",
    "supervisor-close:",
    "supervisor-exit:",
    "supervisor-close-read:",
    "supervisor-restart:",
)
# lifecycle events (kalshi-api.md market_lifecycle_v2) after which a market takes no new
# session; its close itself is the close-time rule's, from close_date_updated
_MARKET_OVER = frozenset({"determined", "settled"})


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
        regime_sample_interval_s: float,
        ask_timeout_s: float | None = None,
    ) -> None:
        """regime_sample_interval_s: scanner.volatility.sample_interval_s (regime staleness
        allows one sample of it). ask_timeout_s: the exposure ask's wall-clock bound;
        None: config.ask_timeout_s (the wiring passes replay_ask_timeout_s in replays)."""
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self.config = config
        self.sessions = SessionBook(run_id, config.max_concurrent_sessions, config.max_long_lived_sessions)
        self.regime_sample_interval_s = regime_sample_interval_s
        self.admission = Admission(config, regime_sample_interval_s)
        self.ask_timeout_s = config.ask_timeout_s if ask_timeout_s is None else ask_timeout_s
        self.maker_factory = maker_factory
        self.feed = feed
        self.order_gateway = order_gateway  # sweeps pass through risk, which settles exposure on them
        self.risk = risk  # asked for exposure (positions, resting orders)
        self.rest = rest  # balance reads
        self.style = style
        self.accepting = True
        self.halted_reason = ""  # kill switch engaged: no new sessions until released
        self.markets_over: set[str] = set()  # closed, determined or settled: no new session
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
            MarketLifecycleChanged,
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
            # ACTIVE, or exiting less urgently: cancel now (an exit already cancelling keeps its reason)
            if self.sessions.begin_stop(session.ticker, rules.SHUTDOWN, ExitUrgency.CANCEL, now) is not None:
                self.send(
                    session.maker,
                    StopSession(ticker=session.ticker, reason=rules.SHUTDOWN, ts=now, urgency=ExitUrgency.CANCEL),
                )
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
        view = self.regimes.get(ticker)
        if kind == SessionKind.VOLATILITY and view is not None and view.update.data_ts > 0:
            # admission saw this view fresh: staleness runs from its data, not from now
            session.last_regime_ns = view.update.data_ts
        ttl_s = self.config.session_ttl_s if kind == SessionKind.VOLATILITY else self.config.explicit_session_ttl_s
        if ttl_s > 0:
            session.timers.append(self.timer(seconds(ttl_s), TimerFired(what=_TTL + ticker, ts=now)))
        self.sessions.add(session)
        if market_config is not None and market_config.close_ts is not None:
            self._set_close(session, market_config.close_ts, now)
        else:
            self._read_close_time(session, now)  # explicit tickers: no MarketConfig, no close time yet
        # snapshot: the ticker may be subscribed already (scanner tracking) and its book
        # quiet; the new maker needs the current book to leave WAIT_DATA
        self.send(self.feed, SubscribeMarkets(tickers=(ticker,), ts=now, snapshot=True))
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
        """Ends the event it names, and only that one: a ticker fires again after its
        session stops or its event lapses, so an end of an older event must not touch a
        newer event's wait or session (an empty event id matches any, by ticker)."""
        pending = self.admission.pending.get(event.ticker)
        if pending is not None and event.event_id in ("", pending.event.event_id):
            self.admission.withdraw(event.ticker)
            self.log.info("waiting event on %s withdrawn: volatility ended (%s)", event.ticker, event.reason)
        session = self.sessions.get(event.ticker)
        if session is None or session.kind != SessionKind.VOLATILITY:
            return
        if event.reason == LEFT_TRACKED_SET:
            session.left_tracked_set = True  # nobody else keeps its subscription (module docstring)
        if event.event_id in ("", session.event_id):
            self.end_session(event.ticker, rules.VOLATILITY_ENDED, ExitUrgency.PASSIVE)

    @handles(RegimeUpdated)
    def on_regime_updated(self, update: RegimeUpdated) -> None:
        now = self.clock.now_ns()
        self.regimes[update.ticker] = RegimeView(update, now)
        session = self.sessions.get(update.ticker)
        if session is not None and session.kind == SessionKind.VOLATILITY and session.state in (ACTIVE, STOPPING):
            session.last_regime_ns = max(session.last_regime_ns, update.data_ts)
            decision = rules.regime_end(update, self.config, adverse_selection=session.adverse_selection)
            if decision is not None:  # on a STOPPING session only a more urgent exit changes anything
                self.end_session(update.ticker, decision.reason, decision.urgency)
        if update.ticker in self.admission.pending:
            self._admit_waiting()

    @handles(MarketLifecycleChanged)
    def on_lifecycle(self, event: MarketLifecycleChanged) -> None:
        if event.event_type in _MARKET_OVER:
            self.markets_over.add(event.ticker)
            return
        if event.event_type != "close_date_updated" or event.close_ts is None:
            return
        session = self.sessions.get(event.ticker)
        if session is not None and session.state == ACTIVE:
            self.log.info("session %s on %s: market close moved to %s", session.session_id, event.ticker, event.close_ts)
            self._set_close(session, event.close_ts * NS_PER_SECOND, self.clock.now_ns())

    @handles(MakerStatus)
    def on_maker_status(self, status: MakerStatus) -> None:
        session = self.sessions.get(status.ticker)
        if session is not None and session.session_id == status.session_id:
            session.last_status = status

    @handles(MakerFinished)
    def on_maker_finished(self, finished: MakerFinished) -> None:
        session = self.sessions.by_session_id(finished.session_id)
        if session is None:
            self._late_final_report(finished)  # closed at the exit deadline or as crashed
            return
        session.finished_reported = True
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

    def _late_final_report(self, finished: MakerFinished) -> None:
        """The last word of a maker whose session was closed without it: its P&L replaces
        the last MakerStatus's in the record (module docstring: why the repeat is safe)."""
        session = self.sessions.final_report(finished.session_id, finished.realized_pnl, finished.position)
        if session is None:
            return
        self.log.info(
            "session %s on %s: maker's final report after the close: pnl %s, position %s",
            session.session_id, session.ticker, finished.realized_pnl, finished.position,
        )
        self.publish(
            SessionStopped(
                session_id=session.session_id, ticker=session.ticker, reason=session.end_reason,
                ts=session.ended_ns, pnl=session.pnl,
            )
        )

    @handles(MakerCrashed)
    def on_maker_crashed(self, crash: MakerCrashed) -> None:
        # by session id: a late report of an old maker must not hit a newer session on the
        # ticker; the ticker only when the report could not name its session
        session = self.sessions.by_session_id(crash.session_id) if crash.session_id else self.sessions.get(crash.ticker)
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
        for session in list(self.sessions.active.values()):  # exiting ones too: cancel overrides their exit
            self.end_session(session.ticker, rules.KILL_SWITCH, ExitUrgency.CANCEL)

    @handles(KillSwitchReleased)
    def on_kill_switch_released(self, message: KillSwitchReleased) -> None:
        self.halted_reason = ""

    def end_session(self, ticker: str, reason: str, urgency: str = ExitUrgency.CANCEL) -> bool:
        """Tell the maker to exit; the session ends for good on MakerFinished or the deadline.
        A session already exiting is told again only when `urgency` is more urgent than its
        exit (then `reason` is recorded); the deadline keeps running from the first stop."""
        now = self.clock.now_ns()
        current = self.sessions.get(ticker)
        escalating = current is not None and current.state == STOPPING
        previous = (current.end_reason, current.end_urgency) if escalating else None
        session = self.sessions.begin_stop(ticker, reason, urgency, now)
        if session is None:
            return False
        if not escalating:
            self._cancel_timers(session)
            session.timers = [self.timer(seconds(self.config.exit_timeout_s), TimerFired(what=_EXIT + ticker, ts=now))]
        if not self.send(session.maker, StopSession(ticker=ticker, reason=reason, ts=now, urgency=urgency)):
            self._close(session, now, sweep=True, reason=rules.CRASHED)  # it was already dead
            return True
        if escalating:
            self.log.info(
                "session %s on %s: exit escalated from %s (%s) to %s (%s)",
                session.session_id, ticker, previous[1], previous[0], urgency, reason,
            )
        else:
            self.log.info("session %s on %s ending (%s, %s exit)", session.session_id, ticker, reason, urgency)
        return True

    def _cancel_timers(self, session: Session) -> None:
        for handle in session.timers:
            self.clock.cancel(handle)
        session.timers = []
        self.clock.cancel(session.close_timer)
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
        restart = self._schedule_restart(ended, now)
        if self.accepting and not restart and self._scanner_does_not_track(ended):  # at shutdown the connection goes anyway
            self.send(self.feed, SubscribeMarkets(tickers=(ended.ticker,), ts=now, remove=True))
        self._admit_waiting()  # a slot is free

    def _schedule_restart(self, ended: Session, now: int) -> bool:
        """A market the operator pinned (scanner.tickers) is made for as long as it trades:
        when its session ends on a rule of its own (TTL, the maker's sigma floor or no-trade
        stop, a crash), a new one starts after `explicit_restart_s`. Hazard: without this a
        backtest on a tape stopped quoting for good at the first flat stretch. Not after the
        market's close window, its close or settlement, a kill switch or at shutdown."""
        delay_s = self.config.explicit_restart_s
        if ended.kind != SessionKind.EXPLICIT or delay_s <= 0 or not self.accepting or self.halted_reason:
            return False
        if ended.ticker in self.markets_over or ended.end_reason == rules.MARKET_CLOSE:
            return False
        if ended.close_ns is not None and now + seconds(delay_s) >= ended.close_ns - seconds(self.config.close_buffer_s):
            return False
        self.timer(seconds(delay_s), TimerFired(what=_RESTART + ended.ticker, ts=now))
        self.log.info("pinned market %s: a new session in %.0f s", ended.ticker, delay_s)
        return True

    @staticmethod
    def _scanner_does_not_track(session: Session) -> bool:
        """Whether the session's subscription is ours alone to remove (module docstring)."""
        if session.kind == SessionKind.EXPLICIT:
            return True
        return session.kind == SessionKind.VOLATILITY and session.left_tracked_set

    def stop_all_sessions(self, reason: str) -> int:
        """Stop accepting new sessions and end every open one (CANCEL: orders pulled,
        positions left to startup reconciliation), those already exiting less urgently
        included. Returns how many were told to end."""
        self.accepting = False
        self.admission.clear()
        return sum(self.end_session(s.ticker, reason, ExitUrgency.CANCEL) for s in list(self.sessions.active.values()))

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
        elif what.startswith(_RESTART):
            ticker = what.removeprefix(_RESTART)
            if self.sessions.get(ticker) is None and ticker not in self.markets_over:
                self.start_session(ticker, "configured in scanner.tickers (restart)")
        elif what.startswith(_CLOSE_RETRY):
            session = self.sessions.get(what.removeprefix(_CLOSE_RETRY))
            if session is not None and session.started_ns <= timer.ts and session.close_ns is None:
                self._read_close_time(session, self.clock.now_ns())
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
                and session.state in (ACTIVE, STOPPING)  # a passive exit on stale data is escalated
                and rules.regime_is_stale(session.last_regime_ns, now, self.config, self.regime_sample_interval_s)
            ):
                self.end_session(session.ticker, rules.REGIME_STALE, ExitUrgency.IMMEDIATE)
        self._request_balance_if_old(now)
        self._admit_waiting()
        self._ensure_monitor()

    # -- facts from other actors ------------------------------------------------------------
    def _exposure(self) -> ExposureView | None:
        """Ask the risk governor (down the graph; it never asks us). None when it cannot say.

        The ask is bounded by wall-clock time (self.ask_timeout_s). In a replay the verdict
        must not depend on machine load, so the wiring passes replay_ask_timeout_s there: a
        wait long enough that only a dead or hung governor reaches it (the virtual clock does
        not move while we wait; risk never waits on us, so the wait always ends)."""
        if self.risk is None:
            return ExposureView({}, {}, Decimal("0"))  # no risk actor wired (tests of the shell)
        try:
            if self._risk_proxy is None:
                self._risk_proxy = self.risk.proxy()
            try:
                raw = self._risk_proxy.exposure_snapshot().get(timeout=self.ask_timeout_s)
            except AttributeError:  # a governor without exposure_snapshot: its status has the same facts
                raw = self._risk_proxy.get_status().get(timeout=self.ask_timeout_s)
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

    # -- market close times ---------------------------------------------------------------
    def _set_close(self, session: Session, close_ns: int, now: int) -> None:
        """(Re)schedule the session's end close_buffer_s before `close_ns`."""
        session.close_ns = close_ns
        self.clock.cancel(session.close_timer)
        deadline = rules.close_deadline_from(close_ns, self.config)
        session.close_timer = self.clock.call_at(
            deadline, self.actor_ref, TimerFired(what=_CLOSE + session.ticker, ts=now)
        )

    def _read_close_time(self, session: Session, now: int) -> None:
        if self.rest is None or session.close_read_in_flight:
            return
        session.close_read_in_flight = True
        self.send(
            self.rest,
            RestReadRequested(
                request_id=_CLOSE_READ_ID + session.session_id, path=MARKET_PATH + session.ticker, query=(),
                reply_to=self.actor_ref, ts=now,
            ),
        )

    def _on_close_time_read(self, reply: RestReadCompleted) -> None:
        session = self.sessions.by_session_id(reply.request_id.removeprefix(_CLOSE_READ_ID))
        if session is None:
            return  # ended meanwhile
        session.close_read_in_flight = False
        if session.state != ACTIVE or session.close_ns is not None:
            return  # exiting already, or a lifecycle event told us first
        now = self.clock.now_ns()
        market = reply.body.get("market") if isinstance(reply.body, dict) else None
        close_time = market.get("close_time") if isinstance(market, dict) else None
        try:
            if reply.status != 200 or not isinstance(close_time, str):
                raise ValueError(f"status {reply.status} {reply.error}, close_time {close_time!r}")
            close_ns = ns_from_rfc3339(close_time)
        except ValueError as exc:
            self.errors["close_time_read"] += 1
            self.log.warning(
                "session %s on %s: market close time unknown (%s); retrying in %.0f s",
                session.session_id, session.ticker, exc, self.config.close_time_retry_s,
            )
            self.timer(seconds(self.config.close_time_retry_s), TimerFired(what=_CLOSE_RETRY + session.ticker, ts=now))
            return
        self._set_close(session, close_ns, now)

    @handles(RestReadCompleted)
    def on_rest_read(self, reply: RestReadCompleted) -> None:
        if reply.request_id.startswith(_CLOSE_READ_ID):
            self._on_close_time_read(reply)
            return
        if reply.path != BALANCE_PATH:
            return
        self._balance_in_flight = False
        body = reply.body if isinstance(reply.body, dict) else {}
        cents = body.get("balance")
        if reply.status != 200 or not isinstance(cents, int) or isinstance(cents, bool):
            self.errors["balance_read"] += 1
            self.log.warning("balance read failed: status %s %s %r", reply.status, reply.error, body)
            return
        available = Decimal(cents) / 100
        self.admission.balance.update(available, self.clock.now_ns())
        self._tell_risk_balance(available)
        self._admit_waiting()

    def _tell_risk_balance(self, available: Decimal) -> None:
        """Feed the risk governor's pre-trade balance check with what the exchange just said.
        A proxy call whose future nobody waits on: a tell, queued behind whatever we sent risk
        before, so the supervisor never blocks on it (and risk never asks us: no deadlock)."""
        if self.risk is None:
            return
        try:
            if self._risk_proxy is None:
                self._risk_proxy = self.risk.proxy()
            self._risk_proxy.note_balance(available)
        except pykka.ActorDeadError:
            self.errors["risk_balance_note"] += 1
            self.log.warning("risk governor gone: balance %s not passed on", available)
        except AttributeError:  # a stand-in risk actor without note_balance (tests of the shell)
            pass

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
