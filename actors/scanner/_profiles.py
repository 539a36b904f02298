"""Category profiles: which behavioural class a category belongs to, per regime.

A profile (mean_reverting, medium_trending, hard_trending, low_liquidity) carries the
sigma blend weight, the tight/wide spread caps, an exclusion flag and a max-position
factor; `by_regime` overrides change only what they name for one regime.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Mapping, TypeVar

from config import ScannerConfig

V = TypeVar("V")

__all__ = ["EffectiveProfile", "CategoryProfiles", "normalise_category", "by_category", "in_categories"]


def normalise_category(raw: object) -> str:
    """'Economics' -> 'economics'; anything unusable -> '' (the default profile applies)."""
    return raw.strip().lower() if isinstance(raw, str) else ""


def by_category(mapping: Mapping[str, V], category: str) -> V:
    """A per-category config value, matched case-insensitively (Kalshi says "Rates", config
    may say rates or Rates); the mapping's "default" entry otherwise."""
    wanted = normalise_category(category)
    for key, value in mapping.items():
        if key != "default" and normalise_category(key) == wanted:
            return value
    return mapping["default"]


def in_categories(category: str, names: Iterable[str]) -> bool:
    """Case-insensitive membership (excluded_categories and the like)."""
    wanted = normalise_category(category)
    return bool(wanted) and any(normalise_category(name) == wanted for name in names)


@dataclass(frozen=True, slots=True)
class EffectiveProfile:
    name: str
    sigma_blend: Decimal
    spread_tight: Decimal
    spread_wide: Decimal
    exclude: bool
    max_position_factor: Decimal


class CategoryProfiles:
    def __init__(self, config: ScannerConfig) -> None:
        self._profiles = config.profiles
        self._mapping = config.categories
        self._names: dict[str, str] = {}  # category -> profile name (asked on every sample)

    def profile_name(self, category: str) -> str:
        name = self._names.get(category)
        if name is None:
            if len(self._names) >= 4096:
                self._names.clear()  # categories are few; memory stays bounded whatever comes
            name = self._names[category] = by_category(self._mapping, category)
        return name

    def effective(self, category: str, regime: str | None) -> EffectiveProfile:
        """The category's profile with the regime's overrides applied (None: no regime
        known yet, the base profile)."""
        name = self.profile_name(category)
        base = self._profiles[name]
        values = {
            "sigma_blend": base.sigma_blend,
            "spread_tight": base.spread_tight,
            "spread_wide": base.spread_wide,
            "exclude": base.exclude,
            "max_position_factor": base.max_position_factor,
        }
        override = base.by_regime.get(regime) if regime else None
        if override is not None:
            for key in values:
                value = getattr(override, key)
                if value is not None:
                    values[key] = value
        return EffectiveProfile(name=name, **values)
