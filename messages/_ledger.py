"""The trading ledger's word: our orders, fills and positions as the one writer keeps them.

The risk governor is the only writer of the trading ledger (every command passes through
it, and it hears every order event first). After each change it publishes
`TradingStateChanged`: an immutable view of one market, which the market's maker reads
instead of keeping a copy of its own. Payload classes without the `Message` base ride
inside it and are never told on their own.
"""

from __future__ import annotations

from decimal import Decimal

from ._base import BookSide, Count, Message, Money, Price, message
from ._control import SessionStarted
from ._market import MarketLifecycleChanged
from ._strategy import RiskDirective
from ._orders import (
    AllOrdersCancelled,
    AmendOrder,
    CancelOrder,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderUpdated,
    PlaceOrder,
)

__all__ = [
    "OpenLayer",
    "Realization",
    "PositionView",
    "OrderView",
    "UnseenFill",
    "SessionBook",
    "TradingStateChanged",
    "owner_of_client_order_id",
]

_ZERO = Decimal(0)


def owner_of_client_order_id(client_order_id: str | None) -> str:
    """The session a client order id belongs to ("" for none): a session names its orders
    `{session_id}-{n}` (n a decimal sequence number), so the owner is what precedes the
    last "-" when what follows it is digits."""
    if not client_order_id:
        return ""
    owner, dash, number = client_order_id.rpartition("-")
    return owner if dash and owner and number.isdigit() else ""


@message
class OpenLayer:
    """Contracts still open from one fill: qty signed (+ long YES, - short YES)."""

    qty: Count
    price: Price
    fee: Money  # entry fee not yet released into realised P&L
    ts: int


@message
class Realization:
    """One FIFO match: `count` contracts of an open layer closed by a later trade."""

    side: str  # the position closed: long | short
    count: Count
    entry_price: Price
    exit_price: Price
    entry_ts: int
    exit_ts: int
    pnl: Money  # net of both legs' fee shares
    fees: Money  # the entry and exit fee shares in it


@message
class PositionView:
    """A position as FIFO layers, with what it realised and paid (all Decimal)."""

    position: Count = _ZERO  # signed: + YES, - NO
    layers: tuple[OpenLayer, ...] = ()
    realized_pnl: Money = _ZERO
    fees_paid: Money = _ZERO
    fill_count: int = 0
    settled_at: Price | None = None  # settlement price once the market resolved

    @property
    def vwap(self) -> Decimal | None:
        """Volume-weighted entry price of the open position; None when flat."""
        size = sum((abs(layer.qty) for layer in self.layers), _ZERO)
        if size == 0:
            return None
        return sum((abs(layer.qty) * layer.price for layer in self.layers), _ZERO) / size

    def unrealized_pnl(self, mark: Decimal | None) -> Decimal:
        """Open layers marked at `mark`, less their entry fees already paid."""
        if mark is None or not self.layers:
            return _ZERO
        return sum((layer.qty * (mark - layer.price) - layer.fee for layer in self.layers), _ZERO)


@message
class OrderView:
    """One of our orders as the ledger knows it (see actors.ledger's OwnOrder)."""

    key: str  # stable while the ledger tracks it: the client id it was first tracked by
    owner: str  # the session whose order it is ("" for none: manual, or placed around us)
    ticker: str
    side: BookSide
    client_order_id: str
    order_id: str | None  # None until the exchange accepts the place
    price: Price
    count: Count  # total, filled included
    pending: str | None  # placing | amending | cancelling: a command awaiting its ack
    amend_to: tuple[Price, Count] | None  # (price, total) of an amend not yet settled
    amend_client_order_id: str | None
    adopted: bool  # not placed by us in this run: found on the exchange
    gone: bool  # the exchange confirmed it no longer rests (only `TradingStateChanged.order`)
    reported_filled: Count  # highest running total the exchange reported
    fills_seen: Count  # contracts of its distinct fills that reached us

    @property
    def filled(self) -> Decimal:
        # running totals and per-fill reports are two views of one execution: never added
        return max(self.reported_filled, self.fills_seen)

    @property
    def remaining(self) -> Decimal:
        return max(_ZERO, self.count - self.filled)


@message
class UnseenFill:
    """Contracts an order that is over reported filled, not yet seen as fills: position
    already (the fills will follow)."""

    side: BookSide
    price: Price
    count: Count
    order_id: str | None
    owner: str


@message
class SessionBook:
    """One session's share of a market: the fills of its own orders, as their own FIFO
    position (a maker quotes around its session's inventory and reports its P&L), the
    exchange ids of its orders and the fill ids counted in it (the newest ones: a fill at
    or before `fills_forgotten_through_ns` was counted, its id forgotten)."""

    session_id: str
    position: PositionView
    fill_ids: frozenset[str]
    order_ids: frozenset[str]
    realizations: tuple[Realization, ...] = ()  # round trips this change closed
    fills_forgotten_through_ns: int | None = None  # exchange time: fills up to it were counted

    def counted(self, fill_id: str, ts_event: int) -> bool:
        """Whether the ledger counted this fill in the session's book."""
        if fill_id in self.fill_ids:
            return True
        return self.fills_forgotten_through_ns is not None and ts_event <= self.fills_forgotten_through_ns


LedgerCause = (
    OrderAccepted
    | OrderAmended
    | OrderCancelled
    | OrderFilled
    | OrderRejected
    | OrderUpdated
    | AllOrdersCancelled
    | PlaceOrder
    | AmendOrder
    | CancelOrder
    | MarketLifecycleChanged
    | SessionStarted  # the session took over the position held before this run
    | RiskDirective  # a flatten of a market whose session took over a held position
)


@message
class TradingStateChanged(Message):
    """The ledger's state of one market after a change, and what caused it: an order
    event, an admitted command (the ledger records it before it leaves for the exchange),
    a confirmed cancel-all or the market's settlement. Published by the risk governor, the
    one writer; read by the market's maker."""

    ticker: str
    cause: LedgerCause
    order: OrderView | None  # the order the cause was about, after it (gone included); None: none of ours
    orders: tuple[OrderView, ...]  # every order the ledger tracks on the market, oldest first
    position: PositionView  # the market's position: every fill of ours on it
    unseen: tuple[UnseenFill, ...]  # fills reported by orders that are over, not yet seen
    sessions: tuple[SessionBook, ...]  # each session's share of the market
    ts: int

    def session(self, session_id: str) -> SessionBook | None:
        return next((book for book in self.sessions if book.session_id == session_id), None)
