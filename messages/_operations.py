"""Operations: events that exist for the operator's metrics and alerts (SPEC 12)."""

from __future__ import annotations

from ._base import Message, message

__all__ = ["ReconciliationFailed", "OrderRequestSent"]


@message
class ReconciliationFailed(Message):
    """Reconciling with the exchange (open orders, positions, fills read back) failed:
    what we believe may differ from the exchange. Published by the runner."""

    reason: str
    ts: int


@message
class OrderRequestSent(Message):
    """A write (place, amend, cancel) handed by the REST client to its transport.

    Carries the timestamps the latency metrics need: when the maker decided it
    (`decided_ts`, the command's ts), the market data that led to the decision
    (`trigger_ts_recv`, the ts_recv of the frame being handled; 0 when a timer decided)
    and when it left (`ts`). Its answer (OrderAccepted, OrderAmended, OrderCancelled,
    OrderRejected) is matched by action and client order id.
    """

    action: str  # place | amend | cancel
    client_order_id: str  # the command's (an amend's current id, not the updated one)
    ticker: str
    decided_ts: int
    ts: int
    trigger_ts_recv: int = 0
    session_id: str = ""
