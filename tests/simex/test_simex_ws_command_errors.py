"""WebSocket command errors of the simulated exchange, as Kalshi documents them: a `cmd` of the
wrong type is a bad-types error (code 1), an unknown command name code 5, and get_snapshot for a
market the subscription does not cover an error without a snapshot."""

from __future__ import annotations

import json

import pytest
from simex_testkit import TICKER
from simex_testkit import WsClient as Client

from simex import MarketSpec


# ----- a `cmd` of the wrong type is a bad-types error, not an internal error -----
@pytest.mark.parametrize("cmd", [[], {"a": 1}, 5, True])
def test_a_non_string_cmd_is_answered_with_code_1(ex, cmd):
    client = Client(ex)
    client.session.receive(json.dumps({"id": 4, "cmd": cmd}))
    assert client.take() == [{"id": 4, "type": "error", "msg": {"code": 1, "msg": "Unable to process message"}}]


def test_an_unknown_command_name_is_still_code_5(ex):
    client = Client(ex)
    client.session.receive(json.dumps({"id": 4, "cmd": "dance"}))
    assert client.take()[0]["msg"]["code"] == 5


# ----- get_snapshot only for markets the subscription covers -----
def test_get_snapshot_for_an_uncovered_market_is_an_error_and_sends_no_snapshot(ex, clock):
    ex.add_market(MarketSpec(ticker="KXOTHER-26DEC31-T1", event_ticker="KXOTHER-26DEC31", series_ticker="KXOTHER"))
    client = Client(ex)
    client.send(1, "subscribe", {"channels": ["orderbook_delta"], "market_ticker": TICKER})
    client.take()
    client.send(2, "update_subscription", {"sid": 1, "market_tickers": [TICKER, "KXOTHER-26DEC31-T1"],
                                           "action": "get_snapshot"})
    assert client.take() == [{"id": 2, "type": "error", "msg": {"code": 11, "msg": "Invalid parameter",
                                                                 "market_ticker": "KXOTHER-26DEC31-T1"}}]
    client.send(3, "update_subscription", {"sid": 1, "market_tickers": [TICKER], "action": "get_snapshot"})
    (snapshot,) = client.take()
    assert snapshot["type"] == "orderbook_snapshot" and snapshot["id"] == 3 and snapshot["seq"] == 2
