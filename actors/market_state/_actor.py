"""The market state actor: a thin shell over MarketStore.

Direction: market data comes up from the feed by bus (tell); each book change goes on up
to makers and the scanner as BookUpdated (tell). Readers that need a snapshot on demand
ask get_view through a proxy; this actor never asks anyone, so no ask cycle can form.
"""

from __future__ import annotations

from typing import Any

from config import MarketStateConfig
from messages import (
    BookDelta,
    BookSnapshot,
    BookUntrusted,
    BookUpdated,
    BookView,
    MarketLifecycleChanged,
    TickerUpdated,
    TradePrinted,
)
from kernel.bus import Bus, InFlightTracker

from .._base import MmdActor, handles
from ._book import HistoryPoint, MarketStore

__all__ = ["MarketStateActor"]

_BOOK_MESSAGES = (BookSnapshot, BookDelta, BookUntrusted)
_OTHER_MESSAGES = (TickerUpdated, TradePrinted, MarketLifecycleChanged)


class MarketStateActor(MmdActor):
    subscriptions = (*_BOOK_MESSAGES, *_OTHER_MESSAGES)

    def __init__(
        self, *, clock: Any, bus: Bus, tracker: InFlightTracker | None = None, config: MarketStateConfig
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self.store = MarketStore(config)

    @handles(*_BOOK_MESSAGES)
    def _on_book_message(self, message: Any) -> None:
        view = self.store.apply(message, self.clock.now_ns())
        if view is not None:
            self.publish(BookUpdated(ticker=view.ticker, book=view, ts_event=view.ts_event, ts_recv=view.ts_recv))

    @handles(*_OTHER_MESSAGES)
    def _on_market_message(self, message: Any) -> None:
        self.store.apply(message, self.clock.now_ns())

    # -- queries (through a proxy); BookViews are immutable, status dicts are fresh ----
    def get_view(self, ticker: str) -> BookView | None:
        return self.store.view(ticker, self.clock.now_ns())

    def get_ticker(self, ticker: str) -> TickerUpdated | None:
        """Last ticker fields, None when absent or stale."""
        market = self.store.market(ticker)
        return None if market is None else market.ticker_fields(self.clock.now_ns())

    def get_trades(self, ticker: str) -> tuple[TradePrinted, ...]:
        market = self.store.market(ticker)
        return () if market is None else tuple(market.trades)

    def get_history(self, ticker: str) -> tuple[HistoryPoint, ...]:
        market = self.store.market(ticker)
        return () if market is None else market.history_since(self.clock.now_ns())

    def get_status(self) -> dict:
        return self.store.status(self.clock.now_ns())
