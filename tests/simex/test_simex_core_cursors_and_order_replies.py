"""The simulated exchange core on paging and order requests: opaque cursors that neither repeat
nor skip, amend and create replies that count only their own fills, batch sizes bounded by the
tier's write budget, a rolling 24 h volume, cancels that work in a trading pause, and
whole-contract decreases.

Each test cites the Kalshi document it follows (kalshi-api.md in the shared folder beside the
repository, or the page of kalshi-docs/ it names).
"""

from decimal import Decimal

from simex_testkit import QUIET_SPEC, TICKER, order_body, place, rest

from simex import Exchange, MarketSpec

D = Decimal
DAY_S = 86_400


def _exchange(clock, tier=None, **spec) -> Exchange:
    ex = Exchange(now_ns=clock, rate_limit_tier=tier)
    ex.add_market(MarketSpec(ticker=TICKER, event_ticker=QUIET_SPEC.event_ticker,
                             series_ticker=QUIET_SPEC.series_ticker, **spec))
    for name in ("alice", "bob", "carol"):
        ex.register_account(name, 100_000)
    return ex


def _trade(ex, buyer, count):
    place(ex, "bob", "ask", "0.50", count)
    place(ex, buyer, "bid", "0.50", count)


# ----- stable opaque cursors (kalshi-api.md section 3: send the cursor back unchanged) -----
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


# ----- amend and create replies report only the request's own fills (amend-order-v2.md) -----
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


# ----- batch size scales with the tier's write budget (batch-*-orders-v2.md, rate_limits.md) -----
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


# ----- volume_24h_fp is a rolling 24 h window on the exchange clock -----
def test_volume_24h_counts_only_trades_of_the_last_day(ex, clock):
    _trade(ex, "alice", count=7)
    ex.advance(clock.tick(DAY_S - 60))
    _trade(ex, "carol", count=2)
    market = rest(ex, "GET", f"/markets/{TICKER}", account=None)[1]["market"]
    assert (market["volume_fp"], market["volume_24h_fp"]) == ("9.00", "9.00")
    ex.advance(clock.tick(120))
    market = rest(ex, "GET", f"/markets/{TICKER}", account=None)[1]["market"]
    assert (market["volume_fp"], market["volume_24h_fp"]) == ("9.00", "2.00")
    ex.advance(clock.tick(3 * DAY_S))
    market = rest(ex, "GET", "/markets", account=None)[1]["markets"][0]
    assert (market["volume_fp"], market["volume_24h_fp"]) == ("9.00", "0.00")


# ----- cancels work in a trading pause (maintenance_and_pauses.md, kalshi-api.md section 5) -----
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


# ----- decrease follows the whole-contract rule of create (kalshi-api.md section 3) -----
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
