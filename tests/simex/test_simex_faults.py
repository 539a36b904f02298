"""Fault injection on the running simulator: what a client sees for each fault, over real sockets.

Faults are switched through the admin endpoint (POST /_admin/faults), as an operator or a test
harness would; the scenario timeline uses the same plain `Faults` API (last tests).
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
import requests
import websocket
from simex_testkit import QUIET_SPEC, TICKER

from actors.ws._decoder import FeedDecoder, FrameDecodeError
from kalshi.auth import Signer, generate_key_pair, load_private_key
from simex import Exchange, OrderRequest, SimServer
from simex._faults import MALFORMED_FRAMES, Faults, apply_scenario_fault, faults_of
from simex._scenario import FaultAt

KEY_ID = "fault-key"
ORDERS = "/trade-api/v2/portfolio/events/orders"


@pytest.fixture(scope="module")
def signer_and_public(tmp_path_factory):
    private_path, public_path = generate_key_pair(tmp_path_factory.mktemp("keys"), KEY_ID)
    return Signer(KEY_ID, load_private_key(private_path.read_text())), public_path.read_bytes()


@pytest.fixture
def server(signer_and_public):
    exchange = Exchange(now_ns=time.time_ns, seed=5)  # one quiet market: only our orders move it
    exchange.add_market(QUIET_SPEC)
    exchange.register_account("maker", 100_000)
    sim = SimServer(exchange, ping_interval_s=0)
    sim.authorize_key(KEY_ID, signer_and_public[1], account_id="tester")
    sim.start_in_thread()
    yield sim
    sim.stop()


@pytest.fixture
def signer(signer_and_public):
    return signer_and_public[0]


def admin(server, method="POST", body=None):
    return requests.request(method, f"http://127.0.0.1:{server.port}/_admin/faults", json=body, timeout=5)


def signed(signer, method, path):
    return signer.headers(int(time.time() * 1000), method, path)


def place(server, signer, price="0.40", count="1", side="bid", coid=None):
    body = {"ticker": TICKER, "side": side, "price": price, "count": count,
            "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"}
    if coid:
        body["client_order_id"] = coid
    return requests.post(server.base_url + "/portfolio/events/orders", json=body,
                         headers=signed(signer, "POST", ORDERS), timeout=10)


def connect(server, signer) -> websocket.WebSocket:
    headers = signed(signer, "GET", "/trade-api/ws/v2")
    return websocket.create_connection(server.ws_url, header=[f"{k}: {v}" for k, v in headers.items()], timeout=5)


def send(ws, cmd_id, cmd, params=None):
    ws.send(json.dumps({"id": cmd_id, "cmd": cmd, **({"params": params} if params is not None else {})}))


def recv(ws, wanted, limit=50) -> dict:
    for _ in range(limit):
        frame = json.loads(ws.recv())
        if frame["type"] == wanted:
            return frame
    raise AssertionError(f"no {wanted} frame")


def subscribe_book(ws) -> dict:
    send(ws, 1, "subscribe", {"channels": ["orderbook_delta"], "market_tickers": [TICKER]})
    recv(ws, "subscribed")
    return recv(ws, "orderbook_snapshot")


# ----- WebSocket faults -----
def test_dropped_connection_gives_the_client_a_close_frame_and_a_fresh_connection_works(server, signer):
    ws = connect(server, signer)
    subscribe_book(ws)
    reply = admin(server, body={"fault": "drop_ws_connections"})
    assert reply.status_code == 200 and reply.json()["applied"] == [1]
    opcode, payload = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE and int.from_bytes(payload[:2], "big") == 1011
    again = connect(server, signer)  # reconnecting is allowed and starts a fresh session (sids from 1)
    assert subscribe_book(again)["sid"] == 1
    again.close()


def test_aborted_connection_is_a_bare_reset(server, signer):
    ws = connect(server, signer)
    subscribe_book(ws)
    assert admin(server, body={"fault": "drop_ws_connections", "abort": True}).status_code == 200
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
        ws.recv()


def test_skipped_seq_shows_as_a_gap_that_get_snapshot_repairs(server, signer):
    ws = connect(server, signer)
    snapshot = subscribe_book(ws)
    assert admin(server, body={"fault": "skip_seq", "n": 1}).status_code == 200
    assert place(server, signer, "0.30", coid="lost").status_code == 201
    assert place(server, signer, "0.31", coid="seen").status_code == 201
    delta = recv(ws, "orderbook_delta")
    assert delta["msg"]["client_order_id"] == "seen"  # the first delta never arrived
    assert delta["seq"] == snapshot["seq"] + 2  # ... and its seq is missing: a gap
    send(ws, 2, "update_subscription", {"sid": snapshot["sid"], "action": "get_snapshot", "market_tickers": [TICKER]})
    fresh = recv(ws, "orderbook_snapshot")
    assert fresh["seq"] == delta["seq"] + 1 and fresh["msg"]["yes_dollars_fp"] == [["0.3000", "1.00"], ["0.3100", "1.00"]]


def test_malformed_frames_are_rejected_by_our_decoder_and_the_connection_lives_on(server, signer):
    ws = connect(server, signer)
    subscribe_book(ws)
    count = len(MALFORMED_FRAMES)
    assert admin(server, body={"fault": "malformed_frames", "count": count}).json()["applied"] == [count]
    received = [ws.recv() for _ in range(count)]
    assert received == list(MALFORMED_FRAMES)
    decoder = FeedDecoder()
    for text in received:
        with pytest.raises(FrameDecodeError):
            decoder.decode(text, 0)
    send(ws, 2, "list_subscriptions")
    assert recv(ws, "ok")["msg"] == [{"channel": "orderbook_delta", "sid": 1}]


def test_channel_error_ends_the_subscription_with_a_terminal_error(server, signer):
    ws = connect(server, signer)
    snapshot = subscribe_book(ws)
    assert admin(server, body={"fault": "channel_error", "code": 10}).json()["applied"] == [1]
    error = recv(ws, "error")
    assert error == {"id": 0, "type": "error", "sid": snapshot["sid"], "msg": {"code": 10, "msg": "Channel error"}}
    send(ws, 2, "list_subscriptions")
    assert recv(ws, "ok")["msg"] == []
    assert place(server, signer).status_code == 201  # no deltas reach a dead subscription
    send(ws, 3, "list_subscriptions")
    assert recv(ws, "ok")["id"] == 3


# ----- REST faults -----
def test_burst_429_answers_kalshis_exact_body_then_recovers(server):
    assert admin(server, body={"fault": "burst_429", "count": 2}).status_code == 200
    statuses = [requests.get(server.base_url + "/exchange/status", timeout=5) for _ in range(3)]
    assert [r.status_code for r in statuses] == [429, 429, 200]
    assert statuses[0].json() == {"error": "too many requests"}


def test_burst_429_for_a_duration(server):
    admin(server, body={"fault": "burst_429", "duration_s": 0.3})
    assert requests.get(server.base_url + "/markets", timeout=5).status_code == 429
    time.sleep(0.35)  # wall-clock server: the window is measured on the exchange's wall clock
    assert requests.get(server.base_url + "/markets", timeout=5).status_code == 200


def test_burst_5xx_answers_a_kalshi_error_body(server, signer):
    admin(server, body={"fault": "burst_5xx", "count": 1, "status": 502})
    reply = place(server, signer)
    assert reply.status_code == 502 and reply.json() == {"error": {"code": "bad_gateway", "message": "bad gateway"}}
    assert place(server, signer).status_code == 201  # the order after the burst goes through


def test_slow_responses_delay_the_answer(server):
    admin(server, body={"fault": "slow_responses", "delay_s": 0.4, "count": 1})
    started = time.monotonic()
    assert requests.get(server.base_url + "/exchange/status", timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    requests.get(server.base_url + "/exchange/status", timeout=5)
    assert time.monotonic() - started < 0.4


def test_token_bucket_rate_limit_answers_429_once_the_read_bucket_is_empty(signer_and_public):
    frozen = time.time_ns()
    exchange = Exchange(now_ns=lambda: frozen, seed=1, rate_limit_tier="basic")  # no refill: exact count
    exchange.add_market(QUIET_SPEC)
    sim = SimServer(exchange, ping_interval_s=0).start_in_thread()
    try:
        statuses = [requests.get(sim.base_url + "/markets", timeout=5).status_code for _ in range(41)]
    finally:
        sim.stop()
    assert statuses == [200] * 40 + [429]  # Basic read: 200 tokens/s, 2 s deep, 10 per request


# ----- market faults -----
def test_pause_then_resume_a_market(server, signer):
    ws = connect(server, signer)
    send(ws, 1, "subscribe", {"channels": ["market_lifecycle_v2"]})
    recv(ws, "subscribed")
    assert admin(server, body={"fault": "pause_market", "ticker": TICKER}).status_code == 200
    assert recv(ws, "market_lifecycle_v2")["msg"] == {"market_ticker": TICKER, "event_type": "deactivated",
                                                      "is_deactivated": True}
    refused = place(server, signer)
    assert refused.status_code >= 400
    admin(server, body={"fault": "resume_market", "ticker": TICKER})
    assert recv(ws, "market_lifecycle_v2")["msg"]["event_type"] == "activated"
    assert place(server, signer).status_code == 201


def test_close_market_early(server, signer):
    ws = connect(server, signer)
    send(ws, 1, "subscribe", {"channels": ["market_lifecycle_v2"]})
    recv(ws, "subscribed")
    admin(server, body={"fault": "close_market_early", "ticker": TICKER})
    assert recv(ws, "market_lifecycle_v2")["msg"]["event_type"] == "close_date_updated"
    market = requests.get(server.base_url + f"/markets/{TICKER}", timeout=5).json()["market"]
    assert market["status"] == "closed"
    assert place(server, signer).status_code >= 400


# ----- the admin endpoint -----
def test_admin_lists_and_clears_pending_faults(server):
    admin(server, body=[{"fault": "burst_429", "count": 3}, {"fault": "skip_seq", "n": 2}])
    assert admin(server, "GET").json()["active"] == [{"fault": "burst_429", "remaining": 3},
                                                     {"fault": "skip_seq", "remaining": 2}]
    assert admin(server, "DELETE").json() == {"active": []}
    assert requests.get(server.base_url + "/exchange/status", timeout=5).status_code == 200


@pytest.mark.parametrize("body, complaint", [
    ({"fault": "set_on_fire"}, "unknown fault"),
    ({"fault": "burst_429", "count": 0}, "count must be a positive integer"),
    ({"fault": "burst_5xx", "status": 418}, "status must be one of"),
    ({"fault": "slow_responses", "delay_s": "soon"}, "delay_s must be"),
    ({"fault": "skip_seq", "bogus": 1}, "unexpected keyword"),
    ({"fault": "pause_market", "ticker": "NOPE-1"}, "NOPE-1"),
    ("not an object", "JSON object"),
])
def test_admin_rejects_bad_faults_with_a_clear_error(server, body, complaint):
    reply = admin(server, body=body)
    assert reply.status_code in (400, 404)
    assert complaint in json.dumps(reply.json())
    assert admin(server, "GET").json()["active"] == []


def test_admin_endpoint_can_be_switched_off(signer_and_public):
    exchange = Exchange(now_ns=time.time_ns, seed=1)
    sim = SimServer(exchange, ping_interval_s=0, admin=False).start_in_thread()
    try:
        reply = requests.post(f"http://127.0.0.1:{sim.port}/_admin/faults", json={"fault": "burst_429"}, timeout=5)
    finally:
        sim.stop()
    assert reply.status_code == 404


# ----- the plain API a scenario timeline uses -----
def test_scenario_faults_fire_in_virtual_time(clock, ex):
    faults = faults_of(ex)
    assert faults_of(ex) is faults and isinstance(faults, Faults)
    apply_scenario_fault(ex, FaultAt(at_s=5.0, kind="burst_5xx", params=(("duration_s", 2),)))
    assert faults.rest_fault().status == 503
    clock.tick(2.5)
    assert faults.rest_fault() is None  # the window closed on the exchange's (virtual) clock
    apply_scenario_fault(ex, FaultAt(at_s=9.0, kind="pause_market", params=(("ticker", TICKER),)))
    assert ex.markets[TICKER].status == "inactive"
    with pytest.raises(ValueError, match="unknown fault"):
        apply_scenario_fault(ex, FaultAt(at_s=1.0, kind="meteor"))


def test_skip_seq_can_target_one_market(clock, ex):
    other = type(QUIET_SPEC)(ticker="KXB-1", event_ticker="KXB", series_ticker="KXB")
    ex.add_market(other)
    frames: list[dict] = []
    session = ex.open_session("alice", lambda text: frames.append(json.loads(text)))
    session.receive(json.dumps({"id": 1, "cmd": "subscribe",
                                "params": {"channels": ["orderbook_delta"], "market_tickers": [TICKER, "KXB-1"]}}))
    faults_of(ex).skip_seq(n=1, ticker="KXB-1")
    ex.place_order("bob", OrderRequest(TICKER, "bid", Decimal("0.40"), Decimal(1)))
    ex.place_order("bob", OrderRequest("KXB-1", "bid", Decimal("0.40"), Decimal(1)))
    ex.place_order("bob", OrderRequest(TICKER, "bid", Decimal("0.41"), Decimal(1)))
    deltas = [(f["msg"]["market_ticker"], f["seq"]) for f in frames if f["type"] == "orderbook_delta"]
    assert deltas == [(TICKER, 3), (TICKER, 5)]  # snapshots took 1 and 2; KXB-1's delta (4) was lost


def test_a_scenario_timeline_fires_its_faults_through_this_api(clock):
    import dataclasses

    from simex._scenario import build_scenario_exchange, load_scenario

    scenario = dataclasses.replace(load_scenario("quiet_low_sigma"), faults=(
        FaultAt(at_s=2.0, kind="burst_429", params=(("count", 1),)),
        FaultAt(at_s=3.0, kind="close_market_early", params=(("ticker", "KXTBILL3M-26DEC-T4.10"),)),
    ))
    ex, run = build_scenario_exchange(scenario, now_ns=clock)
    ex.advance(clock.tick(2.5))
    assert faults_of(ex).active() == [{"fault": "burst_429", "remaining": 1}]
    ex.advance(clock.tick(1.0))
    assert ex.markets["KXTBILL3M-26DEC-T4.10"].status == "closed"
    assert [f.kind for f in run.fired_faults] == ["burst_429", "close_market_early"]
