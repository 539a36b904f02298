"""Throttles with hysteresis and the adverse-selection protections, on hand-made inputs."""

from decimal import Decimal as D

import pytest

from actors.maker._throttles import (
    AdverseSelectionMonitor,
    Hysteresis,
    SigmaEstimator,
    Throttles,
    VolumeSpikeDetector,
)

from .factories import T0, book_view

SECOND = 1_000_000_000
DEEP = 200  # contracts per level: never a thin book


def book(bid="0.45", ask="0.55", size=DEEP):
    return book_view(bids=((bid, size),), asks=((ask, size),))


def run_checks(throttles, books, start=T0):
    return [throttles.check(b, start + n * SECOND) for n, b in enumerate(books)]


@pytest.fixture
def throttles(maker_config):
    return Throttles(maker_config.throttles)


def test_hysteresis_needs_three_bad_checks_in_a_row_to_engage():
    gate = Hysteresis(3, 5)

    assert [gate.check(bad) for bad in (True, True, False, True, True)] == [False] * 5
    assert gate.check(True) is True


def test_hysteresis_needs_five_good_checks_in_a_row_to_recover():
    gate = Hysteresis(3, 5)
    for _ in range(3):
        gate.check(True)

    assert [gate.check(bad) for bad in (False, False, False, False, True)] == [True] * 5
    assert [gate.check(False) for _ in range(5)] == [True, True, True, True, False]


def test_a_spread_over_20_cents_widens_five_ticks_after_three_checks(throttles):
    wide = book("0.30", "0.55")  # 25 cents: wide, but as the first spread seen no shock

    verdicts = run_checks(throttles, [wide, wide, wide])

    assert [v.widen_ticks for v in verdicts] == [0, 0, 5]
    assert verdicts[-1].engaged == ("wide_spread",)
    assert verdicts[-1].freeze == ""


def test_the_wide_spread_throttle_recovers_after_five_narrow_checks(throttles):
    wide, narrow = book("0.30", "0.55"), book("0.45", "0.55")
    run_checks(throttles, [wide] * 3)

    verdicts = run_checks(throttles, [narrow] * 5, start=T0 + 3 * SECOND)

    assert [v.widen_ticks for v in verdicts] == [5, 5, 5, 5, 0]


def test_a_thin_book_widens_three_ticks(throttles):
    thin = book(size=20)  # 40 contracts on the top levels: under 100

    verdicts = run_checks(throttles, [thin] * 3)

    assert verdicts[-1].widen_ticks == 3 and verdicts[-1].engaged == ("thin_book",)


def test_a_spread_jumping_15_cents_over_its_baseline_freezes_then_becomes_the_new_normal(throttles):
    narrow, shocked = book("0.48", "0.52"), book("0.35", "0.65")  # 4 -> 30 cents
    run_checks(throttles, [narrow] * 10)

    verdicts = run_checks(throttles, [shocked] * 40, start=T0 + 10 * SECOND)

    assert [v.freeze for v in verdicts[:3]] == ["", "", "spread shock"]
    assert "spread_shock" in verdicts[2].engaged
    # the baseline follows the lasting spread: the shock clears, the wide-spread throttle stays
    assert verdicts[-1].freeze == ""
    assert verdicts[-1].engaged == ("wide_spread",)


def test_adverse_selection_flags_and_widens_when_most_fills_were_picked_off(throttles):
    for n in range(4):  # we bought at 0.50 four times; the mid then fell to 0.45
        throttles.on_fill(T0 + n * SECOND, "bid", D("0.50"))
    falling = book("0.40", "0.50")

    verdicts = run_checks(throttles, [falling] * 3, start=T0 + 10 * SECOND)

    assert verdicts[-1].adverse_selection is True
    assert verdicts[-1].widen_ticks == 2


def test_fills_that_the_market_moved_in_favour_of_are_not_adverse(throttles):
    for n in range(4):  # bought at 0.50; mid then rose to 0.55
        throttles.on_fill(T0 + n * SECOND, "bid", D("0.50"))

    verdicts = run_checks(throttles, [book("0.50", "0.60")] * 5, start=T0 + 10 * SECOND)

    assert not any(v.adverse_selection for v in verdicts)


def test_adverse_selection_judges_a_fill_only_after_its_markout_and_within_the_window():
    monitor = AdverseSelectionMonitor(window_ns=300 * SECOND, markout_ns=5 * SECOND)
    monitor.on_fill(T0, "ask", D("0.50"))  # we sold; the mid then rose: wrong side

    monitor.judge(T0 + 4 * SECOND, D("0.55"))
    assert monitor.share() == (D(0), 0)  # too early to judge

    monitor.judge(T0 + 5 * SECOND, D("0.55"))
    assert monitor.share() == (D(1), 1)

    monitor.judge(T0 + 301 * SECOND, D("0.55"))
    assert monitor.share() == (D(0), 0)  # out of the 5-minute window


def test_a_volume_spike_over_three_times_the_average_rate_is_detected():
    spikes = VolumeSpikeDetector(factor=3.0, window_ns=10 * SECOND, baseline_ns=300 * SECOND, start_ns=T0)
    for n in range(60):  # 1 contract a second for a minute: the baseline rate
        spikes.on_trade(T0 + n * SECOND, D(1))
    assert not spikes.spike(T0 + 60 * SECOND)

    spikes.on_trade(T0 + 61 * SECOND, D(40))  # 40 in ten seconds against ~10 expected

    assert spikes.spike(T0 + 62 * SECOND)


def test_no_volume_spike_without_enough_baseline_history():
    spikes = VolumeSpikeDetector(factor=3.0, window_ns=10 * SECOND, baseline_ns=300 * SECOND, start_ns=T0)
    spikes.on_trade(T0 + 5 * SECOND, D(1))
    spikes.on_trade(T0 + 12 * SECOND, D(100))

    assert not spikes.spike(T0 + 13 * SECOND)  # 3 s of baseline only


def test_sigma_is_the_standard_deviation_of_bucketed_mids_once_they_cover_the_window():
    sigma = SigmaEstimator(window_ns=20 * SECOND, bucket_ns=5 * SECOND)
    # one mid per 5 s bucket, the last in a bucket wins: 0.49 is replaced by 0.48
    for at, mid in ((0, "0.49"), (1, "0.48"), (5, "0.52"), (10, "0.48"), (15, "0.52")):
        sigma.sample(T0 + at * SECOND, D(mid))
    assert sigma.sigma(T0 + 15 * SECOND) is None  # 15 s of mids do not cover a 20 s window

    sigma.sample(T0 + 20 * SECOND, D("0.50"))

    # the window keeps [0 s, 20 s]: 0.48, 0.52, 0.48, 0.52, 0.50 -> mean 0.50, var 0.00032
    assert sigma.sigma(T0 + 20 * SECOND) == D("0.00032").sqrt()


def test_sigma_is_not_judged_without_mids_of_its_own():
    sigma = SigmaEstimator(window_ns=20 * SECOND, bucket_ns=5 * SECOND)
    for at in range(0, 40, 5):
        sigma.sample(T0 + at * SECOND, None)  # one-sided book: nothing observed

    assert sigma.sigma(T0 + 40 * SECOND) is None


def test_sigma_asked_every_second_is_what_a_fresh_estimate_of_the_same_mids_gives():
    # sigma is kept between the mids changing; asked on every check it must not go stale
    # when a mid enters, leaves, or a bucket's last mid is replaced (0.5 by 0.50 included)
    import random

    rng = random.Random(7)
    kept = SigmaEstimator(window_ns=20 * SECOND, bucket_ns=5 * SECOND)
    mids: list[tuple[int, D]] = []
    for second in range(120):
        now = T0 + second * SECOND
        mid = rng.choice((None, D("0.5"), D("0.50"), D("0.51"), D("0.49")))
        kept.sample(now, mid)
        mids.append((now, mid))
        fresh = SigmaEstimator(window_ns=20 * SECOND, bucket_ns=5 * SECOND)
        for at, m in mids:
            fresh.sample(at, m)
        got, want = kept.sigma(now), fresh.sigma(now)
        assert (got, str(got)) == (want, str(want)), second
