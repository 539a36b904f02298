"""Per-market series, bounded: the markets we trade come and go, their series must not pile up.

Every series labelled with a ticker is created through `MarketSeries.child`, which notes
it. Past `max_markets` markets, the series of the market touched longest ago that has no
session running are removed (Prometheus sees them end; counters of a market traded again
restart at 0, which rate() handles as a reset). Markets with a session are never removed.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

__all__ = ["MarketSeries"]


class MarketSeries:
    def __init__(self, max_markets: int) -> None:
        self.max_markets = max_markets
        # ticker -> the (metric, label values) created for it; order = least recently touched first
        self._series: OrderedDict[str, set[tuple[Any, tuple[str, ...]]]] = OrderedDict()
        self._sessions: dict[str, int] = {}  # ticker -> running sessions
        self.evicted = 0

    def child(self, metric: Any, ticker: str, *more_labels: str) -> Any:
        """`metric.labels(ticker, *more_labels)`, noted under the ticker."""
        labels = (ticker, *more_labels)
        series = self._touch(ticker)
        series.add((metric, labels))
        return metric.labels(*labels)

    def session_started(self, ticker: str) -> None:
        self._sessions[ticker] = self._sessions.get(ticker, 0) + 1
        self._touch(ticker)

    def session_stopped(self, ticker: str) -> None:
        left = self._sessions.get(ticker, 0) - 1
        if left > 0:
            self._sessions[ticker] = left
        else:
            self._sessions.pop(ticker, None)

    def tickers(self) -> list[str]:
        return list(self._series)

    def _touch(self, ticker: str) -> set:
        series = self._series.get(ticker)
        if series is None:
            series = self._series[ticker] = set()
            self._evict_beyond_limit(keep=ticker)
        else:
            self._series.move_to_end(ticker)
        return series

    def _evict_beyond_limit(self, keep: str) -> None:
        while len(self._series) > self.max_markets:
            idle = next((t for t in self._series if t != keep and t not in self._sessions), None)
            if idle is None:
                return  # every market has a session: running sessions are bounded by the supervisor
            for metric, labels in self._series.pop(idle):
                try:
                    metric.remove(*labels)
                except KeyError:
                    pass
            self.evicted += 1
