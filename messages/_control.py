"""Control: timers, sessions, selection, kill switch, raw feed frames."""

from __future__ import annotations

from decimal import Decimal

from ._base import Message, message
from ._json import JsonValue, freeze_json
from ._strategy import MarketConfig

__all__ = [
    "RequoteDue",
    "RequoteOnDeadlineDue",
    "RequoteWarmupOverDue",
    "FlushDue",
    "StatusDue",
    "HeartbeatCheckDue",
    "BudgetRefillDue",
    "MarketSelected",
    "StartSession",
    "StopSession",
    "SessionStarted",
    "SessionStopped",
    "KillSwitchEngaged",
    "KillSwitchReleased",
    "ShutdownRequested",
    "FrameReceived",
    "FeedConnected",
    "FeedDisconnected",
    "SubscribeMarkets",
    "RiskStateChanged",
    "RestReadRequested",
    "RestReadCompleted",
]



# Tie order: timers due at the same instant are delivered by message type name, then
# ticker (kernel.clock). The maker's sort as their TimerFired names did: the periodic
# RequoteDue first, then a hold or exit deadline, then the end of the warm-up.
@message
class RequoteDue(Message):
    ticker: str
    ts: int


@message
class RequoteOnDeadlineDue(Message):
    """A maker's own deadline is reached (a hold's cooldown, an exit phase): requote."""

    ticker: str
    ts: int  # the deadline


@message
class RequoteWarmupOverDue(Message):
    """A maker's warm-up is over: its first quotes are due."""

    ticker: str
    ts: int  # when the warm-up began


@message
class FlushDue(Message):
    ts: int


@message
class StatusDue(Message):
    ts: int


@message
class HeartbeatCheckDue(Message):
    ts: int


@message
class BudgetRefillDue(Message):
    ts: int


@message
class MarketSelected(Message):
    """Scanner's choice of a market to make (volatility events replace this later)."""

    ticker: str
    reason: str
    ts: int


@message
class StartSession(Message):
    ticker: str
    reason: str
    ts: int


@message
class StopSession(Message):
    ticker: str
    reason: str
    ts: int
    urgency: str = "cancel"  # messages.ExitUrgency: cancel | passive | immediate


@message
class SessionStarted(Message):
    session_id: str
    ticker: str
    reason: str
    ts: int
    event_id: str = ""  # the VolatilityDetected that spawned it, if any
    config: MarketConfig | None = None  # the maker runs with it (risk learns category and budget)


@message
class SessionStopped(Message):
    session_id: str
    ticker: str
    reason: str
    ts: int
    pnl: Decimal | None = None  # session P&L net of fees, dollars


@message
class KillSwitchEngaged(Message):
    reason: str
    ts: int


@message
class KillSwitchReleased(Message):
    reason: str
    ts: int


@message
class ShutdownRequested(Message):
    reason: str
    ts: int


@message
class FrameReceived(Message):
    """One raw WebSocket text frame, stamped once at ingestion."""

    text: str
    ts_recv: int


@message
class FeedConnected(Message):
    ts_recv: int


@message
class FeedDisconnected(Message):
    reason: str
    ts_recv: int


@message
class SubscribeMarkets(Message):
    """Ask the WS connection to add (or remove) markets on the market-data channels."""

    tickers: tuple[str, ...]
    ts: int
    remove: bool = False
    # a new listener (a maker just started) needs the current book: markets already
    # subscribed get a fresh snapshot, since their book may not change for a long time
    snapshot: bool = False


@message
class RiskStateChanged(Message):
    state: str  # ACTIVE | REDUCING | HALTED
    reason: str
    ts: int


@message
class RestReadRequested(Message):
    """Ask the REST client for one GET (all pages when `all_pages`); the reply goes to the
    reader named `reply_to`.

    Requests go down the actor graph; the reply comes back as a tell, never an ask cycle.
    `reply_to` is a role name ("scanner", "supervisor", "maker:<session id>") that the REST
    actor resolves through its directory (kernel.directory), never an actor ref: a message
    is data, and a ref inside one would tie it to one runtime's actors.
    """

    request_id: str
    path: str  # relative to /trade-api/v2, e.g. "/markets"
    query: tuple[tuple[str, str], ...]
    reply_to: str  # the reader's role name
    ts: int
    all_pages: bool = False
    list_key: str = ""  # with all_pages: the list field to concatenate, e.g. "markets"

    def __post_init__(self) -> None:
        if not isinstance(self.reply_to, str):  # an actor ref here would be a bug
            raise TypeError(f"reply_to must be a reader's role name, not {type(self.reply_to).__name__}")


@message
class RestReadCompleted(Message):
    request_id: str
    path: str
    status: int  # HTTP status; 0 when the transport failed
    # decoded JSON, frozen here once (messages._json): with all_pages, {list_key: (...all items)};
    # an error's body on a failed status; None when the transport failed
    body: JsonValue
    error: str
    ts_recv: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "body", freeze_json(self.body))
