"""Invariants of every quote plan, for any context the maker can build (hypothesis)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from actors.maker.models import QuoteContext, build_quoting_model
from config import load_config
from messages import QuoteSides

from .factories import book_view

MODEL = load_config().maker.model
S = 1_000_000_000

cents = st.integers(min_value=1, max_value=99).map(lambda c: D(c) / 100)


@st.composite
def contexts(draw):
    max_position = draw(st.integers(min_value=1, max_value=200))
    start = 0
    end = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=7200 * S)))
    close = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=7 * 24 * 3600 * S)))
    bid_size = draw(st.integers(min_value=0, max_value=500))
    ask_size = draw(st.integers(min_value=0, max_value=500))
    return QuoteContext(
        fair=draw(st.integers(min_value=1, max_value=999).map(lambda m: D(m) / 1000)),
        book=book_view(bids=(("0.40", bid_size),) if bid_size else (), asks=(("0.60", ask_size),) if ask_size else ()),
        position=D(draw(st.integers(min_value=-2 * max_position, max_value=2 * max_position))),
        max_position=max_position,
        sigma=draw(st.sampled_from([D("0.005"), D("0.02"), D("0.05"), D("0.08")])),
        gamma=draw(st.sampled_from([D("0.05"), D("0.3"), D("1"), D("3")])),
        k=draw(st.sampled_from([D("0.5"), D("1.5"), D("5")])),
        now_ns=draw(st.integers(min_value=0, max_value=7200 * S)),
        session_start_ns=start,
        session_end_ns=end,
        market_close_ns=close,
        tick=D("0.01"),
        maker_fee_series=draw(st.booleans()),
        quote_sides=draw(st.sampled_from([QuoteSides.BOTH, QuoteSides.BID_ONLY, QuoteSides.ASK_ONLY])),
        size_factor=draw(st.sampled_from([D("0.25"), D("0.5"), D(1)])),
        base_size=D(draw(st.integers(min_value=1, max_value=50))),
        max_notional=D(draw(st.integers(min_value=0, max_value=20))),
        min_spread=D("0.02"),
        max_spread=D("0.20"),
        extra_widen_ticks=draw(st.integers(min_value=0, max_value=5)),
        liquidity=D(draw(st.integers(min_value=0, max_value=20000))),
    )


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    ctx=contexts(),
    name=st.sampled_from(["avellaneda_stoikov", "glft", "fixed_spread"]),
    levels=st.integers(min_value=1, max_value=3),
)
def test_every_plan_is_sane(ctx, name, levels):
    cfg = dataclasses.replace(MODEL, name=name, ladder_levels=levels)
    plan = build_quoting_model(cfg).plan(ctx)
    if not plan.levels:
        assert plan.why_empty  # an empty plan always says why
        return
    bids, asks = plan.side("bid"), plan.side("ask")
    for level in plan.levels:
        assert D(0) < level.price < D(1)
        assert level.size > 0 and level.size == level.size.to_integral_value()
        assert level.size <= MODEL.size_max_contracts
    # never crossed, never inside the quoted spread, best first
    if bids and asks:
        assert bids[0].price < asks[0].price
    assert [lv.price for lv in bids] == sorted((lv.price for lv in bids), reverse=True)
    assert [lv.price for lv in asks] == sorted(lv.price for lv in asks)
    # a full fill of one side never takes |position| past max_position less the buffer
    room = D(ctx.max_position) * (1 - MODEL.size_inventory_buffer)
    assert ctx.position + sum(lv.size for lv in bids) <= max(room, ctx.position)
    assert -ctx.position + sum(lv.size for lv in asks) <= max(room, -ctx.position)
    # one-sided quoting is honoured
    if ctx.quote_sides == QuoteSides.BID_ONLY:
        assert not asks
    if ctx.quote_sides == QuoteSides.ASK_ONLY:
        assert not bids
    # the total spread pays the fee floor
    if bids and asks:
        assert asks[0].price - bids[0].price >= 2 * MODEL.adverse_selection_buffer
