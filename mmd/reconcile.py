"""REST reconciliation: exchange reads turned into our messages.

The WS `fill` channel is the fast path but has no sequence numbers, so fills can be
missed across a disconnect; REST /portfolio/fills is the truth we reconcile against.
"""

from __future__ import annotations

from actors.rest import ExchangeFill
from messages import OrderFilled

__all__ = ["order_filled_from"]


def order_filled_from(fill: ExchangeFill, ts_recv: int) -> OrderFilled:
    return OrderFilled(
        fill_id=fill.fill_id,
        order_id=fill.order_id,
        client_order_id=fill.client_order_id,
        ticker=fill.ticker,
        side=fill.side,
        price=fill.price,
        count=fill.count,
        fee=fill.fee,
        is_taker=fill.is_taker,
        post_position=fill.post_position,
        ts_event=fill.ts_event if fill.ts_event is not None else ts_recv,
        ts_recv=ts_recv,
    )
