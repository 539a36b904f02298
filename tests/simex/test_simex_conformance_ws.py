"""Every WebSocket message type the simulator sends validates against Kalshi's asyncapi.yaml
(vendored in tests/vendor/kalshi-docs).

The payload schemas are made strict before use: every object schema that lists properties
rejects unknown keys (additionalProperties: false), `required` lists are enforced, uuid and
date-time formats are checked. The only keys allowed beyond the file are the ones kalshi-api.md
documents as newer than it (EXTENSIONS below, each with its source).
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
import yaml
from simex_testkit import QUIET_SPEC, TICKER, VirtualClock

from simex import Exchange, OrderRequest
from simex._faults import faults_of

ASYNCAPI = Path(__file__).resolve().parents[1] / "vendor" / "kalshi-docs" / "asyncapi.yaml"  # vendored, CC0

# Kalshi user ids are UUIDs (asyncapi: user_order.user_id format uuid): the accounts here are too.
ALICE = "0b7d7a8e-5c1f-4a0b-9a57-3f6a1b2c0001"
BOB = "0b7d7a8e-5c1f-4a0b-9a57-3f6a1b2c0002"
OTHER = "KXOTHER-26DEC31-T2"

PAYLOADS = {  # message type -> schema in components/schemas
    "subscribed": "subscribedResponsePayload",
    "unsubscribed": "unsubscribedResponsePayload",
    "ok": "okResponsePayload",
    "ok_list": "listSubscriptionsResponsePayload",
    "error": "errorResponsePayload",
    "orderbook_snapshot": "orderbookSnapshotPayload",
    "orderbook_delta": "orderbookDeltaPayload",
    "ticker": "tickerPayload",
    "trade": "tradePayload",
    "fill": "fillPayload",
    "user_order": "userOrderPayload",
    "market_position": "marketPositionPayload",
    "market_lifecycle_v2": "marketLifecycleV2Payload",
    "order_group_updates": "orderGroupUpdatesPayload",
}
SEQ = {"$ref": "#/components/schemas/sequenceNumber"}
EXTENSIONS = {  # (message type, "" for the envelope or "msg") -> extra properties, with their source
    # kalshi-api.md 7.1: snapshots sent in reply to get_snapshot carry the command id
    ("orderbook_snapshot", ""): {"id": {"$ref": "#/components/schemas/commandId"}},
    # kalshi-api.md 7.3 (user_orders example) and changelog 2026-06-04 (last_update_reason)
    ("user_order", "msg"): {"exchange_index": {"type": "integer"},
                            "last_update_reason": {"type": "string", "enum": [
                                "Decrease", "Amend", "MarginCancel", "SelfTradeCancel", "ExpiryCancel",
                                "CloseCancel", "HaltCancel", "Trade", "PostOnlyCrossCancel",
                                "ReduceOnlyCancel",
                                "Cancel"]}},  # a user cancel: not in kalshi-api.md's list (14: open point)
    # kalshi-api.md 7.2: an error may also carry the sid (terminal channel errors name theirs)
    ("error", ""): {"sid": {"$ref": "#/components/schemas/subscriptionId"}},
}
LATEST_SPEC_EXTENSIONS = {  # kalshi-api.md 7.4: the latest spec adds seq on these (opt-in)
    ("trade", ""): {"seq": SEQ},
    ("market_lifecycle_v2", ""): {"seq": SEQ},
}


def _resolve(node, schemas):
    if isinstance(node, dict):
        if "$ref" in node:
            target = schemas[node["$ref"].rsplit("/", 1)[1]]
            merged = {**_resolve(copy.deepcopy(target), schemas), **{k: v for k, v in node.items() if k != "$ref"}}
            return _resolve(merged, schemas)
        return {k: _resolve(v, schemas) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, schemas) for v in node]
    return node


def _strict(node):
    if isinstance(node, dict):
        node = {k: _strict(v) for k, v in node.items()}
        if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


def _date_time(value) -> bool:
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


FORMATS = jsonschema.FormatChecker()
FORMATS.checks("date-time")(_date_time)


def build_validators(extensions: dict) -> dict:
    spec = yaml.safe_load(ASYNCAPI.read_text())
    schemas = spec["components"]["schemas"]
    # the file's own ticker examples ("FED-23DEC-T3.00", "HIGHNY-22DEC23-B53.5") break its pattern
    assert schemas["marketTicker"]["pattern"] == "^[A-Z0-9-]+$"
    schemas["marketTicker"]["pattern"] = "^[A-Z0-9.-]+$"
    validators = {}
    for kind, name in PAYLOADS.items():
        raw = copy.deepcopy(schemas[name])
        for (ext_kind, where), props in extensions.items():
            if ext_kind == kind:
                (raw if where == "" else raw["properties"][where])["properties"].update(props)
        schema = _strict(_resolve(raw, schemas))
        validators[kind] = jsonschema.Draft202012Validator(schema, format_checker=FORMATS)
    return validators


STRICT = build_validators(EXTENSIONS)
LATEST = build_validators({**EXTENSIONS, **LATEST_SPEC_EXTENSIONS})


def kind_of(frame: dict) -> str:
    if frame.get("type") == "ok" and isinstance(frame.get("msg"), list):
        return "ok_list"
    return frame["type"]


def assert_conforms(frames: list[dict], validators=STRICT) -> set[str]:
    for frame in frames:
        errors = sorted(validators[kind_of(frame)].iter_errors(frame), key=str)
        assert not errors, f"{json.dumps(frame)}\n" + "\n".join(e.message for e in errors)
    return {kind_of(f) for f in frames}


class Client:
    def __init__(self, ex, account):
        self.frames: list[dict] = []
        self.session = ex.open_session(account, lambda text: self.frames.append(json.loads(text)))
        self._id = 0

    def send(self, cmd, params=None):
        self._id += 1
        command = {"id": self._id, "cmd": cmd}
        if params is not None:
            command["params"] = params
        self.session.receive(json.dumps(command))


def place(ex, account, side, price, count, ticker=TICKER, **kw):
    return ex.place_order(account, OrderRequest(ticker, side, Decimal(price), Decimal(count), **kw))


def run_every_message_type(ex: Exchange, clock: VirtualClock) -> list[dict]:
    """Drive one session through every command, channel and lifecycle event; return its frames."""
    client = Client(ex, ALICE)
    place(ex, BOB, "bid", "0.40", 5)
    place(ex, BOB, "ask", "0.47", 3)
    client.send("subscribe", {"channels": ["orderbook_delta"], "market_tickers": [TICKER]})
    client.send("subscribe", {"channels": ["orderbook_delta"], "market_ticker": TICKER, "use_yes_price": True})
    client.send("subscribe", {"channels": ["ticker"], "market_tickers": [TICKER], "send_initial_snapshot": True})
    client.send("subscribe", {"channels": ["trade", "market_lifecycle_v2", "fill", "user_orders",
                                           "market_positions", "order_group_updates"]})
    client.send("update_subscription", {"sid": 1, "action": "add_markets", "market_tickers": [OTHER]})  # empty book
    client.send("update_subscription", {"sids": [1], "action": "get_snapshot", "market_tickers": [TICKER]})
    client.send("update_subscription", {"sid": 1, "action": "delete_markets", "market_tickers": [OTHER]})
    client.send("list_subscriptions")
    place(ex, ALICE, "bid", "0.41", 4, client_order_id="conf-1", expiration_ns=clock.ns + 3_600_000_000_000)
    place(ex, BOB, "ask", "0.41", 1)  # partial fill of ours: trade, fill, user_order, market_position
    place(ex, ALICE, "bid", "0.47", 3)  # we take: is_taker fill, executed user_order
    resting = place(ex, ALICE, "bid", "0.30", 2, client_order_id="conf-2")
    ex.cancel_order(ALICE, resting.order_id)  # canceled user_order
    ex.handle_rest("GET", "/trade-api/v2/exchange/status", {}, None, None)  # flushes ticker updates
    ex.hub.order_group_update(ALICE, {"event_type": "limit_updated", "order_group_id": "og_1",
                                      "contracts_limit_fp": "150.00", "ts_ms": clock.ns // 1_000_000})
    for bad in ("{nope", {"cmd": "subscribe"}, {"cmd": "subscribe", "params": {"channels": ["trade"],
                                                                               "market_tickers": ["NOPE-1"]}},
                {"cmd": "unsubscribe", "params": {"sids": [999]}}):
        client.session.receive(bad if isinstance(bad, str) else json.dumps({"id": 99, **bad}))
    ex.pause_market(TICKER)
    ex.resume_market(TICKER)
    clock.tick(60)
    ex.determine_market(TICKER, "yes")  # closes early first: close_date_updated, determined
    ex.settle_market(TICKER)
    client.send("unsubscribe", {"sids": [1, 4]})
    faults_of(ex).channel_error(25)  # terminal error frames carry their sid
    return client.frames


@pytest.fixture
def venue(clock):
    ex = Exchange(now_ns=clock, seed=3)
    ex.add_market(QUIET_SPEC)
    ex.add_market(type(QUIET_SPEC)(ticker=OTHER, event_ticker="KXOTHER-26DEC31", series_ticker="KXOTHER"))
    for account in (ALICE, BOB):
        ex.register_account(account, 100_000)
    return ex


ALL_TYPES = set(PAYLOADS)


def test_every_message_type_matches_the_asyncapi_payload_schemas(venue, clock):
    frames = run_every_message_type(venue, clock)
    assert assert_conforms(frames) == ALL_TYPES
    events = [f["msg"]["event_type"] for f in frames if f["type"] == "market_lifecycle_v2"]
    assert events == ["deactivated", "activated", "close_date_updated", "determined", "settled"]
    assert {f["msg"]["status"] for f in frames if f["type"] == "user_order"} == {"resting", "executed", "canceled"}


def test_latest_spec_mode_adds_seq_to_trade_and_lifecycle_and_still_conforms(venue, clock):
    venue.hub.sequence_trade_and_lifecycle = True
    frames = run_every_message_type(venue, clock)
    assert_conforms(frames, LATEST)
    trade_seqs = [f["seq"] for f in frames if f["type"] == "trade"]
    assert trade_seqs == list(range(1, len(trade_seqs) + 1)) and trade_seqs
    with pytest.raises(AssertionError):  # the plain asyncapi.yaml schema has no seq on trade
        assert_conforms([f for f in frames if f["type"] == "trade"])


def test_every_error_frame_uses_the_exact_kalshi_message_text(venue, clock):
    from simex._ws import ERRORS

    texts = {0: None}
    for frame in run_every_message_type(venue, clock):
        if frame["type"] == "error":
            texts[frame["msg"]["code"]] = frame["msg"]["msg"]
    assert texts.keys() >= {1, 2, 7, 16, 25}
    assert all(text == ERRORS[code] for code, text in texts.items() if code)
    assert ERRORS[12] == "Exactly one subscription ID is required" and ERRORS[14] == "Market Ticker required"


@pytest.mark.parametrize("mutate, complaint", [
    (lambda f: f["msg"].update(surprise="x"), "Additional properties"),
    (lambda f: f["msg"].pop("market_id"), "required"),
    (lambda f: f.update(seq=0), "minimum"),
    (lambda f: f["msg"].update(market_id="not-a-uuid"), "uuid"),
])
def test_the_strict_validator_rejects_unknown_missing_and_malformed_fields(venue, clock, mutate, complaint):
    frames = run_every_message_type(venue, clock)
    delta = copy.deepcopy(next(f for f in frames if f["type"] == "orderbook_delta"))
    mutate(delta)
    with pytest.raises(AssertionError, match=complaint):
        assert_conforms([delta])
