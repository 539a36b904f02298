"""REST routes: shapes with today's field names, pagination, and error bodies."""

import json

import pytest
from simex_testkit import PREFIX, QUIET_SPEC, TICKER, order_body, place, rest

MARKET_REQUIRED = {
    "ticker", "event_ticker", "market_type", "yes_sub_title", "no_sub_title", "created_time", "updated_time",
    "open_time", "close_time", "latest_expiration_time", "settlement_timer_seconds", "status",
    "notional_value_dollars", "yes_bid_dollars", "yes_ask_dollars", "no_bid_dollars", "no_ask_dollars",
    "yes_bid_size_fp", "yes_ask_size_fp", "last_price_dollars", "previous_yes_bid_dollars",
    "previous_yes_ask_dollars", "previous_price_dollars", "volume_fp", "volume_24h_fp", "open_interest_fp",
    "result", "can_close_early", "expiration_value", "rules_primary", "rules_secondary",
    "price_level_structure", "price_ranges",
}
ORDER_REQUIRED = {
    "order_id", "user_id", "client_order_id", "ticker", "outcome_side", "book_side", "type", "status",
    "yes_price_dollars", "no_price_dollars", "fill_count_fp", "remaining_count_fp", "initial_count_fp",
    "taker_fees_dollars", "maker_fees_dollars", "taker_fill_cost_dollars", "maker_fill_cost_dollars",
}
FILL_REQUIRED = {
    "fill_id", "exchange_index", "trade_id", "order_id", "ticker", "market_ticker", "outcome_side", "book_side",
    "count_fp", "yes_price_dollars", "no_price_dollars", "is_taker", "fee_cost",
}
LEGACY_INTEGER_FIELDS = {
    "yes_price", "no_price", "count", "fill_count", "remaining_count", "initial_count", "taker_fees",
    "maker_fees", "taker_fill_cost", "maker_fill_cost", "queue_position", "yes_bid", "yes_ask", "no_bid",
    "no_ask", "last_price", "volume", "open_interest", "position", "tick_size",
}


def create(ex, account="alice", **fields):
    return rest(ex, "POST", "/portfolio/events/orders", order_body(**fields), account)


# ----- market data -----
def test_exchange_status_is_active(ex):
    status, body = rest(ex, "GET", "/exchange/status", account=None)
    assert status == 200 and (body["exchange_active"], body["trading_active"]) == (True, True)
    assert [(s["exchange_index"], s["exchange_active"], s["trading_active"]) for s in body["exchange_index_statuses"]] == [
        (0, True, True)]  # the full shape is checked against Kalshi's schema in test_simex_conformance_rest


def test_market_uses_todays_field_names_only(ex):
    status, body = rest(ex, "GET", f"/markets/{TICKER}", account=None)
    assert status == 200
    market = body["market"]
    assert MARKET_REQUIRED <= set(market)
    assert not LEGACY_INTEGER_FIELDS & set(market)
    assert market["status"] == "active" and market["created_time"].endswith("Z")
    assert market["price_ranges"] == [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}]


def test_markets_filters_and_paginates_with_empty_final_cursor(ex):
    for i in range(3):
        ex.add_market(type(QUIET_SPEC)(ticker=f"KXOTHER-26DEC31-T{i}", event_ticker="KXOTHER-26DEC31",
                                        series_ticker="KXOTHER"))
    status, page1 = rest(ex, "GET", "/markets", account=None, query={"limit": ["2"], "status": ["open"]})
    assert status == 200 and len(page1["markets"]) == 2 and page1["cursor"]
    _, page2 = rest(ex, "GET", "/markets", account=None, query={"limit": ["2"], "cursor": [page1["cursor"]]})
    assert len(page2["markets"]) == 2 and page2["cursor"] == ""
    _, by_series = rest(ex, "GET", "/markets", account=None, query={"series_ticker": "KXOTHER"})
    assert len(by_series["markets"]) == 3
    _, by_tickers = rest(ex, "GET", "/markets", account=None, query={"tickers": f"{TICKER},KXOTHER-26DEC31-T1"})
    assert [m["ticker"] for m in by_tickers["markets"]] == [TICKER, "KXOTHER-26DEC31-T1"]
    _, closed = rest(ex, "GET", "/markets", account=None, query={"status": "closed"})
    assert closed["markets"] == []


def test_orderbook_lists_yes_and_no_bids_ascending_with_depth(ex):
    for price in ("0.38", "0.40", "0.39"):
        place(ex, "alice", "bid", price, 5)
    place(ex, "bob", "ask", "0.45", 2)
    place(ex, "bob", "ask", "0.43", 3)
    status, body = rest(ex, "GET", f"/markets/{TICKER}/orderbook", account=None)
    assert status == 200
    assert body["orderbook_fp"]["yes_dollars"] == [["0.3800", "5.00"], ["0.3900", "5.00"], ["0.4000", "5.00"]]
    assert body["orderbook_fp"]["no_dollars"] == [["0.5500", "2.00"], ["0.5700", "3.00"]]  # 1 - ask
    _, top = rest(ex, "GET", f"/markets/{TICKER}/orderbook", account=None, query={"depth": "1"})
    assert top["orderbook_fp"] == {"yes_dollars": [["0.4000", "5.00"]], "no_dollars": [["0.5700", "3.00"]]}


def test_trades_newest_first_with_taker_sides(ex, clock):
    place(ex, "alice", "ask", "0.45", 5)
    place(ex, "bob", "bid", "0.45", 2)
    clock.tick(1)
    place(ex, "bob", "bid", "0.45", 1)
    status, body = rest(ex, "GET", "/markets/trades", account=None, query={"ticker": TICKER})
    assert status == 200 and [t["count_fp"] for t in body["trades"]] == ["1.00", "2.00"]
    trade = body["trades"][0]
    assert trade["yes_price_dollars"] == "0.4500" and trade["no_price_dollars"] == "0.5500"
    assert trade["taker_book_side"] == "bid" and trade["taker_outcome_side"] == "yes"
    assert body["cursor"] == ""


def test_series_and_event_lookups(ex):
    status, body = rest(ex, "GET", f"/series/{QUIET_SPEC.series_ticker}", account=None)
    assert status == 200 and body["series"]["fee_type"] == "quadratic"
    status, body = rest(ex, "GET", f"/events/{QUIET_SPEC.event_ticker}", account=None)
    assert status == 200 and body["event"]["series_ticker"] == QUIET_SPEC.series_ticker
    assert [m["ticker"] for m in body["markets"]] == [TICKER]
    assert rest(ex, "GET", "/series/NOPE", account=None)[0] == 404


# ----- V2 orders -----
def test_create_returns_201_with_the_thin_v2_reply(ex):
    status, body = create(ex, client_order_id="c1")
    assert status == 201
    assert set(body) == {"order_id", "client_order_id", "fill_count", "remaining_count", "ts_ms"}
    assert (body["client_order_id"], body["fill_count"], body["remaining_count"]) == ("c1", "0.00", "10.00")


def test_create_that_fills_reports_average_price_and_fee(ex):
    place(ex, "bob", "ask", "0.40", 4)
    place(ex, "bob", "ask", "0.42", 6)
    status, body = create(ex, side="bid", price="0.45", count="10")
    assert status == 201 and body["fill_count"] == "10.00" and body["remaining_count"] == "0.00"
    assert body["average_fill_price"] == "0.412000"
    # trade fees 0.0672 + 0.1024 (centicent); charged 0.07, then 0.11 - 0.01 rebate (fee rounding)
    assert body["average_fee_paid"] == "0.017000"


def test_order_read_back_uses_todays_fields(ex):
    _, created = create(ex, side="ask", price="0.60", count="3", client_order_id="mine")
    status, body = rest(ex, "GET", f"/portfolio/orders/{created['order_id']}")
    order = body["order"]
    assert status == 200 and ORDER_REQUIRED <= set(order) and not LEGACY_INTEGER_FIELDS & set(order)
    assert (order["book_side"], order["outcome_side"], order["status"]) == ("ask", "no", "resting")
    assert (order["yes_price_dollars"], order["no_price_dollars"]) == ("0.6000", "0.4000")
    assert order["remaining_count_fp"] == "3.00" and order["created_time"].endswith("Z")


def test_duplicate_live_client_order_id_is_409(ex):
    assert create(ex, client_order_id="dup")[0] == 201
    status, body = create(ex, client_order_id="dup")
    assert status == 409 and body["error"]["code"] == "order_already_exists"


def test_client_order_id_is_reusable_once_the_order_is_done(ex):
    _, created = create(ex, client_order_id="again")
    rest(ex, "DELETE", f"/portfolio/events/orders/{created['order_id']}")
    assert create(ex, client_order_id="again")[0] == 201


@pytest.mark.parametrize("overrides", [
    {"price": "0.405"},  # off the cent grid
    {"price": "1.00"},  # out of range
    {"price": "0.00"},
    {"price": 0.4},  # JSON number, not a dollar string
    {"price": "abc"},
    {"count": "0"},
    {"count": "1.5"},  # fractional contracts are not enabled here
    {"side": "buy"},
    {"time_in_force": "day"},
    {"self_trade_prevention_type": "none"},
    {"post_only": "yes"},
    {"ticker": 5},
])
def test_bad_order_fields_are_400_with_error_body(ex, overrides):
    status, body = create(ex, **overrides)
    assert status == 400
    assert set(body["error"]) >= {"code", "message"}


def test_missing_required_field_is_400_missing_parameters(ex):
    body = order_body()
    del body["time_in_force"]
    status, reply = rest(ex, "POST", "/portfolio/events/orders", body)
    assert status == 400 and reply["error"]["code"] == "missing_parameters"


def test_non_object_body_is_400(ex):
    assert rest(ex, "POST", "/portfolio/events/orders", ["not", "an", "object"])[0] == 400


def test_malformed_json_is_400_bad_request(ex):
    status, body = ex.handle_rest_raw("POST", PREFIX + "/portfolio/events/orders", {}, b"{nope", "alice")
    assert status == 400 and body["code"] == "bad_request"


def test_unknown_market_and_unknown_path_are_404(ex):
    assert create(ex)[0] == 201
    assert create(ex, ticker="NOPE")[0] == 404
    status, body = rest(ex, "GET", "/no/such/route")
    assert status == 404 and body["error"]["code"] == "not_found"
    assert ex.handle_rest("GET", "/elsewhere", {}, None, None)[0] == 404


def test_portfolio_without_auth_is_401(ex):
    status, body = rest(ex, "GET", "/portfolio/balance", account=None)
    assert status == 401 and body["error"]["code"] == "unauthorized"


def test_someone_elses_order_is_not_found(ex):
    _, created = create(ex)
    assert rest(ex, "GET", f"/portfolio/orders/{created['order_id']}", account="bob")[0] == 404
    assert rest(ex, "DELETE", f"/portfolio/events/orders/{created['order_id']}", account="bob")[0] == 404


def test_legacy_v1_mutations_ask_to_switch_to_v2(ex):
    for method, path in (("POST", "/portfolio/orders"), ("DELETE", "/portfolio/orders/abc"),
                         ("POST", "/portfolio/orders/abc/amend"), ("POST", "/portfolio/orders/abc/decrease"),
                         ("POST", "/portfolio/orders/batched"), ("DELETE", "/portfolio/orders/batched")):
        status, body = rest(ex, method, path, {})
        assert status == 400 and body["error"]["message"] == "Please switch to the V2 endpoints", path


def test_cancel_reply_reports_reduced_by(ex):
    _, created = create(ex, count="7", client_order_id="c7")
    status, body = rest(ex, "DELETE", f"/portfolio/events/orders/{created['order_id']}")
    assert status == 200
    assert {k: body[k] for k in ("order_id", "client_order_id", "reduced_by")} == {
        "order_id": created["order_id"], "client_order_id": "c7", "reduced_by": "7.00"}
    assert rest(ex, "DELETE", f"/portfolio/events/orders/{created['order_id']}")[0] == 400


def test_amend_and_decrease_endpoints(ex):
    _, created = create(ex, count="10", client_order_id="a1")
    oid = created["order_id"]
    status, body = rest(ex, "POST", f"/portfolio/events/orders/{oid}/amend",
                        {"ticker": TICKER, "side": "bid", "price": "0.41", "count": "12",
                         "client_order_id": "a1", "updated_client_order_id": "a2"})
    assert status == 200 and body["remaining_count"] == "12.00" and body["client_order_id"] == "a2"
    status, body = rest(ex, "POST", f"/portfolio/events/orders/{oid}/decrease", {"reduce_by": "5"})
    assert status == 200 and body["remaining_count"] == "7.00"
    assert rest(ex, "POST", f"/portfolio/events/orders/{oid}/decrease", {})[0] == 400
    _, order = rest(ex, "GET", f"/portfolio/orders/{oid}")
    assert order["order"]["yes_price_dollars"] == "0.4100" and order["order"]["client_order_id"] == "a2"


def test_batch_create_reports_errors_per_item(ex):
    body = {"orders": [order_body(client_order_id="b1"), order_body(price="0.999"), order_body(client_order_id="b1")]}
    status, reply = rest(ex, "POST", "/portfolio/events/orders/batched", body)
    assert status == 201
    first, second, third = reply["orders"]
    assert "order_id" in first and "error" not in first
    assert second["error"]["code"] == "invalid_order"  # off the cent grid
    assert third["error"]["code"] == "order_already_exists" and third["client_order_id"] == "b1"


def test_batch_cancel_and_cancel_all(ex):
    ids = [create(ex, price=p)[1]["order_id"] for p in ("0.30", "0.31", "0.32")]
    status, reply = rest(ex, "DELETE", "/portfolio/events/orders/batched",
                         {"orders": [{"order_id": ids[0]}, {"order_id": "missing"}]})
    assert status == 200
    assert reply["orders"][0]["reduced_by"] == "10.00"
    assert reply["orders"][1]["reduced_by"] == "0.00" and reply["orders"][1]["error"]["code"] == "not_found"
    status, reply = rest(ex, "DELETE", "/portfolio/events/orders")
    assert status == 200 and [o["order_id"] for o in reply["orders"]] == ids[1:]
    assert ex.markets[TICKER].book.levels("bid") == []


# ----- portfolio reads -----
def test_orders_filter_by_status_and_paginate(ex):
    ids = [create(ex, price=p)[1]["order_id"] for p in ("0.30", "0.31", "0.32")]
    rest(ex, "DELETE", f"/portfolio/events/orders/{ids[0]}")
    _, resting = rest(ex, "GET", "/portfolio/orders", query={"status": ["resting"]})
    assert [o["order_id"] for o in resting["orders"]] == [ids[2], ids[1]]  # newest first
    _, page1 = rest(ex, "GET", "/portfolio/orders", query={"limit": ["2"]})
    _, page2 = rest(ex, "GET", "/portfolio/orders", query={"limit": ["2"], "cursor": [page1["cursor"]]})
    assert [o["order_id"] for o in page1["orders"] + page2["orders"]] == ids[::-1]
    assert page2["cursor"] == ""
    assert rest(ex, "GET", "/portfolio/orders", query={"status": ["open"]})[0] == 400
    assert rest(ex, "GET", "/portfolio/orders", query={"cursor": ["zzz"]})[0] == 400
    assert rest(ex, "GET", "/portfolio/orders", query={"limit": ["0"]})[0] == 400


def test_fills_have_todays_shape_and_filter_by_order(ex, clock):
    place(ex, "bob", "ask", "0.40", 3)
    _, created = create(ex, side="bid", price="0.40", count="2")
    status, body = rest(ex, "GET", "/portfolio/fills", query={"order_id": created["order_id"]})
    (fill,) = body["fills"]
    assert status == 200 and FILL_REQUIRED <= set(fill) and not LEGACY_INTEGER_FIELDS & set(fill)
    assert (fill["is_taker"], fill["count_fp"], fill["fee_cost"], fill["book_side"]) == (True, "2.00", "0.040000", "bid")
    now_s = clock.ns // 1_000_000_000
    _, later = rest(ex, "GET", "/portfolio/fills", query={"min_ts": str(now_s + 1)})
    assert later["fills"] == []


def test_settlements_list_is_empty_with_empty_cursor(ex):
    assert rest(ex, "GET", "/portfolio/settlements") == (200, {"settlements": [], "cursor": ""})


def test_rest_replies_are_json_serialisable(ex):
    place(ex, "bob", "ask", "0.40", 3)
    create(ex, side="bid", price="0.40", count="2")
    for path in ("/portfolio/orders", "/portfolio/fills", "/portfolio/positions", "/portfolio/balance",
                 f"/markets/{TICKER}", "/markets/trades"):
        json.dumps(rest(ex, "GET", path)[1])


def test_closed_market_rejects_orders_with_market_inactive(ex, clock):
    _, created = create(ex)
    ex.advance(clock.tick(QUIET_SPEC.close_offset_s + 1))
    status, body = create(ex)
    assert status == 400 and body["error"]["code"] == "MARKET_INACTIVE"
    _, order = rest(ex, "GET", f"/portfolio/orders/{created['order_id']}")
    assert order["order"]["status"] == "canceled"
    assert rest(ex, "GET", f"/markets/{TICKER}", account=None)[1]["market"]["status"] == "closed"
