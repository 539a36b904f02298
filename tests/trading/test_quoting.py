"""Avellaneda-Stoikov quotes: hand-computed values at the shipped defaults
(gamma0 0.3, sigma 0.05 $/sqrt(h), kappa 1.5 per cent, horizon 1 h, tick 1 cent)."""

from dataclasses import replace
from decimal import Decimal as D

import pytest

from actors.maker import AvellanedaStoikovQuoter


@pytest.fixture
def quoter(maker_config):
    return AvellanedaStoikovQuoter(maker_config)


def test_flat_inventory_quotes_the_two_cent_minimum_spread_around_fair_value(quoter):
    quote = quoter.quote(D("0.50"), D(0))

    assert quote.reservation == D("0.50")
    assert quote.spread == D("0.02")
    assert (quote.bid, quote.ask) == (D("0.49"), D("0.51"))
    assert (quote.bid_size, quote.ask_size) == (D(5), D(5))


def test_dynamic_gamma_decays_exponentially_with_inventory(quoter):
    assert quoter.gamma(D(0)) == pytest.approx(0.3)
    assert quoter.gamma(D(10)) == pytest.approx(0.3 * 0.6065306597)  # exp(-10/20)
    assert quoter.gamma(D(-20)) == pytest.approx(0.3 * 0.3678794412)  # exp(-1)


def test_reservation_price_moves_against_inventory(quoter):
    # q * gamma(q) * sigma^2 * tau = 10 * 0.1819591979 * 0.0025 * 1 = 0.004548980
    assert quoter.reservation(D("0.50"), D(10)) == D("0.495451020")
    assert quoter.reservation(D("0.50"), D(-10)) == D("0.504548980")


def test_time_left_scales_the_inventory_skew_and_is_clamped_to_the_horizon(quoter):
    half_horizon = quoter.reservation(D("0.50"), D(10), time_left_s=1800)
    beyond_horizon = quoter.reservation(D("0.50"), D(10), time_left_s=7200)
    past_the_end = quoter.reservation(D("0.50"), D(10), time_left_s=-5)

    assert half_horizon == D("0.497725510")  # half the skew: 0.002274490
    assert beyond_horizon == D("0.495451020")
    assert past_the_end == D("0.50")


def test_unclamped_spread_follows_the_formula(maker_config):
    quoter = AvellanedaStoikovQuoter(replace(maker_config, min_spread=D(0), max_spread=D(1)))

    # 0.3 * 0.05^2 * 1 + (2 / 0.3) * ln(1 + 0.3 / 150) = 0.00075 + 0.013320018
    assert quoter.spread(D(0)) == D("0.014070018")


def test_spread_is_clamped_to_the_configured_minimum_and_maximum(maker_config):
    wild = AvellanedaStoikovQuoter(replace(maker_config, sigma=1.0))  # 0.3 + 0.0133 > 0.20

    assert wild.spread(D(0)) == D("0.20")
    assert AvellanedaStoikovQuoter(maker_config).spread(D(0)) == D("0.02")


def test_bid_is_floored_and_ask_ceiled_to_the_tick_grid(quoter):
    quote = quoter.quote(D("0.503"), D(0))

    assert (quote.bid, quote.ask) == (D("0.49"), D("0.52"))


def test_long_inventory_lowers_the_bid_off_grid_reservation(quoter):
    quote = quoter.quote(D("0.50"), D(5))  # r = 0.497079497

    assert (quote.bid, quote.ask) == (D("0.48"), D("0.51"))


@pytest.mark.parametrize(
    "fair, bid, ask",
    [("0.999", "0.98", "0.99"), ("1", "0.98", "0.99"), ("0.002", "0.01", "0.02")],
)
def test_quotes_stay_inside_one_tick_of_the_price_bounds(quoter, fair, bid, ask):
    quote = quoter.quote(D(fair), D(0))

    assert (quote.bid, quote.ask) == (D(bid), D(ask))


def test_sizes_never_let_a_full_fill_take_position_past_max_position(quoter):
    assert quoter.sizes(D(18)) == (D(2), D(5))
    assert quoter.sizes(D(-17)) == (D(5), D(3))
    at_limit = quoter.quote(D("0.50"), D(20))
    assert at_limit.bid is None and at_limit.bid_size == 0
    assert at_limit.ask is not None
