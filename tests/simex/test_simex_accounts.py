"""Collateral, balance, fees and YES/NO position netting."""

from decimal import Decimal

import pytest
from simex_testkit import QUIET_SPEC, TICKER, order_body, place, rest

from simex import ApiError, Exchange, MarketSpec, taker_fee

D = Decimal


def balance(ex, account):
    status, body = rest(ex, "GET", "/portfolio/balance", account=account)
    assert status == 200
    return body


def test_taker_fee_rounds_up_to_the_cent():
    assert taker_fee(D(1), D("0.50")) == D("0.02")
    assert taker_fee(D(10), D("0.50")) == D("0.18")
    assert taker_fee(D(100), D("0.01")) == D("0.07")


def test_resting_bid_locks_price_times_count(ex):
    place(ex, "alice", "bid", "0.40", 10)
    assert balance(ex, "alice")["balance"] == 100_000 - 400


def test_resting_ask_locks_one_minus_price_times_count(ex):
    place(ex, "alice", "ask", "0.40", 10)
    assert balance(ex, "alice")["balance"] == 100_000 - 600


def test_cancel_releases_collateral(ex):
    order = place(ex, "alice", "bid", "0.40", 10)
    ex.cancel_order("alice", order.order_id)
    assert balance(ex, "alice")["balance"] == 100_000


def test_taker_pays_cost_plus_fee_and_quadratic_maker_pays_no_fee(ex):
    place(ex, "alice", "bid", "0.40", 10)
    place(ex, "bob", "ask", "0.40", 10)
    assert balance(ex, "alice")["balance"] == 100_000 - 400
    assert balance(ex, "bob")["balance"] == 100_000 - 600 - 17  # 0.07*10*0.4*0.6 = 0.168 -> 0.17
    maker_fill, taker_fill = ex.fills
    assert (maker_fill.is_taker, maker_fill.fee) == (False, D(0))
    assert (taker_fill.is_taker, taker_fill.fee) == (True, D("0.17"))


def test_maker_fee_applies_only_on_maker_fee_series(clock):
    ex = Exchange(now_ns=clock, seed=1)
    ex.add_market(MarketSpec(ticker=QUIET_SPEC.ticker, event_ticker=QUIET_SPEC.event_ticker,
                             series_ticker=QUIET_SPEC.series_ticker, fee_type="quadratic_with_maker_fees"))
    ex.register_account("alice", 100_000)
    ex.register_account("bob", 100_000)
    place(ex, "alice", "bid", "0.50", 10)
    place(ex, "bob", "ask", "0.50", 10)
    maker_fill, taker_fill = ex.fills
    assert maker_fill.fee == D("0.05")  # 0.0175*10*0.25 = 0.04375 -> 0.05
    assert taker_fill.fee == D("0.18")
    status, body = rest(ex, "GET", f"/series/{QUIET_SPEC.series_ticker}")
    assert body["series"]["fee_type"] == "quadratic_with_maker_fees"


def test_order_beyond_available_balance_is_rejected(ex):
    ex.register_account("poor", 100)
    with pytest.raises(ApiError) as err:
        place(ex, "poor", "bid", "0.40", 3)  # 1.20 + fee > 1.00
    assert (err.value.status, err.value.code) == (400, "insufficient_balance")
    place(ex, "poor", "bid", "0.40", 2)  # 0.80 + 0.04 fits
    with pytest.raises(ApiError):
        place(ex, "poor", "bid", "0.40", 1)  # only 0.20 left unlocked


def test_positions_net_yes_against_no_and_realize_pnl(ex):
    place(ex, "alice", "bid", "0.40", 10)
    place(ex, "bob", "ask", "0.40", 10)  # alice long 10 YES at 0.40, bob long 10 NO
    place(ex, "carol", "bid", "0.55", 10)
    place(ex, "alice", "ask", "0.55", 10)  # alice buys 10 NO at 0.45: nets to flat
    alice = ex.accounts["alice"].positions[TICKER]
    assert alice.position == D(0) and alice.cost == D(0)
    assert alice.realized_pnl == D("1.50")
    # 1000 - 4.00 (YES) - 4.50 (NO) + 10.00 (pairs pay $1) - 0.18 taker fee
    assert balance(ex, "alice")["balance"] == 100_132
    assert ex.accounts["bob"].positions[TICKER].position == D(-10)
    assert ex.markets[TICKER].open_interest == D(10)  # carol now holds the YES side


def test_position_endpoint_reports_signed_position_fp(ex):
    place(ex, "alice", "bid", "0.40", 10)
    place(ex, "bob", "ask", "0.40", 4)
    status, body = rest(ex, "GET", "/portfolio/positions", account="bob")
    assert status == 200
    (position,) = body["market_positions"]
    assert position["position_fp"] == "-4.00"
    assert position["market_exposure_dollars"] == "2.4000"
    assert position["fees_paid_dollars"] == "0.0700"
    assert body["event_positions"][0]["event_ticker"] == QUIET_SPEC.event_ticker
    assert body["cursor"] == ""


def test_balance_reports_cents_dollars_and_portfolio_value(ex):
    place(ex, "alice", "bid", "0.40", 10)
    place(ex, "bob", "ask", "0.40", 10)
    place(ex, "carol", "bid", "0.38", 1)
    place(ex, "carol", "ask", "0.42", 1)  # mid 0.40 marks alice's 10 YES at $4.00
    body = balance(ex, "alice")
    assert body["balance_dollars"] == "996.0000"
    assert body["portfolio_value"] == 400
    assert isinstance(body["updated_ts"], int)


def test_reduce_only_is_capped_at_the_position(ex):
    place(ex, "alice", "bid", "0.40", 3)
    place(ex, "bob", "ask", "0.40", 3)
    status, body = rest(ex, "POST", "/portfolio/events/orders",
                        order_body("ask", "0.45", "10", reduce_only=True), "alice")
    assert status == 201 and body["remaining_count"] == "3.00"
    status, body = rest(ex, "POST", "/portfolio/events/orders",
                        order_body("bid", "0.30", "1", reduce_only=True), "alice")
    assert status == 400
