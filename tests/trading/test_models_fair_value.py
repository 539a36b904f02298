"""Fair-value sources and shock detection (SPEC 8 "Fair value")."""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal as D

import pytest

from actors.maker.models import (
    EwmaFairValue,
    ModelNd2FairValue,
    ReferenceBlendFairValue,
    ShockDetector,
    build_fair_value,
)
from messages import ReferencePriceUpdated, SpotPriceUpdated

from .factories import TICKER, book_view

S = 1_000_000_000
YEAR_NS = 365 * 24 * 3600 * S


@pytest.fixture
def fv_cfg(config):
    return config.maker.fair_value


def reference(bid="0.60", ask="0.62", ts=0, ticker=TICKER) -> ReferencePriceUpdated:
    return ReferencePriceUpdated(
        ticker=ticker,
        source="polymarket",
        bid=None if bid is None else D(bid),
        ask=None if ask is None else D(ask),
        ts_event=ts,
        ts_recv=ts,
    )


def spot(price="110", ts=0, symbol="BTCUSDT") -> SpotPriceUpdated:
    return SpotPriceUpdated(symbol=symbol, price=D(price), ts_event=ts, ts_recv=ts)


# -- book-based ----------------------------------------------------------------------------
def test_book_mid_and_microprice(fv_cfg):
    book = book_view(bids=(("0.40", 30),), asks=(("0.50", 10),))
    mid = build_fair_value(dataclasses.replace(fv_cfg, source="book_mid"))
    micro = build_fair_value(dataclasses.replace(fv_cfg, source="microprice"))
    assert mid.value(0) is None and mid.why_unavailable(0) == "no book yet"
    for source in (mid, micro):
        source.on_book(book, 0)
    assert mid.value(0) == D("0.45")
    assert micro.value(0) == D("0.475")  # leans to the ask, the thinner side
    assert micro.why_unavailable(0) == ""


def test_one_sided_book_has_no_value(fv_cfg):
    source = build_fair_value(dataclasses.replace(fv_cfg, source="microprice"))
    source.on_book(book_view(asks=()), 0)
    assert source.value(0) is None and source.why_unavailable(0) == "book empty or one-sided"


def test_ewma_moves_half_way_after_one_half_life():
    source = EwmaFairValue(half_life_s=10.0)
    source.on_book(book_view(bids=(("0.39", 1),), asks=(("0.41", 1),)), 0)
    source.on_book(book_view(bids=(("0.59", 1),), asks=(("0.61", 1),)), 10 * S)
    assert source.value(10 * S) == D("0.5")
    source.on_book(book_view(bids=(("0.59", 1),), asks=(("0.61", 1),)), 10 * S)  # no time passed
    assert source.value(10 * S) == D("0.5")


# -- reference blend (seed 003) -----------------------------------------------------------
def test_reference_blend_weights_by_phase(fv_cfg):
    # Kalshi micro 0.50, reference mid 0.61 with a 3-cent spread (neither narrow nor wide)
    pre = ReferenceBlendFairValue(fv_cfg, ticker=TICKER, inplay_from_ns=100 * S)
    pre.on_book(book_view(bids=(("0.49", 10),), asks=(("0.51", 10),)), 0)
    pre.on_reference(reference("0.595", "0.625", ts=0))
    assert pre.weight(0) == D("0.70")
    assert pre.value(0) == D("0.70") * D("0.61") + D("0.30") * D("0.50")
    pre.on_reference(reference("0.595", "0.625", ts=100 * S))
    assert pre.weight(101 * S) == D("0.85")


def test_reference_blend_spread_adjustments(fv_cfg):
    source = ReferenceBlendFairValue(fv_cfg)
    source.on_reference(reference("0.60", "0.61"))
    assert source.weight(0) == D("0.75")  # narrow: +5%
    source.on_reference(reference("0.55", "0.65"))
    assert source.weight(0) == D("0.60")  # wide: -10%


@pytest.mark.parametrize(
    ("ref", "now_s", "why"),
    [
        (reference(ts=0), 11, "reference stale"),
        (reference(bid=None), 0, "reference one-sided"),
        (reference(bid="0.70", ask="0.60"), 0, "reference crossed"),
    ],
)
def test_reference_blend_falls_back_to_kalshi_when_the_reference_is_unusable(fv_cfg, ref, now_s, why):
    source = ReferenceBlendFairValue(fv_cfg)
    source.on_book(book_view(bids=(("0.49", 10),), asks=(("0.51", 10),)), 0)
    source.on_reference(ref)
    assert source.reference_problem(now_s * S) == why
    assert source.weight(now_s * S) == 0
    assert source.value(now_s * S) == D("0.50")


def test_reference_blend_is_stale_sooner_in_play(fv_cfg):
    source = ReferenceBlendFairValue(fv_cfg, inplay_from_ns=0)
    source.on_reference(reference(ts=0))
    assert source.weight(3 * S) > 0 and source.weight(4 * S) == 0


def test_reference_blend_ignores_other_tickers_and_older_polls(fv_cfg):
    source = ReferenceBlendFairValue(fv_cfg, ticker=TICKER)
    source.on_reference(reference(ts=5 * S))
    source.on_reference(reference("0.10", "0.12", ts=6 * S, ticker="OTHER"))
    source.on_reference(reference("0.10", "0.12", ts=4 * S))
    assert source.reference.ts_recv == 5 * S and source.reference.bid == D("0.60")


# -- model price N(d2) (seed 004) ---------------------------------------------------------
def test_nd2_is_normal_cdf_of_log_moneyness_over_sigma_root_t(fv_cfg):
    source = ModelNd2FairValue(fv_cfg, strike=D(100), expiry_ns=YEAR_NS // 4)
    source.on_spot(spot("110"))
    d2 = math.log(1.1) / (0.5 * math.sqrt(0.25))
    assert float(source.value(0)) == pytest.approx(0.5 * math.erfc(-d2 / math.sqrt(2)), abs=1e-9)


def test_nd2_is_clamped_and_settles_at_expiry(fv_cfg):
    source = ModelNd2FairValue(fv_cfg, strike=D(100), expiry_ns=YEAR_NS)
    source.on_spot(spot("1000", ts=YEAR_NS))
    assert source.value(YEAR_NS) == D("0.99")
    source.on_spot(spot("50", ts=YEAR_NS + 1))
    assert source.value(YEAR_NS + 1) == D("0.01")


def test_nd2_unavailable_without_a_fresh_spot(fv_cfg):
    source = build_fair_value(
        dataclasses.replace(fv_cfg, source="model_nd2"), strike=D(100), expiry_ns=YEAR_NS, symbol="BTCUSDT"
    )
    assert source.value(0) is None and source.why_unavailable(0) == "no spot price yet"
    source.on_spot(spot("110", symbol="ETHUSDT"))
    assert source.why_unavailable(0) == "no spot price yet"
    source.on_spot(spot("110", ts=0))
    assert source.value(5 * S) is not None
    assert source.value(6 * S) is None and source.why_unavailable(6 * S) == "spot price stale"


def test_nd2_needs_strike_and_expiry(fv_cfg):
    with pytest.raises(ValueError, match="strike and expiry"):
        build_fair_value(dataclasses.replace(fv_cfg, source="model_nd2"))


def test_nd2_bad_spot_is_reported_not_raised(fv_cfg):
    source = ModelNd2FairValue(fv_cfg, strike=D(100), expiry_ns=YEAR_NS)
    source.on_spot(spot("0"))
    assert source.value(0) is None and "bad spot" in source.why_unavailable(0)


# -- shock ---------------------------------------------------------------------------------------
def test_shock_fires_on_a_jump_three_times_the_usual_move(config):
    detector = ShockDetector(config.maker)
    price = D("0.50")
    fired = []
    for i in range(30):  # a market alternating 2 cents up and down
        price += D("0.02") if i % 2 == 0 else D("-0.02")
        fired.append(detector.update(price, i * S))
    assert not any(fired)
    assert detector.update(price + D("0.07"), 30 * S)
    assert detector.score >= 3
    assert detector.paused(39 * S) and not detector.paused(40 * S)
    assert detector.pause_until_ns() == 40 * S


def test_shock_waits_for_enough_samples(config):
    detector = ShockDetector(config.maker)
    detector.update(D("0.50"), 0)
    assert not detector.update(D("0.90"), S)  # first change: no history to judge it by


def test_shock_floor_keeps_one_tick_in_a_flat_book_from_firing(config):
    detector = ShockDetector(config.maker)
    for i in range(20):
        detector.update(D("0.50"), i * S)
    assert not detector.update(D("0.52"), 20 * S)  # 2 cents against a 1-cent floor
    assert detector.update(D("0.55"), 21 * S)


def test_inconsistent_fair_value_config_is_refused(fv_cfg):
    with pytest.raises(ValueError, match="nd2_min"):
        build_fair_value(dataclasses.replace(fv_cfg, nd2_min=D("0.99"), nd2_max=D("0.01")))
