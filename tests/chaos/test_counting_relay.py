"""The campaign's relay between the daemon and the exchange: passes REST and WebSocket
traffic unchanged and counts every REST answer by status (mmd/chaos_proxy.py). Real
loopback sockets, an in-process simulated exchange."""

from __future__ import annotations

import json
import time

import pytest
import requests
import websocket

from kalshi.auth import Signer, generate_key_pair, load_private_key
from mmd.chaos_proxy import CountingRelay
from simex import DEFAULT_MARKET, SimServer
from simex._server import build_sim_exchange

KEY_ID = "relay-key"
BALANCE = "/trade-api/v2/portfolio/balance"
WS_PATH = "/trade-api/ws/v2"


@pytest.fixture
def signer(tmp_path):
    private_path, public_path = generate_key_pair(tmp_path / "keys", KEY_ID)
    return Signer(KEY_ID, load_private_key(private_path.read_text())), public_path.read_bytes()


@pytest.fixture
def exchange_behind_relay(signer):
    server = SimServer(build_sim_exchange(seed=1, tier="basic"), ping_interval_s=0)
    server.authorize_key(KEY_ID, signer[1], account_id="daemon")
    server.start_in_thread()
    relay = CountingRelay(server.port).start()
    yield server, relay
    relay.stop()
    server.stop()


def headers(signer: Signer, method: str, path: str) -> dict:
    return signer.headers(int(time.time() * 1000), method, path)


def balance(relay: CountingRelay, signer: Signer) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{relay.port}{BALANCE}", headers=headers(signer, "GET", BALANCE), timeout=5)


def admin(server: SimServer, body) -> None:
    requests.post(f"http://127.0.0.1:{server.port}/_admin/faults", json=body, timeout=5).raise_for_status()


def test_signed_rest_passes_unchanged_and_answers_are_counted_by_status(exchange_behind_relay, signer):
    server, relay = exchange_behind_relay
    first = balance(relay, signer[0])
    assert first.status_code == 200 and "balance" in first.json()
    admin(server, {"fault": "burst_429", "count": 2})
    assert [balance(relay, signer[0]).status_code for _ in range(3)] == [429, 429, 200]
    unsigned = requests.get(f"http://127.0.0.1:{relay.port}{BALANCE}", timeout=5)
    assert unsigned.status_code == 401
    assert relay.statuses == {200: 2, 429: 2, 401: 1}


def test_the_exchanges_own_rate_limit_429s_are_counted_too(exchange_behind_relay, signer):
    _server, relay = exchange_behind_relay
    answers = [balance(relay, signer[0]).status_code for _ in range(80)]  # Basic: 40 reads a bucket, 20/s
    assert 429 in answers
    assert relay.statuses[429] == answers.count(429)


def connect(relay: CountingRelay, signer: Signer) -> websocket.WebSocket:
    signed = headers(signer, "GET", WS_PATH)
    return websocket.create_connection(f"ws://127.0.0.1:{relay.port}{WS_PATH}",
                                       header=[f"{k}: {v}" for k, v in signed.items()], timeout=5)


def subscribed(ws: websocket.WebSocket) -> dict:
    ws.send(json.dumps({"id": 1, "cmd": "subscribe", "params": {"channels": ["ticker"],
                                                                 "market_tickers": [DEFAULT_MARKET.ticker]}}))
    for _ in range(20):
        frame = json.loads(ws.recv())
        if frame["type"] == "subscribed":
            return frame
    raise AssertionError("no subscribed frame")


def test_a_websocket_the_exchange_closes_is_closed_to_the_client_with_its_code(exchange_behind_relay, signer):
    server, relay = exchange_behind_relay
    ws = connect(relay, signer[0])
    try:
        assert subscribed(ws)["msg"]["channel"] == "ticker"
        admin(server, {"fault": "drop_ws_connections"})
        for _ in range(50):
            opcode, data = ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                assert int.from_bytes(data[:2], "big") == 1011
                break
        else:
            raise AssertionError("no close frame")
    finally:
        ws.close()


def test_a_websocket_the_exchange_resets_is_reset_to_the_client(exchange_behind_relay, signer):
    server, relay = exchange_behind_relay
    ws = connect(relay, signer[0])
    try:
        subscribed(ws)
        admin(server, {"fault": "drop_ws_connections", "abort": True})
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
            for _ in range(50):
                opcode, _data = ws.recv_data(control_frame=True)
                assert opcode != websocket.ABNF.OPCODE_CLOSE, "a reset must not look like an orderly close"
    finally:
        ws.close()


def test_answers_are_also_counted_by_endpoint_with_ids_folded():
    from mmd.chaos_proxy import route_of

    assert route_of("GET", "/trade-api/v2/portfolio/fills") == "GET /portfolio/fills"
    assert route_of("DELETE", "/trade-api/v2/portfolio/events/orders/6014ce5a-673c-5365-bfb2-3842e90e7adc") == \
        "DELETE /portfolio/events/orders/{id}"
    assert route_of("GET", "/trade-api/v2/markets/KXFED-26DEC-T4.00/orderbook") == "GET /markets/{id}/orderbook"


def test_the_answers_to_requests_received_since_a_time_come_in_answer_order():
    import time

    relay = CountingRelay(1)  # not started: answers told to it directly
    now = time.time()
    relay._count("GET /portfolio/balance", 200, received=now - 10)
    relay._count("POST /portfolio/events/orders", 429, received=now - 2)
    relay._count("POST /portfolio/events/orders/{id}/amend", 200, received=now - 7)  # a slow one, answered late
    relay._count("GET /markets", 200, received=now - 1)
    since = relay.answers_since(now - 7)
    assert [(a.route, a.status) for a in since] == [
        ("POST /portfolio/events/orders", 429), ("POST /portfolio/events/orders/{id}/amend", 200), ("GET /markets", 200),
    ]
    assert since[1].received_s == now - 7 and since[1].answered_s >= now
    assert relay.answers_since(now + 60) == []


def test_429s_by_endpoint(exchange_behind_relay, signer):
    server, relay = exchange_behind_relay
    admin(server, {"fault": "burst_429", "count": 1})
    assert balance(relay, signer[0]).status_code == 429
    assert relay.answers(429) == {"GET /portfolio/balance": 1}
