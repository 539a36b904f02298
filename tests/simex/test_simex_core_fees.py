"""Fees follow Kalshi's fee-rounding page: centicent trade fee, cent rounding fee, per-order rebate."""

from decimal import Decimal

from simex_testkit import QUIET_SPEC, TICKER, place, rest

from simex import Exchange, MarketSpec

D = Decimal


def test_many_small_taker_fills_cost_about_what_one_fill_would(ex):
    for name in ("bob", "carol", "bob", "carol", "bob"):
        place(ex, name, "ask", "0.50", 1)
    taker = place(ex, "alice", "bid", "0.50", 5)
    fees = [f.fee for f in ex.fills if f.order_id == taker.order_id]
    # trade fee 0.0175 each; 0.0025 rounding per fill accumulates; the 5th crosses $0.01 -> rebate
    assert fees == [D("0.02"), D("0.02"), D("0.02"), D("0.02"), D("0.01")]
    assert sum(fees) == D("0.09")  # = ceil_to_cent(0.07 x 5 x 0.25) = ceil(0.0875)
    assert taker.taker_fees == D("0.09")
    assert ex.accounts["alice"].cash == D("1000") - D("2.50") - D("0.09")


def test_accumulator_carries_from_taker_fills_into_later_maker_fills(clock):
    ex = Exchange(now_ns=clock)
    ex.add_market(MarketSpec(ticker=TICKER, event_ticker=QUIET_SPEC.event_ticker,
                             series_ticker=QUIET_SPEC.series_ticker, fee_type="quadratic_with_maker_fees"))
    for name in ("alice", "bob", "carol"):
        ex.register_account(name, 100_000)
    place(ex, "bob", "ask", "0.50", 1)
    order = place(ex, "alice", "bid", "0.50", 2)  # takes 1 (fee 0.0175 -> 0.02), rests 1
    place(ex, "carol", "ask", "0.50", 1)  # hits alice's rest: maker fee 0.004375 -> 0.0044 trade fee
    fees = [f.fee for f in ex.fills if f.order_id == order.order_id]
    # rounding 0.0025 + 0.0056 = 0.0081: no rebate yet, so the maker fill costs a full cent
    assert fees == [D("0.02"), D("0.01")]
    assert (order.taker_fees, order.maker_fees) == (D("0.02"), D("0.01"))
    assert order.fee_accumulator == D("0.0081")


def test_fee_multiplier_scales_the_trade_fee(clock):
    ex = Exchange(now_ns=clock)
    ex.add_market(MarketSpec(ticker=TICKER, event_ticker="E", series_ticker="S", fee_multiplier=D("0.5")))
    for name in ("alice", "bob"):
        ex.register_account(name, 100_000)
    place(ex, "bob", "ask", "0.50", 10)
    taker = place(ex, "alice", "bid", "0.50", 10)
    assert taker.taker_fees == D("0.09")  # 0.5 x 0.07 x 10 x 0.25 = 0.0875 -> 0.09


def test_fill_fee_and_position_fees_are_reported_in_dollars(ex):
    place(ex, "bob", "ask", "0.40", 4)
    place(ex, "alice", "bid", "0.40", 4)
    fill = rest(ex, "GET", "/portfolio/fills")[1]["fills"][0]
    assert fill["fee_cost"] == "0.070000"  # 0.0672 -> 0.07
    position = rest(ex, "GET", "/portfolio/positions")[1]["market_positions"][0]
    assert position["fees_paid_dollars"] == "0.0700"
