"""Test doubles for our own seams (Transport, WebSocketConnector) and a recording actor."""

from __future__ import annotations

import json
from typing import Any

from actors._base import MmdActor, handles
from messages import (
    AllOrdersCancelled,
    BookDelta,
    BookSnapshot,
    BookUntrusted,
    FeedHealthChanged,
    MarketLifecycleChanged,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderUpdated,
    PositionUpdated,
    RestReadCompleted,
    TickerUpdated,
    TradePrinted,
)

RECORDED_TYPES = (
    AllOrdersCancelled, BookDelta, BookSnapshot, BookUntrusted, FeedHealthChanged, MarketLifecycleChanged,
    OrderAccepted, OrderAmended, OrderCancelled, OrderFilled, OrderRejected, OrderUpdated, PositionUpdated,
    RestReadCompleted, TickerUpdated, TradePrinted,
)  # fmt: skip


class Recorder(MmdActor):
    """Dummy collaborator: keeps every message it is told, in order."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._received: list = []

    @handles(*RECORDED_TYPES)
    def record(self, msg: Any) -> None:
        self._received.append(msg)

    def received(self) -> tuple:
        return tuple(self._received)


class FakeTransport:
    """Scripted replies per (method, path). Each reply is (status, body) or an exception to
    raise; the last reply of a route repeats once the others are used up."""

    def __init__(self, routes: dict[tuple[str, str], list]) -> None:
        self.routes = {key: list(replies) for key, replies in routes.items()}
        self.calls: list[tuple[str, str, dict | None, dict | None]] = []

    def request(self, method, path, query=None, body=None):
        self.calls.append((method, path, dict(query) if query is not None else None, body))
        replies = self.routes.get((method, path))
        if not replies:
            return 404, {"error": {"code": "not_found", "message": f"no route {method} {path}"}}
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def calls_to(self, method: str, path: str) -> list:
        return [c for c in self.calls if c[0] == method and c[1] == path]


class FakeConnector:
    """Records commands sent; connect() opens synchronously unless told to fail."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.connects = 0
        self.closes = 0
        self.fail_connects = 0  # how many coming connect() calls raise
        self.heartbeat_ns: int | None = None
        self.opens_synchronously = True  # False: like a socket, the open would come later

    @property
    def last_heartbeat_ns(self) -> int | None:
        return self.heartbeat_ns

    def connect(self) -> bool:
        self.connects += 1
        if self.fail_connects > 0:
            self.fail_connects -= 1
            raise ConnectionRefusedError("exchange unreachable")
        return self.opens_synchronously

    def send(self, text: str) -> None:
        self.sent.append(json.loads(text))

    def close(self) -> None:
        self.closes += 1

    def commands(self, cmd: str) -> list[dict]:
        return [c for c in self.sent if c["cmd"] == cmd]


def order_object(**overrides: Any) -> dict:
    """A REST Order as GET /portfolio/orders returns it (kalshi-api.md §5)."""
    order = {
        "order_id": "ord-1", "user_id": "u-1", "client_order_id": "mmd-run1-1", "ticker": "KXTEST-26",
        "outcome_side": "yes", "book_side": "bid", "type": "limit", "status": "resting",
        "yes_price_dollars": "0.4200", "no_price_dollars": "0.5800", "fill_count_fp": "0.00",
        "remaining_count_fp": "5.00", "initial_count_fp": "5.00", "created_time": "2026-11-21T10:00:00Z",
    }  # fmt: skip
    order.update(overrides)
    return order
