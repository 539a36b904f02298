"""Session bookkeeping for the supervisor: which ticker has which maker, and why it ended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mmd.ids import session_id

__all__ = ["Session", "SessionBook"]


@dataclass(slots=True)
class Session:
    session_id: str
    ticker: str
    reason: str
    started_ns: int
    maker: Any  # pykka ActorRef
    ttl_timer: Any = None
    ended_ns: int | None = None
    end_reason: str = ""


class SessionBook:
    def __init__(self, run_id: str, max_concurrent: int) -> None:
        self.run_id = run_id
        self.max_concurrent = max_concurrent
        self.active: dict[str, Session] = {}
        self.ended: list[Session] = []
        self._counter = 0

    def refusal(self, ticker: str) -> str | None:
        """Why a session on `ticker` cannot start now, or None when it can."""
        if ticker in self.active:
            return "a session is already active on this ticker"
        if len(self.active) >= self.max_concurrent:
            return f"concurrency limit of {self.max_concurrent} sessions reached"
        return None

    def next_session_id(self) -> str:
        # deterministic ids: replays must produce identical client order ids
        self._counter += 1
        return session_id(self.run_id, self._counter)

    def add(self, session: Session) -> None:
        self.active[session.ticker] = session

    def end(self, ticker: str, reason: str, now_ns: int) -> Session | None:
        session = self.active.pop(ticker, None)
        if session is not None:
            session.ended_ns = now_ns
            session.end_reason = reason
            self.ended.append(session)
        return session
