"""WebSocket command handling beyond the basics: limits, parameters and error codes of kalshi-api.md 7."""

import pytest
from simex_testkit import TICKER, place
from simex_testkit import WsClient as Client


def error(cmd_id, code, text, **extra):
    return {"id": cmd_id, "type": "error", "msg": {"code": code, "msg": text, **extra}}


@pytest.mark.parametrize("params, code", [
    ({"channels": "trade"}, 1),  # a type the command schema does not allow
    ({"channels": ["trade"], "market_tickers": "KX"}, 1),
    ({"channels": ["orderbook_delta"], "market_tickers": [TICKER], "use_yes_price": "yes"}, 1),
    ({"channels": ["communications"], "shard_factor": 0}, 19),
    ({"channels": ["communications"], "shard_key": 1}, 20),
    ({"channels": ["communications"], "shard_factor": 4, "shard_key": 4}, 21),
    ({"channels": ["communications"], "shard_factor": 101}, 22),
    ({"channels": ["cfbenchmarks_value"]}, 9),  # paid index feeds: access not granted here
    ({"channels": ["pyth_value"]}, 9),
    ({"channels": ["orderbook_delta"], "market_id": "9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1"}, 11),
    ({"channels": ["ticker"], "market_id": "9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1"}, 16),
    ({"channels": ["ticker_v2"]}, 8),  # removed 2026-02-12
])
def test_subscribe_parameter_errors(ex, params, code):
    client = Client(ex)
    client.send(7, "subscribe", params)
    assert client.codes() == [code]


def test_unknown_market_error_names_the_ticker(ex):
    client = Client(ex)
    client.send(3, "subscribe", {"channels": ["trade"], "market_tickers": [TICKER, "NOPE-1"]})
    assert client.take() == [error(3, 16, "Market not found", market_ticker="NOPE-1")]


def test_ticker_channel_accepts_market_ids_and_sends_an_initial_snapshot(ex):
    market_id = ex.markets[TICKER].market_id
    client = Client(ex)
    client.send(1, "subscribe", {"channels": ["ticker"], "market_ids": [market_id], "send_initial_snapshot": True})
    ack, first = client.take()
    assert ack["type"] == "subscribed" and first["type"] == "ticker" and first["msg"]["market_ticker"] == TICKER


def test_skip_ticker_ack_leaves_the_market_list_out_of_ok(ex):
    client = Client(ex)
    client.send(1, "subscribe", {"channels": ["fill"], "market_tickers": [TICKER], "skip_ticker_ack": True})
    client.take()
    client.send(2, "update_subscription", {"sid": 1, "action": "delete_markets", "market_tickers": [TICKER]})
    assert client.take() == [{"id": 2, "sid": 1, "type": "ok"}]


def test_per_subscription_market_limit_is_error_26(ex):
    other = type(ex.markets[TICKER].spec)(ticker="KXB-1", event_ticker="KXB", series_ticker="KXB")
    ex.add_market(other)
    ex.hub.max_markets_per_subscription = 1
    client = Client(ex)
    client.send(1, "subscribe", {"channels": ["trade"], "market_tickers": [TICKER, "KXB-1"]})
    assert client.codes() == [26]
    client.send(2, "subscribe", {"channels": ["trade"], "market_tickers": [TICKER]})
    client.take()
    client.send(3, "update_subscription", {"sid": 1, "action": "add_markets", "market_tickers": ["KXB-1"]})
    assert client.take() == [error(3, 26, "Subscription market limit exceeded")]


def test_command_rate_limit_is_error_27_and_refills_with_time(ex, clock):
    ex.hub.max_commands_per_s = 3
    client = Client(ex)
    for cmd_id in range(1, 6):
        client.send(cmd_id, "list_subscriptions")
    assert [f["type"] for f in client.frames] == ["ok", "ok", "ok", "error", "error"]
    assert client.take()[-1] == error(5, 27, "Too many requests")
    clock.tick(0.34)  # a little over one command's worth of tokens
    client.send(6, "list_subscriptions")
    client.send(7, "list_subscriptions")
    assert [f["type"] for f in client.take()] == ["ok", "error"]


def test_slow_reader_loses_its_subscription_with_error_25(ex):
    backlog = [0]
    client = Client(ex)
    client.session.backlog = lambda: backlog[0]
    ex.hub.max_backlog_frames = 100
    client.send(1, "subscribe", {"channels": ["orderbook_delta"], "market_tickers": [TICKER]})
    client.send(2, "subscribe", {"channels": ["user_orders"]})
    client.take()
    backlog[0] = 100  # the transport has 100 frames it could not write yet
    place(ex, "alice", "bid", "0.40", 1)
    frames = client.take()
    assert frames == [{"id": 0, "type": "error", "sid": 1, "msg": {"code": 25, "msg": "Subscription buffer overflow"}},
                      {"id": 0, "type": "error", "sid": 2, "msg": {"code": 25, "msg": "Subscription buffer overflow"}}]
    backlog[0] = 0
    place(ex, "alice", "bid", "0.41", 1)
    assert client.frames == []  # both subscriptions are gone: the client must resubscribe


def test_order_group_updates_are_sequenced_and_private(ex, clock):
    mine, theirs = Client(ex, "alice"), Client(ex, "bob")
    for client in (mine, theirs):
        client.send(1, "subscribe", {"channels": ["order_group_updates"]})
        client.take()
    for event in ("created", "triggered"):
        ex.hub.order_group_update("alice", {"event_type": event, "order_group_id": "og_1", "ts_ms": 1})
    assert [(f["type"], f["seq"], f["msg"]["event_type"]) for f in mine.take()] == [
        ("order_group_updates", 1, "created"), ("order_group_updates", 2, "triggered")]
    assert theirs.frames == []


def test_unauthenticated_session_gets_public_channels_only(ex):
    client = Client(ex, None)
    client.send(1, "subscribe", {"channels": ["orderbook_delta"], "market_tickers": [TICKER]})
    client.send(2, "subscribe", {"channels": ["ticker", "trade", "market_lifecycle_v2"]})
    frames = client.take()
    assert frames[0] == error(1, 9, "Authentication required")
    assert [f["msg"]["channel"] for f in frames[1:]] == ["ticker", "trade", "market_lifecycle_v2"]


def test_unsubscribe_reports_each_unknown_sid_and_acks_the_rest(ex):
    client = Client(ex)
    client.send(1, "subscribe", {"channels": ["trade"]})
    client.take()
    client.send(2, "unsubscribe", {"sids": [1, 9]})
    assert client.take() == [{"id": 2, "sid": 1, "seq": 1, "type": "unsubscribed"},
                             error(2, 7, "Unknown subscription ID")]


@pytest.mark.parametrize("raw", [
    "[]", "null", '{"id": -1, "cmd": "list_subscriptions"}', '{"id": 1, "cmd": "subscribe", "params": []}',
    '{"id": 1, "cmd": "update_subscription", "params": {"sid": "1", "action": "add_markets"}}',
    "[" * 5000,  # deeply nested: the parser gives up, the session does not
])
def test_garbage_gets_error_1_and_the_session_survives(ex, raw):
    client = Client(ex)
    client.session.receive(raw)
    assert client.codes() == [1]
    client.send(2, "list_subscriptions")
    assert client.take() == [{"id": 2, "type": "ok", "msg": []}]
