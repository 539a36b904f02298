"""REST reconciliation helpers: exchange reads turned into our messages.

The WS `fill` channel is the fast path but has no sequence numbers, so fills can be
missed across a disconnect; REST /portfolio/fills is the truth we reconcile against.
"""

from __future__ import annotations

from messages import OrderFilled
from mmd.wire import ns_from_rfc3339, parse_count, parse_dollars

__all__ = ["fill_from_rest"]


def fill_from_rest(fill: dict, ts_recv: int) -> OrderFilled:
    """One REST Fill object (today's shape) as an OrderFilled message."""
    side = fill.get("book_side") or ("bid" if fill.get("outcome_side") == "yes" else "ask")
    if "created_time" in fill and fill["created_time"]:
        ts_event = ns_from_rfc3339(fill["created_time"])
    else:
        ts_event = int(fill.get("ts", 0)) * 1_000_000_000
    return OrderFilled(
        fill_id=str(fill["fill_id"]),
        order_id=str(fill["order_id"]),
        client_order_id=str(fill.get("client_order_id") or ""),
        ticker=str(fill.get("ticker") or fill["market_ticker"]),
        side=side,
        price=parse_dollars(fill["yes_price_dollars"], "yes_price_dollars"),
        count=parse_count(fill["count_fp"], "count_fp"),
        fee=parse_dollars(fill.get("fee_cost") or "0", "fee_cost"),
        is_taker=bool(fill.get("is_taker")),
        post_position=None,
        ts_event=ts_event,
        ts_recv=ts_recv,
    )
