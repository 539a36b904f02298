"""Kalshi's official SDK (kalshi-python-sync 3.2.0) against the simulator over loopback.

The SDK predates the V2 order endpoints and today's response shapes, so beyond get_balance it
is driven through its raw paths: `*_without_preload_content` and `param_serialize` +
`call_api`, which still sign every request the SDK's way.
"""

import json
import time

import pytest

from kalshi.auth import generate_key_pair
from simex import Exchange, MarketSpec, SimServer

KEY_ID = "sdk-key"
TICKER = "KXSDK-26DEC31-T1"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    private_path, public_path = generate_key_pair(tmp_path_factory.mktemp("keys"), KEY_ID)
    exchange = Exchange(now_ns=time.time_ns)  # the shell checks signatures against wall time
    exchange.add_market(MarketSpec(ticker=TICKER, event_ticker="KXSDK-26DEC31", series_ticker="KXSDK"))
    exchange.register_account("maker", 1_000_000)
    server = SimServer(exchange)
    server.authorize_key(KEY_ID, public_path.read_bytes(), account_id="sdk", balance_cents=250_000)
    server.start_in_thread()
    yield server, private_path.read_text()
    server.stop()


@pytest.fixture(scope="module")
def client(sim):
    from kalshi_python_sync import Configuration, KalshiClient

    server, pem = sim
    cfg = Configuration(host=server.base_url)
    cfg.api_key_id = KEY_ID
    cfg.private_key_pem = pem
    return KalshiClient(cfg)


def call(client, method, path, body=None, query=None):
    params = client.param_serialize(method=method, resource_path=path, query_params=query,
                                    header_params={"Content-Type": "application/json"}, body=body)
    response = client.call_api(*params, _request_timeout=5)
    response.read()
    return response.status, json.loads(response.data)


def order(price, count="5", **extra):
    return {"ticker": TICKER, "side": "bid", "price": price, "count": count, "time_in_force": "good_till_canceled",
            "self_trade_prevention_type": "taker_at_cross", **extra}


def test_sdk_reads_the_balance_through_its_own_model(client):
    assert client.get_balance().balance == 250_000


def test_sdk_reaches_every_v2_order_endpoint(client, sim):
    status, created = call(client, "POST", "/portfolio/events/orders", order("0.20", client_order_id="sdk-1"))
    assert status == 201 and created["remaining_count"] == "5.00"
    order_id = created["order_id"]
    assert call(client, "POST", "/portfolio/events/orders", order("0.20", client_order_id="sdk-1"))[0] == 409

    status, amended = call(client, "POST", f"/portfolio/events/orders/{order_id}/amend",
                           {"ticker": TICKER, "side": "bid", "price": "0.21", "count": "7"})
    assert status == 200 and amended["remaining_count"] == "7.00"
    status, decreased = call(client, "POST", f"/portfolio/events/orders/{order_id}/decrease", {"reduce_to": "4"})
    assert status == 200 and decreased["remaining_count"] == "4.00"

    response = client.get_order_without_preload_content(order_id, _request_timeout=5)
    assert response.status == 200
    assert json.loads(response.data)["order"]["yes_price_dollars"] == "0.2100"
    response = client.get_orders_without_preload_content(ticker=TICKER, _request_timeout=5)
    assert response.status == 200 and [o["order_id"] for o in json.loads(response.data)["orders"]] == [order_id]

    status, cancelled = call(client, "DELETE", f"/portfolio/events/orders/{order_id}")
    assert status == 200 and cancelled["reduced_by"] == "4.00"
    assert call(client, "DELETE", f"/portfolio/events/orders/{order_id}")[0] == 400  # already cancelled

    status, batch = call(client, "POST", "/portfolio/events/orders/batched",
                         {"orders": [order("0.10"), order("0.11"), order("2.00")]})
    assert status == 201 and [("error" in item) for item in batch["orders"]] == [False, False, True]
    first, second = batch["orders"][0]["order_id"], batch["orders"][1]["order_id"]
    status, batch_cancel = call(client, "DELETE", "/portfolio/events/orders/batched",
                                {"orders": [{"order_id": first}]})
    assert status == 200 and batch_cancel["orders"][0]["reduced_by"] == "5.00"

    status, cancel_all = call(client, "DELETE", "/portfolio/events/orders")
    assert status == 200 and [item["order_id"] for item in cancel_all["orders"]] == [second]
    response = client.get_orders_without_preload_content(status="resting", _request_timeout=5)
    assert json.loads(response.data)["orders"] == []
