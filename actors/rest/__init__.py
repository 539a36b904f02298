"""REST client: every HTTP call to Kalshi, its signing, rate budget and retries."""

from ._actor import RestClientActor
from ._batches import BatchCall, BatchGatherDue, BatchGatherer
from ._budget import TokenBucket
from ._calls import InlineExecutor, RestCallFinished
from ._core import RestCore
from ._scheduler import RestScheduler
from ._client import (
    ORDERS_PATH,
    AmendedOrder,
    CancelAllResult,
    CancelledOrder,
    CreateItem,
    KalshiRestClient,
    OrderBookLevels,
    OrderOutcomeUnknown,
    PlacedOrder,
    RestError,
    rest_error_from,
)
from kalshi.shapes import (
    Balance,
    ExchangeFill,
    ExchangeOrder,
    ExchangePosition,
    book_side_of,
    event_time_ns,
    optional_count,
    optional_dollars,
    order_filled_from,
    parse_balance,
    parse_fill,
    parse_levels,
    parse_order,
    parse_position,
    text_field,
    yes_leg_book,
)
from ._transport import API_PREFIX, HttpTransport, LoopbackTransport, Transport, TransportError

__all__ = [
    "RestClientActor",
    "RestCallFinished",
    "InlineExecutor",
    "RestCore",
    "RestScheduler",
    "BatchGatherer",
    "BatchCall",
    "BatchGatherDue",
    "TokenBucket",
    "KalshiRestClient",
    "RestError",
    "OrderOutcomeUnknown",
    "PlacedOrder",
    "AmendedOrder",
    "CancelledOrder",
    "CancelAllResult",
    "CreateItem",
    "OrderBookLevels",
    "rest_error_from",
    "ORDERS_PATH",
    "Transport",
    "TransportError",
    "HttpTransport",
    "LoopbackTransport",
    "API_PREFIX",
    "Balance",
    "ExchangeFill",
    "ExchangeOrder",
    "ExchangePosition",
    "book_side_of",
    "event_time_ns",
    "optional_count",
    "optional_dollars",
    "order_filled_from",
    "parse_balance",
    "parse_fill",
    "parse_levels",
    "parse_order",
    "parse_position",
    "text_field",
    "yes_leg_book",
]
