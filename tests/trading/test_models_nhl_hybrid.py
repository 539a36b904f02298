"""The nhl_hybrid quoting model (seed 000) alone and inside the quoting pipeline, as the
`nhl_hybrid` profile configures it: both sides a cent from fair while the position is
inside the one-sided threshold; beyond it only the reducing side, further out."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest

from actors.maker.models import NhlHybridModel, QuoteContext, build_quoting_model
from config import load_config

from .factories import book_view


@pytest.fixture(scope="module")
def profile():
    return load_config(overrides={"maker": {"profile": "nhl_hybrid"}}).maker


def ctx(**changes) -> QuoteContext:
    base = dict(
        fair=D("0.50"),
        book=book_view(bids=(("0.45", 100),), asks=(("0.55", 100),)),
        position=D(0),
        max_position=30,
        sigma=D("0.05"),
        gamma=D("0.3"),
        k=D("1.5"),
        now_ns=0,
        session_start_ns=0,
        session_end_ns=None,
        market_close_ns=None,
        tick=D("0.01"),
        maker_fee_series=False,
        base_size=D(10),
        min_spread=D("0.02"),
        max_spread=D("0.20"),
    )
    base.update(changes)
    return QuoteContext(**base)


def prices(plan) -> dict[str, list[D]]:
    return {side: [level.price for level in plan.side(side)] for side in ("bid", "ask")}


# -- the model alone ------------------------------------------------------------------
@pytest.mark.parametrize("net", [D(0), D(7), D(-13), D(20), D(-20)])
def test_inside_the_threshold_both_sides_quote_one_cent_from_fair_whatever_the_inventory(profile, net):
    core = NhlHybridModel(profile.model).core(ctx(position=net))

    assert (core.reservation, core.half_spread, core.bid_on, core.ask_on) == (D("0.50"), D("0.01"), True, True)


def test_long_beyond_the_threshold_quotes_only_the_ask_further_out(profile):
    core = NhlHybridModel(profile.model).core(ctx(position=D(25)))

    # 1 cent x (1 + 1.0 x (25 - 20) / 20)
    assert (core.bid_on, core.ask_on, core.reservation, core.half_spread) == (False, True, D("0.50"), D("0.0125"))
    assert core.notes == ("nhl_long_asks_only",)


def test_short_beyond_the_threshold_quotes_only_the_bid_further_out(profile):
    core = NhlHybridModel(profile.model).core(ctx(position=D(-30)))

    assert (core.bid_on, core.ask_on, core.half_spread) == (True, False, D("0.015"))
    assert core.notes == ("nhl_short_bids_only",)


def test_without_exit_widening_the_reducing_side_stays_one_cent_out(profile):
    model = NhlHybridModel(dataclasses.replace(profile.model, nhl_exit_widen=D(0)))

    assert model.core(ctx(position=D(29))).half_spread == D("0.01")


def test_the_offset_and_threshold_come_from_config(profile):
    cfg = dataclasses.replace(profile.model, nhl_quote_offset=D("0.02"), nhl_one_sided_above=D(10))
    model = NhlHybridModel(cfg)

    assert model.core(ctx(position=D(10))).half_spread == D("0.02")
    assert model.core(ctx(position=D(15))).ask_on is True
    assert model.core(ctx(position=D(15))).bid_on is False


# -- inside the pipeline, as the profile builds it -------------------------------------
def test_the_profile_builds_the_nhl_model_and_quotes_ten_a_side_a_cent_from_fair(profile):
    model = build_quoting_model(profile)

    plan = model.plan(ctx())

    assert model.name == "nhl_hybrid"
    assert prices(plan) == {"bid": [D("0.49")], "ask": [D("0.51")]}
    assert [level.size for level in plan.levels] == [D(10), D(10)]


def test_the_profile_sizes_a_long_position_down_to_its_room_and_exits_with_asks_only(profile):
    plan = build_quoting_model(profile).plan(ctx(position=D(24)))

    assert prices(plan) == {"bid": [], "ask": [D("0.512")]}
    assert plan.best_ask.size == D(10)
    assert "nhl_long_asks_only" in plan.notes


def test_the_building_side_inside_the_threshold_is_cut_to_the_position_room(profile):
    # room = max_position 30 x (1 - 10% buffer) = 27: a long 20 may add 7 more at most
    plan = build_quoting_model(profile).plan(ctx(position=D(20)))

    assert plan.best_bid.size == D(7)
    assert plan.best_ask.size == D(10)


def test_the_spread_bounds_still_cap_how_far_out_the_exit_waits(profile):
    cfg = dataclasses.replace(profile.model, nhl_exit_widen=D(100))

    plan = build_quoting_model(dataclasses.replace(profile, model=cfg)).plan(ctx(position=D(25)))

    assert plan.half_spread == D("0.10")  # max_spread 0.20 total
