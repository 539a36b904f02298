"""Session supervisor actor shell: spawns one maker actor per selected market, stops them.

Direction: the supervisor tells the WS connection to subscribe markets and tells makers
to stop (down the graph); it never asks an actor that may ask it back.
"""

from __future__ import annotations

from typing import Any, Callable

import pykka

from actors._base import MmdActor, handles
from config import SupervisorConfig
from messages import (
    CancelAllOrders,
    MarketSelected,
    SessionStarted,
    SessionStopped,
    StopSession,
    SubscribeMarkets,
)
from mmd.clock import seconds

from ._sessions import Session, SessionBook

__all__ = ["SessionSupervisorActor"]

MakerFactory = Callable[[str, str], Any]  # (ticker, session_id) -> started maker ActorRef
STATUS_ASK_TIMEOUT_S = 1.0


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
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self.config = config
        self.sessions = SessionBook(run_id, config.max_concurrent_sessions)
        self.maker_factory = maker_factory
        self.feed = feed
        self.order_gateway = order_gateway
        self.accepting = True

    def on_start(self) -> None:
        self.bus.subscribe(self.actor_ref, MarketSelected)

    @handles(MarketSelected)
    def on_market_selected(self, event: MarketSelected) -> None:
        self.start_session(event.ticker, event.reason)

    @handles(StopSession)
    def on_stop_session(self, command: StopSession) -> None:
        self._end(command.ticker, command.reason)

    def start_session(self, ticker: str, reason: str) -> str | None:
        if not self.accepting:
            self.log.info("not starting %s: shutting down", ticker)
            return None
        refusal = self.sessions.refusal(ticker)
        if refusal:
            self.log.info("not starting %s: %s", ticker, refusal)
            return None
        now = self.clock.now_ns()
        session_id = self.sessions.next_session_id()
        maker = self.maker_factory(ticker, session_id)
        session = Session(session_id=session_id, ticker=ticker, reason=reason, started_ns=now, maker=maker)
        if self.config.session_ttl_s > 0:
            session.ttl_timer = self.timer(
                seconds(self.config.session_ttl_s), StopSession(ticker=ticker, reason="ttl", ts=now)
            )
        self.sessions.add(session)
        self.send(self.feed, SubscribeMarkets(tickers=(ticker,), ts=now))
        self.publish(SessionStarted(session_id=session_id, ticker=ticker, reason=reason, ts=now))
        self.log.info("session %s started on %s (%s)", session_id, ticker, reason)
        return session_id

    def _end(self, ticker: str, reason: str) -> bool:
        now = self.clock.now_ns()
        session = self.sessions.end(ticker, reason, now)
        if session is None:
            return False
        self.clock.cancel(session.ttl_timer)
        # queued before stop: the maker handles StopSession (cancels its orders) first
        self.send(session.maker, StopSession(ticker=ticker, reason=reason, ts=now))
        session.maker.stop(block=False)
        # Sweep behind the maker: a cancel it sent may be refused (a 429, a dropped
        # connection) and it is gone before it could retry. The REST client reads back
        # and cancels whatever of ours still rests on this ticker.
        self.send(self.order_gateway, CancelAllOrders(reason=f"session ended: {reason}", ts=now, ticker=ticker))
        self.publish(SessionStopped(session_id=session.session_id, ticker=ticker, reason=reason, ts=now))
        self.log.info("session %s on %s ended: %s", session.session_id, ticker, reason)
        return True

    def stop_all_sessions(self, reason: str) -> int:
        """Stop accepting new sessions and end every active one. Returns how many ended."""
        self.accepting = False
        return sum(self._end(ticker, reason) for ticker in list(self.sessions.active))

    def get_status(self) -> dict:
        sessions = []
        for session in self.sessions.active.values():
            entry = {
                "session_id": session.session_id,
                "ticker": session.ticker,
                "reason": session.reason,
                "started_ns": session.started_ns,
            }
            try:
                entry["maker"] = session.maker.proxy().get_status().get(timeout=STATUS_ASK_TIMEOUT_S)
            except (pykka.ActorDeadError, pykka.Timeout) as exc:
                entry["maker"] = {"state": "unavailable", "why_not_quoting": type(exc).__name__}
            sessions.append(entry)
        ended = [
            {"session_id": s.session_id, "ticker": s.ticker, "reason": s.end_reason, "ended_ns": s.ended_ns}
            for s in self.sessions.ended[-20:]
        ]
        return {"accepting": self.accepting, "active": sessions, "ended": ended}
