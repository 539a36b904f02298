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
    return [b - a for a, b in zip(prices, prices[1:])]


def realised_sigma(prices: Sequence[float]) -> float:
    if len(prices) < 2:
        return 0.0
    mean = math.fsum(prices) / len(prices)
    return math.sqrt(math.fsum((p - mean) ** 2 for p in prices) / len(prices))


def _slope(prices: Sequence[float]) -> float:
    """Least-squares slope of p_i against i (dollars per observation); 0 under two points."""
    n = len(prices)
    if n < 2:
        return 0.0
    x_mean = (n - 1) / 2
    p_mean = math.fsum(prices) / n
    return math.fsum((i - x_mean) * (p - p_mean) for i, p in enumerate(prices)) / _index_spread(n)


@functools.lru_cache(maxsize=1024)
def _index_spread(n: int) -> float:
    """sum((i - mean)^2) over i in range(n): a function of n alone, asked on every sample."""
    x_mean = (n - 1) / 2
    return math.fsum((i - x_mean) ** 2 for i in range(n))


def _std(values: Sequence[float]) -> float:
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))


def drift_z(prices: Sequence[float], min_sigma: float) -> float:
    steps = _steps(prices)
    if not steps:
        return 0.0
    return _slope(prices) / max(_std(steps), min_sigma)


def regime_drift_z(prices: Sequence[float], min_sigma: float, jump_step: float, jump_retrace: float) -> float:
    """drift_z with a reverting jump taken out (module docstring, "regime drift")."""
    steps = _steps(prices)
    if not steps:
        return 0.0
    k, largest = 0, -1.0  # the largest step, latest on ties
    for i, step in enumerate(steps):
        size = abs(step)
        if size >= largest:
            k, largest = i, size
    jump = steps[k]
    if abs(jump) < jump_step:
        return drift_z(prices, min_sigma)
    direction = 1.0 if jump > 0 else -1.0
    at = k + 1  # prices[at] is the first price after the jump
    if direction * (prices[-1] - prices[at]) > -jump_retrace * abs(jump):
        return drift_z(prices, min_sigma)  # the jump stays: a level shift is directional
    others = steps[:k] + steps[k + 1 :]
    noise = max(_std(others), min_sigma) if others else min_sigma
    share = 1.0 / len(steps)
    before = _slope(prices[:at]) / noise * (at - 1) * share
    after = _slope(prices[at:]) / noise * (len(prices) - at - 1) * share
    if after * direction < 0:
        after = 0.0  # moving back against the jump is the reversion, not a drift
    return before if abs(before) >= abs(after) else after


def mean_reversion_score(prices: Sequence[float], lag: int) -> float:
    steps = _steps(prices)
    energy = math.fsum(d * d for d in steps)
    q = min(lag, len(steps))
    if q < 2 or energy == 0.0:
        return 0.5
    one_step = energy / len(steps)
    q_step = math.fsum((prices[i + q] - prices[i]) ** 2 for i in range(len(prices) - q)) / (len(prices) - q)
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
    sigma = realised_sigma(prices)
    z = regime_drift_z(prices, float(config.drift_min_sigma), float(config.jump_step), float(config.jump_retrace))
    score = mean_reversion_score(prices, config.mean_reversion_lag)

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
