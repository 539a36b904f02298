"""Identifiers that must be pure functions of their inputs (replays reproduce them).

Every client order id we send starts with CLIENT_ORDER_PREFIX, so orders of ours left
behind by an earlier run can be told apart from the account holder's own orders.
"""

from __future__ import annotations

__all__ = ["CLIENT_ORDER_PREFIX", "session_id", "is_ours"]

CLIENT_ORDER_PREFIX = "mmd-"


def session_id(run_id: str, number: int) -> str:
    """Session ids prefix the maker's client order ids: `{session_id}-{n}`."""
    return f"{CLIENT_ORDER_PREFIX}{run_id}-s{number}"


def is_ours(client_order_id: str | None) -> bool:
    return bool(client_order_id) and client_order_id.startswith(CLIENT_ORDER_PREFIX)
