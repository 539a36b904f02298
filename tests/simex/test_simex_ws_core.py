"""WebSocket sessions against the sans-IO core: commands, channels, sequencing, errors."""

import json

import pytest
from simex_testkit import TICKER, place
from simex_testkit import WsClient as Client


def test_orderbook_subscribe_sends_ack_then_snapshot_then_sequenced_deltas(ex):
    place(ex, "bob", "bid", "0.40", 5)
    place(ex, "bob", "ask", "0.45", 3)
    client = Client(ex)
    client.send(1, "subscribe", {"channels": ["orderbook_delta"], "market_tickers": [TICKER]})
    ack, snapshot = client.take()
    assert ack == {"id": 1, "type": "subscribed", "msg": {"channel": "orderbook_delta", "sid": 1}}
    assert snapshot["type"] == "orderbook_snapshot" and snapshot["seq"] == 1
    assert snapshot["msg"]["yes_dollars_fp"] == [["0.4000", "5.00"]]
    assert snapshot["msg"]["no_dollars_fp"] == [["0.5500", "3.00"]]
    place(ex, "bob", "bid", "0.41", 2)
    place(ex, "carol", "ask", "0.40", 4)  # hits 2 @ 0.41 and 2 @ 0.40
    deltas = client.of_type("orderbook_delta")
    assert [d["seq"] for d in deltas] == [2, 3, 4]
    assert [(d["msg"]["side"], d["msg"]["price_dollars"], d["msg"]["delta_fp"]) for d in deltas] == [
        ("yes", "0.4100", "2.00"), ("yes", "0.4100", "-2.00"), ("yes", "0.4000", "-2.00")]


def test_use_yes_price_reports_no_levels_on_the_yes_scale(ex):
    place(ex, "bob", "ask", "0.45", 3)
    client = Client(ex)
    client.send(1, "subscribe", {"channels": ["orderbook_delta"], "market_ticker": TICKER, "use_yes_price": True})
    snapshot = client.of_type("orderbook_snapshot")[0]
    assert snapshot["msg"]["no_dollars_fp"] == [["0.4500", "3.00"]]
    place(ex, "bob", "ask", "0.47", 1)
    assert client.of_type("orderbook_delta")[0]["msg"]["price_dollars"] == "0.4700"


def test_own_order_deltas_carry_client_order_id_only_for_the_owner(ex):
    mine, theirs = Client(ex, "alice"), Client(ex, "bob")
    for client in (mine, theirs):
        client.send(1, "subscribe", {"channels": ["orderbook_delta"], "market_tickers": [TICKER]})
    place(ex, "alice", "bid", "0.40", 5, client_order_id="my-coid")
    assert mine.of_type("orderbook_delta")[0]["msg"]["client_order_id"] == "my-coid"
    assert "client_order_id" not in theirs.of_type("orderbook_delta")[0]["msg"]


def test_fill_and_user_order_frames_for_each_execution_of_our_order(ex):
    client = Client(ex, "alice")
    client.send(1, "subscribe", {"channels": ["fill", "user_orders", "market_positions"]})
    client.take()
    order = place(ex, "alice", "bid", "0.40", 5, client_order_id="c-1")
    place(ex, "bob", "ask", "0.40", 2)
    place(ex, "bob", "ask", "0.40", 3)
    fills = client.of_type("fill")
    assert [f["msg"]["count_fp"] for f in fills] == ["2.00", "3.00"]
    assert fills[0]["msg"]["order_id"] == order.order_id and fills[0]["msg"]["client_order_id"] == "c-1"
    assert fills[0]["msg"]["is_taker"] is False and fills[1]["msg"]["post_position_fp"] == "5.00"
    assert all("seq" not in f for f in fills)
    updates = [f["msg"] for f in client.of_type("user_order")]
    assert [(u["status"], u["remaining_count_fp"]) for u in updates] == [
        ("resting", "5.00"), ("resting", "3.00"), ("executed", "0.00")]
    positions = [f["msg"]["position_fp"] for f in client.of_type("market_position")]
    assert positions == ["2.00", "5.00"]


def test_private_channels_do_not_leak_other_accounts(ex):
    client = Client(ex, "carol")
    client.send(1, "subscribe", {"channels": ["fill", "user_orders"]})
    client.take()
    place(ex, "alice", "bid", "0.40", 5)
    place(ex, "bob", "ask", "0.40", 5)
    assert client.frames == []


def test_trade_and_ticker_channels(ex):
    client = Client(ex)
    client.send(1, "subscribe", {"channels": ["trade", "ticker"], "market_tickers": [TICKER]})
    client.take()
    place(ex, "alice", "ask", "0.45", 5)
    ex.handle_rest("GET", "/trade-api/v2/exchange/status", {}, None, None)  # flushes ticker updates
    place(ex, "bob", "bid", "0.45", 2)
    ex.handle_rest("GET", "/trade-api/v2/exchange/status", {}, None, None)
    trades = client.of_type("trade")
    assert len(trades) == 1 and "seq" not in trades[0]  # asyncapi.yaml: trade frames carry no seq
    assert trades[0]["msg"]["taker_book_side"] == "bid" and trades[0]["msg"]["count_fp"] == "2.00"
    tickers = [f["msg"] for f in client.of_type("ticker")]
    assert tickers[-1]["price_dollars"] == "0.4500" and tickers[-1]["volume_fp"] == "2.00"
    assert tickers[-1]["yes_ask_size_fp"] == "3.00"


def test_update_subscription_adds_deletes_and_resnapshots(ex):
    other = type(ex.markets[TICKER].spec)(ticker="KXB-1", event_ticker="KXB", series_ticker="KXB")
    ex.add_market(other)
    client = Client(ex)
    client.send(1, "subscribe", {"channels": ["orderbook_delta"], "market_tickers": [TICKER]})
    client.take()
    client.send(2, "update_subscription", {"sid": 1, "action": "add_markets", "market_tickers": ["KXB-1"]})
    snapshot, ok = client.take()
    assert snapshot["type"] == "orderbook_snapshot" and snapshot["seq"] == 2
    assert ok == {"id": 2, "sid": 1, "seq": 2, "type": "ok", "msg": {"market_tickers": [TICKER, "KXB-1"]}}
    client.send(3, "update_subscription", {"sids": [1], "action": "get_snapshot", "market_tickers": [TICKER]})
    (fresh,) = client.take()
    assert fresh["id"] == 3 and fresh["seq"] == 3 and fresh["type"] == "orderbook_snapshot"
    client.send(4, "update_subscription", {"sid": 1, "action": "delete_markets", "market_tickers": [TICKER]})
    assert client.take()[0]["msg"] == {"market_tickers": ["KXB-1"]}
    place(ex, "bob", "bid", "0.40", 1)
    assert client.frames == []


def test_list_and_unsubscribe(ex):
    client = Client(ex)
    client.send(1, "subscribe", {"channels": ["trade", "fill"]})
    client.take()
    client.send(2, "list_subscriptions")
    assert client.take() == [{"id": 2, "type": "ok", "msg": [{"channel": "trade", "sid": 1}, {"channel": "fill", "sid": 2}]}]
    client.send(3, "unsubscribe", {"sids": [1]})
    # seq echoes the sid's last one; the schema's minimum, 1, for a sid that never sent a sequenced frame
    assert client.take() == [{"id": 3, "sid": 1, "seq": 1, "type": "unsubscribed"}]
    client.send(4, "list_subscriptions")
    assert client.take()[0]["msg"] == [{"channel": "fill", "sid": 2}]


@pytest.mark.parametrize("raw, code", [
    ("{not json", 1),
    (json.dumps({"id": "x", "cmd": "subscribe"}), 1),
    (json.dumps({"id": 1, "cmd": "dance"}), 5),
    (json.dumps({"id": 1, "cmd": "subscribe"}), 2),
    (json.dumps({"id": 1, "cmd": "subscribe", "params": {}}), 3),
    (json.dumps({"id": 1, "cmd": "subscribe", "params": {"channels": ["ticker_v2"]}}), 8),
    (json.dumps({"id": 1, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"]}}), 14),
    (json.dumps({"id": 1, "cmd": "subscribe", "params": {"channels": ["trade"], "market_tickers": ["NOPE"]}}), 16),
    (json.dumps({"id": 1, "cmd": "unsubscribe", "params": {}}), 4),
    (json.dumps({"id": 1, "cmd": "unsubscribe", "params": {"sids": [99]}}), 7),
    (json.dumps({"id": 1, "cmd": "update_subscription", "params": {"action": "add_markets"}}), 12),
    (json.dumps({"id": 1, "cmd": "update_subscription", "params": {"sid": 99, "action": "add_markets"}}), 7),
])
def test_bad_commands_get_error_frames_with_kalshi_codes(ex, raw, code):
    client = Client(ex)
    client.session.receive(raw)
    (frame,) = client.frames
    assert frame["type"] == "error" and frame["msg"]["code"] == code


def test_update_subscription_action_errors(ex):
    client = Client(ex)
    client.send(1, "subscribe", {"channels": ["orderbook_delta"], "market_tickers": [TICKER]})
    client.take()
    client.send(2, "update_subscription", {"sid": 1})
    client.send(3, "update_subscription", {"sid": 1, "action": "rename"})
    client.send(4, "update_subscription", {"sid": 1, "action": "add_markets"})
    assert [(f["id"], f["msg"]["code"]) for f in client.take()] == [(2, 15), (3, 13), (4, 14)]


def test_private_channels_need_an_authenticated_session(ex):
    client = Client(ex, None)
    client.send(1, "subscribe", {"channels": ["fill"]})
    assert client.frames[0]["msg"]["code"] == 9


def test_closed_session_receives_nothing(ex):
    client = Client(ex)
    client.send(1, "subscribe", {"channels": ["trade"]})
    client.session.close()
    client.take()
    place(ex, "alice", "ask", "0.45", 5)
    place(ex, "bob", "bid", "0.45", 2)
    assert client.frames == []
