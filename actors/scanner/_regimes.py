"""Market regimes from a short window of mid prices (SPEC 6 "Regimes").

Definitions (p_0..p_n are the window's mids, Δ_i = p_i − p_{i−1}, all in dollars):

- realised σ: population standard deviation of the mids p_i around their mean — the
  dispersion of the price over the window. It does not depend on how often we sampled.
- drift_z: b / max(std(Δ), drift_min_sigma), where b is the least-squares slope of p_i
  against i (dollars per observation) and std(Δ) the step noise — a per-step Sharpe
  ratio of the path. A clean ramp gives a large |drift_z|; an oscillation gives ≈ 0
  whatever its end points (a plain mean step, (p_n − p_0)/n, would call a short
  oscillation that ends on the other side a drift).
- regime drift (what classification uses): drift_z over the window, except when the
  window holds a *reverting jump*. The jump is the largest single step Δ_k; it counts
  when |Δ_k| ≥ jump_step (one sample moves that far only on news, never in a steady
  trend) and the price has since come back at least jump_retrace of it
  (sign(Δ_k)·(p_n − p_k) ≤ −jump_retrace·|Δ_k|). Then the jump and its retracement are
  mean reversion, not drift, and the drift is the stronger of two pieces: drift_z of
  p_0..p_{k−1} (a trend before the jump) and drift_z of p_k..p_n counted only when it
  continues in the jump's direction (moving back against the jump is the reversion
  itself). Both pieces share one normaliser, the std of every step but the jump (a
  piece of a few points has no usable noise of its own), and each is weighted by its
  share of the window's steps (a drift over part of the window counts for that part).
  Why: least squares over a path that dropped 16 cents and is halfway back
  reads a slope of ~0.06 — over the mean_reverting profile's threshold — although every
  step since the drop undoes it. A jump that stays (retraced < jump_retrace) keeps the
  whole-window drift_z: a level shift that holds is directional, not mean reversion.
  Remaining edge: once the jump itself has left the window, the tail of its reversion
  (a decay toward the new level) has no jump to explain it and can read as a drift.
- mean-reversion score: 1 − VR/2 clamped to [0, 1], where VR is the non-centred
  variance ratio at lag q = min(mean_reversion_lag, n):
  VR = mean((p_{i+q} − p_i)²) / (q · mean(Δ_i²)).
  A random walk gives VR ≈ 1 (score 0.5); a price that keeps undoing its moves
  (oscillation, bid/ask bounce, a reverting jump) gives VR → 0 (score → 1); a drift gives
  VR > 1 (score → 0; VR ≥ 2 scores 0). Non-centred on purpose: a steady drift is
  persistence, and centring would hide it. Measured over q steps, so flicker of the
  mid between two ticks (negatively correlated single steps) does not pass for mean
  reversion on a trending market. Fewer than two steps or no movement: 0.5.

Classification, first rule that holds: fewer than min_observations points → UNKNOWN;
touch depth below depth_threshold → CHAOTIC; spread within [noise_spread_min,
noise_spread_max] → NOISE; σ below min_sigma → QUIET; |drift_z| ≥ the profile's drift
threshold → TRENDING; score ≥ good → MEAN_REVERTING; score ≤ bad → UNKNOWN (persistent
swings without net drift); otherwise → MEAN_REVERTING (range-bound, no drift). Drift is
checked before the score because a trending mid that flickers between two ticks has
negatively correlated single steps and would otherwise pass for mean reversion.

Stability: a classification is one "window"; the accepted regime changes only after the
same candidate has come out stability_required windows in a row.
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence

from config import RegimeConfig

__all__ = [
    "QUIET",
    "MEAN_REVERTING",
    "TRENDING",
    "CHAOTIC",
    "NOISE",
    "UNKNOWN",
    "RegimeReading",
    "RegimeTracker",
    "realised_sigma",
    "drift_z",
    "regime_drift_z",
    "mean_reversion_score",
    "classify",
    "to_decimal",
]

QUIET = "QUIET"
MEAN_REVERTING = "MEAN_REVERTING"
TRENDING = "TRENDING"
CHAOTIC = "CHAOTIC"
NOISE = "NOISE"
UNKNOWN = "UNKNOWN"

_PLACES = Decimal("0.000001")


def to_decimal(value: float) -> Decimal:
    """Estimator floats to message Decimals, rounded so replays print identically."""
    return Decimal(repr(float(value))).quantize(_PLACES)


def _steps(prices: Sequence[float]) -> list[float]:
    return list(map(operator.sub, prices[1:], prices))  # p_i - p_(i-1)


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def realised_sigma(prices: Sequence[float]) -> float:
    if len(prices) < 2:
        return 0.0
    return _dispersion(prices, _mean(prices))


def _dispersion(values: Sequence[float], mean: float) -> float:
    """Population std of `values` around their `mean` (fsum: exact whatever the order)."""
    return math.sqrt(math.fsum([(v - mean) ** 2 for v in values]) / len(values))


def _slope(prices: Sequence[float], p_mean: float | None = None) -> float:
    """Least-squares slope of p_i against i (dollars per observation); 0 under two points.
    p_mean: the mean of `prices` when the caller has it already."""
    n = len(prices)
    if n < 2:
        return 0.0
    if p_mean is None:
        p_mean = _mean(prices)
    return math.fsum(map(operator.mul, _index_offsets(n), [p - p_mean for p in prices])) / _index_spread(n)


@functools.lru_cache(maxsize=1024)
def _index_offsets(n: int) -> tuple[float, ...]:
    """i - mean(i) for i in range(n): a function of n alone, asked on every sample."""
    x_mean = (n - 1) / 2
    return tuple(i - x_mean for i in range(n))


@functools.lru_cache(maxsize=1024)
def _index_spread(n: int) -> float:
    """sum((i - mean)^2) over i in range(n): a function of n alone, asked on every sample."""
    x_mean = (n - 1) / 2
    return math.fsum((i - x_mean) ** 2 for i in range(n))


def _std(values: Sequence[float]) -> float:
    return _dispersion(values, _mean(values))


def drift_z(prices: Sequence[float], min_sigma: float) -> float:
    return _drift_z(prices, _steps(prices), min_sigma)


def _drift_z(prices: Sequence[float], steps: list[float], min_sigma: float, p_mean: float | None = None) -> float:
    if not steps:
        return 0.0
    return _slope(prices, p_mean) / max(_std(steps), min_sigma)


def regime_drift_z(prices: Sequence[float], min_sigma: float, jump_step: float, jump_retrace: float) -> float:
    """drift_z with a reverting jump taken out (module docstring, "regime drift")."""
    return _regime_drift_z(prices, _steps(prices), min_sigma, jump_step, jump_retrace)


def _regime_drift_z(
    prices: Sequence[float], steps: list[float], min_sigma: float, jump_step: float, jump_retrace: float,
    p_mean: float | None = None,
) -> float:
    if not steps:
        return 0.0
    sizes = list(map(abs, steps))
    largest = max(sizes)
    k = len(sizes) - 1 - sizes[::-1].index(largest)  # the largest step, latest on ties
    jump = steps[k]
    if abs(jump) < jump_step:
        return _drift_z(prices, steps, min_sigma, p_mean)
    direction = 1.0 if jump > 0 else -1.0
    at = k + 1  # prices[at] is the first price after the jump
    if direction * (prices[-1] - prices[at]) > -jump_retrace * abs(jump):
        return _drift_z(prices, steps, min_sigma, p_mean)  # the jump stays: a level shift is directional
    others = steps[:k] + steps[k + 1 :]
    noise = max(_std(others), min_sigma) if others else min_sigma
    share = 1.0 / len(steps)
    before = _slope(prices[:at]) / noise * (at - 1) * share
    after = _slope(prices[at:]) / noise * (len(prices) - at - 1) * share
    if after * direction < 0:
        after = 0.0  # moving back against the jump is the reversion, not a drift
    return before if abs(before) >= abs(after) else after


def mean_reversion_score(prices: Sequence[float], lag: int) -> float:
    return _mean_reversion_score(prices, _steps(prices), lag)


def _mean_reversion_score(prices: Sequence[float], steps: list[float], lag: int) -> float:
    energy = math.fsum([d * d for d in steps])
    q = min(lag, len(steps))
    if q < 2 or energy == 0.0:
        return 0.5
    one_step = energy / len(steps)
    q_step = math.fsum([(b - a) ** 2 for a, b in zip(prices, prices[q:])]) / (len(prices) - q)
    ratio = q_step / (q * one_step)
    return min(1.0, max(0.0, 1.0 - ratio / 2.0))


@dataclass(frozen=True, slots=True)
class RegimeReading:
    candidate: str
    sigma: float
    drift_z: float
    mr_score: float


def classify(
    prices: Sequence[float],
    spread: Decimal | None,
    depth: Decimal,
    drift_threshold: Decimal,
    config: RegimeConfig,
) -> RegimeReading:
    # the three estimators share the window's steps and mean (computed once: this runs on
    # every sample of every market)
    steps = _steps(prices)
    p_mean = _mean(prices) if len(prices) >= 2 else None
    sigma = _dispersion(prices, p_mean) if p_mean is not None else 0.0
    z = _regime_drift_z(
        prices, steps, float(config.drift_min_sigma), float(config.jump_step), float(config.jump_retrace), p_mean
    )
    score = _mean_reversion_score(prices, steps, config.mean_reversion_lag)

    def reading(candidate: str) -> RegimeReading:
        return RegimeReading(candidate, sigma, z, score)

    if len(prices) < config.min_observations:
        return reading(UNKNOWN)
    if depth < config.depth_threshold:
        return reading(CHAOTIC)
    if spread is not None and config.noise_spread_min <= spread <= config.noise_spread_max:
        return reading(NOISE)
    if sigma < float(config.min_sigma):
        return reading(QUIET)
    if abs(z) >= float(drift_threshold):
        return reading(TRENDING)  # drift first: tick flicker can make a trend look reverting
    if score >= float(config.mean_reversion_good):
        return reading(MEAN_REVERTING)
    if score <= float(config.mean_reversion_bad):
        return reading(UNKNOWN)
    return reading(MEAN_REVERTING)


class RegimeTracker:
    """One market's regime with the stability rule (plain, synchronously testable)."""

    def __init__(self, config: RegimeConfig) -> None:
        self.config = config
        self.accepted = UNKNOWN
        self.candidate = UNKNOWN
        self.streak = 0
        self.last: RegimeReading = RegimeReading(UNKNOWN, 0.0, 0.0, 0.5)
        self.updated_ns: int | None = None

    @property
    def stable(self) -> bool:
        return self.streak >= self.config.stability_required and self.candidate == self.accepted

    def observe(self, reading: RegimeReading, now_ns: int) -> str:
        """One classification window; returns the accepted regime."""
        if reading.candidate == self.candidate:
            self.streak += 1
        else:
            self.candidate, self.streak = reading.candidate, 1
        if self.streak >= self.config.stability_required:
            self.accepted = self.candidate
        self.last = reading
        self.updated_ns = now_ns
        return self.accepted

    def gamma_multiplier(self) -> Decimal:
        return self.config.gamma_multipliers[self.accepted]

    def k_multiplier(self) -> Decimal:
        return self.config.k_multipliers[self.accepted]
