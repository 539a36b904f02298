"""Orders: commands we send towards the exchange and the events that come back."""

from __future__ import annotations

from ._base import BookSide, Count, Message, Money, Price, message

__all__ = [
    "PlaceOrder",
    "AmendOrder",
    "CancelOrder",
    "CancelAllOrders",
    "OrderAccepted",
    "OrderAmended",
    "OrderRejected",
    "OrderCancelled",
    "OrderFilled",
    "OrderUpdated",
    "PositionUpdated",
    "AllOrdersCancelled",
    "rejection_of",
]


# --- commands (maker -> risk governor -> REST client) ---------------------------------


@message
class PlaceOrder(Message):
    """Create one limit order on the YES leg (V2: side bid/ask, dollar price)."""

    client_order_id: str
    ticker: str
    side: BookSide
    price: Price
    count: Count
    ts: int  # when the maker decided, from the injected clock
    post_only: bool = True
    time_in_force: str = "good_till_canceled"
    reduce_only: bool = False
    session_id: str = ""
    # client ids of every place the sender decided together on this market (this one
    # included), in order: the REST client sends them as one V2 batch create once each
    # has arrived or been refused by risk. () or a single id: sent alone.
    batch: tuple[str, ...] = ()
    trigger_ts_recv: int = 0  # ts_recv of the market data that led to it (0: a timer decided); latency metrics


@message
class AmendOrder(Message):
    """Move an order in place. count is the new TOTAL (filled + desired remainder)."""

    order_id: str
    client_order_id: str  # the order's current client id
    updated_client_order_id: str
    ticker: str
    side: BookSide
    price: Price
    count: Count
    ts: int
    session_id: str = ""
    trigger_ts_recv: int = 0  # ts_recv of the market data that led to it (0: a timer decided)


@message
class CancelOrder(Message):
    order_id: str
    client_order_id: str
    ticker: str
    ts: int
    reason: str = ""
    session_id: str = ""
    # client ids of every cancel decided together on this market (see PlaceOrder.batch):
    # sent as one V2 batch cancel.
    batch: tuple[str, ...] = ()


@message
class CancelAllOrders(Message):
    """Cancel every resting order we have (optionally one ticker) and confirm by reading back."""

    reason: str
    ts: int
    ticker: str | None = None


# --- events (REST client / WS feed -> everyone interested) -----------------------------


@message
class OrderAccepted(Message):
    client_order_id: str
    order_id: str
    ticker: str
    side: BookSide
    price: Price
    count: Count
    filled: Count
    remaining: Count
    ts_event: int
    ts_recv: int
    session_id: str = ""


@message
class OrderAmended(Message):
    order_id: str
    client_order_id: str  # new client id after the amend
    previous_client_order_id: str
    ticker: str
    side: BookSide
    price: Price
    count: Count  # new total
    filled: Count
    remaining: Count
    ts_event: int
    ts_recv: int
    session_id: str = ""


@message
class OrderRejected(Message):
    """A place, amend or cancel that did not happen. source says who refused it."""

    action: str  # "place" | "amend" | "cancel"
    client_order_id: str
    order_id: str | None
    ticker: str
    side: BookSide | None
    price: Price | None
    count: Count | None
    source: str  # "risk" | "exchange" | "transport" | "client" (dropped before sending)
    code: str
    reason: str
    ts_recv: int
    session_id: str = ""


@message
class OrderCancelled(Message):
    order_id: str
    client_order_id: str
    ticker: str
    reduced_by: Count
    reason: str
    ts_event: int
    ts_recv: int
    session_id: str = ""


@message
class OrderFilled(Message):
    """One fill of one of our orders, as the exchange reported it (the truth)."""

    fill_id: str
    order_id: str
    client_order_id: str
    ticker: str
    side: BookSide  # our order's YES-leg side
    price: Price  # YES-leg price
    count: Count
    fee: Money
    is_taker: bool
    post_position: Count | None  # signed YES position after the fill, when reported
    ts_event: int
    ts_recv: int


@message
class OrderUpdated(Message):
    """The exchange's view of one of our orders (WS user_orders / REST order read)."""

    order_id: str
    client_order_id: str
    ticker: str
    side: BookSide
    price: Price
    status: str  # resting | canceled | executed
    filled: Count
    remaining: Count
    initial: Count
    reason: str  # last_update_reason
    ts_event: int
    ts_recv: int


@message
class PositionUpdated(Message):
    ticker: str
    position: Count  # signed: + YES, - NO
    realized_pnl: Money | None
    fees_paid: Money | None
    ts_event: int
    ts_recv: int


@message
class AllOrdersCancelled(Message):
    """Reply to CancelAllOrders once the exchange confirms none of ours rest."""

    reason: str
    cancelled: int
    still_resting: int
    ts_recv: int
    ticker: str | None = None  # the market the cancel-all covered (None: every market)


def rejection_of(
    command: PlaceOrder | AmendOrder | CancelOrder, *, source: str, code: str, reason: str, ts_recv: int
) -> OrderRejected:
    """The OrderRejected that tells a command's sender it did not happen."""
    if isinstance(command, CancelOrder):
        action, side, price, count = "cancel", None, None, None
    else:
        action = "place" if isinstance(command, PlaceOrder) else "amend"
        side, price, count = command.side, command.price, command.count
    return OrderRejected(
        action=action,
        client_order_id=command.client_order_id,
        order_id=getattr(command, "order_id", None),
        ticker=command.ticker,
        side=side,
        price=price,
        count=count,
        source=source,
        code=code,
        reason=reason,
        ts_recv=ts_recv,
        session_id=command.session_id,
    )
