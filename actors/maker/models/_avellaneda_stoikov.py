"""Avellaneda-Stoikov quoting (SPEC 8; Avellaneda & Stoikov, "High-frequency trading in a
limit order book", Quantitative Finance 8(3), 2008).

    reservation r = s - q * gamma * sigma^2 * tau
    total spread  = gamma * sigma^2 * tau + (2 / gamma) * ln(1 + gamma / k)
    quotes        = r -/+ spread / 2, spread clamped to [min_spread, max_spread]

Units: s, r, spreads in dollars; q in contracts; gamma per dollar; sigma in dollars per
sqrt(horizon); tau = time left as a fraction of the horizon (horizon_mode `fixed`: always
1, the 1 h risk horizon replacing time to expiry; `remaining`: min(time to the session's
or market's end, horizon) / horizon); k is arrival decay per `k_price_unit` of distance
(per cent by default: k = 1.5 per cent is 150 per dollar; read per dollar the liquidity
term would be $1.22, wider than a binary contract). Dynamic gamma (seed 001):
gamma(q) = gamma0 * exp(-|q| / max_position).
"""

from __future__ import annotations

import math
from decimal import Decimal

from config import QuoteModelConfig

from ._core import CoreQuote
from ._numeric import clamp, to_decimal
from ._types import QuoteContext

__all__ = ["AvellanedaStoikovModel", "horizon_fraction"]

_NS_PER_S = 1_000_000_000


def horizon_fraction(cfg: QuoteModelConfig, ctx: QuoteContext) -> float:
    """tau in [0, 1]: the remaining time as a fraction of the risk horizon."""
    if cfg.horizon_mode == "fixed":
        return 1.0
    ends = [t for t in (ctx.session_end_ns, ctx.market_close_ns) if t is not None]
    if not ends:
        return 1.0
    left_s = (min(ends) - ctx.now_ns) / _NS_PER_S
    return min(max(left_s, 0.0), cfg.horizon_s) / cfg.horizon_s


class AvellanedaStoikovModel:
    name = "avellaneda_stoikov"

    def __init__(self, cfg: QuoteModelConfig) -> None:
        self.cfg = cfg

    def gamma(self, ctx: QuoteContext) -> float:
        gamma0 = float(ctx.gamma)
        if gamma0 <= 0:
            raise ValueError(f"gamma must be > 0, got {ctx.gamma}")
        if not self.cfg.dynamic_gamma:
            return gamma0
        return gamma0 * math.exp(-abs(float(ctx.position)) / ctx.max_position)

    def time_phase(self, ctx: QuoteContext) -> float | None:
        """What the quote reads from the clock: tau (None: the fixed horizon never moves)."""
        return None if self.cfg.horizon_mode == "fixed" else horizon_fraction(self.cfg, ctx)

    def core(self, ctx: QuoteContext) -> CoreQuote:
        if ctx.k <= 0 or ctx.sigma < 0:
            raise ValueError(f"need k > 0 and sigma >= 0, got k={ctx.k} sigma={ctx.sigma}")
        gamma = self.gamma(ctx)
        tau = horizon_fraction(self.cfg, ctx)
        sigma = float(ctx.sigma)
        k_per_dollar = float(ctx.k) / float(self.cfg.k_price_unit)
        inventory_term = gamma * sigma * sigma * tau
        skew = to_decimal(float(ctx.position) * inventory_term)
        spread = to_decimal(inventory_term + (2.0 / gamma) * math.log1p(gamma / k_per_dollar))
        spread = clamp(spread, ctx.min_spread, ctx.max_spread)
        return CoreQuote(fair=ctx.fair, reservation=ctx.fair - skew, half_spread=spread / 2)
