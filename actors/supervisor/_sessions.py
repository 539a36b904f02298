"""Session bookkeeping for the supervisor: which ticker has which session, how it is
ending, and why it ended. Plain class, no actors: a session is known by its session id
(the shell alone keeps the maker actor of each).

A session is ACTIVE until the supervisor tells its maker to stop; it is then STOPPING
(the maker is exiting: it still holds its slot and its ticker) until the maker reports
MakerFinished, the exit deadline passes, or the maker is found dead. Only then is it
ended and recorded.

Escalation policy (mirrors the maker's ExitPlan, actors/maker/_session.py begin_exit): a
session already STOPPING is stopped again when a later reason asks for a more urgent exit,
ranked passive < immediate < cancel. CANCEL is final and overrides both (kill switch and
shutdown pull every order and leave the position to reconciliation); IMMEDIATE overrides
PASSIVE; an equal or less urgent stop changes nothing. The escalating reason becomes the
recorded one. The exit deadline keeps running from the first stop: an escalation never
gives a maker more time.

A session closed without its maker's MakerFinished (exit deadline, crash) records the P&L
of the maker's last MakerStatus; the maker's final MakerFinished (sent from its on_stop)
may still arrive and then corrects the record (`awaits_final_report`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from messages import ExitUrgency, MakerStatus, MarketConfig
from kernel.ids import session_id

__all__ = ["Session", "SessionBook", "SessionKind", "ACTIVE", "STOPPING", "ENDED"]

ACTIVE, STOPPING, ENDED = "ACTIVE", "STOPPING", "ENDED"
# Ended sessions remembered, oldest forgotten first: what needs one is a maker's late
# MakerFinished (seconds after the close) and the status page's last 20. A paper day
# runs ~400 sessions, a month ~12,000: every one kept would grow without end.
REMEMBER_ENDED = 1_000
# ...and past an hour (a late MakerFinished is seconds to minutes late) only the last
# ENDED_SHOWN are kept: a paper day ends ~16 sessions an hour, so ~16-20 are kept.
ENDED_KEPT_NS = 3_600 * 1_000_000_000
ENDED_SHOWN = 20
URGENCY_RANK = {ExitUrgency.PASSIVE: 1, ExitUrgency.IMMEDIATE: 2, ExitUrgency.CANCEL: 3}


def more_urgent(urgency: str, than: str) -> bool:
    """Whether a stop with `urgency` escalates an exit already running with `than`."""
    return URGENCY_RANK[urgency] > URGENCY_RANK.get(than, 0)


class SessionKind:
    VOLATILITY = "volatility"  # spawned by a VolatilityDetected: TTL and regime rules apply
    EXPLICIT = "explicit"  # a configured ticker (MarketSelected)
    DISCOVERY = "discovery"  # a top-N market of a discovery run


@dataclass(slots=True)
class Session:
    session_id: str
    ticker: str
    reason: str  # why it started
    started_ns: int
    kind: str = SessionKind.EXPLICIT
    event_id: str = ""
    market_config: MarketConfig | None = None
    timers: list[str] = field(default_factory=list)  # keys of its TTL or exit timer, cancelled when it ends
    last_regime_ns: int = 0
    last_status: MakerStatus | None = None
    state: str = ACTIVE
    end_reason: str = ""
    end_urgency: str = ""
    stop_requested_ns: int | None = None
    ended_ns: int | None = None
    pnl: Decimal | None = None
    position_left: Decimal | None = None
    close_ns: int | None = None  # market close as last learned (config, REST read, lifecycle)
    close_timer: str | None = None  # key of its close-window timer
    close_read_in_flight: bool = False
    finished_reported: bool = False  # its maker's MakerFinished was recorded
    left_tracked_set: bool = False  # the scanner said the ticker left its tracked set

    @property
    def awaits_final_report(self) -> bool:
        """Closed without the maker's MakerFinished: a late one corrects the record."""
        return self.state == ENDED and not self.finished_reported

    @property
    def adverse_selection(self) -> bool:
        return self.last_status is not None and self.last_status.adverse_selection

    def last_known_pnl(self) -> Decimal | None:
        """Realised P&L from the maker's last status (used when it never reported finishing)."""
        return None if self.last_status is None else self.last_status.realized_pnl


class SessionBook:
    def __init__(self, run_id: str, max_concurrent: int, max_long_lived: int | None = None) -> None:
        self.run_id = run_id
        self.max_concurrent = max_concurrent  # volatility sessions
        self.max_long_lived = max_concurrent if max_long_lived is None else max_long_lived  # explicit + discovery
        self.active: dict[str, Session] = {}  # ticker -> session, ACTIVE or STOPPING
        self._ended: dict[str, Session] = {}  # session id -> session, oldest first
        self._counter = 0

    def _count(self, volatility: bool) -> int:
        return sum((s.kind == SessionKind.VOLATILITY) == volatility for s in self.active.values())

    def slot_free(self, kind: str) -> bool:
        if kind == SessionKind.VOLATILITY:
            return self._count(True) < self.max_concurrent
        return self._count(False) < self.max_long_lived

    def refusal(self, ticker: str, kind: str = SessionKind.EXPLICIT) -> str | None:
        """Why a session on `ticker` cannot start now, or None when it can."""
        if ticker in self.active:
            return "a session is already active on this ticker"
        if not self.slot_free(kind):
            limit = self.max_concurrent if kind == SessionKind.VOLATILITY else self.max_long_lived
            return f"concurrency limit of {limit} sessions reached"
        return None

    def next_session_id(self) -> str:
        # deterministic ids: replays must produce identical client order ids
        self._counter += 1
        return session_id(self.run_id, self._counter)

    def add(self, session: Session) -> None:
        if session.ticker in self.active:
            raise ValueError(f"a session is already active on {session.ticker}")
        self.active[session.ticker] = session

    def get(self, ticker: str) -> Session | None:
        return self.active.get(ticker)

    def by_session_id(self, sid: str) -> Session | None:
        for session in self.active.values():
            if session.session_id == sid:
                return session
        return None

    @property
    def ended(self) -> list[Session]:
        """The sessions ended that are remembered, oldest first."""
        return list(self._ended.values())

    def recently_ended(self, count: int) -> list[Session]:
        """The last `count` sessions ended, oldest first."""
        recent = []
        for session in reversed(self._ended.values()):
            if len(recent) == count:
                break
            recent.append(session)
        return recent[::-1]

    def ended_by_session_id(self, sid: str) -> Session | None:
        return self._ended.get(sid)

    def running(self) -> list[Session]:
        return [s for s in self.active.values() if s.state == ACTIVE]

    def begin_stop(self, ticker: str, reason: str, urgency: str, now_ns: int) -> Session | None:
        """Mark an ACTIVE session STOPPING, or escalate a STOPPING one whose exit is less
        urgent than `urgency` (module docstring). Returns the session when its maker must be
        told (again), None when there is no session or the stop changes nothing."""
        session = self.active.get(ticker)
        if session is None:
            return None
        if session.state == ACTIVE:
            session.state = STOPPING
            session.end_reason, session.end_urgency, session.stop_requested_ns = reason, urgency, now_ns
            return session
        if session.state == STOPPING and more_urgent(urgency, session.end_urgency):
            session.end_reason, session.end_urgency = reason, urgency  # stop_requested_ns: deadline unchanged
            return session
        return None

    def finish(
        self, ticker: str, now_ns: int, *, reason: str | None = None, pnl: Decimal | None = None,
        position_left: Decimal | None = None,
    ) -> Session | None:
        """End the session on `ticker` for good. `reason` overrides the stop reason (a
        crash, or a maker that finished by itself)."""
        session = self.active.pop(ticker, None)
        if session is None:
            return None
        session.state = ENDED
        session.ended_ns = now_ns
        if reason is not None or not session.end_reason:
            session.end_reason = reason or "ended"
        session.pnl = pnl
        session.position_left = position_left
        self._ended.pop(session.session_id, None)
        self._ended[session.session_id] = session
        while len(self._ended) > REMEMBER_ENDED or (
            len(self._ended) > ENDED_SHOWN and (next(iter(self._ended.values())).ended_ns or 0) < now_ns - ENDED_KEPT_NS
        ):
            del self._ended[next(iter(self._ended))]
        return session

    def final_report(self, sid: str, pnl: Decimal, position_left: Decimal) -> Session | None:
        """A maker's MakerFinished after its session was closed without it: correct the
        record. None when there is no such session or it already has its report."""
        session = self.ended_by_session_id(sid)
        if session is None or not session.awaits_final_report:
            return None
        session.pnl, session.position_left, session.finished_reported = pnl, position_left, True
        return session
