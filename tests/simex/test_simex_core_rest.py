"""REST reads added for the full surface: filters, multiple books, candles, events, series,
schedule, queue positions."""

from decimal import Decimal

import pytest
from simex_testkit import QUIET_SPEC, START_NS, TICKER, place, rest

from simex import Exchange, MarketSpec

D = Decimal
S = 1_000_000_000


@pytest.fixture
def many(clock):
    """Five markets in two events of two series; alice with $1,000."""
    ex = Exchange(now_ns=clock)
    for i in range(5):
        series = "KXA" if i < 3 else "KXB"
        ex.add_market(MarketSpec(ticker=f"{series}-E{i % 2}-M{i}", event_ticker=f"{series}-E{i % 2}",
                                 series_ticker=series, category="Sports" if series == "KXB" else "Economics",
                                 close_offset_s=3600 * (i + 1)))
    ex.register_account("alice", 100_000)
    return ex


def test_markets_paginate_to_an_empty_final_cursor(many):
    seen, cursor = [], ""
    while True:
        body = rest(many, "GET", "/markets", query={"limit": "2", "cursor": cursor})[1]
        seen += [m["ticker"] for m in body["markets"]]
        cursor = body["cursor"]
        if cursor == "":
            break
    assert seen == list(many.markets)


def test_markets_filter_by_close_time_window_and_tickers(many):
    start_s = START_NS // S
    body = rest(many, "GET", "/markets", query={"min_close_ts": str(start_s + 3 * 3600),
                                                "max_close_ts": str(start_s + 4 * 3600)})[1]
    assert [m["ticker"] for m in body["markets"]] == ["KXA-E0-M2", "KXB-E1-M3"]
    body = rest(many, "GET", "/markets", query={"tickers": "KXB-E0-M4,KXA-E1-M1"})[1]
    assert [m["ticker"] for m in body["markets"]] == ["KXA-E1-M1", "KXB-E0-M4"]
    assert rest(many, "GET", "/markets", query={"mve_filter": "only"})[1]["markets"] == []
    assert rest(many, "GET", "/markets", query={"min_settled_ts": "0"})[1]["markets"] == []
    assert rest(many, "GET", "/markets", query={"max_close_ts": "soon"})[0] == 400


def test_multiple_orderbooks_come_back_per_ticker(ex):
    place(ex, "alice", "bid", "0.40", 3)
    place(ex, "bob", "ask", "0.45", 2)
    status, body = rest(ex, "GET", "/markets/orderbooks", account=None, query={"tickers": [TICKER]})
    assert status == 200
    assert body == {"orderbooks": [{"ticker": TICKER, "orderbook_fp": {
        "yes_dollars": [["0.4000", "3.00"]], "no_dollars": [["0.5500", "2.00"]]}}]}
    assert rest(ex, "GET", "/markets/orderbooks", query={})[0] == 400


def test_orderbook_depth_keeps_the_best_levels(ex):
    for price in ("0.30", "0.31", "0.32"):
        place(ex, "alice", "bid", price, 1)
    body = rest(ex, "GET", f"/markets/{TICKER}/orderbook", query={"depth": "2"})[1]
    assert body["orderbook_fp"]["yes_dollars"] == [["0.3100", "1.00"], ["0.3200", "1.00"]]


def test_minute_candles_show_quotes_trades_and_carry_forward(ex, clock):
    place(ex, "alice", "bid", "0.40", 5)
    place(ex, "bob", "ask", "0.45", 5)
    ex.handle_rest("GET", "/trade-api/v2/exchange/status", {}, None, None)  # publish the touch
    clock.tick(60)
    place(ex, "carol", "bid", "0.45", 2)  # trades 2 @ 0.45
    ex.handle_rest("GET", "/trade-api/v2/exchange/status", {}, None, None)
    clock.tick(120)
    start = START_NS // S
    status, body = rest(ex, "GET", f"/series/{QUIET_SPEC.series_ticker}/markets/{TICKER}/candlesticks",
                        query={"start_ts": str(start), "end_ts": str(start + 180), "period_interval": "1"})
    assert status == 200 and body["ticker"] == TICKER
    first, second, third = body["candlesticks"]
    assert first["end_period_ts"] % 60 == 0 and first["yes_bid"]["close_dollars"] == "0.4000"
    assert first["yes_ask"]["close_dollars"] == "0.4500" and first["price"] == {}
    assert second["price"]["close_dollars"] == "0.4500" and second["volume_fp"] == "2.00"
    assert third["volume_fp"] == "0.00" and third["yes_ask"]["open_dollars"] == "0.4500"
    assert third["price"] == {"previous_dollars": "0.4500"}
    hourly = rest(ex, "GET", "/markets/candlesticks", query={
        "market_tickers": TICKER, "start_ts": str(start), "end_ts": str(start + 3600), "period_interval": "60"})[1]
    (only,) = hourly["markets"][0]["candlesticks"]
    assert only["volume_fp"] == "2.00" and only["price"]["high_dollars"] == "0.4500"
    # the hour opens on the empty book of listing (bid $0) and closes on alice's 0.40
    assert (only["yes_bid"]["open_dollars"], only["yes_bid"]["high_dollars"]) == ("0.0000", "0.4000")


def test_candles_reject_bad_periods_and_unknown_series(ex):
    query = {"start_ts": "0", "end_ts": "10", "period_interval": "5"}
    assert rest(ex, "GET", f"/series/{QUIET_SPEC.series_ticker}/markets/{TICKER}/candlesticks", query=query)[0] == 400
    query["period_interval"] = "1"
    assert rest(ex, "GET", f"/series/OTHER/markets/{TICKER}/candlesticks", query=query)[0] == 404
    assert rest(ex, "GET", f"/series/{QUIET_SPEC.series_ticker}/markets/{TICKER}/candlesticks",
                query={"end_ts": "10", "period_interval": "1"})[0] == 400


def test_events_list_groups_markets_and_nests_them_on_request(many):
    body = rest(many, "GET", "/events")[1]
    assert [e["event_ticker"] for e in body["events"]] == ["KXA-E0", "KXA-E1", "KXB-E1", "KXB-E0"]
    assert body["cursor"] == "" and "markets" not in body["events"][0]
    body = rest(many, "GET", "/events", query={"series_ticker": "KXA", "with_nested_markets": "true"})[1]
    assert [[m["ticker"] for m in e["markets"]] for e in body["events"]] == [["KXA-E0-M0", "KXA-E0-M2"], ["KXA-E1-M1"]]
    single = rest(many, "GET", "/events/KXB-E1", query={"with_nested_markets": "true"})[1]
    assert single["event"]["markets"] == single["markets"]


def test_series_list_reports_fee_type_and_filters_by_category(many):
    body = rest(many, "GET", "/series")[1]
    assert [(s["ticker"], s["fee_type"]) for s in body["series"]] == [("KXA", "quadratic"), ("KXB", "quadratic")]
    assert [s["ticker"] for s in rest(many, "GET", "/series", query={"category": "Sports"})[1]["series"]] == ["KXB"]


def test_exchange_schedule_and_user_data_timestamp(ex):
    schedule = rest(ex, "GET", "/exchange/schedule", account=None)[1]["schedule"]
    assert schedule["maintenance_windows"] == []
    assert schedule["standard_hours"][0]["thursday"] == [{"open_time": "00:00", "close_time": "24:00"}]
    assert rest(ex, "GET", "/exchange/user_data_timestamp")[1] == {"as_of_time": "2026-11-18T11:06:40Z"}


def test_queue_position_counts_contracts_ahead_at_the_same_price(ex, clock):
    place(ex, "bob", "bid", "0.40", 7)
    clock.tick(1)
    mine = place(ex, "alice", "bid", "0.40", 3)
    other = place(ex, "alice", "bid", "0.39", 3)
    assert rest(ex, "GET", f"/portfolio/orders/{mine.order_id}/queue_position")[1] == {"queue_position_fp": "7.00"}
    body = rest(ex, "GET", "/portfolio/orders/queue_positions", query={"market_tickers": TICKER})[1]
    assert body == {"queue_positions": [
        {"order_id": mine.order_id, "market_ticker": TICKER, "queue_position_fp": "7.00"},
        {"order_id": other.order_id, "market_ticker": TICKER, "queue_position_fp": "0.00"}]}
    assert rest(ex, "GET", f"/portfolio/orders/{mine.order_id}/queue_position", account="bob")[0] == 404
