"""REST replies validated against the OpenAPI schemas embedded in Kalshi's own endpoint pages.

Each page under tests/vendor/kalshi-docs/api-reference (Kalshi's pages, vendored) carries one
OpenAPI fragment (a ````yaml block) for one operation. The loader resolves its $refs into one
self-contained JSON Schema and makes it strict: every object that lists properties forbids
others (additionalProperties: false), and `required` is as documented, so an unknown or a
missing field fails. OpenAPI 3.0's `nullable: true` becomes JSON Schema's `null` type.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from pathlib import Path

import jsonschema
import pytest
import yaml
from simex_testkit import QUIET_SPEC, START_NS, TICKER, order_body, place, rest

DOCS = Path(__file__).resolve().parents[1] / "vendor" / "kalshi-docs" / "api-reference"
_FENCE = re.compile(r"````yaml[^\n]*\n(.*?)````", re.S)


# ----- loader -----
@lru_cache(maxsize=None)
def page_operation(page: str) -> tuple[str, str, dict, dict]:
    """(method, path, operation, whole document) of the single operation a page describes."""
    match = _FENCE.search((DOCS / page).read_text())
    if match is None:
        raise ValueError(f"{page}: no OpenAPI block")
    doc = yaml.safe_load(match.group(1))
    ((path, ops),) = doc["paths"].items()
    ((method, op),) = ((m, o) for m, o in ops.items() if m in ("get", "post", "put", "delete"))
    return method.upper(), path, op, doc


def _lookup(doc: dict, ref: str) -> dict:
    if not ref.startswith("#/"):
        raise ValueError(f"external $ref {ref} is not supported")
    node = doc
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _strict(node, doc: dict, stack: tuple[str, ...] = ()):
    """Inline $refs and turn OpenAPI 3.0 schema objects into strict JSON Schema."""
    if isinstance(node, list):
        return [_strict(item, doc, stack) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in stack:
            raise ValueError(f"recursive schema {ref}")
        return _strict(copy.deepcopy(_lookup(doc, ref)), doc, stack + (ref,))
    out = {k: _strict(v, doc, stack) for k, v in node.items()
           if not k.startswith("x-") and k not in ("example", "examples", "deprecated", "description")}
    if "properties" in node:  # "properties" is a name -> schema map, not a schema
        out["properties"] = {name: _strict(v, doc, stack) for name, v in node["properties"].items()}
        out.setdefault("additionalProperties", False)
    if out.pop("nullable", False):
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@lru_cache(maxsize=None)
def response_schema(page: str, status: int) -> dict:
    _, _, op, doc = page_operation(page)
    response = op["responses"][str(status)]
    if "$ref" in response:
        response = _lookup(doc, response["$ref"])
    return _strict(response["content"]["application/json"]["schema"], doc)


def assert_conforms(page: str, status: int, body: dict) -> None:
    jsonschema.validate(body, response_schema(page, status), format_checker=jsonschema.FormatChecker())


# ----- the loader itself must be able to fail -----
def test_loader_makes_schemas_strict_about_unknown_and_missing_fields():
    schema = response_schema("portfolio/get-balance.md", 200)
    good = {"balance": 100, "balance_dollars": "1.0000", "portfolio_value": 0, "updated_ts": 1}
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "surprise": 1}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in good.items() if k != "balance"}, schema)


def test_loader_accepts_null_only_where_the_doc_says_nullable():
    schema = response_schema("portfolio/get-settlements.md", 200)
    item = schema["properties"]["settlements"]["items"]
    assert "null" in item["properties"]["value"]["type"]
    assert item["properties"]["revenue"]["type"] == "integer"


# ----- a populated exchange: markets, resting orders, fills, a settled market -----
@pytest.fixture
def busy(ex, clock):
    place(ex, "bob", "ask", "0.45", 5)
    place(ex, "bob", "ask", "0.47", 5)
    place(ex, "bob", "bid", "0.40", 5)
    place(ex, "alice", "bid", "0.45", 3, client_order_id="a-take")
    place(ex, "alice", "bid", "0.41", 2, client_order_id="a-rest")
    rest(ex, "GET", "/exchange/status")  # publish the touch into the candles
    clock.tick(120)
    return ex


PUBLIC_READS = [
    ("exchange/get-exchange-status.md", "/exchange/status", {}),
    ("exchange/get-exchange-schedule.md", "/exchange/schedule", {}),
    ("exchange/get-user-data-timestamp.md", "/exchange/user_data_timestamp", {}),
    ("account/list-non-default-endpoint-costs.md", "/account/endpoint_costs", {}),
    ("market/get-markets.md", "/markets", {}),
    ("market/get-market.md", f"/markets/{TICKER}", {}),
    ("market/get-market-orderbook.md", f"/markets/{TICKER}/orderbook", {}),
    ("market/get-multiple-market-orderbooks.md", "/markets/orderbooks", {"tickers": [TICKER]}),
    ("market/get-trades.md", "/markets/trades", {}),
    ("market/get-series.md", f"/series/{QUIET_SPEC.series_ticker}", {}),
    ("market/get-series-list.md", "/series", {}),
    ("events/get-events.md", "/events", {"with_nested_markets": "true"}),
    ("events/get-event.md", f"/events/{QUIET_SPEC.event_ticker}", {"with_nested_markets": "true"}),
    ("market/get-market-candlesticks.md",
     f"/series/{QUIET_SPEC.series_ticker}/markets/{TICKER}/candlesticks",
     {"start_ts": str(START_NS // 10**9), "end_ts": str(START_NS // 10**9 + 180), "period_interval": "1"}),
    ("market/batch-get-market-candlesticks.md", "/markets/candlesticks",
     {"market_tickers": TICKER, "start_ts": str(START_NS // 10**9), "end_ts": str(START_NS // 10**9 + 3600),
      "period_interval": "60"}),
]


@pytest.mark.parametrize(("page", "path", "query"), PUBLIC_READS, ids=[p for p, _, _ in PUBLIC_READS])
def test_public_reads_conform(busy, page, path, query):
    status, body = rest(busy, "GET", path, account=None, query=query)
    assert status == 200, body
    assert_conforms(page, 200, body)


PRIVATE_READS = [
    ("account/get-account-api-limits.md", "/account/limits", {}),
    ("portfolio/get-balance.md", "/portfolio/balance", {}),
    ("portfolio/get-positions.md", "/portfolio/positions", {}),
    ("portfolio/get-fills.md", "/portfolio/fills", {}),
    ("orders/get-orders.md", "/portfolio/orders", {}),
    ("orders/get-queue-positions-for-orders.md", "/portfolio/orders/queue_positions", {"market_tickers": TICKER}),
]


@pytest.mark.parametrize(("page", "path", "query"), PRIVATE_READS, ids=[p for p, _, _ in PRIVATE_READS])
def test_private_reads_conform(busy, page, path, query):
    status, body = rest(busy, "GET", path, query=query)
    assert status == 200, body
    assert_conforms(page, 200, body)


def _alice_order(ex, coid):
    return next(o for o in ex.orders.values() if o.client_order_id == coid)


def test_single_order_reads_conform(busy):
    order = _alice_order(busy, "a-rest")
    for page, path in (("orders/get-order.md", f"/portfolio/orders/{order.order_id}"),
                       ("orders/get-order-queue-position.md", f"/portfolio/orders/{order.order_id}/queue_position")):
        status, body = rest(busy, "GET", path)
        assert status == 200, body
        assert_conforms(page, 200, body)


def test_settlements_conform_after_a_market_settles(busy):
    busy.determine_market(TICKER, "yes")
    busy.settle_market(TICKER)
    status, body = rest(busy, "GET", "/portfolio/settlements")
    assert status == 200 and body["settlements"]
    assert_conforms("portfolio/get-settlements.md", 200, body)
    status, body = rest(busy, "GET", f"/markets/{TICKER}", account=None)
    assert_conforms("market/get-market.md", 200, body)


def test_v2_order_mutations_conform(busy):
    status, body = rest(busy, "POST", "/portfolio/events/orders", order_body(price="0.30", client_order_id="new"))
    assert status == 201
    assert_conforms("orders/create-order-v2.md", 201, body)
    status, body = rest(busy, "POST", "/portfolio/events/orders", order_body(side="bid", price="0.47", count="4"))
    assert status == 201 and "average_fee_paid" in body
    assert_conforms("orders/create-order-v2.md", 201, body)
    order_id = _alice_order(busy, "new").order_id
    status, body = rest(busy, "POST", f"/portfolio/events/orders/{order_id}/amend",
                        {"ticker": TICKER, "side": "bid", "price": "0.31", "count": "8"})
    assert status == 200, body
    assert_conforms("orders/amend-order-v2.md", 200, body)
    status, body = rest(busy, "POST", f"/portfolio/events/orders/{order_id}/decrease", {"reduce_by": "2"})
    assert status == 200, body
    assert_conforms("orders/decrease-order-v2.md", 200, body)
    status, body = rest(busy, "DELETE", f"/portfolio/events/orders/{order_id}")
    assert status == 200, body
    assert_conforms("orders/cancel-order-v2.md", 200, body)


def test_v2_batches_conform_including_per_item_errors(busy):
    batch = {"orders": [order_body(price="0.20"), order_body(price="1.50"), order_body(price="0.21")]}
    status, body = rest(busy, "POST", "/portfolio/events/orders/batched", batch)
    assert status == 201 and "error" in body["orders"][1]
    assert_conforms("orders/batch-create-orders-v2.md", 201, body)
    ids = [item["order_id"] for item in body["orders"] if "order_id" in item]
    status, body = rest(busy, "DELETE", "/portfolio/events/orders/batched",
                        {"orders": [{"order_id": ids[0]}, {"order_id": "nope"}]})
    assert status == 200 and "error" in body["orders"][1]
    assert_conforms("orders/batch-cancel-orders-v2.md", 200, body)
