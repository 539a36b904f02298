"""The last fills of ours, for GET /status (the dashboard's "Recent fills"): a plain,
bounded record the analytics actor keeps beside the rows it writes.

Hazard: one fill can reach the bus twice (the WS user feed, and a REST reconciliation
that found it again), so a fill id already listed is not listed twice.
"""

from __future__ import annotations

from collections import deque

from messages import OrderFilled

from ._rows import decimal_text

__all__ = ["RecentFills"]


class RecentFills:
    def __init__(self, keep: int) -> None:
        if keep <= 0:
            raise ValueError(f"keep must be > 0, got {keep}")
        self._fills: deque[OrderFilled] = deque(maxlen=keep)

    def add(self, fill: OrderFilled) -> None:
        if fill.fill_id and any(kept.fill_id == fill.fill_id for kept in self._fills):
            return
        self._fills.append(fill)

    def rows(self) -> list[dict]:
        """Oldest first; money, prices and counts as exact decimal text, times in ns (ts:
        when we heard of it, on the daemon's clock; ts_event: the exchange's stamp)."""
        return [
            {
                "fill_id": fill.fill_id,
                "order_id": fill.order_id,
                "client_order_id": fill.client_order_id,
                "ticker": fill.ticker,
                "side": fill.side,
                "price": decimal_text(fill.price),
                "count": decimal_text(fill.count),
                "fee": decimal_text(fill.fee),
                "is_taker": fill.is_taker,
                "ts": fill.ts_recv,
                "ts_event": fill.ts_event,
            }
            for fill in self._fills
        ]

    def __len__(self) -> int:
        return len(self._fills)
