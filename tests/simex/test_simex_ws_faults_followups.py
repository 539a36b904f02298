"""Follow-ups to the simex review: fault bookkeeping (pauses undone by clear, listed by
active, capped counts), tape prints the book cannot carry, WS error codes for bad `cmd`
types and uncovered get_snapshot, and trade times that never go back on a stepped server."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests
from simex_testkit import TICKER, order_body, place, rest
from simex_testkit import WsClient as Client

from simex import BID, Exchange, MarketSpec, OrderRequest, TapeMarketDriver, faults_of
from simex._faults import MAX_FAULT_COUNT
from simex._model import NS_PER_S
from simex._server import SimServer


# ----- 2. clear() undoes a pause; active() shows market faults -----
def test_clear_resumes_a_market_paused_by_a_fault_and_active_listed_it(ex):
    faults = faults_of(ex)
    faults.pause_market(TICKER)
    assert faults.active() == [{"fault": "pause_market", "ticker": TICKER}]
    faults.clear()
    assert ex.markets[TICKER].status == "active"
    assert faults.active() == []
    assert place(ex, "alice", BID, "0.40", 1).status == "resting"  # trading works again


def test_clear_leaves_an_early_close_closed_and_still_listed(ex):
    faults = faults_of(ex)
    faults.close_market_early(TICKER)
    faults.clear()
    assert ex.markets[TICKER].status == "closed"
    assert faults.active() == [{"fault": "close_market_early", "ticker": TICKER}]


def test_a_market_resumed_through_the_fault_api_is_no_longer_listed(ex):
    faults = faults_of(ex)
    faults.pause_market(TICKER)
    faults.resume_market(TICKER)
    assert faults.active() == []


@pytest.mark.parametrize("spec", [
    {"fault": "malformed_frames", "count": MAX_FAULT_COUNT + 1},
    {"fault": "skip_seq", "n": MAX_FAULT_COUNT + 1},
    {"fault": "burst_429", "count": MAX_FAULT_COUNT + 1},
    {"fault": "burst_5xx", "count": 10**12},
])
def test_fault_counts_above_the_documented_maximum_are_refused(ex, spec):
    client = Client(ex)
    with pytest.raises(ValueError, match=f"at most {MAX_FAULT_COUNT}"):
        faults_of(ex).apply(spec)
    assert client.take() == [] and faults_of(ex).active() == []


def test_the_admin_endpoint_answers_400_above_the_maximum(ex):
    server = SimServer(ex, ping_interval_s=0).start_in_thread()
    try:
        reply = requests.post(f"http://127.0.0.1:{server.port}/_admin/faults",
                              json={"fault": "malformed_frames", "count": MAX_FAULT_COUNT + 1}, timeout=5)
    finally:
        server.stop()
    assert reply.status_code == 400
    assert f"count must be a positive integer of at most {MAX_FAULT_COUNT}" in reply.json()["error"]["details"]


def test_the_maximum_itself_is_accepted(ex):
    faults_of(ex).apply({"fault": "burst_429", "count": MAX_FAULT_COUNT})
    assert faults_of(ex).active() == [{"fault": "burst_429", "remaining": MAX_FAULT_COUNT}]


# ----- 3. a tape trade blocked by our order on the other side is still printed -----
def test_a_tape_trade_at_our_bid_price_is_printed_without_filling_us(tmp_path, clock):
    tape = tmp_path / "TRADES_KXT-26-X.csv"
    tape.write_text("Sequence id,Time sec,Yes px,Side taken,Size\n1,1000,50,yes,10\n2,1010,50,yes,7\n"
                    "3,1020,50,yes,7\n")
    clock.ns = 999 * NS_PER_S
    ex = Exchange(now_ns=clock)
    ex.register_account("me", 10**7)
    driver = TapeMarketDriver(ex, "KXT-26-X", tape)
    (t1, row1), *rest_rows = driver.events()
    clock.ns = t1
    driver.apply(row1)
    watcher = Client(ex, "me")
    watcher.send(1, "subscribe", {"channels": ["trade"], "market_tickers": ["KXT-26-X"]})
    ours = ex.place_order("me", OrderRequest("KXT-26-X", BID, Decimal("0.50"), Decimal(3)))
    for ts, row in rest_rows:
        clock.ns = ts
        driver.apply(row)
    market = ex.markets["KXT-26-X"]
    assert sum(t.count for t in ex.trades) == sum(r.size for r in driver.rows) == 24
    assert market.volume == 24 and market.last_price == Decimal("0.50")
    assert [f["msg"]["count_fp"] for f in watcher.take() if f["type"] == "trade"] == ["7.00", "7.00"]
    assert ours.filled == 0 and ours.status == "resting"  # pessimistic: the tape traded with someone else
    assert not ex.fills


# ----- 4. a `cmd` of the wrong type is a bad-types error, not an internal error -----
@pytest.mark.parametrize("cmd", [[], {"a": 1}, 5, True])
def test_a_non_string_cmd_is_answered_with_code_1(ex, cmd):
    client = Client(ex)
    client.session.receive(json.dumps({"id": 4, "cmd": cmd}))
    assert client.take() == [{"id": 4, "type": "error", "msg": {"code": 1, "msg": "Unable to process message"}}]


def test_an_unknown_command_name_is_still_code_5(ex):
    client = Client(ex)
    client.session.receive(json.dumps({"id": 4, "cmd": "dance"}))
    assert client.take()[0]["msg"]["code"] == 5


# ----- 6. get_snapshot only for markets the subscription covers -----
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


# ----- 5. a stepped server: requests between steps never make trade times go back -----
def test_trade_times_never_go_back_when_a_request_comes_between_two_steps(ex, clock):
    t0 = clock.ns
    place(ex, "bob", "ask", "0.40", 10)  # resting liquidity
    ex.schedule(t0 + 20_000_000, lambda at: place(ex, "carol", BID, "0.40", 2))  # a background taker at +20 ms
    ex.advance(t0)  # the server's step at t0
    clock.ns = t0 + 60_000_000  # a REST request at +60 ms, before the next step at +100 ms
    status, _ = rest(ex, "POST", "/portfolio/events/orders", order_body(side="bid", price="0.40", count="3"))
    assert status == 201
    clock.ns = t0 + 100_000_000
    ex.advance(clock.ns)  # the next step
    times = [t.ts_ns for t in ex.trades]
    assert times == sorted(times)
    assert times == [t0 + 20_000_000, t0 + 60_000_000]  # each at its own time, in order


def test_a_ws_command_also_runs_what_is_due_first(ex, clock):
    t0 = clock.ns
    place(ex, "bob", "ask", "0.40", 10)
    ex.schedule(t0 + 20_000_000, lambda at: place(ex, "carol", BID, "0.40", 2))
    ex.advance(t0)
    clock.ns = t0 + 60_000_000
    client = Client(ex)
    client.send(1, "subscribe", {"channels": ["orderbook_delta"], "market_ticker": TICKER})
    (snapshot,) = [f for f in client.take() if f["type"] == "orderbook_snapshot"]
    assert snapshot["msg"]["no_dollars_fp"] == [["0.6000", "8.00"]]  # carol's 2 already taken at +20 ms
