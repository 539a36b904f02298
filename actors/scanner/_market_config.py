"""Dynamic market config (SPEC 6): exposure, price band, size factor, k, sigma, spreads."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from config import MarketConfigRules, RegimeConfig
from messages import MarketConfig, QuoteSides

from ._profiles import CategoryProfiles, by_category

__all__ = ["Budgets", "price_band", "sigma_proxy", "blend_sigma", "max_exposure", "build_market_config"]

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")
NORMAL, SOFT_EXTREME, HARD_EXTREME = "normal", "soft_extreme", "hard_extreme"


@dataclass(frozen=True, slots=True)
class Budgets:
    """Dollar limits owned by the risk section (risk.per_market / global budgets)."""

    per_market: Decimal
    global_budget: Decimal


def price_band(mid: Decimal, rules: MarketConfigRules) -> str:
    if rules.normal_band_low <= mid <= rules.normal_band_high:
        return NORMAL
    if rules.hard_band_low <= mid <= rules.hard_band_high:
        return SOFT_EXTREME
    return HARD_EXTREME


def sigma_proxy(mid: Decimal, sigma_base: Decimal) -> Decimal:
    """σ = σ_base·(1 + 2p(1−p)): most uncertain at 50 cents."""
    return sigma_base * (1 + 2 * mid * (1 - mid))


def blend_sigma(
    estimated: Decimal, event_sigma: Decimal | None, jump: Decimal, blend_weight: Decimal, rules: MarketConfigRules
) -> Decimal:
    """Jump-driven σ explosions must not shrink spreads: a big jump ignores the event σ."""
    if event_sigma is None or abs(jump) >= rules.jump_ignores_event_sigma:
        weight = ZERO
    else:
        weight = blend_weight
    sigma = (1 - weight) * estimated + weight * (event_sigma or ZERO)
    return min(rules.sigma_cap, max(rules.sigma_floor, sigma)).quantize(Decimal("0.000001"))


def max_exposure(
    liquidity: Decimal, category: str, active_markets: int, budgets: Budgets, rules: MarketConfigRules
) -> Decimal:
    """min(α·√liquidity, per-market cap, global budget / active markets, category cap), whole cents down.

    `liquidity` is in dollars; the square root is taken of it in cents, the unit of the
    Kalshi `liquidity` field seed 001 calibrated α = 0.1 against. Hazard: √dollars makes a
    market with $100 at the touch worth $1 of exposure, one contract, so the maker could
    hardly quote; √cents gives $10, which the $8 per-market cap then binds.
    """
    raw = rules.alpha * (liquidity.max(ZERO) * 100).sqrt()
    category_cap = by_category(rules.category_caps_dollars, category)
    share = budgets.global_budget / max(1, active_markets)
    value = min(raw, budgets.per_market, share, category_cap)
    return value.quantize(CENT, rounding=ROUND_FLOOR)


def build_market_config(
    *,
    ticker: str,
    category: str,
    mid: Decimal,
    liquidity: Decimal,
    days_to_expiry: float | None,
    close_ts: int | None,
    regime: str | None,
    event_sigma: Decimal | None,
    jump: Decimal,
    active_markets: int,
    budgets: Budgets,
    rules: MarketConfigRules,
    regimes: RegimeConfig,
    profiles: CategoryProfiles,
    sigma_base: Decimal,
) -> MarketConfig:
    """`regime` None means no accepted regime yet: the base profile, UNKNOWN multipliers."""
    profile = profiles.effective(category, regime)
    band = price_band(mid, rules)
    band_factor = {NORMAL: ONE, SOFT_EXTREME: rules.soft_extreme_factor, HARD_EXTREME: rules.hard_extreme_factor}[band]
    long_dated = days_to_expiry is not None and days_to_expiry > rules.long_dated_days
    size_factor = band_factor * (rules.long_dated_factor if long_dated else ONE) * profile.max_position_factor
    if band == HARD_EXTREME:
        # one-sided near 0/1: buy YES only when cheap, sell YES only when expensive
        sides = QuoteSides.BID_ONLY if mid < rules.normal_band_low else QuoteSides.ASK_ONLY
    else:
        sides = QuoteSides.BOTH
    regime_name = regime or "UNKNOWN"
    k_base = by_category(rules.k_by_category, category)
    return MarketConfig(
        ticker=ticker,
        category=category,
        profile=profile.name,
        max_exposure=max_exposure(liquidity, category, active_markets, budgets, rules),
        size_factor=size_factor,
        quote_sides=sides,
        price_band=band,
        k=k_base * regimes.k_multipliers[regime_name],
        sigma=blend_sigma(sigma_proxy(mid, sigma_base), event_sigma, jump, profile.sigma_blend, rules),
        gamma_multiplier=regimes.gamma_multipliers[regime_name],
        min_spread=profile.spread_tight,
        max_spread=profile.spread_wide,
        regime=regime_name,
        close_ts=close_ts,
        long_dated=long_dated,
    )
