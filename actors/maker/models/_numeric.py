"""Decimal in, Decimal out: floats only inside transcendental functions.

Hazard: float noise must never move a quote across a tick boundary, so every float result
is rounded to a nano-dollar (1e-9) Decimal before it touches a price.
"""

from __future__ import annotations

import math
from decimal import Decimal

__all__ = ["NANO", "to_decimal", "clamp", "normal_cdf"]

NANO = Decimal("0.000000001")  # the documented quantum of every float-derived amount


def to_decimal(x: float) -> Decimal:
    if not math.isfinite(x):
        raise ValueError(f"not a finite number: {x!r}")
    return Decimal(repr(x)).quantize(NANO)


def clamp(value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    return min(max(value, low), high)


def normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))
