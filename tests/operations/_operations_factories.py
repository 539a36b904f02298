"""Stub factories for the bus events the metrics and alerts actors read."""

from __future__ import annotations

from decimal import Decimal

from messages import (
    ExposureChanged,
    MakerStatus,
    MarketExposure,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderRequestSent,
)

T0 = 1_795_000_000 * 1_000_000_000
MS = 1_000_000
S = 1_000_000_000
D = Decimal


def request_sent(client_order_id: str, ts: int, *, action: str = "place", ticker: str = "KX-A", decided_ts: int = 0,
                 trigger_ts_recv: int = 0) -> OrderRequestSent:
    return OrderRequestSent(action=action, client_order_id=client_order_id, ticker=ticker, ts=ts,
                            decided_ts=decided_ts or ts, trigger_ts_recv=trigger_ts_recv)


def accepted(client_order_id: str, ts_recv: int, *, ticker: str = "KX-A") -> OrderAccepted:
    return OrderAccepted(client_order_id=client_order_id, order_id="o-" + client_order_id, ticker=ticker, side="bid",
                         price=D("0.40"), count=D(5), filled=D(0), remaining=D(5), ts_event=ts_recv, ts_recv=ts_recv)


def amended(previous: str, new: str, ts_recv: int, *, ticker: str = "KX-A") -> OrderAmended:
    return OrderAmended(order_id="o-" + previous, client_order_id=new, previous_client_order_id=previous, ticker=ticker,
                        side="bid", price=D("0.41"), count=D(5), filled=D(0), remaining=D(5), ts_event=ts_recv,
                        ts_recv=ts_recv)


def cancelled(client_order_id: str, ts_recv: int, *, ticker: str = "KX-A") -> OrderCancelled:
    return OrderCancelled(order_id="o-" + client_order_id, client_order_id=client_order_id, ticker=ticker,
                          reduced_by=D(5), reason="requote", ts_event=ts_recv, ts_recv=ts_recv)


def rejected(client_order_id: str, ts_recv: int, *, source: str, code: str, action: str = "place",
             ticker: str = "KX-A") -> OrderRejected:
    return OrderRejected(action=action, client_order_id=client_order_id, order_id=None, ticker=ticker, side="bid",
                         price=D("0.40"), count=D(5), source=source, code=code, reason=f"{code} (test)",
                         ts_recv=ts_recv)


def filled(fill_id: str, ts_recv: int, *, count: str = "2", fee: str = "0.02", ticker: str = "KX-A") -> OrderFilled:
    return OrderFilled(fill_id=fill_id, order_id="o-1", client_order_id="c-1", ticker=ticker, side="bid",
                       price=D("0.40"), count=D(count), fee=D(fee), is_taker=False, post_position=None,
                       ts_event=ts_recv, ts_recv=ts_recv)


def maker_status(session_id: str, ticker: str, state: str, ts: int, *, position: str = "0", realized: str = "0",
                 unrealized: str = "0") -> MakerStatus:
    return MakerStatus(session_id=session_id, ticker=ticker, state=state,
                       why_not_quoting="" if state == "QUOTING" else "waiting", adverse_selection=False,
                       position=D(position), realized_pnl=D(realized), unrealized_pnl=D(unrealized), ts=ts)


def exposure(ts: int, *markets: tuple[str, str, int, str], state: str = "ACTIVE") -> ExposureChanged:
    """markets: (ticker, position, resting orders, exposure dollars)."""
    rows = tuple(
        MarketExposure(ticker=t, position=D(p), resting_orders=n, resting_order_value=D(e), exposure=D(e))
        for t, p, n, e in markets
    )
    total = sum((row.exposure for row in rows), D(0))
    return ExposureChanged(markets=rows, resting_order_value=total, global_exposure=total, state=state, ts=ts)
