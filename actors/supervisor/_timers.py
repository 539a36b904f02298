"""The supervisor's timers: one typed message per thing that comes due, each with its key
(kernel.timers.KeyedTimers: arming a key again replaces it; a message that is no longer
its key's timer is dropped on delivery). `ts` is when each was armed.

Hazard, tie order: timers due at the same instant are delivered in (message type name,
ticker, scheduling order) (kernel.clock). The Supervisor prefix keeps them where the old
"supervisor-" timers sorted among every actor's (after the maker's, risk's and scanner's,
before the WS connection's), and the rest of each name keeps the supervisor's own order
(admission, close-time read retry, close window, exit deadline, monitor, restart, TTL; then
by ticker). Renaming one can reorder a replay.
"""

from __future__ import annotations

from messages import Message, message

__all__ = [
    "SupervisorAdmissionDue",
    "SupervisorCloseReadRetryDue",
    "SupervisorCloseWindowDue",
    "SupervisorExitDeadlineDue",
    "SupervisorMonitorDue",
    "SupervisorRestartDue",
    "SupervisorSessionTtlDue",
    "SUPERVISOR_TIMERS",
]

MONITOR_KEY = "monitor"


@message
class SupervisorAdmissionDue(Message):
    """An event's regime wait is over: decide the waiting events."""

    ticker: str
    event_id: str
    ts: int  # when it was armed

    @property
    def key(self) -> str:
        return f"admit:{self.event_id}"


@message
class SupervisorCloseReadRetryDue(Message):
    """Read the market's close time again (the last GET /markets/{ticker} failed)."""

    ticker: str
    session_id: str
    ts: int

    @property
    def key(self) -> str:
        return f"close-read:{self.session_id}"


@message
class SupervisorCloseWindowDue(Message):
    """close_buffer_s before the market closes: the session ends."""

    ticker: str
    session_id: str
    ts: int

    @property
    def key(self) -> str:
        return f"close:{self.session_id}"


@message
class SupervisorExitDeadlineDue(Message):
    """exit_timeout_s after the first stop: a maker still exiting is stopped and swept."""

    ticker: str
    session_id: str
    ts: int  # when the stop was requested

    @property
    def key(self) -> str:
        return f"exit:{self.session_id}"


@message
class SupervisorMonitorDue(Message):
    """Check for crashed makers, stale regime data, waiting events and an old balance."""

    ts: int

    @property
    def key(self) -> str:
        return MONITOR_KEY


@message
class SupervisorRestartDue(Message):
    """A pinned (scanner.tickers) market whose session ended on its own rule starts again."""

    ticker: str
    session_id: str  # the session that ended
    ts: int

    @property
    def key(self) -> str:
        return f"restart:{self.session_id}"


@message
class SupervisorSessionTtlDue(Message):
    """The session's time to live is over: it ends passively."""

    ticker: str
    session_id: str
    ts: int

    @property
    def key(self) -> str:
        return f"ttl:{self.session_id}"


SUPERVISOR_TIMERS = (
    SupervisorAdmissionDue,
    SupervisorCloseReadRetryDue,
    SupervisorCloseWindowDue,
    SupervisorExitDeadlineDue,
    SupervisorMonitorDue,
    SupervisorRestartDue,
    SupervisorSessionTtlDue,
)
