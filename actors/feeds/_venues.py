"""Where a run reads its outside prices: the real venues (demo, prod) or the simulator's
stand-ins (paper), as one plain value the feed actors are started from.

Hazard this exists for: the feeds used to be derived from the exchange's host, so in demo
or prod they would have asked Kalshi's hosts for Polymarket books and Binance streams.
A venue configured "off" (feeds.polymarket_url / feeds.binance_url) is off in every mode.
"""

from __future__ import annotations

from dataclasses import dataclass

from config import FEED_OFF, FeedsConfig

__all__ = [
    "FeedVenues",
    "POLYMARKET_BOOK_PATH",
    "POLYMARKET_CLOB_BOOK_PATH",
    "BINANCE_WS_PREFIX",
    "BINANCE_STREAM_PREFIX",
]

POLYMARKET_BOOK_PATH = "/reference/polymarket/book"  # the simulator's stand-in (simex/_reference.py)
POLYMARKET_CLOB_BOOK_PATH = "/book"  # Polymarket's CLOB: GET /book?token_id=<id>
BINANCE_WS_PREFIX = "/reference/binance/ws/"  # the simulator's stand-in
BINANCE_STREAM_PREFIX = "/ws/"  # Binance's raw streams: /ws/<symbol lower>@bookTicker


@dataclass(frozen=True, slots=True)
class FeedVenues:
    """The book endpoint a reference poller GETs and the prefix a spot stream's name is
    appended to; None: that venue is off for this run."""

    reference_book_url: str | None
    spot_stream_prefix: str | None

    @classmethod
    def real(cls, feeds: FeedsConfig) -> FeedVenues:
        """Demo and prod: the venues the config names."""
        return cls(
            _joined(feeds.polymarket_url, POLYMARKET_CLOB_BOOK_PATH),
            _joined(feeds.binance_url, BINANCE_STREAM_PREFIX),
        )

    @classmethod
    def simulator(cls, feeds: FeedsConfig, http_root: str, ws_root: str) -> FeedVenues:
        """Paper: the simulated exchange's stand-ins, e.g. http://127.0.0.1:8080 and
        ws://127.0.0.1:8080; a venue configured off stays off."""
        return cls(
            None if _off(feeds.polymarket_url) else _joined(http_root, POLYMARKET_BOOK_PATH),
            None if _off(feeds.binance_url) else _joined(ws_root, BINANCE_WS_PREFIX),
        )

    def spot_stream_url(self, symbol: str) -> str | None:
        if self.spot_stream_prefix is None:
            return None
        return self.spot_stream_prefix + symbol.lower() + "@bookTicker"


def _off(url: str) -> bool:
    return url.strip() == FEED_OFF


def _joined(root: str, path: str) -> str | None:
    return None if _off(root) else root.strip().rstrip("/") + path
