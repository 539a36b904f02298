"""Specifications behind the review fixes of the simulated exchange core, one group per finding.

Each test cites the Kalshi document it follows (kalshi-api.md in /work/shared, or the page of
kalshi-docs/ it names).
"""

from decimal import Decimal

from simex_testkit import QUIET_SPEC, TICKER, order_body, place, rest

from simex import ApiError, Exchange, MarketSpec

D = Decimal
DAY_S = 86_400


def _exchange(clock, tier=None, **spec) -> Exchange:
    ex = Exchange(now_ns=clock, rate_limit_tier=tier)
    ex.add_market(MarketSpec(ticker=TICKER, event_ticker=QUIET_SPEC.event_ticker,
                             series_ticker=QUIET_SPEC.series_ticker, **spec))
    for name in ("alice", "bob", "carol"):
        ex.register_account(name, 100_000)
    return ex


def _position(ex, account) -> Decimal:
    pos = ex.accounts[account].positions.get(TICKER)
    return pos.position if pos else D(0)


def _go_long(ex, account="alice", count=10, price="0.50"):
    place(ex, "bob", "ask", price, count)
    place(ex, account, "bid", price, count)
    assert _position(ex, account) == count


# ----- 1. reduce_only never grows or flips the position (kalshi-api.md section 5) -----
def test_resting_reduce_only_order_is_cancelled_when_the_position_goes_flat(ex):
    """`reduce_only` caps the order at the position; `ReduceOnlyCancel` is the update reason
    when the exchange cancels it (kalshi-api.md section 5, last_update_reason)."""
    _go_long(ex)
    ro = place(ex, "alice", "ask", "0.70", 10, reduce_only=True)
    assert ro.status == "resting" and ro.reduce_only
    place(ex, "alice", "ask", "0.60", 10)
    place(ex, "bob", "bid", "0.60", 10)  # the plain ask closes the position
    assert _position(ex, "alice") == 0
    assert ro.status == "canceled" and ro.last_update_reason == "ReduceOnlyCancel"
    place(ex, "carol", "bid", "0.70", 10)  # nothing of alice's left to lift
    assert _position(ex, "alice") == 0


def test_resting_reduce_only_order_is_recapped_when_the_position_shrinks(ex):
    _go_long(ex)
    ro = place(ex, "alice", "ask", "0.70", 10, reduce_only=True)
    place(ex, "alice", "ask", "0.60", 6)
    place(ex, "bob", "bid", "0.60", 6)  # long 4 now
    assert (ro.status, ro.remaining, ro.last_update_reason) == ("resting", D(4), "ReduceOnlyCancel")
    assert ex.markets[TICKER].book.size_at("ask", D("0.70")) == D(4)


def test_reduce_only_orders_together_never_exceed_the_position(ex):
    _go_long(ex)
    first = place(ex, "alice", "ask", "0.70", 6, reduce_only=True)
    second = place(ex, "alice", "ask", "0.80", 10, reduce_only=True)
    assert (first.remaining, second.remaining) == (D(6), D(4))
    status, body = rest(ex, "POST", "/portfolio/events/orders", order_body("ask", "0.90", "1", reduce_only=True))
    assert status == 400 and body["error"]["code"] == "invalid_order"


def test_reduce_only_maker_stops_at_the_position_within_one_sweep(ex):
    """A sweep that first fills the holder's plain ask must not go on to fill its reduce-only
    ask past flat; the taker matches on against the next resting order instead."""
    _go_long(ex)
    place(ex, "alice", "ask", "0.55", 10)
    ro = place(ex, "alice", "ask", "0.60", 10, reduce_only=True)
    place(ex, "bob", "ask", "0.65", 10)
    taker = place(ex, "carol", "bid", "0.65", 20)
    assert _position(ex, "alice") == 0
    assert ro.status == "canceled" and ro.last_update_reason == "ReduceOnlyCancel" and ro.filled == 0
    assert taker.filled == 20 and _position(ex, "carol") == 20  # 10 from alice at 0.55, 10 from bob
    assert ex.markets[TICKER].book.levels("ask") == []


# ----- 2. YES/NO netting: closing contracts need no new collateral (kalshi-api.md section 5) -----
def test_a_fully_invested_account_can_sell_the_contracts_it_holds(clock):
    ex = _exchange(clock)
    ex.register_account("p", 520)  # $5.20
    _go_long(ex, "p")
    assert ex.available(ex.accounts["p"]) == D("0.02")
    status, body = rest(ex, "POST", "/portfolio/events/orders", order_body("ask", "0.60", "10"), account="p")
    assert status == 201 and body["remaining_count"] == "10.00"
    assert ex.available(ex.accounts["p"]) == D("0.02")  # a covered ask holds nothing
    place(ex, "bob", "bid", "0.60", 10)
    assert _position(ex, "p") == 0
    assert ex.available(ex.accounts["p"]) >= D("5.80")  # + 10 x 0.60, less the fee


def test_an_order_beyond_the_position_locks_only_the_part_that_opens_exposure(ex):
    _go_long(ex)
    alice = ex.accounts["alice"]
    before = ex.available(alice)
    order = place(ex, "alice", "ask", "0.60", 15)  # 10 close the long, 5 open NO at 0.40
    assert order.status == "resting"
    assert before - ex.available(alice) == 5 * D("0.40")


def test_losing_the_cover_is_paid_for_when_a_better_priced_order_takes_it(clock):
    """The position covers orders in fill priority: a new better-priced sell claims it, so the
    older sell then locks its full collateral, and the new order must pay for that."""
    ex = _exchange(clock)
    ex.register_account("p", 700)  # $7.00
    _go_long(ex, "p")  # $2.00 left
    place(ex, "p", "ask", "0.80", 10)  # covered: locks nothing
    with_cover_stolen = 10 * D("0.20")  # the 0.80 ask would lose its cover to a 0.70 ask
    assert ex.available(ex.accounts["p"]) == D("1.82") < with_cover_stolen  # $2.00 less the 0.18 fee
    try:
        place(ex, "p", "ask", "0.70", 10)
        raise AssertionError("expected insufficient_balance")
    except ApiError as exc:
        assert exc.code == "insufficient_balance"


# ----- 3. stable opaque cursors (kalshi-api.md section 3: send the cursor back unchanged) -----
def test_fills_cursor_neither_repeats_nor_skips_when_a_fill_arrives_between_pages(ex):
    for _ in range(4):
        _ = place(ex, "bob", "ask", "0.50", 1), place(ex, "alice", "bid", "0.50", 1)
    first = rest(ex, "GET", "/portfolio/fills", query={"limit": "2"})[1]
    place(ex, "bob", "ask", "0.50", 1)
    place(ex, "alice", "bid", "0.50", 1)
    second = rest(ex, "GET", "/portfolio/fills", query={"limit": "2", "cursor": first["cursor"]})[1]
    ids = [f["fill_id"] for f in first["fills"] + second["fills"]]
    oldest_four = [f.fill_id for f in reversed(ex.fills) if f.account_id == "alice"][1:5]
    assert ids == oldest_four and not first["cursor"].isdigit()


def test_orders_cursor_survives_the_cancel_of_the_item_it_points_at(ex):
    orders = [place(ex, "alice", "bid", f"0.4{i}", 1) for i in range(5)]  # listed newest first
    first = rest(ex, "GET", "/portfolio/orders", query={"status": "resting", "limit": "2"})[1]
    assert [o["order_id"] for o in first["orders"]] == [orders[4].order_id, orders[3].order_id]
    ex.cancel_order("alice", orders[3].order_id)  # the cursor's own item leaves the list
    ex.cancel_order("alice", orders[4].order_id)
    second = rest(ex, "GET", "/portfolio/orders",
                  query={"status": "resting", "limit": "2", "cursor": first["cursor"]})[1]
    assert [o["order_id"] for o in second["orders"]] == [orders[2].order_id, orders[1].order_id]
    third = rest(ex, "GET", "/portfolio/orders", query={"status": "resting", "limit": "2", "cursor": second["cursor"]})[1]
    assert [o["order_id"] for o in third["orders"]] == [orders[0].order_id] and third["cursor"] == ""


def test_trades_markets_and_settlements_cursors_are_keyed_not_offsets(clock):
    ex = _exchange(clock)
    for i in range(3):
        ex.add_market(MarketSpec(ticker=f"KXM-{i}", event_ticker="KXM", series_ticker="KXM"))
    page = rest(ex, "GET", "/markets", account=None, query={"status": "open", "limit": "2"})[1]
    ex.pause_market(TICKER)  # an already listed market drops out of status=open between pages
    rest_of = rest(ex, "GET", "/markets", account=None,
                   query={"status": "open", "limit": "5", "cursor": page["cursor"]})[1]
    assert [m["ticker"] for m in page["markets"] + rest_of["markets"]] == [TICKER, "KXM-0", "KXM-1", "KXM-2"]
    ex.resume_market(TICKER)
    for _ in range(3):
        place(ex, "bob", "ask", "0.50", 1), place(ex, "carol", "bid", "0.50", 1)
    trades = rest(ex, "GET", "/markets/trades", account=None, query={"limit": "2"})[1]
    place(ex, "bob", "ask", "0.50", 1), place(ex, "carol", "bid", "0.50", 1)
    more = rest(ex, "GET", "/markets/trades", account=None, query={"limit": "2", "cursor": trades["cursor"]})[1]
    assert [t["trade_id"] for t in trades["trades"] + more["trades"]] == [t.trade_id for t in ex.trades[2::-1]]
    for ticker in ("KXM-0", "KXM-1"):
        ex.place_order("bob", _req(ticker, "ask"))
        ex.place_order("alice", _req(ticker, "bid"))
        ex.determine_market(ticker, "yes")
        ex.settle_market(ticker)
    first = rest(ex, "GET", "/portfolio/settlements", query={"limit": "1"})[1]
    second = rest(ex, "GET", "/portfolio/settlements", query={"limit": "1", "cursor": first["cursor"]})[1]
    assert [s["ticker"] for s in first["settlements"] + second["settlements"]] == ["KXM-1", "KXM-0"]
    assert second["cursor"] == ""
    assert rest(ex, "GET", "/portfolio/settlements", query={"cursor": "5"})[0] == 400  # not an offset


def _req(ticker, side):
    from simex import OrderRequest

    return OrderRequest(ticker, side, D("0.50"), D(1))


# ----- 4. amend and create replies report only the request's own fills (amend-order-v2.md) -----
def test_amend_reply_counts_only_fills_the_amend_caused(ex):
    place(ex, "bob", "ask", "0.50", 3)
    status, created = rest(ex, "POST", "/portfolio/events/orders", order_body("bid", "0.50", "10"))
    assert status == 201 and created["fill_count"] == "3.00" and created["average_fill_price"] == "0.500000"
    amend = {"ticker": TICKER, "side": "bid", "price": "0.51", "count": "10"}
    status, reply = rest(ex, "POST", f"/portfolio/events/orders/{created['order_id']}/amend", amend)
    assert status == 200 and reply["fill_count"] == "0.00" and reply["remaining_count"] == "7.00"
    assert "average_fill_price" not in reply and "average_fee_paid" not in reply
    place(ex, "carol", "ask", "0.54", 2)
    amend = {"ticker": TICKER, "side": "bid", "price": "0.54", "count": "10"}
    status, reply = rest(ex, "POST", f"/portfolio/events/orders/{created['order_id']}/amend", amend)
    assert reply["fill_count"] == "2.00" and reply["remaining_count"] == "5.00"
    assert reply["average_fill_price"] == "0.540000"
    amend_fees = sum(f.fee for f in ex.fills if f.order_id == created["order_id"] and f.price == D("0.54"))
    assert D(reply["average_fee_paid"]) == amend_fees / 2 != ex.orders[created["order_id"]].fees / 5


# ----- 5. batch size scales with the tier's write budget (batch-*-orders-v2.md, rate_limits.md) -----
def test_premier_accepts_a_25_order_batch(clock):
    ex = _exchange(clock, tier="premier")
    status, body = rest(ex, "POST", "/portfolio/events/orders/batched",
                        {"orders": [order_body("bid", "0.30", "1") for _ in range(25)]})
    assert status == 201 and len(body["orders"]) == 25 and all("error" not in o for o in body["orders"])


def test_an_oversized_batch_is_refused_before_it_costs_tokens(clock):
    ex = _exchange(clock, tier="basic")  # write bucket 100: 10 creates or 50 cancels
    status, body = rest(ex, "POST", "/portfolio/events/orders/batched",
                        {"orders": [order_body("bid", "0.30", "1") for _ in range(11)]})
    assert status == 400 and body["error"]["code"] == "bad_request"
    assert ex.limiter("alice").buckets["write"].level(clock.ns) == 100 and ex.orders == {}
    status, body = rest(ex, "DELETE", "/portfolio/events/orders/batched",
                        {"orders": [{"order_id": f"x{i}"} for i in range(51)]})
    assert status == 400 and ex.limiter("alice").buckets["write"].level(clock.ns) == 100
    status, body = rest(ex, "DELETE", "/portfolio/events/orders/batched",
                        {"orders": [{"order_id": f"x{i}"} for i in range(50)]})
    assert status == 200 and ex.limiter("alice").buckets["write"].level(clock.ns) == 0


# ----- 6. the fee allowance uses the fee actually charged (kalshi-api.md section 9) -----
def test_fee_multiplier_counts_in_the_collateral_check_so_cash_never_goes_negative(clock):
    ex = _exchange(clock, fee_multiplier=D(2))
    ex.register_account("poor", 500)  # $5.00
    place(ex, "bob", "ask", "0.48", 10)
    try:  # 4.80 + 2 x 0.07 x 10 x 0.48 x 0.52 = 0.3494 of fee > $5.00
        place(ex, "poor", "bid", "0.48", 10)
        raise AssertionError("expected insufficient_balance")
    except ApiError as exc:
        assert exc.code == "insufficient_balance"
    order = place(ex, "poor", "bid", "0.48", 9)
    assert order.filled == 9
    account = ex.accounts["poor"]
    assert account.cash >= 0 and ex.available(account) >= 0


def test_many_small_fills_never_take_the_balance_below_zero(ex):
    """Fee rounding (kalshi-api.md section 9): the per-order accumulator may hold $0.01 before it
    rebates, so four one-contract fills at 0.50 cost 0.08 against ceil(0.07 x 4 x 0.25) = 0.07.
    The allowance covers that cent: $2.07 is refused (it would end at -$0.01), $2.08 is enough."""
    ex.register_account("short", 207)
    ex.register_account("tight", 208)
    for _ in range(4):
        place(ex, "bob", "ask", "0.50", 1)
    try:
        place(ex, "short", "bid", "0.50", 4)
        raise AssertionError("expected insufficient_balance")
    except ApiError as exc:
        assert exc.code == "insufficient_balance"
    order = place(ex, "tight", "bid", "0.50", 4)
    assert order.filled == 4 and order.taker_fees == D("0.08")
    assert ex.available(ex.accounts["tight"]) == 0


# ----- 7. volume_24h_fp is a rolling 24 h window on the exchange clock -----
def test_volume_24h_counts_only_trades_of_the_last_day(ex, clock):
    _go_long(ex, count=7)
    ex.advance(clock.tick(DAY_S - 60))
    _go_long(ex, "carol", count=2)
    market = rest(ex, "GET", f"/markets/{TICKER}", account=None)[1]["market"]
    assert (market["volume_fp"], market["volume_24h_fp"]) == ("9.00", "9.00")
    ex.advance(clock.tick(120))
    market = rest(ex, "GET", f"/markets/{TICKER}", account=None)[1]["market"]
    assert (market["volume_fp"], market["volume_24h_fp"]) == ("9.00", "2.00")
    ex.advance(clock.tick(3 * DAY_S))
    market = rest(ex, "GET", "/markets", account=None)[1]["markets"][0]
    assert (market["volume_fp"], market["volume_24h_fp"]) == ("9.00", "0.00")


# ----- 8. cancels work in a trading pause (maintenance_and_pauses.md, kalshi-api.md section 5) -----
def test_cancels_work_in_a_paused_market_but_place_and_amend_do_not(ex):
    orders = [place(ex, "alice", "bid", f"0.4{i}", 1) for i in range(3)]
    ex.pause_market(TICKER)
    amend = {"ticker": TICKER, "side": "bid", "price": "0.45", "count": "1"}
    assert rest(ex, "POST", f"/portfolio/events/orders/{orders[0].order_id}/amend", amend)[1]["error"]["code"] == \
        "MARKET_INACTIVE"
    assert rest(ex, "POST", "/portfolio/events/orders", order_body())[1]["error"]["code"] == "MARKET_INACTIVE"
    assert rest(ex, "DELETE", f"/portfolio/events/orders/{orders[0].order_id}")[0] == 200
    status, body = rest(ex, "DELETE", "/portfolio/events/orders/batched", {"orders": [{"order_id": orders[1].order_id}]})
    assert status == 200 and body["orders"][0]["reduced_by"] == "1.00"
    status, body = rest(ex, "DELETE", "/portfolio/events/orders")
    assert status == 200 and [o["order_id"] for o in body["orders"]] == [orders[2].order_id]


def test_cancel_after_close_is_still_market_inactive(ex):
    order = place(ex, "alice", "bid", "0.40", 1)
    ex.close_market(TICKER)
    status, body = rest(ex, "DELETE", f"/portfolio/events/orders/{order.order_id}")
    assert status == 400 and body["error"]["code"] == "MARKET_INACTIVE"


# ----- 9. decrease follows the whole-contract rule of create (kalshi-api.md section 3) -----
def test_decrease_rejects_fractional_counts_like_create_does(ex):
    order = place(ex, "alice", "bid", "0.40", 10)
    for body in ({"reduce_by": "0.5"}, {"reduce_to": "2.5"}):
        status, reply = rest(ex, "POST", f"/portfolio/events/orders/{order.order_id}/decrease", body)
        assert status == 400 and reply["error"]["code"] == "invalid_order"
    assert order.remaining == 10 and ex.markets[TICKER].book.levels("bid") == [(D("0.40"), D(10))]
    assert rest(ex, "POST", f"/portfolio/events/orders/{order.order_id}/decrease", {"reduce_by": "3"})[1][
        "remaining_count"] == "7.00"


# ----- market_id is computed once -----
def test_market_id_is_cached(ex):
    market = ex.markets[TICKER]
    first = market.market_id
    assert market.__dict__["market_id"] == first and market.market_id is first
