"""Simulated outside price sources that follow a scenario: a reference venue and a spot feed.

- Reference venue, shaped like Polymarket's CLOB `GET /book?token_id=<id>`, served at
  `GET /reference/polymarket/book?token_id=<id>`. Answer: {"market", "asset_id",
  "timestamp" (ms string), "hash", "bids": [{"price", "size"}...], "asks": [...],
  "min_order_size", "tick_size", "neg_risk"}; prices and sizes are decimal strings. As on
  Polymarket, bids are sorted ascending and asks descending: the best price of each side is
  the LAST entry. Unknown token -> 404 {"error": ...}; missing token_id -> 400.
  The token tracks its Kalshi market's latent fair value *now* plus noise (noise_cents, one
  draw per simulated second), while the Kalshi book centres on the fair value of `lead_s`
  seconds ago: the reference leads the Kalshi book.
- Spot feed, shaped like Binance's bookTicker stream, a WebSocket at
  `/reference/binance/ws/<symbol lower>@bookTicker`. Each frame is
  {"u": update id, "s": "BTCUSDT", "b": best bid, "B": bid qty, "a": best ask, "A": ask qty}
  (decimal strings, 8 dp). A frame is sent on connect and whenever the spot moves (once per
  simulated second). Unknown symbol or malformed stream name -> 404 before the upgrade.

`ReferenceFeeds` builds the payloads (pure, deterministic: noise and sizes are seeded by
(seed, token or symbol, second or update id)), so replays can call it in-process without
sockets; `register_routes(app, run)` serves it from the aiohttp simulator.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from ._scenario import ScenarioRun

__all__ = [
    "BINANCE_WS_PREFIX",
    "POLYMARKET_BOOK_PATH",
    "ReferenceFeeds",
    "register_routes",
]

POLYMARKET_BOOK_PATH = "/reference/polymarket/book"
BINANCE_WS_PREFIX = "/reference/binance/ws/"
BOOK_TICKER_SUFFIX = "@bookticker"
REFERENCE_LEVELS = 5
_Q2 = Decimal("0.01")
_Q8 = Decimal("0.00000001")


class ReferenceFeeds:
    """Payload builders over a running scenario. Call only where the exchange may be read
    (the simulator's loop thread, or between replay steps)."""

    def __init__(self, run: ScenarioRun) -> None:
        self.run = run
        self._tokens = {m.reference.token_id: m for m in run.scenario.markets if m.reference is not None}

    @property
    def token_ids(self) -> list[str]:
        return list(self._tokens)

    @property
    def symbols(self) -> list[str]:
        return list(self.run.spots)

    def _rng(self, *names: object) -> random.Random:
        return random.Random(":".join(str(n) for n in (self.run.seed, self.run.scenario.name) + names))

    def reference_mid_cents(self, token_id: str) -> float:
        """The token's price now: latent fair + per-second noise, inside 1..99 cents."""
        market = self._tokens[token_id]
        second = int(self.run.elapsed_s())
        noise = self._rng("reference-noise", token_id, second).gauss(0.0, 1.0) * market.reference.noise_cents
        return min(99.0, max(1.0, self.run.fair_cents(market.ticker) + noise))

    def polymarket_book(self, token_id: str) -> dict[str, Any]:
        """Raises KeyError for a token the scenario does not define."""
        market = self._tokens[token_id]
        half = market.reference.half_spread_cents
        mid = round(self.reference_mid_cents(token_id))
        best_bid, best_ask = max(1, mid - half), min(99, mid + half)
        if best_bid >= best_ask:  # pinned at an edge: keep one tick apart
            best_bid, best_ask = (best_ask - 1, best_ask) if best_ask > 1 else (1, 2)
        second = int(self.run.elapsed_s())
        rng = self._rng("reference-size", token_id, second)
        bids = [(best_bid - i, rng.randint(50, 2_000)) for i in range(REFERENCE_LEVELS) if best_bid - i >= 1]
        asks = [(best_ask + i, rng.randint(50, 2_000)) for i in range(REFERENCE_LEVELS) if best_ask + i <= 99]
        # Polymarket order: bids ascending, asks descending -> best price last on both sides.
        bids_out = [_level(p, s) for p, s in sorted(bids)]
        asks_out = [_level(p, s) for p, s in sorted(asks, reverse=True)]
        body = {
            "market": "0x" + hashlib.sha256(f"market:{token_id}".encode()).hexdigest(),
            "asset_id": token_id,
            "timestamp": str(self.run.exchange.now() // 1_000_000),
            "bids": bids_out,
            "asks": asks_out,
            "min_order_size": "5",
            "tick_size": "0.01",
            "neg_risk": False,
        }
        body["hash"] = hashlib.sha1(json.dumps([bids_out, asks_out]).encode()).hexdigest()
        return body

    def book_ticker(self, symbol: str) -> dict[str, Any]:
        """Raises KeyError for a symbol the scenario does not define (case-insensitive)."""
        price, update_id = self.run.spot(symbol)
        state = self.run.spots[symbol.upper()]
        tick = state.scenario.tick
        rng = self._rng("spot-size", state.scenario.symbol, update_id)
        return {
            "u": update_id,
            "s": state.scenario.symbol,
            "b": _fixed8(price),
            "B": _fixed8(Decimal(rng.randint(1, 5_000)) / 1000),
            "a": _fixed8(price + tick),
            "A": _fixed8(Decimal(rng.randint(1, 5_000)) / 1000),
        }

    def handle_rest(self, path: str, query: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """In-process front door for replays: (status, JSON body) like the HTTP route."""
        if path != POLYMARKET_BOOK_PATH:
            return 404, {"error": f"no reference route {path}"}
        token = query.get("token_id")
        if isinstance(token, list):
            token = token[0] if token else None
        if not token:
            return 400, {"error": "Invalid payload: token_id is required"}
        try:
            return 200, self.polymarket_book(str(token))
        except KeyError:
            return 404, {"error": "No orderbook exists for the requested token id"}

    def symbol_for_stream(self, stream: str) -> str | None:
        """'btcusdt@bookTicker' -> 'BTCUSDT' when the scenario has it, else None."""
        if not stream.lower().endswith(BOOK_TICKER_SUFFIX):
            return None
        symbol = stream[: -len(BOOK_TICKER_SUFFIX)].upper()
        return symbol if symbol in self.run.spots else None


def _level(price_cents: int, size: int) -> dict[str, str]:
    return {"price": str((Decimal(price_cents) / 100).quantize(_Q2)), "size": str(Decimal(size).quantize(_Q2))}


def _fixed8(value: Decimal) -> str:
    return str(value.quantize(_Q8, rounding=ROUND_HALF_EVEN))


def register_routes(app: Any, run: ScenarioRun | ReferenceFeeds | None, *, poll_interval_s: float = 0.1) -> None:
    """Add the reference routes to an aiohttp app (before any catch-all route). No-op without
    a scenario. Handlers run on the app's loop, where the simulator allows exchange reads."""
    if run is None:
        return
    from aiohttp import WSMsgType, web

    feeds = run if isinstance(run, ReferenceFeeds) else ReferenceFeeds(run)

    async def polymarket_book(request: web.Request) -> web.Response:
        status, body = feeds.handle_rest(POLYMARKET_BOOK_PATH, dict(request.query))
        return web.json_response(body, status=status)

    async def binance_stream(request: web.Request) -> web.StreamResponse:
        stream = request.match_info["stream"]
        symbol = feeds.symbol_for_stream(stream)
        if symbol is None:
            return web.json_response({"error": f"unknown stream {stream!r}; known: "
                                      + ", ".join(s.lower() + "@bookTicker" for s in feeds.symbols)}, status=404)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)

        async def push() -> None:
            last = None
            while not ws.closed:
                frame = feeds.book_ticker(symbol)
                if frame["u"] != last:
                    last = frame["u"]
                    try:
                        await ws.send_str(json.dumps(frame, separators=(",", ":")))
                    except ConnectionError:
                        return
                await asyncio.sleep(poll_interval_s)

        pusher = asyncio.create_task(push())
        try:
            async for message in ws:  # Binance raw streams ignore client text; we only watch for close
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            pusher.cancel()
        return ws

    app.router.add_get(POLYMARKET_BOOK_PATH, polymarket_book)
    app.router.add_get(BINANCE_WS_PREFIX + "{stream}", binance_stream)

