"""Avellaneda-Stoikov quotes for one binary market, snapped to the tick grid.

Units (all consistent with config/default.yaml):

- prices, s, r and spreads: YES-leg dollars (Decimal on the way in and out);
- q: signed inventory in contracts (+ long YES, - short YES);
- sigma: price volatility in dollars per sqrt(risk horizon). With horizon_s = 3600 that is
  dollars per sqrt(hour), as default.yaml says; change horizon_s and sigma must be restated;
- tau: time left as a fraction of the risk horizon, in [0, 1] (the risk horizon replaces
  time to expiry, so a session quotes with tau = 1 unless told otherwise);
- gamma: risk aversion per dollar;
- kappa: order-arrival decay per CENT of distance from the fair value. The textbook k is
  per unit of price; with prices in dollars a k of 1.5 per dollar gives a liquidity term
  (2/gamma)*ln(1 + gamma/k) = $1.22, wider than the whole contract. Read per cent
  (k = 150 per dollar) the same 1.5 gives 1.33 cents, and the defaults quote the 2-cent
  minimum spread at q = 0: 0.49 / 0.51 around 0.50.

Floats are used only for exp/ln; their results are rounded to a nano-dollar Decimal
before touching prices, so float noise never moves a quote across a tick boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from config import MakerConfig
from kalshi.wire import CENT, ceil_to, floor_to

__all__ = ["Quote", "AvellanedaStoikovQuoter"]

_NANO = Decimal("0.000000001")
_ONE = Decimal(1)
_ZERO = Decimal(0)


def _to_decimal(x: float) -> Decimal:
    return Decimal(repr(x)).quantize(_NANO)


@dataclass(frozen=True, slots=True)
class Quote:
    """One two-sided quote. A side with size 0 is not quoted (its price is None)."""

    fair_value: Decimal
    reservation: Decimal
    spread: Decimal  # total target spread after the min/max clamp, before tick snapping
    gamma: float
    bid: Decimal | None
    ask: Decimal | None
    bid_size: Decimal
    ask_size: Decimal
    # ladder levels past the best, snapped, as (side, price, size): empty with one level
    deeper: tuple = ()

    def orders(self) -> tuple:
        """What the order manager would be asked for: (bid, bid_size, ask, ask_size), and
        the deeper ladder levels when there are any."""
        if self.deeper:
            return (self.bid, self.bid_size, self.ask, self.ask_size, self.deeper)
        return (self.bid, self.bid_size, self.ask, self.ask_size)


class AvellanedaStoikovQuoter:
    def __init__(self, config: MakerConfig) -> None:
        self.config = config
        self._kappa_per_dollar = config.kappa / float(CENT)

    def gamma(self, inventory: Decimal) -> float:
        """Dynamic risk aversion gamma0 * exp(-|q| / max_position) (seed 001)."""
        return self.config.gamma * math.exp(-abs(float(inventory)) / self.config.max_position)

    def tau(self, time_left_s: float | None) -> float:
        """Time left as a fraction of the risk horizon; None means a full horizon."""
        horizon = self.config.horizon_s
        if time_left_s is None:
            return 1.0
        return min(max(time_left_s, 0.0), horizon) / horizon

    def reservation(self, fair_value: Decimal, inventory: Decimal, time_left_s: float | None = None) -> Decimal:
        """r = s - q * gamma(q) * sigma^2 * tau: below s when long, above when short."""
        skew = float(inventory) * self.gamma(inventory) * self.config.sigma**2 * self.tau(time_left_s)
        return fair_value - _to_decimal(skew)

    def spread(self, inventory: Decimal, time_left_s: float | None = None) -> Decimal:
        """gamma*sigma^2*tau + (2/gamma)*ln(1 + gamma/k), clamped to [min_spread, max_spread]."""
        g = self.gamma(inventory)
        raw = g * self.config.sigma**2 * self.tau(time_left_s) + (2.0 / g) * math.log1p(g / self._kappa_per_dollar)
        return min(max(_to_decimal(raw), self.config.min_spread), self.config.max_spread)

    def sizes(self, inventory: Decimal) -> tuple[Decimal, Decimal]:
        """base_size per side, cut so a full fill never takes |position| past max_position."""
        base = Decimal(self.config.base_size)
        limit = Decimal(self.config.max_position)
        bid_size = max(_ZERO, min(base, limit - inventory))
        ask_size = max(_ZERO, min(base, limit + inventory))
        return bid_size, ask_size

    def quote(self, fair_value: Decimal, inventory: Decimal, time_left_s: float | None = None) -> Quote:
        tick = self.config.tick
        lowest, highest = tick, _ONE - tick
        r = self.reservation(fair_value, inventory, time_left_s)
        spread = self.spread(inventory, time_left_s)
        half = spread / 2
        bid = min(max(floor_to(r - half, tick), lowest), highest)
        ask = min(max(ceil_to(r + half, tick), lowest), highest)
        if bid >= ask:  # both clamped against one edge of the grid: keep the ask, bid below it
            bid = ask - tick
        bid_size, ask_size = self.sizes(inventory)
        return Quote(
            fair_value=fair_value,
            reservation=r,
            spread=spread,
            gamma=self.gamma(inventory),
            bid=bid if bid_size > 0 and bid >= lowest else None,
            ask=ask if ask_size > 0 else None,
            bid_size=bid_size,
            ask_size=ask_size,
        )
