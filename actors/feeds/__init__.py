"""Outside price feeds: the reference-venue poller and the spot WebSocket client.

- `ReferencePollerActor`: GET /reference/polymarket/book?token_id=<id> per market every
  feeds.reference_poll_s, publishing messages.ReferencePriceUpdated (best bid/ask).
- `SpotFeedActor`: one per symbol, reading /reference/binance/ws/<symbol>@bookTicker,
  publishing messages.SpotPriceUpdated (mid of best bid and ask).
- `FeedVenues`: where they read: the real venues in demo and prod (feeds.polymarket_url,
  feeds.binance_url: Polymarket's CLOB `GET /book?token_id=`, Binance's
  `/ws/<symbol>@bookTicker`), the simulator's stand-ins (simex/_reference.py, on the
  exchange's port) in paper; a venue configured "off" is off in every mode.
- `start_feed_actors(...)`: starts whichever the config asks for (none by default).
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

from config import FeedsConfig

from ._decode import FeedDecodeError, decode_book_ticker, decode_polymarket_book
from ._reference import (
    HttpReferenceFetcher,
    InProcessReferenceFetcher,
    ReferenceFetched,
    ReferencePollDue,
    ReferencePollerActor,
    parse_token_map,
)
from ._spot import LiveSpotConnector, SpotFeedActor, spot_stream_url
from ._venues import FeedVenues

__all__ = [
    "FeedDecodeError",
    "decode_book_ticker",
    "decode_polymarket_book",
    "ReferencePollerActor",
    "ReferencePollDue",
    "ReferenceFetched",
    "HttpReferenceFetcher",
    "InProcessReferenceFetcher",
    "parse_token_map",
    "SpotFeedActor",
    "LiveSpotConnector",
    "spot_stream_url",
    "FeedVenues",
    "start_feed_actors",
]


def start_feed_actors(
    config: FeedsConfig, *, venues: FeedVenues, clock: Any, bus: Any, tracker: Any, executor: Executor
) -> list:
    """Start the configured feed actors (live wiring) on `venues`; returns their refs, in
    start order. A venue that is off starts nothing, whatever tokens or symbols are listed."""
    refs = []
    tokens = parse_token_map(config.reference_tokens)
    if tokens and venues.reference_book_url is not None:
        refs.append(
            ReferencePollerActor.start(
                clock=clock,
                bus=bus,
                tracker=tracker,
                config=config,
                tokens=tokens,
                fetch=HttpReferenceFetcher(venues.reference_book_url, config.reference_timeout_s, path=""),
                executor=executor,
            )
        )
    for symbol in config.spot_symbols:
        url = venues.spot_stream_url(symbol)
        if url is None:
            break
        refs.append(SpotFeedActor.start(clock=clock, bus=bus, tracker=tracker, config=config, symbol=symbol, url=url))
    return refs
