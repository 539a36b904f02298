"""Which markets to make, from a GET /markets listing (walking-skeleton selection).

Full discovery scoring and volatility events replace this later; for now: binary,
active markets, away from the price extremes, ranked by traded volume.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from kalshi.wire import WireFormatError, parse_count, parse_dollars

__all__ = ["MarketCandidate", "rank_markets"]

_EXTREME_LOW = Decimal("0.05")
_EXTREME_HIGH = Decimal("0.95")


@dataclass(frozen=True, slots=True)
class MarketCandidate:
    ticker: str
    volume_24h: Decimal
    volume: Decimal
    last_price: Decimal | None
    reason: str


def _candidate(market: object) -> MarketCandidate | None:
    """None for anything that is not a usable market (bad entries are skipped, not fatal)."""
    if not isinstance(market, Mapping) or not isinstance(market.get("ticker"), str) or not market["ticker"]:
        return None
    if market.get("market_type", "binary") != "binary" or market.get("status") != "active":
        return None
    try:
        volume_24h = parse_count(market.get("volume_24h_fp") or "0", "volume_24h_fp")
        volume = parse_count(market.get("volume_fp") or "0", "volume_fp")
        last = market.get("last_price_dollars")
        last_price = parse_dollars(last, "last_price_dollars") if last else None
    except WireFormatError:
        return None
    if last_price is not None and last_price > 0 and not (_EXTREME_LOW <= last_price <= _EXTREME_HIGH):
        return None  # extreme prices: nothing to make, and one-sided risk
    reason = f"active binary, 24h volume {volume_24h}, last {last_price}"
    return MarketCandidate(market["ticker"], volume_24h, volume, last_price, reason)


def rank_markets(markets: object, limit: int) -> list[MarketCandidate]:
    """Best first: most 24h volume, then lifetime volume, then ticker (stable order)."""
    if not isinstance(markets, tuple | list):  # a REST read's JSON arrays are frozen as tuples
        return []
    candidates = [c for c in map(_candidate, markets) if c is not None]
    candidates.sort(key=lambda c: (-c.volume_24h, -c.volume, c.ticker))
    return candidates[:limit]
