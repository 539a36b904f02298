"""The pre-trade checks added for SPEC 9: session and category budgets, the hybrid quote
logic, minimum spread, inventory value per side, balance, market restrictions, trading
state holds and the exposure snapshot."""

from dataclasses import replace
from decimal import Decimal as D

import pytest

from actors.risk import RiskGovernor, TradingState
from messages import AmendOrder, BookUpdated, MarketConfig

from .factories import TICKER, accepted, book_view, fill, place

OTHER = "KXOTHER-26JAN01-T50"
THIRD = "KXTHIRD-26JAN01-T50"


def market_config(ticker, category="economics", max_exposure="8.00"):
    return MarketConfig(
        ticker=ticker,
        category=category,
        profile="mean_reverting",
        max_exposure=D(max_exposure),
        size_factor=D(1),
        quote_sides="both",
        price_band="normal",
        k=D("1.5"),
        sigma=D("0.02"),
        gamma_multiplier=D(1),
        min_spread=D("0.02"),
        max_spread=D("0.04"),
        regime="MEAN_REVERTING",
        close_ts=None,
    )


@pytest.fixture
def governor(risk_config):
    return RiskGovernor(risk_config)


def rest(governor, cid, side, price, count, ticker=TICKER):
    cmd = place(cid, side, price, count, ticker=ticker)
    verdict = governor.admit(cmd)
    assert verdict.ok, verdict
    governor.apply(accepted(cmd, f"ex-{cid}"))


def code(governor, side, price, count, ticker=TICKER):
    return governor.check_place(place("probe", side, price, count, ticker=ticker)).code


def test_a_sessions_smaller_max_exposure_is_the_market_budget(governor):
    governor.budgets.learn(TICKER, market_config(TICKER, max_exposure="3.00"))
    rest(governor, "c1", "bid", "0.50", 5)  # $2.50

    assert code(governor, "bid", "0.50", 2) == "market_budget"  # $3.50 > $3.00
    assert code(governor, "bid", "0.50", 1) == ""  # $3.00 exactly


def test_a_larger_session_max_exposure_never_raises_the_configured_cap(governor):
    governor.budgets.learn(TICKER, market_config(TICKER, max_exposure="50.00"))

    assert governor.budgets.market_limit(TICKER) == D("8.00")


def test_markets_of_one_category_share_the_category_budget(governor):
    governor.budgets.learn(TICKER, market_config(TICKER, "Sports"))
    governor.budgets.learn(OTHER, market_config(OTHER, "sports"))
    governor.budgets.learn(THIRD, market_config(THIRD, "crypto"))
    rest(governor, "c1", "bid", "0.50", 10, ticker=TICKER)  # $5.00 of sports

    assert code(governor, "bid", "0.50", 7, ticker=OTHER) == "category_budget"  # 5 + 3.50 > 8
    assert code(governor, "bid", "0.50", 6, ticker=OTHER) == ""  # 5 + 3.00
    assert code(governor, "bid", "0.50", 15, ticker=THIRD) == ""  # another category: $7.50


def test_markets_of_unknown_category_are_not_lumped_together(governor):
    rest(governor, "c1", "bid", "0.50", 14, ticker=TICKER)  # $7.00, no session told us a category

    assert code(governor, "bid", "0.50", 14, ticker=OTHER) == ""


def test_long_beyond_the_skew_threshold_quotes_asks_only(risk_config):
    governor = RiskGovernor(replace(risk_config, max_position_contracts=40, per_market_budget_dollars=D("50")))
    governor.apply(fill("bid", "0.30", 21, fill_id="f-long", order_id="elsewhere"))

    assert code(governor, "bid", "0.30", 1) == "hybrid_skew"
    assert code(governor, "ask", "0.60", 5) == ""
    assert governor.market_restriction(TICKER) == ("reduce_only", "hybrid_long_beyond_20")


def test_short_beyond_the_skew_threshold_quotes_bids_only(risk_config):
    governor = RiskGovernor(replace(risk_config, max_position_contracts=40, per_market_budget_dollars=D("50")))
    governor.apply(fill("ask", "0.70", 21, fill_id="f-short", order_id="elsewhere"))

    assert code(governor, "ask", "0.70", 1) == "hybrid_skew"
    assert code(governor, "bid", "0.40", 5) == ""


def test_our_own_bid_and_ask_keep_the_minimum_spread(governor):
    rest(governor, "ask1", "ask", "0.55", 3)

    assert code(governor, "bid", "0.55", 3) == "min_spread"  # would cross our own ask
    assert code(governor, "bid", "0.54", 3) == ""  # exactly 1 cent


def test_inventory_value_per_side_is_capped(risk_config):
    governor = RiskGovernor(
        replace(
            risk_config,
            max_inventory_value_per_side_dollars=D("10.00"),
            max_position_contracts=100,
            max_order_contracts=100,
            per_market_budget_dollars=D("100"),
            global_budget_dollars=D("100"),
        )
    )
    rest(governor, "b1", "bid", "0.50", 15)  # $7.50 of long if it fills

    assert code(governor, "bid", "0.50", 6) == "inventory_value"  # 21 x 0.50 = $10.50
    assert code(governor, "bid", "0.50", 5) == ""  # 20 x 0.50 = $10.00
    assert code(governor, "ask", "0.90", 15) == ""  # the short side: 15 x (1 - 0.90) = $1.50


def test_an_order_needs_collateral_within_the_available_balance(governor):
    governor.note_balance(D("3.00"))
    rest(governor, "c1", "bid", "0.50", 4)  # draws $2.00 of it down

    assert governor.available_balance() == D("1.00")
    assert code(governor, "bid", "0.50", 3) == "insufficient_balance"
    assert code(governor, "bid", "0.50", 2) == ""


def test_a_paused_or_flattening_market_takes_only_reducing_orders(governor):
    governor.apply(fill("bid", "0.40", 5, fill_id="f1", order_id="elsewhere"))

    governor.pause_market(TICKER, "fill rate")
    assert code(governor, "bid", "0.40", 1) == "market_paused"
    assert code(governor, "ask", "0.45", 5) == ""  # the exit still goes
    governor.unpause_market(TICKER)
    governor.restrict_market(TICKER, "flatten: duration_weighted_504")

    assert code(governor, "bid", "0.40", 1) == "market_reducing"
    assert code(governor, "ask", "0.45", 5) == ""
    assert code(governor, "bid", "0.40", 1, ticker=OTHER) == ""  # other markets trade on


def test_releasing_one_hold_never_lifts_another(governor):
    governor.hold("kill_switch", TradingState.HALTED, "kill switch: operator")
    governor.hold("drawdown", TradingState.REDUCING, "drawdown")

    assert governor.set_state(TradingState.ACTIVE, "operator says go") is False
    assert governor.state == TradingState.HALTED
    assert governor.release("kill_switch", "resume") is True
    assert (governor.state, governor.state_reason) == (TradingState.REDUCING, "drawdown")
    assert governor.release("drawdown", "resume") is True
    assert (governor.state, governor.state_reason) == (TradingState.ACTIVE, "resume")


def test_marks_come_from_trusted_books_and_feed_the_total_pnl(governor):
    governor.apply(fill("bid", "0.40", 10, fee="0.10", fill_id="f1", order_id="elsewhere"))
    governor.apply(BookUpdated(ticker=TICKER, book=book_view(bids=(("0.44", 5),), asks=(("0.48", 5),)), ts_event=0, ts_recv=0))
    governor.apply(
        BookUpdated(ticker=TICKER, book=book_view(bids=(("0.10", 5),), asks=(("0.12", 5),), trusted=False), ts_event=0, ts_recv=0)
    )

    assert governor.marks[TICKER] == D("0.46")
    assert governor.total_pnl() == D("0.50")  # 10 x (0.46 - 0.40) - 0.10 entry fee


def test_exposure_snapshot_gives_positions_resting_value_and_totals(governor):
    governor.budgets.learn(TICKER, market_config(TICKER, "economics", "6.00"))
    governor.apply(fill("bid", "0.40", 4, fill_id="f1", order_id="elsewhere"))
    rest(governor, "b1", "bid", "0.40", 2)
    rest(governor, "a1", "ask", "0.60", 5)

    snapshot = governor.exposure_snapshot()

    market = snapshot["markets"][TICKER]
    assert market["position"] == D(4)
    assert market["resting_order_value"] == D("0.80") + D("2.00")  # 2 x 0.40 + 5 x (1 - 0.60)
    assert market["exposure"] == D("1.60") + D("0.80") + D("0.40")  # long + bids + the ask beyond the 4 it closes
    assert (market["budget"], market["category"], market["resting_orders"]) == (D("6.00"), "economics", 2)
    assert snapshot["totals"]["exposure"] == D("2.80")
    assert snapshot["state"] == TradingState.ACTIVE


def test_an_amend_that_only_shrinks_an_order_passes_a_paused_market(governor):
    rest(governor, "b1", "bid", "0.40", 5)
    governor.pause_market(TICKER, "fill rate")

    shrink = governor.check_amend(amend_of("b1", "0.40", 3))
    move = governor.check_amend(amend_of("b1", "0.41", 3))

    assert (shrink.ok, move.code) == (True, "market_paused")


def amend_of(cid, price, count):
    return AmendOrder(
        order_id=f"ex-{cid}",
        client_order_id=cid,
        updated_client_order_id=f"{cid}-a",
        ticker=TICKER,
        side="bid",
        price=D(price),
        count=D(count),
        ts=0,
    )


def test_min_spread_counts_an_opposite_amend_still_in_flight(governor):
    rest(governor, "a1", "ask", "0.60", 3)
    amend = AmendOrder(
        order_id="ex-a1", client_order_id="a1", updated_client_order_id="a1-a", ticker=TICKER, side="ask",
        price=D("0.52"), count=D(3), ts=0,
    )  # fmt: skip
    assert governor.admit(amend).ok  # not acknowledged yet: it may rest at 0.60 or 0.52

    assert code(governor, "bid", "0.52", 1) == "min_spread"
    assert code(governor, "bid", "0.51", 1) == ""


def test_short_side_inventory_is_valued_at_the_no_price(risk_config):
    governor = RiskGovernor(
        replace(
            risk_config,
            max_inventory_value_per_side_dollars=D("10.00"),
            max_position_contracts=100,
            max_order_contracts=100,
            per_market_budget_dollars=D("100"),
            global_budget_dollars=D("100"),
        )
    )

    assert code(governor, "ask", "0.40", 17) == "inventory_value"  # 17 x 0.60 = $10.20
    assert code(governor, "ask", "0.40", 16) == ""  # $9.60


def test_with_the_default_limits_a_position_can_pass_the_skew_threshold_and_then_only_reduces(risk_config):
    governor = RiskGovernor(risk_config)  # the defaults: the skew rule must be reachable under the position limit
    assert risk_config.max_position_contracts > risk_config.hybrid.skew_threshold_contracts
    building = place("build", "bid", "0.25", 22)  # 22 contracts, $5.50 of the $8 budget
    assert governor.admit(building).ok
    governor.apply(accepted(building, "ex-build"))
    governor.apply(fill("bid", "0.25", 22, fill_id="f-build", order_id="ex-build", client_order_id="build"))

    assert governor.position(TICKER) == 22
    assert code(governor, "bid", "0.24", 1) == "hybrid_skew"  # long beyond 20: no more bids
    assert code(governor, "ask", "0.27", 10) == ""  # asks, which reduce it, pass
    assert governor.market_restriction(TICKER)[0] == "reduce_only"
