"""Decoders for the outside price feeds: plain functions, hand-testable, strict.

- Polymarket CLOB book (`GET /book?token_id=`; the simulator serves it at
  `/reference/polymarket/book`): {"asset_id", "timestamp" (ms string), "bids": [{"price",
  "size"}], "asks": [...]}. Hazard: Polymarket lists bids ascending and asks descending
  (best price LAST), so the best of each side is taken by max/min, never by position.
- Binance bookTicker frame: {"u": id, "s": "BTCUSDT", "b": bid, "B": qty, "a": ask,
  "A": qty}, decimal strings; the spot price is the mid of b and a.

Every malformed input raises FeedDecodeError with a message naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from messages import ReferencePriceUpdated, SpotPriceUpdated

__all__ = ["FeedDecodeError", "decode_polymarket_book", "decode_book_ticker"]

_NS_PER_MS = 1_000_000
_ONE = Decimal(1)


class FeedDecodeError(ValueError):
    """A reference or spot payload that cannot be read."""


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FeedDecodeError(f"{what}: expected a decimal string, got {value!r}")
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise FeedDecodeError(f"{what}: not a decimal: {value!r}") from None
    if not d.is_finite():
        raise FeedDecodeError(f"{what}: not finite: {value!r}")
    return d


def _best(levels: Any, side: str) -> Decimal | None:
    if levels is None:
        return None
    if not isinstance(levels, tuple | list):  # a frozen body's arrays are tuples
        raise FeedDecodeError(f"{side}: expected a list of levels, got {type(levels).__name__}")
    prices = []
    for i, level in enumerate(levels):
        if not isinstance(level, Mapping):
            raise FeedDecodeError(f"{side}[{i}]: expected an object, got {level!r}")
        price = _decimal(level.get("price"), f"{side}[{i}].price")
        size = _decimal(level.get("size"), f"{side}[{i}].size")
        if not 0 < price < _ONE:
            raise FeedDecodeError(f"{side}[{i}].price: outside (0, 1): {price}")
        if size > 0:
            prices.append(price)
    if not prices:
        return None
    return max(prices) if side == "bids" else min(prices)


def decode_polymarket_book(body: Any, *, ticker: str, source: str, ts_recv: int) -> ReferencePriceUpdated:
    """The best bid/ask of a Polymarket book as the YES-leg reference for `ticker`."""
    if not isinstance(body, Mapping):
        raise FeedDecodeError(f"book: expected a JSON object, got {type(body).__name__}")
    bid = _best(body.get("bids"), "bids")
    ask = _best(body.get("asks"), "asks")
    if bid is not None and ask is not None and bid >= ask:
        raise FeedDecodeError(f"book crossed or locked: bid {bid} >= ask {ask}")
    ts_event = ts_recv
    stamp = body.get("timestamp")
    if stamp is not None:
        ms = _decimal(stamp, "timestamp")
        if ms != ms.to_integral_value() or ms < 0:
            raise FeedDecodeError(f"timestamp: expected whole milliseconds, got {stamp!r}")
        ts_event = int(ms) * _NS_PER_MS
    return ReferencePriceUpdated(ticker=ticker, source=source, bid=bid, ask=ask, ts_event=ts_event, ts_recv=ts_recv)


def decode_book_ticker(text: str | bytes, *, ts_recv: int, expect_symbol: str | None = None) -> SpotPriceUpdated:
    """One bookTicker frame as a spot price (mid of best bid and ask). Binance sends no
    event time on this stream, so ts_event is the receive stamp."""
    try:
        frame = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FeedDecodeError(f"frame: not JSON: {exc}") from None
    if not isinstance(frame, dict):
        raise FeedDecodeError(f"frame: expected a JSON object, got {type(frame).__name__}")
    symbol = frame.get("s")
    if not isinstance(symbol, str) or not symbol:
        raise FeedDecodeError(f"s: expected a symbol, got {symbol!r}")
    if expect_symbol is not None and symbol.upper() != expect_symbol.upper():
        raise FeedDecodeError(f"s: expected {expect_symbol}, got {symbol}")
    bid = _decimal(frame.get("b"), "b")
    ask = _decimal(frame.get("a"), "a")
    if bid <= 0 or ask <= 0:
        raise FeedDecodeError(f"b/a: prices must be > 0, got {bid} / {ask}")
    if bid > ask:
        raise FeedDecodeError(f"b/a: crossed: {bid} > {ask}")
    return SpotPriceUpdated(symbol=symbol.upper(), price=(bid + ask) / 2, ts_event=ts_recv, ts_recv=ts_recv)
