"""Control: timers, sessions, selection, kill switch, raw feed frames."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ._base import Message, message

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
    config: Any = None  # messages.MarketConfig the maker runs with (risk learns category and budget)


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
    """Ask the REST client for one GET (all pages when `all_pages`); reply goes to reply_to.

    Requests go down the actor graph; the reply comes back as a tell, never an ask cycle.
    """

    request_id: str
    path: str  # relative to /trade-api/v2, e.g. "/markets"
    query: tuple[tuple[str, str], ...]
    reply_to: Any  # pykka ActorRef
    ts: int
    all_pages: bool = False
    list_key: str = ""  # with all_pages: the list field to concatenate, e.g. "markets"


@message
class RestReadCompleted(Message):
    request_id: str
    path: str
    status: int  # HTTP status; 0 when the transport failed
    body: Any  # decoded JSON (treat as read-only); with all_pages, {list_key: [...all items]}
    error: str
    ts_recv: int
