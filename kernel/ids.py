"""Identifiers that must be pure functions of their inputs (replays reproduce them).

Every client order id we send starts with CLIENT_ORDER_PREFIX, so orders of ours left
behind by an earlier run can be told apart from the account holder's own orders.
"""

from __future__ import annotations

__all__ = ["CLIENT_ORDER_PREFIX", "session_id", "is_ours", "of_another_run"]

CLIENT_ORDER_PREFIX = "mmd-"


def session_id(run_id: str, number: int) -> str:
    """Session ids prefix the maker's client order ids: `{session_id}-{n}`."""
    return f"{CLIENT_ORDER_PREFIX}{run_id}-s{number}"


def is_ours(client_order_id: str | None) -> bool:
    return bool(client_order_id) and client_order_id.startswith(CLIENT_ORDER_PREFIX)


def of_another_run(client_order_id: str | None, run_id: str) -> bool:
    """An order of ours (our prefix) that no session of run `run_id` named."""
    return is_ours(client_order_id) and not client_order_id.startswith(f"{CLIENT_ORDER_PREFIX}{run_id}-s")  # type: ignore[union-attr]
