"""Market data: what the exchange tells us about markets (inbound, time-stamped)."""

from __future__ import annotations

from decimal import Decimal

from ._base import BookSide, Count, Message, Price, message

__all__ = [
    "BookLevel",
    "BookSnapshot",
    "BookDelta",
    "BookView",
    "BookUpdated",
    "BookUntrusted",
    "TickerUpdated",
    "TradePrinted",
    "MarketLifecycleChanged",
    "FeedHealthChanged",
]

BookLevel = tuple[Price, Count]
"""(YES-leg price, resting contracts) at one price level."""


@message
class BookSnapshot(Message):
    """Full book of one market. Levels are YES-leg, best first on each side."""

    ticker: str
    bids: tuple[BookLevel, ...]  # descending price
    asks: tuple[BookLevel, ...]  # ascending price (NO bids at q appear as asks at 1 - q)
    seq: int
    ts_event: int
    ts_recv: int


@message
class BookDelta(Message):
    """Signed change of resting size at one YES-leg price level."""

    ticker: str
    side: BookSide
    price: Price
    delta: Count
    seq: int
    ts_event: int
    ts_recv: int
    own_client_order_id: str | None = None  # set when our own order caused it


@message
class BookView:
    """Immutable view of a market's book served by market state to its readers."""

    ticker: str
    bids: tuple[BookLevel, ...]  # descending price
    asks: tuple[BookLevel, ...]  # ascending price
    trusted: bool
    ts_event: int
    ts_recv: int

    @property
    def best_bid(self) -> Price | None:
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> Price | None:
        return self.asks[0][0] if self.asks else None

    @property
    def mid(self) -> Price | None:
        if not self.bids or not self.asks:
            return None
        return (self.bids[0][0] + self.asks[0][0]) / 2

    @property
    def microprice(self) -> Price | None:
        """Size-weighted mid: leans towards the side with less resting size."""
        if not self.bids or not self.asks:
            return None
        (bid, bid_size), (ask, ask_size) = self.bids[0], self.asks[0]
        total = bid_size + ask_size
        if total == 0:
            return (bid + ask) / 2
        return (bid * ask_size + ask * bid_size) / total

    def depth(self, levels: int = 5) -> Count:
        return sum((q for _, q in self.bids[:levels]), Decimal(0)) + sum(
            (q for _, q in self.asks[:levels]), Decimal(0)
        )


@message
class BookUpdated(Message):
    """Market state's published book after applying a snapshot or delta."""

    ticker: str
    book: BookView
    ts_event: int
    ts_recv: int


@message
class BookUntrusted(Message):
    """A sequence gap (or reconnect) means this market's book cannot be trusted."""

    ticker: str
    reason: str
    ts_recv: int


@message
class TickerUpdated(Message):
    ticker: str
    last_price: Price | None
    yes_bid: Price | None
    yes_ask: Price | None
    yes_bid_size: Count | None
    yes_ask_size: Count | None
    volume: Count | None
    open_interest: Count | None
    ts_event: int
    ts_recv: int


@message
class TradePrinted(Message):
    """A public trade. taker_side is the taker's own YES-leg order side (Kalshi's
    taker_book_side): "bid" = taker bought YES and lifted resting asks; "ask" = taker
    sold YES (bought NO) and hit resting bids."""

    ticker: str
    trade_id: str
    price: Price  # YES-leg
    count: Count
    taker_side: BookSide
    ts_event: int
    ts_recv: int


@message
class MarketLifecycleChanged(Message):
    ticker: str
    event_type: str  # created, activated, deactivated, close_date_updated, determined, settled, ...
    result: str | None
    close_ts: int | None  # unix seconds
    ts_event: int
    ts_recv: int


@message
class FeedHealthChanged(Message):
    healthy: bool
    reason: str
    ts_recv: int
