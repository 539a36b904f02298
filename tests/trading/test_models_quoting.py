"""Quoting models and the stages around them (SPEC 8 "Quoting models"), driven as plain objects."""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal as D

import pytest

from actors.maker.models import (
    AvellanedaStoikovModel,
    FixedSpreadModel,
    GlftModel,
    QuoteContext,
    build_quoting_model,
)
from messages import QuoteSides

from .factories import book_view

HOUR_NS = 3600 * 1_000_000_000
S_NS = 1_000_000_000


@pytest.fixture
def model_cfg(config):
    return config.maker.model


def ctx(**changes) -> QuoteContext:
    base = dict(
        fair=D("0.50"),
        book=book_view(bids=(("0.45", 100),), asks=(("0.55", 100),)),
        position=D(0),
        max_position=20,
        sigma=D("0.05"),
        gamma=D("0.3"),
        k=D("1.5"),
        now_ns=0,
        session_start_ns=0,
        session_end_ns=None,
        market_close_ns=None,
        tick=D("0.01"),
        maker_fee_series=False,
        base_size=D(5),
        min_spread=D("0.02"),
        max_spread=D("0.20"),
    )
    base.update(changes)
    return QuoteContext(**base)


def plain(cfg, **changes):
    """The model config with every optional stage off, so a test sees one thing at a time."""
    return dataclasses.replace(cfg, time_decay=False, fee_aware=False, **changes)


# -- Avellaneda-Stoikov -------------------------------------------------------------
def test_as_flat_inventory_quotes_the_liquidity_spread_around_fair(model_cfg):
    plan = build_quoting_model(plain(model_cfg)).plan(ctx())
    # gamma*sigma^2 + (2/gamma) ln(1 + gamma/k), k per cent = 150/dollar: 0.00075 + 0.01332 -> min 0.02
    assert plan.reservation == D("0.50")
    assert plan.half_spread == D("0.01")
    assert [(lv.side, lv.price, lv.size) for lv in plan.levels] == [("bid", D("0.49"), D(5)), ("ask", D("0.51"), D(5))]


def test_as_long_inventory_moves_the_reservation_down_by_q_gamma_sigma2(model_cfg):
    model = AvellanedaStoikovModel(plain(model_cfg))
    core = model.core(ctx(position=D(10)))
    gamma_q = 0.3 * math.exp(-10 / 20)
    assert float(core.reservation) == pytest.approx(0.5 - 10 * gamma_q * 0.05**2, abs=1e-9)
    short = model.core(ctx(position=D(-10)))
    assert short.reservation - D("0.50") == D("0.50") - core.reservation


def test_as_dynamic_gamma_can_be_switched_off(model_cfg):
    fixed = AvellanedaStoikovModel(plain(model_cfg, dynamic_gamma=False))
    assert fixed.gamma(ctx(position=D(20))) == 0.3
    dynamic = AvellanedaStoikovModel(plain(model_cfg))
    assert dynamic.gamma(ctx(position=D(20))) == pytest.approx(0.3 / math.e)


def test_as_spread_is_clamped_to_max_spread(model_cfg):
    core = AvellanedaStoikovModel(plain(model_cfg)).core(ctx(sigma=D("1.0"), gamma=D("5")))
    assert core.half_spread * 2 == D("0.20")


def test_as_remaining_horizon_shrinks_the_inventory_term(model_cfg):
    cfg = plain(model_cfg, horizon_mode="remaining")
    model = AvellanedaStoikovModel(cfg)
    full = model.core(ctx(position=D(10), session_end_ns=2 * HOUR_NS))
    half = model.core(ctx(position=D(10), session_end_ns=HOUR_NS // 2))
    assert (D("0.5") - half.reservation) * 2 == pytest.approx(D("0.5") - full.reservation, abs=D("1e-9"))


# -- GLFT ---------------------------------------------------------------------------
def test_glft_matches_the_closed_form(model_cfg):
    model = GlftModel(plain(model_cfg, name="glft"))
    core = model.core(ctx(position=D(4), min_spread=D(0), max_spread=D(1)))
    g, k, sigma, a = 0.3 * 0.01, 1.5, 0.05 / 0.01, model_cfg.glft_arrival_rate
    w = math.sqrt(sigma**2 * g / (2 * k * a) * (1 + g / k) ** (1 + k / g)) * 0.01
    half_liquidity = math.log(1 + g / k) / g * 0.01
    assert float(core.reservation) == pytest.approx(0.5 - 4 * w, abs=1e-9)
    assert float(core.half_spread) == pytest.approx(half_liquidity + w / 2, abs=1e-9)


def test_glft_does_not_depend_on_time_left(model_cfg):
    model = GlftModel(plain(model_cfg, name="glft", horizon_mode="remaining"))
    assert model.core(ctx(position=D(4), session_end_ns=10 * S_NS)) == model.core(ctx(position=D(4)))


# -- fixed spread (seed 002) ----------------------------------------------------------
def test_fixed_spread_flat_and_liquid_quotes_the_base_spread(model_cfg):
    core = FixedSpreadModel(model_cfg).core(ctx(liquidity=D(15000), min_spread=D("0.01")))
    assert (core.reservation, core.half_spread * 2, core.notes) == (D("0.50"), D("0.04"), ())


def test_fixed_spread_widens_for_low_liquidity_near_resolution_and_skew(model_cfg):
    model = FixedSpreadModel(model_cfg)
    assert model.core(ctx(liquidity=D(6000))).half_spread * 2 == D("0.06")
    near = model.core(ctx(market_close_ns=2 * HOUR_NS))
    assert near.half_spread * 2 == D("0.08") and near.notes == ("near_resolution",)
    skewed = model.core(ctx(position=D(25)))
    assert skewed.half_spread * 2 == D("0.052")
    assert skewed.reservation == D("0.48")  # 25 contracts: two whole 1-cent steps down


def test_fixed_spread_short_inventory_shifts_prices_up(model_cfg):
    assert FixedSpreadModel(model_cfg).core(ctx(position=D(-19))).reservation == D("0.51")


def test_fixed_spread_force_exit_under_half_an_hour_with_inventory(model_cfg):
    pipeline = build_quoting_model(dataclasses.replace(model_cfg, name="fixed_spread"))
    plan = pipeline.plan(ctx(position=D(6), market_close_ns=20 * 60 * S_NS))
    assert plan.force_exit and plan.levels == () and "force exit" in plan.why_empty
    calm = pipeline.plan(ctx(position=D(5), market_close_ns=20 * 60 * S_NS))
    assert not calm.force_exit


# -- ladder ------------------------------------------------------------------------------
def test_ladder_puts_n_levels_per_side_spaced_apart(model_cfg):
    cfg = plain(model_cfg, ladder_levels=3, ladder_size_per_level=D(2))
    plan = build_quoting_model(cfg).plan(ctx())
    assert [(lv.price, lv.size) for lv in plan.side("bid")] == [(D("0.49"), 2), (D("0.48"), 2), (D("0.47"), 2)]
    assert [lv.price for lv in plan.side("ask")] == [D("0.51"), D("0.52"), D("0.53")]


# -- time decay (seed 004) -------------------------------------------------------------
def test_time_decay_doubles_then_quadruples_the_skew(model_cfg):
    cfg = dataclasses.replace(model_cfg, fee_aware=False)
    pipeline = build_quoting_model(cfg)
    base = AvellanedaStoikovModel(cfg).core(ctx(position=D(10))).skew
    early = pipeline.core(ctx(position=D(10), session_end_ns=100, now_ns=50))
    late = pipeline.core(ctx(position=D(10), session_end_ns=100, now_ns=75))
    last = pipeline.core(ctx(position=D(10), session_end_ns=100, now_ns=95))
    assert (early.skew, late.skew, last.skew) == (base, base * 2, base * 4)


def test_time_decay_widens_at_extremes_and_late(model_cfg):
    pipeline = build_quoting_model(dataclasses.replace(model_cfg, fee_aware=False))
    assert pipeline.core(ctx(fair=D("0.10"))).half_spread == D("0.015")
    assert pipeline.core(ctx(session_end_ns=100, now_ns=85)).half_spread == D("0.015")
    assert pipeline.core(ctx(session_end_ns=100, now_ns=95, fair=D("0.5"))).half_spread == D("0.02")
    both = pipeline.core(ctx(session_end_ns=100, now_ns=95, fair=D("0.10"), max_spread=D("0.5")))
    assert both.half_spread == D("0.03")  # x1.5 extreme x2 last 10%


def test_time_decay_stops_bidding_the_losing_side_in_the_last_tenth(model_cfg):
    pipeline = build_quoting_model(dataclasses.replace(model_cfg, fee_aware=False))
    yes_losing = pipeline.plan(ctx(fair=D("0.30"), session_end_ns=100, now_ns=95))
    assert [lv.side for lv in yes_losing.levels] == ["ask"]
    no_losing = pipeline.plan(ctx(fair=D("0.70"), session_end_ns=100, now_ns=95))
    assert [lv.side for lv in no_losing.levels] == ["bid"]
    earlier = pipeline.plan(ctx(fair=D("0.30"), session_end_ns=100, now_ns=85))
    assert [lv.side for lv in earlier.levels] == ["bid", "ask"]


def test_time_decay_stops_quoting_30_s_before_expiry(model_cfg):
    pipeline = build_quoting_model(model_cfg)
    plan = pipeline.plan(ctx(market_close_ns=30 * S_NS))
    assert plan.levels == () and "30 s of expiry" in plan.why_empty
    assert pipeline.plan(ctx(market_close_ns=31 * S_NS)).levels != ()


# -- fees, throttles, sides --------------------------------------------------------------
def test_fee_floor_widens_a_losing_spread_on_maker_fee_series(model_cfg):
    pipeline = build_quoting_model(dataclasses.replace(model_cfg, time_decay=False))
    # maker fee at 0.50 for 5 contracts: ceil(0.0175*5*0.25 = 0.021875) = 0.03 -> 0.006 per
    # contract per leg; + 0.005 buffer per side = 0.022 total
    plan = pipeline.plan(ctx(maker_fee_series=True))
    assert plan.half_spread == D("0.011") and "fee_floor" in plan.notes
    assert pipeline.plan(ctx()).half_spread == D("0.01")


def test_fee_floor_with_taker_exit_leg(model_cfg):
    cfg = dataclasses.replace(model_cfg, time_decay=False, fee_exit_leg="taker")
    # taker: ceil(0.07*5*0.25 = 0.0875) = 0.09 -> 0.018 per contract; + 0.01 buffers
    assert build_quoting_model(cfg).plan(ctx()).half_spread == D("0.014")


def test_throttle_ticks_widen_each_side(model_cfg):
    plan = build_quoting_model(plain(model_cfg)).plan(ctx(extra_widen_ticks=3))
    assert (plan.best_bid.price, plan.best_ask.price) == (D("0.46"), D("0.54"))


@pytest.mark.parametrize(("sides", "left"), [(QuoteSides.BID_ONLY, ["bid"]), (QuoteSides.ASK_ONLY, ["ask"])])
def test_one_sided_quoting_at_hard_extremes(model_cfg, sides, left):
    plan = build_quoting_model(plain(model_cfg)).plan(ctx(quote_sides=sides))
    assert [lv.side for lv in plan.levels] == left


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"fair": D("1.2")}, "outside (0, 1)"),
        ({"fair": D(0)}, "outside (0, 1)"),
        ({"k": D(0)}, "cannot quote"),
        ({"gamma": D("-1")}, "cannot quote"),
        ({"quote_sides": "sideways"}, "unknown quote_sides"),
    ],
)
def test_bad_input_gives_an_empty_plan_that_says_why(model_cfg, changes, why):
    for name in ("avellaneda_stoikov", "glft"):
        plan = build_quoting_model(dataclasses.replace(model_cfg, name=name)).plan(ctx(**changes))
        assert plan.levels == () and why in plan.why_empty


def test_unknown_model_name_is_refused(model_cfg):
    with pytest.raises(ValueError, match="unknown quoting model"):
        build_quoting_model(dataclasses.replace(model_cfg, name="martingale"))


def test_build_from_maker_config_uses_its_model_section(config):
    assert build_quoting_model(config.maker).name == config.maker.model.name


def test_inconsistent_model_config_is_refused_with_every_problem(model_cfg):
    bad = dataclasses.replace(model_cfg, decay_skew_at_1=D("0.95"), decay_extreme_low=D("0.9"))
    with pytest.raises(ValueError) as caught:
        build_quoting_model(bad)
    assert "decay_skew_at_1" in str(caught.value) and "decay_extreme_low" in str(caught.value)


def test_shipped_defaults_are_consistent(config):
    from actors.maker.models import fair_value_config_problems, model_config_problems

    assert model_config_problems(config.maker.model) == []
    assert fair_value_config_problems(config.maker.fair_value) == []
