"""Regimes on hand-made price paths: the statistics, every regime, and the stability rule."""

import random
from decimal import Decimal

import pytest

from actors.scanner import RegimeTracker, classify, drift_z, mean_reversion_score, realised_sigma
from actors.scanner._regimes import RegimeReading, regime_drift_z
from config import load_config

CFG = load_config().scanner.regimes
LAG = CFG.mean_reversion_lag
DEEP = Decimal(500)
TIGHT = Decimal("0.02")


def oscillating(n=20, centre=0.50, amplitude=0.03):
    return [centre + (amplitude if i % 2 else -amplitude) for i in range(n)]


def ramp(n=20, start=0.30, step=0.01, wiggle=0.002):
    return [start + step * i + (wiggle if i % 2 else 0.0) for i in range(n)]


def regime_of(prices, spread=TIGHT, depth=DEEP, threshold=CFG.drift_threshold):
    return classify(prices, spread, depth, threshold, CFG).candidate


def test_realised_sigma_is_the_dispersion_of_the_mids_around_their_mean():
    assert realised_sigma([0.47, 0.53]) == pytest.approx(0.03)
    assert realised_sigma([0.5] * 10) == 0.0
    assert realised_sigma([0.5]) == 0.0


def test_drift_is_the_mean_step_over_the_step_noise():
    assert drift_z(ramp(), 0.001) > 4  # a clean ramp: big steps, little noise
    assert abs(drift_z(oscillating(), 0.001)) < 0.01  # ends 6 cents up, yet no slope
    assert drift_z(list(reversed(ramp())), 0.001) < -4
    assert drift_z([0.5, 0.51, 0.52], 0.001) == pytest.approx(0.01 / 0.001)  # noise floored at min sigma


def test_mean_reversion_score_is_high_for_oscillation_low_for_persistence_and_neutral_for_nothing():
    assert mean_reversion_score(oscillating(), LAG) > 0.95  # every step undoes the last
    assert mean_reversion_score(ramp(), LAG) < 0.1  # steps keep going the same way
    assert mean_reversion_score([0.5] * 8, LAG) == 0.5  # no steps: no information
    # a noisy ramp still scores as persistent: the score is deliberately not centred
    noisy = [0.30 + 0.02 * i + (0.005 if i % 2 else -0.005) for i in range(20)]  # steps 3, 1, 3, 1 cents
    assert mean_reversion_score(noisy, LAG) < float(CFG.mean_reversion_bad)  # ≈ 0.23


def test_too_few_observations_is_unknown():
    assert regime_of(oscillating(n=4)) == "UNKNOWN"
    assert regime_of(oscillating(n=5)) == "MEAN_REVERTING"


def test_thin_book_is_chaotic_before_anything_else():
    assert regime_of(oscillating(), depth=Decimal(49)) == "CHAOTIC"
    assert regime_of(oscillating(), depth=Decimal(50)) == "MEAN_REVERTING"


@pytest.mark.parametrize("spread,expected", [("0.07", "NOISE"), ("0.12", "NOISE"), ("0.10", "NOISE"), ("0.06", "MEAN_REVERTING"), ("0.13", "MEAN_REVERTING")])
def test_spread_between_7_and_12_cents_is_noise(spread, expected):
    assert regime_of(oscillating(), spread=Decimal(spread)) == expected


def test_flat_prices_are_quiet():
    assert regime_of([0.50, 0.505, 0.50, 0.505, 0.50, 0.505]) == "QUIET"  # sigma 0.0025 < 0.01


def test_a_ramp_is_trending_and_an_oscillation_is_mean_reverting():
    assert regime_of(ramp()) == "TRENDING"
    assert regime_of(oscillating()) == "MEAN_REVERTING"


def test_between_the_reversion_bands_the_drift_threshold_decides():
    # a random-walk-like path: score about neutral, drift_z 0.061 (above 0.06, below 0.08)
    path = [0.50, 0.52, 0.54, 0.56, 0.54, 0.56, 0.54, 0.53, 0.51]
    assert mean_reversion_score(path, LAG) == pytest.approx(0.5, abs=0.01)
    assert drift_z(path, 0.001) == pytest.approx(0.0614, abs=1e-4)
    assert regime_of(path, threshold=Decimal("0.06")) == "TRENDING"  # mean_reverting profile's threshold
    assert regime_of(path, threshold=Decimal("0.08")) == "MEAN_REVERTING"  # the default threshold


def test_persistent_swings_without_net_drift_are_unknown():
    up_then_down = [0.40, 0.45, 0.50, 0.55, 0.60, 0.55, 0.50, 0.45, 0.40]
    assert abs(drift_z(up_then_down, 0.001)) < float(CFG.drift_threshold)
    assert mean_reversion_score(up_then_down, LAG) <= float(CFG.mean_reversion_bad)
    assert regime_of(up_then_down) == "UNKNOWN"


def test_a_regime_is_accepted_only_after_three_windows_in_a_row():
    tracker = RegimeTracker(CFG)
    mr = RegimeReading("MEAN_REVERTING", 0.03, 0.0, 0.9)
    trending = RegimeReading("TRENDING", 0.03, 2.0, 0.1)
    assert tracker.observe(mr, 1) == "UNKNOWN"
    assert tracker.observe(mr, 2) == "UNKNOWN" and not tracker.stable
    assert tracker.observe(mr, 3) == "MEAN_REVERTING" and tracker.stable
    assert tracker.observe(trending, 4) == "MEAN_REVERTING" and not tracker.stable
    assert tracker.observe(mr, 5) == "MEAN_REVERTING"  # the streak restarts
    assert tracker.observe(trending, 6) == "MEAN_REVERTING"
    assert tracker.observe(trending, 7) == "MEAN_REVERTING"
    assert tracker.observe(trending, 8) == "TRENDING" and tracker.stable
    assert tracker.gamma_multiplier() == Decimal("1.5") and tracker.k_multiplier() == Decimal("0.5")


@pytest.mark.parametrize(
    "regime,gamma,k",
    [("MEAN_REVERTING", "1.0", "1.0"), ("QUIET", "0.8", "0.7"), ("TRENDING", "1.5", "0.5"),
     ("CHAOTIC", "2.0", "0.3"), ("NOISE", "1.2", "0.6"), ("UNKNOWN", "1.5", "0.5")],
)
def test_multipliers_per_regime(regime, gamma, k):
    tracker = RegimeTracker(CFG)
    for t in range(3):
        tracker.observe(RegimeReading(regime, 0.0, 0.0, 0.5), t)
    assert (tracker.gamma_multiplier(), tracker.k_multiplier()) == (Decimal(gamma), Decimal(k))


def test_a_slow_trend_whose_mid_flickers_between_ticks_is_still_trending():
    # +0.2 cent per sample, the mid bouncing half a cent around the trend (bid/ask flicker):
    # single steps are negatively correlated, yet the path drifts
    path = [round(0.35 + 0.002 * i + (0.005 if i % 2 else 0.0), 4) for i in range(40)]
    assert mean_reversion_score(path, LAG) >= float(CFG.mean_reversion_good)  # the flicker alone looks reverting
    assert regime_of(path, threshold=Decimal("0.06")) == "TRENDING"


# -- jumps and trends on 5-minute windows of 5 s samples (60 points, half-cent mids) -------------
MR_PROFILE = CFG.drift_threshold_by_profile["mean_reverting"]  # 0.06: the strictest threshold


def _noisy(levels, seed, noise=0.005):
    rng = random.Random(seed)
    return [round((level + rng.gauss(0, noise)) * 200) / 200 for level in levels]


def jump_then_revert(jump, half_life_s, at, seed, n=60, dt_s=5):
    """Flat at 50 cents, a jump at sample `at`, then exponential reversion to 50 cents."""
    return _noisy([0.50 + (jump * 0.5 ** ((i - at) * dt_s / half_life_s) if i >= at else 0.0) for i in range(n)], seed)


def steady_trend(cents_per_minute, seed, n=60, dt_s=5):
    return _noisy([0.50 + cents_per_minute / 100 * i * dt_s / 60 for i in range(n)], seed)


def jump_that_stays(jump, at, seed, n=60):
    return _noisy([0.50 + (jump if i >= at else 0.0) for i in range(n)], seed)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("half_life_s", [6, 12, 30, 60])
@pytest.mark.parametrize("at", [5, 10, 30, 50])
def test_a_jump_that_reverts_is_never_trending(seed, half_life_s, at):
    path = jump_then_revert(-0.16, half_life_s, at, seed)
    assert regime_of(path, threshold=MR_PROFILE) in ("MEAN_REVERTING", "QUIET")


def test_a_jump_halfway_back_reads_as_a_slope_yet_is_mean_reverting():
    # the documented weakness: least squares over the window sees a drift over 0.06
    path = jump_then_revert(-0.16, 60, 30, seed=1)
    assert abs(drift_z(path, 0.001)) > float(MR_PROFILE)
    assert abs(regime_drift_z(path, 0.001, float(CFG.jump_step), float(CFG.jump_retrace))) < 0.01
    assert regime_of(path, threshold=MR_PROFILE) == "MEAN_REVERTING"


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("cents_per_minute", [-5, -2, -1, 1, 2, 5])
def test_a_steady_trend_is_trending_whatever_its_slope_and_noise(seed, cents_per_minute):
    path = steady_trend(cents_per_minute, seed)
    z = regime_drift_z(path, 0.001, float(CFG.jump_step), float(CFG.jump_retrace))
    assert z == drift_z(path, 0.001)  # no jump: the plain least-squares drift
    assert regime_of(path, threshold=MR_PROFILE) == "TRENDING"
    assert regime_of(path) == "TRENDING"  # the default threshold as well


@pytest.mark.parametrize("at", [10, 30, 50])
def test_a_jump_that_stays_is_trending(at):
    assert regime_of(jump_that_stays(-0.16, at, seed=1), threshold=MR_PROFILE) == "TRENDING"


def test_a_trend_before_a_reverting_jump_still_counts():
    # 3 cents a minute for 40 samples, then a spike up that comes straight back
    path = steady_trend(-3, seed=4)[:40]
    path += [path[-1] + 0.10, path[-1] + 0.02] + [path[-1] - 0.0025 * i for i in range(1, 19)]
    assert regime_of(path, threshold=MR_PROFILE) == "TRENDING"
