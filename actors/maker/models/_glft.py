"""Gueant-Lehalle-Fernandez-Tapia closed form (SPEC 8, for long sessions).

O. Gueant, C.-A. Lehalle, J. Fernandez-Tapia, "Dealing with the inventory risk: a
solution to the market making problem", Mathematics and Financial Economics 7(4),
477-507, 2013: the asymptotic (T -> infinity) approximation of the optimal quotes,

    delta_bid ~ (1/g) ln(1 + g/k) + (2q + 1)/2 * w
    delta_ask ~ (1/g) ln(1 + g/k) - (2q - 1)/2 * w
    w = sqrt( sigma^2 g / (2 k A) * (1 + g/k)^(1 + k/g) )

so the centre sits q*w below fair (the inventory skew) and the total spread is
(2/g) ln(1 + g/k) + w, independent of time: no horizon to run out in a long session.
Computed in units of `k_price_unit` (g per unit, sigma in units per sqrt(horizon), A
fills per horizon at zero distance), converted back to dollars.
"""

from __future__ import annotations

import math

from config import QuoteModelConfig

from ._core import CoreQuote
from ._numeric import clamp, to_decimal
from ._types import QuoteContext

__all__ = ["GlftModel"]


class GlftModel:
    name = "glft"

    def __init__(self, cfg: QuoteModelConfig) -> None:
        self.cfg = cfg

    def terms(self, ctx: QuoteContext) -> tuple[float, float]:
        """(half the liquidity spread, w) in dollars."""
        if ctx.gamma <= 0 or ctx.k <= 0 or ctx.sigma < 0:
            raise ValueError(f"need gamma > 0, k > 0, sigma >= 0; got {ctx.gamma}, {ctx.k}, {ctx.sigma}")
        unit = float(self.cfg.k_price_unit)
        g = float(ctx.gamma) * unit
        k = float(ctx.k)
        sigma = float(ctx.sigma) / unit
        a = self.cfg.glft_arrival_rate
        liquidity_half = math.log1p(g / k) / g
        w = math.sqrt(sigma * sigma * g / (2.0 * k * a) * math.exp((1.0 + k / g) * math.log1p(g / k)))
        return liquidity_half * unit, w * unit

    def time_phase(self, ctx: QuoteContext) -> None:
        """The quote reads nothing from the clock."""
        return None

    def core(self, ctx: QuoteContext) -> CoreQuote:
        liquidity_half, w = self.terms(ctx)
        skew = to_decimal(float(ctx.position) * w)
        spread = clamp(to_decimal(2.0 * liquidity_half + w), ctx.min_spread, ctx.max_spread)
        return CoreQuote(fair=ctx.fair, reservation=ctx.fair - skew, half_spread=spread / 2)
