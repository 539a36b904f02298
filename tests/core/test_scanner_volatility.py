"""Volatility events: every condition of SPEC 6 on hand-made price paths, strength,
direction, and why an event ends."""

from dataclasses import replace
from decimal import Decimal as D

import pytest

from actors.scanner import MarketFacts, PriceHistory, PricePoint, check_event, ended_reason
from config import load_config
from kernel.clock import seconds

CFG = load_config().scanner.volatility
T0 = seconds(10_000)


def history_of(mids, step_s=10, spread="0.02", depth="200"):
    """One point every step_s seconds ending at T0 + (n-1)*step_s; returns (history, now)."""
    history = PriceHistory(CFG.sample_interval_s, CFG.history_window_s, CFG.max_points)
    for i, mid in enumerate(mids):
        history.add(PricePoint(T0 + seconds(i * step_s), D(str(mid)), D(spread), D(depth)))
    return history, T0 + seconds((len(mids) - 1) * step_s)


# a 15-cent spike that has already come back: jump >= 12c, current near the 3-minute mean
JUMP_AND_REVERT = [0.50, 0.50, 0.50, 0.65, 0.60, 0.55, 0.52, 0.50, 0.50, 0.51, 0.50, 0.50]
GOOD = MarketFacts(category="economics", volume_24h_dollars=D(20_000), regime="MEAN_REVERTING", profile_excluded=False, in_session=False)


def test_a_reverted_jump_in_a_mean_reverting_market_fires():
    check = check_event(*history_of(JUMP_AND_REVERT), GOOD, CFG)
    assert check.fires, check.failed
    assert check.jump == D("0.15")  # a spike up, reverted: signed by its excursion from the first mid
    assert check.direction == "up"  # the direction agrees with the jump's sign
    # strength: mean of min(1, 0.15/0.24) and min(1, sigma/0.04)
    expected = (min(D(1), D("0.15") / D("0.24")) + min(D(1), check.sigma / D("0.04"))) / 2
    assert check.strength == expected.quantize(D("0.0001"))


def test_fewer_than_three_points_is_warmup():
    check = check_event(*history_of([0.50, 0.65]), GOOD, CFG)
    assert "warmup" in check.failed


def test_excluded_category_never_fires():
    check = check_event(*history_of(JUMP_AND_REVERT), replace(GOOD, category="sports"), CFG)
    assert check.failed == ("category_excluded",)


def test_profile_exclusion_blocks_the_event():
    check = check_event(*history_of(JUMP_AND_REVERT), replace(GOOD, profile_excluded=True), CFG)
    assert check.failed == ("profile_excluded",)


def test_wide_spread_blocks_the_event():
    assert check_event(*history_of(JUMP_AND_REVERT, spread="0.11"), GOOD, CFG).failed == ("spread",)
    assert check_event(*history_of(JUMP_AND_REVERT, spread="0.10"), GOOD, CFG).fires


def test_a_small_calm_move_is_not_volatile():
    check = check_event(*history_of([0.50, 0.51, 0.50, 0.52, 0.50, 0.51]), GOOD, CFG)
    assert check.failed == ("volatility",)


def test_sigma_alone_fires_when_the_price_oscillates_widely():
    # +-3 cents every 10 s: sigma 0.03 >= 0.02, range 6 cents < 12: the sigma trigger
    mids = [0.47 if i % 2 else 0.53 for i in range(30)]
    check = check_event(*history_of(mids), GOOD, CFG)
    assert check.fires and abs(check.jump) < CFG.jump_threshold and check.sigma >= CFG.sigma_threshold


def test_a_jump_that_has_not_reverted_fails_the_mean_reversion_check():
    mids = [0.50] * 12 + [0.65, 0.66, 0.65]  # jumped and stayed
    check = check_event(*history_of(mids), GOOD, CFG)
    assert check.failed == ("mean_reversion",)
    assert check.direction == "up" and check.jump == D("0.16")


def test_thin_24h_volume_blocks_the_event():
    check = check_event(*history_of(JUMP_AND_REVERT), replace(GOOD, volume_24h_dollars=D(4_999)), CFG)
    assert check.failed == ("volume_24h",)


@pytest.mark.parametrize("regime,fires", [("MEAN_REVERTING", True), ("QUIET", True), ("TRENDING", False), ("CHAOTIC", False), ("NOISE", False), ("UNKNOWN", False)])
def test_only_allowed_regimes_fire(regime, fires):
    check = check_event(*history_of(JUMP_AND_REVERT), replace(GOOD, regime=regime), CFG)
    assert check.fires is fires
    assert fires or check.failed == ("regime",)


def test_an_active_session_blocks_a_second_event():
    assert check_event(*history_of(JUMP_AND_REVERT), replace(GOOD, in_session=True), CFG).failed == ("session",)


def test_old_jumps_fall_out_of_the_five_minute_window():
    mids = [0.50, 0.65] + [0.50] * 40  # the spike is 400 s old: out of the jump window...
    check = check_event(*history_of(mids), GOOD, CFG)
    assert check.jump == 0 and check.sigma >= CFG.sigma_threshold  # ...still inside the 10-minute sigma window
    mids = [0.50, 0.65] + [0.50] * 66  # 660 s old: out of both
    check = check_event(*history_of(mids), GOOD, CFG)
    assert check.jump == 0 and check.sigma == 0 and check.failed == ("volatility",)


def test_direction_down_when_the_move_exceeds_five_cents():
    mids = [0.60, 0.59, 0.58, 0.57, 0.56, 0.54]
    assert check_event(*history_of(mids), GOOD, CFG).direction == "down"
    assert check_event(*history_of([0.60, 0.58, 0.56, 0.55]), GOOD, CFG).direction == ""


def test_event_ends_when_sigma_falls_and_no_jump_remains():
    flat_after = [0.47 if i % 2 else 0.53 for i in range(10)] + [0.50] * 60  # 10 minutes of calm
    history, now = history_of(flat_after)
    assert ended_reason(history, now, active=True, tracked=True, config=CFG) == "sigma_below_threshold"
    history, now = history_of(JUMP_AND_REVERT)
    assert ended_reason(history, now, active=True, tracked=True, config=CFG) == ""


def test_event_ends_when_the_market_goes_inactive_or_leaves_the_tracked_set():
    history, now = history_of(JUMP_AND_REVERT)
    assert ended_reason(history, now, active=False, tracked=True, config=CFG) == "market_inactive"
    assert ended_reason(history, now, active=True, tracked=False, config=CFG) == "left_tracked_set"


def test_history_keeps_one_point_per_sample_bucket_and_a_bounded_window():
    history = PriceHistory(sample_interval_s=5, window_s=60, max_points=8)
    assert history.add(PricePoint(seconds(100), D("0.5"), D("0.02"), D(100)))
    assert not history.add(PricePoint(seconds(101), D("0.6"), D("0.02"), D(100)))  # same bucket: last wins
    assert [p.mid for p in history.points] == [D("0.6")]
    assert not history.add(PricePoint(seconds(99), D("0.9"), D("0.02"), D(100)))  # out of order: ignored
    for i in range(1, 30):
        history.add(PricePoint(seconds(100 + 5 * i), D("0.5"), D("0.02"), D(100)))
    assert len(history.points) == 8  # point cap
    history = PriceHistory(sample_interval_s=5, window_s=60, max_points=1000)
    for i in range(30):
        history.add(PricePoint(seconds(100 + 5 * i), D("0.5"), D("0.02"), D(100)))
    assert history.points[0].ts_ns >= history.points[-1].ts_ns - seconds(60)
