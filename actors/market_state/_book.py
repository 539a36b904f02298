"""Everything market state knows about one market, as plain objects with bounded memory.

Per market: the YES book (levels as price -> size, served as immutable BookViews), the
last ticker fields, a ring buffer of recent trades, rolling mid/spread history, lifecycle
status and close time. Stale data reads as absent: a book not refreshed within
book_stale_s is served untrusted, a ticker older than ticker_stale_s is served as None.
Time is always the caller's injected now.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from config import MarketStateConfig
from messages import (
    BookDelta,
    BookLevel,
    BookSnapshot,
    BookUntrusted,
    BookView,
    MarketLifecycleChanged,
    TickerUpdated,
    TradePrinted,
)
from kernel.clock import seconds

from ._packed import DecimalColumn, IdColumn, IntColumn, PackedRing, TextColumn

__all__ = ["HistoryPoint", "MarketBook", "MarketStore", "TradeRing", "HistoryRing"]

# Lifecycle events after which a market will never trade again: its data is dropped.
_FINISHED_EVENTS = frozenset({"settled", "determined"})


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    ts: int
    mid: Decimal
    spread: Decimal


class TradeRing:
    """The market's last `capacity` trades, packed (see _packed.py): ~50 bytes a trade
    instead of a TradePrinted of ~450. Iterates as equal TradePrinted, oldest first."""

    __slots__ = ("ticker", "_rows")

    def __init__(self, ticker: str, capacity: int) -> None:
        self.ticker = ticker
        self._rows = PackedRing(
            capacity, IdColumn(), DecimalColumn(narrow=True), DecimalColumn(narrow=True), TextColumn(), IntColumn(), IntColumn()
        )

    def append(self, trade: TradePrinted) -> None:
        self._rows.append((trade.trade_id, trade.price, trade.count, trade.taker_side, trade.ts_event, trade.ts_recv))

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[TradePrinted]:
        for trade_id, price, count, taker_side, ts_event, ts_recv in self._rows:
            yield TradePrinted(ticker=self.ticker, trade_id=trade_id, price=price, count=count,
                               taker_side=taker_side, ts_event=ts_event, ts_recv=ts_recv)


class HistoryRing:
    """Mid/spread points, packed (see _packed.py), oldest first; reads as HistoryPoints."""

    __slots__ = ("_rows",)

    def __init__(self, capacity: int) -> None:
        self._rows = PackedRing(capacity, IntColumn(), DecimalColumn(narrow=True), DecimalColumn(narrow=True))

    def append(self, point: HistoryPoint) -> None:
        self._rows.append((point.ts, point.mid, point.spread))

    def popleft(self) -> None:
        self._rows.popleft()

    def ts(self, index: int) -> int:
        return self._rows.value(index, 0)

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[HistoryPoint]:
        for ts, mid, spread in self._rows:
            yield HistoryPoint(ts, mid, spread)


class MarketBook:
    def __init__(self, ticker: str, config: MarketStateConfig) -> None:
        self.ticker = ticker
        self.config = config
        self._bids: dict[Decimal, Decimal] = {}
        self._asks: dict[Decimal, Decimal] = {}
        self._has_book = False
        self._trusted = False
        self._ts_event = 0
        self._ts_recv: int | None = None
        self._view: BookView | None = None  # cached until the book changes
        self._ticker: TickerUpdated | None = None
        self.trades = TradeRing(ticker, config.trade_buffer)
        self.history = HistoryRing(config.history_max_points)
        # Sample the history no faster than window / max_points, so the bounded buffer
        # still spans the whole window on a busy market.
        self._history_step_ns = seconds(config.history_window_s) // config.history_max_points
        self.status: str | None = None
        self.close_ts: int | None = None
        self.untrusted_reason: str | None = None

    # -- book -----------------------------------------------------------------------
    def apply_snapshot(self, snapshot: BookSnapshot) -> None:
        self._bids = {price: size for price, size in snapshot.bids if size > 0}
        self._asks = {price: size for price, size in snapshot.asks if size > 0}
        self._has_book = True
        self._trusted = True
        self.untrusted_reason = None
        self._touch(snapshot.ts_event, snapshot.ts_recv)

    def apply_delta(self, delta: BookDelta) -> bool:
        """Apply a signed level change. False when there is no snapshot to apply it to."""
        if not self._has_book:
            return False
        levels = self._bids if delta.side == "bid" else self._asks
        size = levels.get(delta.price, Decimal(0)) + delta.delta
        if size > 0:
            levels[delta.price] = size
        else:
            levels.pop(delta.price, None)
        self._touch(delta.ts_event, delta.ts_recv)
        return True

    def mark_untrusted(self, message: BookUntrusted) -> None:
        """Untrusted until the next snapshot (a sequence gap or a reconnect)."""
        self._trusted = False
        self.untrusted_reason = message.reason
        self._view = None

    def _touch(self, ts_event: int, ts_recv: int) -> None:
        self._ts_event, self._ts_recv = ts_event, ts_recv
        self._view = None
        self._record_history(ts_recv)

    def is_stale(self, now_ns: int) -> bool:
        return self._ts_recv is None or now_ns - self._ts_recv > seconds(self.config.book_stale_s)

    def view(self, now_ns: int) -> BookView | None:
        """The book as readers see it; None before the first snapshot, untrusted when stale."""
        if not self._has_book:
            return None
        if self._view is None:
            self._view = BookView(
                ticker=self.ticker,
                bids=_levels(self._bids, descending=True),
                asks=_levels(self._asks, descending=False),
                trusted=self._trusted,
                ts_event=self._ts_event,
                ts_recv=self._ts_recv or 0,
            )
        if self._view.trusted and self.is_stale(now_ns):
            return _untrusted_copy(self._view)
        return self._view

    def _record_history(self, ts_recv: int) -> None:
        best_bid = max(self._bids) if self._bids else None
        best_ask = min(self._asks) if self._asks else None
        if best_bid is None or best_ask is None:
            return
        if self.history and ts_recv - self.history.ts(-1) < self._history_step_ns:
            return
        self.history.append(HistoryPoint(ts_recv, (best_bid + best_ask) / 2, best_ask - best_bid))
        self._expire_history(ts_recv)

    def _expire_history(self, now_ns: int) -> None:
        horizon = now_ns - seconds(self.config.history_window_s)
        while self.history and self.history.ts(0) < horizon:
            self.history.popleft()

    def history_since(self, now_ns: int) -> tuple[HistoryPoint, ...]:
        """Mid/spread points inside the rolling window ending at now."""
        horizon = now_ns - seconds(self.config.history_window_s)
        return tuple(p for p in self.history if p.ts >= horizon)

    # -- ticker, trades, lifecycle ------------------------------------------------------
    def apply_ticker(self, ticker: TickerUpdated) -> None:
        self._ticker = ticker

    def ticker_fields(self, now_ns: int) -> TickerUpdated | None:
        if self._ticker is None or now_ns - self._ticker.ts_recv > seconds(self.config.ticker_stale_s):
            return None
        return self._ticker

    def apply_trade(self, trade: TradePrinted) -> None:
        self.trades.append(trade)

    def apply_lifecycle(self, event: MarketLifecycleChanged) -> None:
        self.status = event.event_type
        if event.close_ts is not None:
            self.close_ts = event.close_ts

    @property
    def finished(self) -> bool:
        return self.status in _FINISHED_EVENTS

    def summary(self, now_ns: int) -> dict:
        view = self.view(now_ns)
        return {
            "best_bid": None if view is None or view.best_bid is None else str(view.best_bid),
            "best_ask": None if view is None or view.best_ask is None else str(view.best_ask),
            "trusted": bool(view is not None and view.trusted),
            "stale": self.is_stale(now_ns),
            "age_s": None if self._ts_recv is None else (now_ns - self._ts_recv) / 1e9,
            "status": self.status,
            "trades": len(self.trades),
        }


def _levels(levels: dict[Decimal, Decimal], *, descending: bool) -> tuple[BookLevel, ...]:
    return tuple((price, levels[price]) for price in sorted(levels, reverse=descending))


def _untrusted_copy(view: BookView) -> BookView:
    return BookView(
        ticker=view.ticker,
        bids=view.bids,
        asks=view.asks,
        trusted=False,
        ts_event=view.ts_event,
        ts_recv=view.ts_recv,
    )


class MarketStore:
    """All markets. `apply` returns the BookView to publish when a book changed.

    Memory: per market everything is bounded (trade ring, history ring, one level per
    price on the grid); a market that settles is dropped whole.
    """

    def __init__(self, config: MarketStateConfig) -> None:
        self.config = config
        self._markets: dict[str, MarketBook] = {}
        self.ignored_deltas = 0

    def market(self, ticker: str) -> MarketBook | None:
        return self._markets.get(ticker)

    def _market(self, ticker: str) -> MarketBook:
        market = self._markets.get(ticker)
        if market is None:
            market = self._markets[ticker] = MarketBook(ticker, self.config)
        return market

    def __len__(self) -> int:
        return len(self._markets)

    def apply(self, message: object, now_ns: int) -> BookView | None:
        if isinstance(message, BookSnapshot):
            market = self._market(message.ticker)
            market.apply_snapshot(message)
            return market.view(now_ns)
        if isinstance(message, BookDelta):
            market = self._markets.get(message.ticker)
            if market is None or not market.apply_delta(message):
                self.ignored_deltas += 1  # a delta before any snapshot: nothing to apply it to
                return None
            return market.view(now_ns)
        if isinstance(message, BookUntrusted):
            market = self._markets.get(message.ticker)
            if market is None:
                return None
            market.mark_untrusted(message)
            return market.view(now_ns)
        if isinstance(message, TickerUpdated):
            self._market(message.ticker).apply_ticker(message)
        elif isinstance(message, TradePrinted):
            self._market(message.ticker).apply_trade(message)
        elif isinstance(message, MarketLifecycleChanged):
            market = self._market(message.ticker)
            market.apply_lifecycle(message)
            if market.finished:
                del self._markets[message.ticker]
        return None

    def view(self, ticker: str, now_ns: int) -> BookView | None:
        market = self._markets.get(ticker)
        return None if market is None else market.view(now_ns)

    def status(self, now_ns: int) -> dict:
        return {
            "markets_tracked": len(self._markets),
            "ignored_deltas": self.ignored_deltas,
            "markets": {ticker: market.summary(now_ns) for ticker, market in self._markets.items()},
        }
