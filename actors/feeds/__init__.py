"""Outside price feeds: the reference-venue poller and the spot WebSocket client.

- `ReferencePollerActor`: GET /reference/polymarket/book?token_id=<id> per market every
  feeds.reference_poll_s, publishing messages.ReferencePriceUpdated (best bid/ask).
- `SpotFeedActor`: one per symbol, reading /reference/binance/ws/<symbol>@bookTicker,
  publishing messages.SpotPriceUpdated (mid of best bid and ask).
- `start_feed_actors(...)`: starts whichever the config asks for (none by default).
Both paths are served by the simulator (simex/_reference.py) on the exchange's port.
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
    "start_feed_actors",
]


def start_feed_actors(
    config: FeedsConfig, *, clock: Any, bus: Any, tracker: Any, http_base_url: str, ws_base_url: str, executor: Executor
) -> list:
    """Start the configured feed actors (live wiring); returns their refs, start order.
    http_base_url / ws_base_url are the venue roots, e.g. http://127.0.0.1:8080 and
    ws://127.0.0.1:8080 for the simulator."""
    refs = []
    tokens = parse_token_map(config.reference_tokens)
    if tokens:
        refs.append(
            ReferencePollerActor.start(
                clock=clock,
                bus=bus,
                tracker=tracker,
                config=config,
                tokens=tokens,
                fetch=HttpReferenceFetcher(http_base_url, config.reference_timeout_s),
                executor=executor,
            )
        )
    for symbol in config.spot_symbols:
        refs.append(
            SpotFeedActor.start(
                clock=clock, bus=bus, tracker=tracker, config=config, symbol=symbol, url=spot_stream_url(ws_base_url, symbol)
            )
        )
    return refs
