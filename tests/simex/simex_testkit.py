"""Helpers and fixtures for the simex tests: a virtual clock and a quiet one-market exchange."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from simex import Exchange, MarketSpec, OrderRequest

TICKER = "KXTEST-26DEC31-T1"
START_NS = 1_795_000_000 * 1_000_000_000  # 2026-11-18, a fixed virtual time
PREFIX = "/trade-api/v2"


class VirtualClock:
    def __init__(self, start_ns: int = START_NS) -> None:
        self.ns = start_ns

    def __call__(self) -> int:
        return self.ns

    def tick(self, seconds: float) -> int:
        self.ns += int(seconds * 1_000_000_000)
        return self.ns


QUIET_SPEC = MarketSpec(ticker=TICKER, event_ticker="KXTEST-26DEC31", series_ticker="KXTEST")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def ex(clock: VirtualClock) -> Exchange:
    """One market without background participants; alice, bob, carol with $1,000 each."""
    exchange = Exchange(now_ns=clock, seed=7)
    exchange.add_market(QUIET_SPEC)
    for name in ("alice", "bob", "carol"):
        exchange.register_account(name, 100_000)
    return exchange


def place(ex: Exchange, account: str, side: str, price: str, count: int, **kw):
    """Place through the core API (what participants use); returns the Order record."""
    return ex.place_order(account, OrderRequest(TICKER, side, Decimal(price), Decimal(count), **kw))


def order_body(side: str = "bid", price: str = "0.40", count: str = "10", **extra) -> dict:
    body = {"ticker": TICKER, "side": side, "price": price, "count": count,
            "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"}
    body.update(extra)
    return body


def rest(ex: Exchange, method: str, path: str, body=None, account: str | None = "alice", query=None):
    return ex.handle_rest(method, PREFIX + path, query or {}, body, account)


class WsClient:
    """One WebSocket session on the sans-IO core, collecting the frames it is sent."""

    def __init__(self, ex: Exchange, account: str = "alice") -> None:
        self.frames: list[dict] = []
        self.session = ex.open_session(account, lambda text: self.frames.append(json.loads(text)))

    def send(self, cmd_id, cmd, params=None) -> None:
        command = {"id": cmd_id, "cmd": cmd}
        if params is not None:
            command["params"] = params
        self.session.receive(json.dumps(command))

    def take(self) -> list[dict]:
        frames, self.frames = self.frames, []
        return frames

    def of_type(self, msg_type: str) -> list[dict]:
        return [f for f in self.frames if f["type"] == msg_type]

    def codes(self) -> list[int]:
        return [f["msg"]["code"] for f in self.take() if f["type"] == "error"]
