"""The WebSocket shell on loopback: unsigned upgrades when allowed, and frames off the socket
conform to asyncapi.yaml just as the sans-IO core's do."""

from __future__ import annotations

import json
import time

import pytest
import websocket
from test_simex_conformance_ws import assert_conforms

from kalshi.auth import Signer, generate_key_pair, load_private_key
from simex import DEFAULT_MARKET, SimServer, build_default_exchange


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    private_path, public_path = generate_key_pair(tmp_path_factory.mktemp("keys"), "shell-key")
    return Signer("shell-key", load_private_key(private_path.read_text())), public_path.read_bytes()


def test_unsigned_upgrade_when_allowed_serves_public_channels_only(keys):
    sim = SimServer(build_default_exchange(seed=2), ping_interval_s=0, allow_unsigned_ws=True).start_in_thread()
    try:
        ws = websocket.create_connection(sim.ws_url, timeout=5)
        ws.send(json.dumps({"id": 1, "cmd": "subscribe", "params": {"channels": ["fill"]}}))
        assert json.loads(ws.recv())["msg"] == {"code": 9, "msg": "Authentication required"}
        ws.send(json.dumps({"id": 2, "cmd": "subscribe", "params": {"channels": ["ticker"]}}))
        assert json.loads(ws.recv())["type"] == "subscribed"
        ws.close()
        bad = keys[0].headers(int(time.time() * 1000), "GET", "/somewhere/else")  # a bad signature stays 401
        with pytest.raises(websocket.WebSocketBadStatusException) as err:
            websocket.create_connection(sim.ws_url, header=[f"{k}: {v}" for k, v in bad.items()], timeout=5)
        assert err.value.status_code == 401
    finally:
        sim.stop()


def test_frames_off_the_socket_conform_to_the_schemas(keys):
    signer, public = keys
    sim = SimServer(build_default_exchange(seed=4), ping_interval_s=0)
    sim.authorize_key("shell-key", public, account_id="0b7d7a8e-5c1f-4a0b-9a57-3f6a1b2c0003")
    sim.start_in_thread()
    headers = signer.headers(int(time.time() * 1000), "GET", "/trade-api/ws/v2")
    ws = websocket.create_connection(sim.ws_url, header=[f"{k}: {v}" for k, v in headers.items()], timeout=5)
    try:
        ws.send(json.dumps({"id": 1, "cmd": "subscribe", "params": {
            "channels": ["orderbook_delta", "ticker", "trade", "market_lifecycle_v2", "fill", "user_orders",
                         "market_positions"], "market_tickers": [DEFAULT_MARKET.ticker]}}))
        frames = [json.loads(ws.recv()) for _ in range(9)]  # 7 acks, a snapshot, then market traffic
    finally:
        ws.close()
        sim.stop()
    kinds = assert_conforms(frames)
    assert {"subscribed", "orderbook_snapshot"} <= kinds
