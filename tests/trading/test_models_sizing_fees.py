"""Fees (Kalshi's formula) and order sizes (SPEC 8 "Sizes")."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest

from actors.maker.models import QuoteLevel, build_quoting_model, size_levels, trading_fee

from .factories import book_view
from .test_models_quoting import ctx


@pytest.fixture
def model_cfg(config):
    return dataclasses.replace(config.maker.model, time_decay=False, fee_aware=False)


@pytest.mark.parametrize(
    ("rate", "count", "price", "fee"),
    [
        ("0.07", 1, "0.50", "0.02"),  # 0.0175 rounds up to 2 cents
        ("0.07", 100, "0.50", "1.75"),
        ("0.07", 10, "0.10", "0.07"),  # 0.063 -> 0.07
        ("0.0175", 100, "0.50", "0.44"),  # 0.4375 -> 0.44
        ("0.07", 0, "0.50", "0"),
    ],
)
def test_kalshi_fee_rounds_up_to_the_cent(rate, count, price, fee):
    assert trading_fee(D(rate), D(count), D(price)) == D(fee)


def _sizes(model_cfg, levels, **changes):
    return [(lv.side, lv.size) for lv in size_levels(model_cfg, ctx(**changes), levels)]


def both(size=5, bid="0.49", ask="0.51"):
    return [QuoteLevel("bid", D(bid), D(size)), QuoteLevel("ask", D(ask), D(size))]


def test_base_size_on_both_sides_when_flat(model_cfg):
    assert _sizes(model_cfg, both()) == [("bid", 5), ("ask", 5)]


def test_size_factor_scales_and_rounds_down_to_whole_contracts(model_cfg):
    assert _sizes(model_cfg, both(), size_factor=D("0.5")) == [("bid", 2), ("ask", 2)]


def test_building_side_keeps_a_buffer_below_max_position(model_cfg):
    # max 20 less 10% buffer = 18; long 16 leaves room for 2 more on the bid, the ask is free
    assert _sizes(model_cfg, both(), position=D(16)) == [("bid", 2), ("ask", 5)]
    assert _sizes(model_cfg, both(), position=D(-18)) == [("bid", 5)]  # short 18: no room to sell more


def test_ladder_levels_share_the_inventory_room(model_cfg):
    levels = [QuoteLevel("bid", D("0.49"), D(5)), QuoteLevel("bid", D("0.48"), D(5)), QuoteLevel("bid", D("0.47"), D(5))]
    assert _sizes(model_cfg, levels, position=D(10)) == [("bid", 5), ("bid", 3)]


def test_capped_by_a_quarter_of_visible_depth(model_cfg):
    thin = book_view(bids=(("0.45", 4),), asks=(("0.55", 8),))
    assert _sizes(model_cfg, both(), book=thin) == [("bid", 3), ("ask", 3)]


def test_no_depth_cap_when_nobody_else_shows_size(model_cfg):
    empty = book_view(bids=(), asks=())
    assert _sizes(model_cfg, both(), book=empty) == [("bid", 5), ("ask", 5)]


def test_capped_by_notional_per_order(model_cfg):
    # $1 buys 2 YES at 0.40 (0.80) but 3 NO at 1 - 0.70 = 0.30 (0.90)
    assert _sizes(model_cfg, both(bid="0.40", ask="0.70"), max_notional=D(1)) == [("bid", 2), ("ask", 3)]


def test_capped_by_contracts_per_order(model_cfg):
    book = book_view(bids=(("0.45", 1000),), asks=(("0.55", 1000),))
    assert _sizes(model_cfg, both(size=100), book=book, max_position=1000) == [("bid", 25), ("ask", 25)]


def test_plan_says_why_when_no_size_is_left(model_cfg):
    plan = build_quoting_model(model_cfg).plan(ctx(position=D(18), quote_sides="bid_only"))
    assert plan.levels == () and "size" in plan.why_empty
