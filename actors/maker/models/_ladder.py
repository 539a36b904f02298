"""Ladders (SPEC 8, seed 004): N levels per side, `ladder_spacing` apart, best first."""

from __future__ import annotations

from decimal import Decimal

from config import QuoteModelConfig

from ._core import CoreQuote
from ._types import QuoteLevel

__all__ = ["ladder"]


def ladder(cfg: QuoteModelConfig, core: CoreQuote, size_per_level: Decimal) -> list[QuoteLevel]:
    """Unsized-by-limits levels: bids best first, then asks best first."""
    levels: list[QuoteLevel] = []
    bid = core.reservation - core.half_spread
    ask = core.reservation + core.half_spread
    if core.bid_on:
        levels.extend(QuoteLevel("bid", bid - i * cfg.ladder_spacing, size_per_level) for i in range(cfg.ladder_levels))
    if core.ask_on:
        levels.extend(QuoteLevel("ask", ask + i * cfg.ladder_spacing, size_per_level) for i in range(cfg.ladder_levels))
    return levels
