"""Fixed spread with inventory adjustments (SPEC 8, seed 002).

Base spread, then: + fixed_low_liquidity_widen when the market's liquidity is under
fixed_low_liquidity_dollars; x2 inside 6 h to resolution; x1.3 when |net| exceeds the
skew threshold; clamped to [min_spread, max_spread]. Both prices shift 1 cent per 10
contracts of net inventory (whole steps, towards flat: long lowers them). Under 0.5 h to
resolution with |net| > 5 the plan is empty and says force_exit.
"""

from __future__ import annotations

from decimal import Decimal

from config import QuoteModelConfig

from ._core import CoreQuote, seconds_left
from ._numeric import clamp
from ._types import QuoteContext

__all__ = ["FixedSpreadModel"]


class FixedSpreadModel:
    name = "fixed_spread"

    def __init__(self, cfg: QuoteModelConfig) -> None:
        self.cfg = cfg

    def time_phase(self, ctx: QuoteContext) -> tuple[bool, Decimal | None] | None:
        """What the quote reads from the clock: whether resolution is near, and the time to
        it once inside the forced-exit window (None: no close known)."""
        to_close = seconds_left(ctx.market_close_ns, ctx.now_ns)
        if to_close is None:
            return None
        forcing = to_close < Decimal(str(self.cfg.fixed_force_exit_s))
        return to_close < Decimal(str(self.cfg.fixed_near_resolution_s)), to_close if forcing else None

    def core(self, ctx: QuoteContext) -> CoreQuote:
        cfg = self.cfg
        notes: list[str] = []
        spread = cfg.fixed_base_spread
        if ctx.liquidity is not None and ctx.liquidity < cfg.fixed_low_liquidity_dollars:
            spread += cfg.fixed_low_liquidity_widen
            notes.append("low_liquidity")
        near, forcing_in = self.time_phase(ctx) or (False, None)
        if near:
            spread *= cfg.fixed_near_resolution_multiplier
            notes.append("near_resolution")
        net = ctx.position
        if abs(net) > cfg.fixed_skew_threshold:
            spread *= cfg.fixed_skew_multiplier
            notes.append("inventory_skew")
        spread = clamp(spread, ctx.min_spread, ctx.max_spread)
        steps = int(net / cfg.fixed_shift_every)  # truncates towards zero: whole steps only
        reservation = ctx.fair - cfg.fixed_shift * steps
        if forcing_in is not None and abs(net) > cfg.fixed_force_exit_contracts:
            return CoreQuote(
                fair=ctx.fair,
                reservation=reservation,
                half_spread=spread / 2,
                why_empty=f"force exit: {forcing_in:.0f} s to resolution with net {net}",
                force_exit=True,
                notes=tuple(notes),
            )
        return CoreQuote(fair=ctx.fair, reservation=reservation, half_spread=spread / 2, notes=tuple(notes))
