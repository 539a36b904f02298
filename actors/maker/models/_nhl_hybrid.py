"""The NHL hybrid quoting model (seed 000), the quoting half of the `nhl_hybrid` profile.

The other half is the risk governor's hybrid inventory policy (SPEC 9, actors/risk/_hybrid.py:
flatten on duration-weighted exposure or on a persisted adverse excursion); the profile
picks its preset. This model only says where to quote:

- flat-ish (|net| <= nhl_one_sided_above): both sides, each `nhl_quote_offset` from fair
  (the profile's fair value is the EWMA of the mid);
- beyond it, only the side that brings the position back (long: the ask; short: the bid),
  and that side waits further out, for the reversion the strategy is built on:
  offset x (1 + nhl_exit_widen x (|net| - threshold) / threshold).

The centre never moves with inventory (no reservation skew): inventory risk is the hybrid
policy's job, not the price's. Spread bounds, fee floor, throttles and sizing still apply
(actors/maker/models/_pipeline.py).
"""

from __future__ import annotations

from decimal import Decimal

from config import QuoteModelConfig

from ._core import CoreQuote
from ._types import QuoteContext

__all__ = ["NhlHybridModel"]

_ONE = Decimal(1)


class NhlHybridModel:
    name = "nhl_hybrid"

    def __init__(self, cfg: QuoteModelConfig) -> None:
        self.cfg = cfg

    def exit_offset(self, net: Decimal) -> Decimal:
        """How far from fair the reducing side quotes once |net| is beyond the threshold."""
        threshold = self.cfg.nhl_one_sided_above
        beyond = (abs(net) - threshold) / threshold
        return self.cfg.nhl_quote_offset * (_ONE + self.cfg.nhl_exit_widen * beyond)

    def time_phase(self, ctx: QuoteContext) -> None:
        """The quote reads nothing from the clock."""
        return None

    def core(self, ctx: QuoteContext) -> CoreQuote:
        net = ctx.position
        threshold = self.cfg.nhl_one_sided_above
        if abs(net) <= threshold:
            return CoreQuote(fair=ctx.fair, reservation=ctx.fair, half_spread=self.cfg.nhl_quote_offset)
        long = net > 0
        return CoreQuote(
            fair=ctx.fair,
            reservation=ctx.fair,
            half_spread=self.exit_offset(net),
            bid_on=not long,
            ask_on=long,
            notes=("nhl_long_asks_only" if long else "nhl_short_bids_only",),
        )
