"""The aiohttp shell on loopback: signatures, REST, WebSocket, heartbeat, and the official SDK."""

import json
import re
import signal
import subprocess
import sys
import time

import pytest
import requests
import websocket

from kalshi.auth import HEADER_SIGNATURE, HEADER_TIMESTAMP, Signer, generate_key_pair, load_private_key
from simex import DEFAULT_MARKET, SimServer, build_default_exchange

KEY_ID = "test-key"
TICKER = DEFAULT_MARKET.ticker


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    private_path, public_path = generate_key_pair(tmp_path_factory.mktemp("keys"), KEY_ID)
    return private_path.read_text(), public_path.read_bytes()


@pytest.fixture(scope="module")
def server(keys):
    sim = SimServer(build_default_exchange(seed=11), ping_interval_s=0.2)
    sim.authorize_key(KEY_ID, keys[1], account_id="tester", balance_cents=500_000)
    sim.start_in_thread()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def signer(keys):
    return Signer(KEY_ID, load_private_key(keys[0]))


def signed(signer, method, path, ts_ms=None):
    return signer.headers(ts_ms if ts_ms is not None else int(time.time() * 1000), method, path)


def url(server, path):
    return server.base_url + path


def test_signed_portfolio_request_succeeds(server, signer):
    r = requests.get(url(server, "/portfolio/balance"), headers=signed(signer, "GET", "/trade-api/v2/portfolio/balance"))
    assert r.status_code == 200 and r.json()["balance"] == 500_000


def test_query_string_is_not_part_of_the_signature(server, signer):
    path = "/trade-api/v2/portfolio/orders"
    r = requests.get(url(server, "/portfolio/orders?limit=5"), headers=signed(signer, "GET", path))
    assert r.status_code == 200 and r.json()["cursor"] == ""


@pytest.mark.parametrize("tamper", ["absent", "altered", "stale", "other_path", "unknown_key", "partial"])
def test_bad_or_missing_signature_is_401(server, signer, tamper):
    path = "/trade-api/v2/portfolio/balance"
    headers = signed(signer, "GET", path)
    if tamper == "absent":
        headers = {}
    elif tamper == "altered":
        sig = headers[HEADER_SIGNATURE]
        headers[HEADER_SIGNATURE] = ("A" if sig[0] != "A" else "B") + sig[1:]
    elif tamper == "stale":
        headers = signed(signer, "GET", path, ts_ms=int(time.time() * 1000) - 120_000)
    elif tamper == "other_path":
        headers = signed(signer, "GET", "/trade-api/v2/portfolio/fills")
    elif tamper == "unknown_key":
        headers = Signer("nobody", signer._key).headers(int(time.time() * 1000), "GET", path)
    elif tamper == "partial":
        del headers[HEADER_TIMESTAMP]
    r = requests.get(url(server, "/portfolio/balance"), headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"


def test_market_data_works_unsigned(server):
    r = requests.get(url(server, f"/markets/{TICKER}/orderbook"))
    assert r.status_code == 200 and r.json()["orderbook_fp"]["yes_dollars"]


def test_malformed_json_body_is_400(server, signer):
    path = "/trade-api/v2/portfolio/events/orders"
    r = requests.post(url(server, "/portfolio/events/orders"), data=b"{oops",
                      headers={**signed(signer, "POST", path), "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "bad_request"


def ws_connect(server, signer, **kw):
    headers = signed(signer, "GET", "/trade-api/ws/v2")
    return websocket.create_connection(server.ws_url, header=[f"{k}: {v}" for k, v in headers.items()], timeout=5, **kw)


def test_ws_upgrade_without_valid_signature_is_401(server, signer):
    with pytest.raises(websocket.WebSocketBadStatusException) as err:
        websocket.create_connection(server.ws_url, timeout=5)
    assert err.value.status_code == 401
    bad = signed(signer, "GET", "/trade-api/v2/portfolio/balance")  # signed for the wrong path
    with pytest.raises(websocket.WebSocketBadStatusException) as err:
        websocket.create_connection(server.ws_url, header=[f"{k}: {v}" for k, v in bad.items()], timeout=5)
    assert err.value.status_code == 401


def recv_json(ws, wanted_type, limit=200):
    for _ in range(limit):
        frame = json.loads(ws.recv())
        if frame["type"] == wanted_type:
            return frame
    raise AssertionError(f"no {wanted_type} frame")


def test_ws_snapshot_then_contiguous_deltas_and_own_fill_frames(server, signer):
    ws = ws_connect(server, signer)
    try:
        ws.send(json.dumps({"id": 1, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"], "market_tickers": [TICKER]}}))
        ws.send(json.dumps({"id": 2, "cmd": "subscribe", "params": {"channels": ["user_orders"]}}))
        assert json.loads(ws.recv())["type"] == "subscribed"
        snapshot = json.loads(ws.recv())
        assert snapshot["type"] == "orderbook_snapshot" and snapshot["seq"] == 1
        path = "/trade-api/v2/portfolio/events/orders"
        body = {"ticker": TICKER, "side": "bid", "price": "0.02", "count": "3", "client_order_id": "ws-test",
                "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"}
        r = requests.post(url(server, "/portfolio/events/orders"), json=body, headers=signed(signer, "POST", path))
        assert r.status_code == 201
        last_seq, own_delta, user_order = 1, None, None
        deadline = time.time() + 5
        while (own_delta is None or user_order is None) and time.time() < deadline:
            frame = json.loads(ws.recv())
            if frame["type"] == "orderbook_delta" and frame["sid"] == snapshot["sid"]:
                assert frame["seq"] == last_seq + 1
                last_seq = frame["seq"]
                if frame["msg"].get("client_order_id") == "ws-test":
                    own_delta = frame
            elif frame["type"] == "user_order":
                user_order = frame
        assert own_delta["msg"]["price_dollars"] == "0.0200" and own_delta["msg"]["delta_fp"] == "3.00"
        assert user_order["msg"]["client_order_id"] == "ws-test" and user_order["msg"]["status"] == "resting"
    finally:
        ws.close()


def test_ws_bad_command_gets_error_frame(server, signer):
    ws = ws_connect(server, signer)
    try:
        ws.send("not json")
        assert json.loads(ws.recv()) == {"id": 0, "type": "error", "msg": {"code": 1, "msg": "Unable to process message"}}
    finally:
        ws.close()


def test_server_pings_with_heartbeat_payload(server, signer):
    ws = ws_connect(server, signer)
    try:
        opcode, payload = ws.recv_data(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_PING and payload == b"heartbeat"
    finally:
        ws.close()


def test_official_sdk_signs_requests_the_simulator_accepts(server, keys):
    from kalshi_python_sync import Configuration, KalshiClient

    cfg = Configuration(host=server.base_url)
    cfg.api_key_id = KEY_ID
    cfg.private_key_pem = keys[0]
    client = KalshiClient(cfg)
    balance = client.get_balance()
    assert balance.balance > 0
    params = client.param_serialize(
        method="POST", resource_path="/portfolio/events/orders", header_params={"Content-Type": "application/json"},
        body={"ticker": TICKER, "side": "bid", "price": "0.03", "count": "2",
              "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"},
    )
    response = client.call_api(*params)
    response.read()
    assert response.status == 201
    assert json.loads(response.data)["remaining_count"] == "2.00"


def test_sdk_headers_replayed_on_another_path_are_rejected(server, keys):
    from kalshi_python_sync import Configuration, KalshiClient

    cfg = Configuration(host=server.base_url)
    cfg.api_key_id = KEY_ID
    cfg.private_key_pem = keys[0]
    client = KalshiClient(cfg)
    params = client.param_serialize(method="GET", resource_path="/portfolio/balance")
    captured = client.call_api(*params)
    captured.read()
    assert captured.status == 200
    method, headers = params[0], dict(params[2])
    assert headers.get(HEADER_SIGNATURE), "the SDK must have signed the captured request"
    replay = requests.request(method, url(server, "/portfolio/fills"), headers=headers)
    assert replay.status_code == 401


def test_run_standalone_generates_a_paper_key_serves_and_exits_0_on_sigterm(tmp_path):
    key_dir = tmp_path / "keys"
    code = f"import sys; from pathlib import Path; from simex import run_standalone; " \
           f"sys.exit(run_standalone('127.0.0.1', 0, 3, Path({str(key_dir)!r}), 100000))"
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    try:
        line = ""
        deadline = time.time() + 20
        while "REST" not in line and time.time() < deadline:
            line = proc.stderr.readline()
        base_url = re.search(r"REST (\S+)", line).group(1)
        assert (key_dir / "paper-key.pub.pem").exists() and (key_dir / "paper-key.pem").exists()
        assert requests.get(base_url + "/exchange/status", timeout=5).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_unknown_path_is_a_json_404(server):
    for path in ("/trade-api/v2/nothing/here", "/favicon.ico"):
        r = requests.get(f"http://127.0.0.1:{server.port}{path}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
