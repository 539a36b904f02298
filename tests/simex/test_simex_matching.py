"""Matching engine behaviour, exercised through the exchange core."""

from decimal import Decimal

import pytest
from simex_testkit import TICKER, order_body, place, rest

from simex import ApiError, OrderBook

D = Decimal


def test_trades_print_at_the_resting_price_best_price_first(ex):
    place(ex, "alice", "ask", "0.45", 5)
    place(ex, "bob", "ask", "0.43", 5)
    taker = place(ex, "carol", "bid", "0.50", 8)
    assert [(t.price, t.count) for t in ex.trades] == [(D("0.43"), D(5)), (D("0.45"), D(3))]
    assert taker.status == "executed" and taker.filled == D(8)


def test_equal_prices_fill_in_time_order(ex, clock):
    first = place(ex, "alice", "bid", "0.40", 5)
    clock.tick(1)
    second = place(ex, "bob", "bid", "0.40", 5)
    place(ex, "carol", "ask", "0.40", 7)
    assert (first.filled, second.filled) == (D(5), D(2))
    assert first.status == "executed" and second.status == "resting"


def test_ask_is_a_no_bid_and_crosses_a_yes_bid_when_prices_sum_to_one(ex):
    place(ex, "alice", "bid", "0.60", 10)  # YES bid 0.60
    taker = place(ex, "bob", "ask", "0.60", 4)  # NO bid at 0.40: 0.60 + 0.40 = 1.00 crosses
    assert taker.filled == D(4)
    assert ex.trades[-1].taker_side == "ask" and ex.trades[-1].price == D("0.60")


def test_non_crossing_orders_rest_on_both_sides(ex):
    place(ex, "alice", "bid", "0.40", 10)
    place(ex, "bob", "ask", "0.41", 10)
    assert ex.trades == []
    book = ex.markets[TICKER].book
    assert (book.best("bid"), book.best("ask")) == (D("0.40"), D("0.41"))


def test_partial_fill_leaves_the_gtc_remainder_resting(ex):
    place(ex, "alice", "ask", "0.50", 3)
    taker = place(ex, "bob", "bid", "0.50", 10)
    assert (taker.filled, taker.remaining, taker.status) == (D(3), D(7), "resting")
    assert ex.markets[TICKER].book.size_at("bid", D("0.50")) == D(7)


def test_ioc_cancels_the_unfilled_remainder(ex):
    place(ex, "alice", "ask", "0.50", 3)
    taker = place(ex, "bob", "bid", "0.55", 10, time_in_force="immediate_or_cancel")
    assert (taker.filled, taker.remaining, taker.status) == (D(3), D(0), "canceled")
    assert ex.markets[TICKER].book.best("bid") is None


def test_fok_that_cannot_fill_completely_does_not_trade(ex):
    place(ex, "alice", "ask", "0.50", 3)
    taker = place(ex, "bob", "bid", "0.50", 4, time_in_force="fill_or_kill")
    assert taker.status == "canceled" and taker.filled == D(0)
    assert ex.trades == [] and ex.markets[TICKER].book.size_at("ask", D("0.50")) == D(3)


def test_fok_that_can_fill_completely_executes(ex):
    place(ex, "alice", "ask", "0.50", 3)
    place(ex, "carol", "ask", "0.51", 3)
    taker = place(ex, "bob", "bid", "0.51", 5, time_in_force="fill_or_kill")
    assert taker.status == "executed" and taker.filled == D(5)


def test_post_only_order_that_would_cross_is_rejected(ex):
    place(ex, "alice", "ask", "0.50", 3)
    status, body = rest(ex, "POST", "/portfolio/events/orders", order_body("bid", "0.50", "1", post_only=True), "bob")
    assert status == 400
    assert body == {"error": {"code": "invalid_order", "message": "invalid order", "details": "post only cross"}}
    assert ex.trades == []


def test_post_only_order_that_does_not_cross_rests(ex):
    place(ex, "alice", "ask", "0.50", 3)
    order = place(ex, "bob", "bid", "0.49", 3, post_only=True)
    assert order.status == "resting"


def test_stp_taker_at_cross_cancels_the_taker_but_keeps_earlier_fills(ex, clock):
    place(ex, "bob", "ask", "0.40", 2)
    clock.tick(1)
    own = place(ex, "alice", "ask", "0.41", 5)
    place(ex, "bob", "ask", "0.42", 5)
    taker = place(ex, "alice", "bid", "0.45", 10, self_trade_prevention_type="taker_at_cross")
    assert taker.filled == D(2) and taker.status == "canceled" and taker.last_update_reason == "SelfTradeCancel"
    assert own.status == "resting" and own.remaining == D(5)
    assert ex.markets[TICKER].book.size_at("ask", D("0.42")) == D(5)


def test_stp_maker_cancels_our_resting_order_and_keeps_matching(ex):
    own = place(ex, "alice", "ask", "0.41", 5)
    place(ex, "bob", "ask", "0.42", 5)
    taker = place(ex, "alice", "bid", "0.45", 3, self_trade_prevention_type="maker")
    assert own.status == "canceled" and own.last_update_reason == "SelfTradeCancel"
    assert taker.filled == D(3) and taker.status == "executed"
    assert ex.trades[-1].price == D("0.42")


def test_amend_with_smaller_size_at_same_price_keeps_priority(ex, clock):
    first = place(ex, "alice", "bid", "0.40", 10)
    clock.tick(1)
    place(ex, "bob", "bid", "0.40", 10)
    ex.amend_order("alice", first.order_id, TICKER, "bid", D("0.40"), D(6))
    place(ex, "carol", "ask", "0.40", 4)
    assert first.filled == D(4) and first.remaining == D(2)


def test_amend_size_increase_loses_priority(ex, clock):
    first = place(ex, "alice", "bid", "0.40", 5)
    clock.tick(1)
    second = place(ex, "bob", "bid", "0.40", 5)
    ex.amend_order("alice", first.order_id, TICKER, "bid", D("0.40"), D(8))
    place(ex, "carol", "ask", "0.40", 4)
    assert second.filled == D(4) and first.filled == D(0) and first.remaining == D(8)


def test_amend_price_change_loses_priority_and_count_is_the_new_total(ex, clock):
    first = place(ex, "alice", "bid", "0.40", 10)
    place(ex, "carol", "ask", "0.40", 4)  # alice: 4 filled, 6 resting
    clock.tick(1)
    place(ex, "bob", "bid", "0.41", 5)
    ex.amend_order("alice", first.order_id, TICKER, "bid", D("0.41"), D(12))
    assert (first.filled, first.remaining, first.initial) == (D(4), D(8), D(12))
    place(ex, "carol", "ask", "0.41", 5)
    assert first.filled == D(4), "bob was at 0.41 first and must fill first"


def test_amend_to_a_crossing_price_trades_immediately(ex):
    place(ex, "bob", "ask", "0.45", 3)
    mine = place(ex, "alice", "bid", "0.40", 5)
    ex.amend_order("alice", mine.order_id, TICKER, "bid", D("0.45"), D(5))
    assert mine.filled == D(3) and mine.remaining == D(2) and mine.price == D("0.45")


def test_decrease_by_and_to_keep_priority(ex, clock):
    first = place(ex, "alice", "bid", "0.40", 10)
    clock.tick(1)
    place(ex, "bob", "bid", "0.40", 10)
    ex.decrease_order("alice", first.order_id, D(3), None)
    ex.decrease_order("alice", first.order_id, None, D(5))
    assert first.remaining == D(5)
    place(ex, "carol", "ask", "0.40", 5)
    assert first.filled == D(5) and first.status == "executed"


def test_decrease_to_zero_cancels(ex):
    order = place(ex, "alice", "bid", "0.40", 10)
    ex.decrease_order("alice", order.order_id, None, D(0))
    assert order.status == "canceled" and ex.markets[TICKER].book.best("bid") is None


def test_decrease_needs_exactly_one_of_reduce_by_and_reduce_to(ex):
    order = place(ex, "alice", "bid", "0.40", 10)
    with pytest.raises(ApiError) as err:
        ex.decrease_order("alice", order.order_id, D(1), D(2))
    assert err.value.status == 400


def test_cancel_removes_the_order_and_reports_the_reduction(ex):
    order = place(ex, "alice", "bid", "0.40", 10)
    cancelled, reduced = ex.cancel_order("alice", order.order_id)
    assert reduced == D(10) and cancelled.status == "canceled"
    assert ex.markets[TICKER].book.levels("bid") == []


def test_expired_gtc_order_leaves_the_book(ex, clock):
    order = place(ex, "alice", "bid", "0.40", 10, expiration_ns=clock.ns + 5_000_000_000)
    ex.advance(clock.tick(4))
    assert order.status == "resting"
    ex.advance(clock.tick(2))
    assert order.status == "canceled" and order.last_update_reason == "ExpiryCancel"


def test_book_levels_are_aggregated_and_ascending():
    book = OrderBook()
    book.add("a", "x", "bid", D("0.40"), D(5))
    book.add("b", "y", "bid", D("0.42"), D(1))
    book.add("c", "z", "bid", D("0.40"), D(2))
    assert book.levels("bid") == [(D("0.40"), D(7)), (D("0.42"), D(1))]
    assert book.queue_ahead("c") == D(5)
