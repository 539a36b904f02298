"""Seed 000's hybrid inventory policy for one market, as a plain object.

Primary governor: duration-weighted exposure, sum over the open FIFO layers of
contracts x age in minutes; the market is flattened when it EXCEEDS the limit (SPEC 9
says "exceeds": exactly 500 does not trigger).

Failsafe: the adverse excursion of the mark against the VWAP entry (long: vwap - mark,
short: mark - vwap). A breach (excursion >= the limit) arms a persistence window; the
market is flattened only when the breach has lasted the whole window. Any observation
below the limit, or a flat position, resets it: a goal spike that recovers inside the
window never triggers. So does a fill that flips the position from long to short (or
back) without passing flat: the excursion is then measured against another position.

Hazard: both rules move with time alone (layers age; a breach persists while nothing
happens), so the owner must check again at `next_check_ns` on its own clock, not only
when data arrives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import NamedTuple, Protocol

from config import HybridConfig
from messages import QuoteSides
from kernel.clock import seconds

__all__ = ["HybridLimits", "HybridPolicy", "HybridTrigger", "hybrid_quote_sides", "duration_weighted_exposure"]

_ZERO = Decimal(0)
_NS_PER_MINUTE = 60_000_000_000
_CENTS = Decimal(100)


class _Layer(Protocol):
    qty: Decimal  # signed contracts
    ts: int  # ns when the layer was opened


@dataclass(frozen=True, slots=True)
class HybridLimits:
    duration_limit: Decimal  # contract-minutes
    mae: Decimal  # dollars
    persistence_ns: int
    skew_threshold: Decimal  # contracts

    @classmethod
    def from_config(cls, config: HybridConfig) -> "HybridLimits":
        preset = config.selected
        return cls(
            duration_limit=preset.duration_limit_contract_minutes,
            mae=preset.mae_dollars,
            persistence_ns=seconds(preset.persistence_s),
            skew_threshold=config.skew_threshold_contracts,
        )


class HybridTrigger(NamedTuple):
    kind: str  # duration | mae
    reason: str  # e.g. duration_weighted_504, mae_14c_persisted_8s
    value: Decimal  # contract-minutes, or the excursion in dollars


def duration_weighted_exposure(layers: Iterable[_Layer], now_ns: int) -> Decimal:
    """Sum of |contracts| x age in minutes (exact: ages in ns over ns per minute)."""
    total = sum((abs(layer.qty) * max(0, now_ns - layer.ts) for layer in layers), _ZERO)
    return total / _NS_PER_MINUTE


def _duration_deadline(layers: Iterable[_Layer], limit: Decimal) -> int | None:
    """First ns at which the (unchanged) layers' exposure exceeds `limit`.
    sum |q|(t - ts) / m > L  <=>  t > (L m + sum |q| ts) / sum |q|."""
    size = _ZERO
    weighted = _ZERO
    for layer in layers:
        size += abs(layer.qty)
        weighted += abs(layer.qty) * layer.ts
    if size == 0:
        return None
    boundary = (limit * _NS_PER_MINUTE + weighted) / size
    return int(boundary.to_integral_value(rounding=ROUND_FLOOR)) + 1


def adverse_excursion(position: Decimal, vwap: Decimal | None, mark: Decimal | None) -> Decimal | None:
    """How far the mark has gone against the entry, in dollars (negative: in our favour)."""
    if position == 0 or vwap is None or mark is None:
        return None
    return vwap - mark if position > 0 else mark - vwap


def hybrid_quote_sides(position: Decimal, threshold: Decimal) -> str:
    """Quote logic under the policy: long beyond the threshold asks only, short bids only.
    Exactly at the threshold is neutral (SPEC: long is net > 20)."""
    if position > threshold:
        return QuoteSides.ASK_ONLY
    if position < -threshold:
        return QuoteSides.BID_ONLY
    return QuoteSides.BOTH


def _format_number(value: Decimal) -> str:
    """14 -> "14", 8.5000 -> "8.5", 8.3333... -> "8.3": a reason a trader reads (a VWAP entry
    made an excursion of 25/3 cents print 28 digits)."""
    tenths = value.quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)
    return format(tenths.normalize(), "f") if tenths == tenths.to_integral_value() else format(tenths, "f")


class HybridPolicy:
    """Per-market policy state: only the failsafe's breach start is remembered."""

    def __init__(self, limits: HybridLimits) -> None:
        self.limits = limits
        self.breach_start_ns: int | None = None
        self.breach_long: bool | None = None  # the position's side when the breach began
        self.last_excursion: Decimal | None = None

    def observe(self, layers: tuple[_Layer, ...], vwap: Decimal | None, mark: Decimal | None, now_ns: int) -> HybridTrigger | None:
        """Check both rules at `now_ns` with the current layers and mark."""
        position = sum((layer.qty for layer in layers), _ZERO)
        duration = duration_weighted_exposure(layers, now_ns)
        if duration > self.limits.duration_limit:
            self.breach_start_ns = None
            whole = duration.to_integral_value(rounding=ROUND_FLOOR)
            return HybridTrigger("duration", f"duration_weighted_{whole}", duration)
        excursion = adverse_excursion(position, vwap, mark)
        self.last_excursion = excursion
        if self.breach_start_ns is not None and self.breach_long != (position > 0):
            self.breach_start_ns = None  # flipped sides in one fill: a new position, a new window
        if excursion is None or excursion < self.limits.mae:
            self.breach_start_ns = None  # recovered (or flat, or no mark): the window starts over
            return None
        if self.breach_start_ns is None:
            self.breach_start_ns = now_ns
            self.breach_long = position > 0
        held_ns = now_ns - self.breach_start_ns
        if held_ns >= self.limits.persistence_ns:
            self.breach_start_ns = None
            cents = _format_number(excursion * _CENTS)
            held = _format_number(Decimal(held_ns) / 1_000_000_000)
            return HybridTrigger("mae", f"mae_{cents}c_persisted_{held}s", excursion)
        return None

    def next_check_ns(self, layers: tuple[_Layer, ...]) -> int | None:
        """When a check could next trigger with nothing else happening."""
        deadlines = [d for d in (_duration_deadline(layers, self.limits.duration_limit),) if d is not None]
        if self.breach_start_ns is not None:
            deadlines.append(self.breach_start_ns + self.limits.persistence_ns)
        return min(deadlines) if deadlines else None

    def reset(self) -> None:
        self.breach_start_ns = None
        self.last_excursion = None

    def quote_sides(self, position: Decimal) -> str:
        return hybrid_quote_sides(position, self.limits.skew_threshold)
