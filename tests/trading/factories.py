"""Stub factories for the messages the trading tests feed in. Prices as strings."""

from __future__ import annotations

from decimal import Decimal as D

from messages import (
    BookSnapshot,
    BookView,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderUpdated,
    PlaceOrder,
)

TICKER = "KXTEST-26JAN01-T50"
T0 = 1_700_000_000_000_000_000  # replay start, ns


def levels(*pairs: tuple[str, str | int]) -> tuple:
    return tuple((D(price), D(size)) for price, size in pairs)


def book_view(bids=(("0.45", 10),), asks=(("0.55", 10),), trusted=True, ticker=TICKER) -> BookView:
    return BookView(ticker=ticker, bids=levels(*bids), asks=levels(*asks), trusted=trusted, ts_event=T0, ts_recv=T0)


def snapshot(bids=(("0.45", 10),), asks=(("0.55", 10),), ts=T0, seq=1, ticker=TICKER) -> BookSnapshot:
    return BookSnapshot(ticker=ticker, bids=levels(*bids), asks=levels(*asks), seq=seq, ts_event=ts, ts_recv=ts)


def fill(side, price, count, fee="0", fill_id="f1", order_id="ex-1", client_order_id="s-1", ticker=TICKER, ts=T0):
    return OrderFilled(
        fill_id=fill_id,
        order_id=order_id,
        client_order_id=client_order_id,
        ticker=ticker,
        side=side,
        price=D(price),
        count=D(count),
        fee=D(fee),
        is_taker=False,
        post_position=None,
        ts_event=ts,
        ts_recv=ts,
    )


def accepted(place: PlaceOrder, order_id: str, filled="0") -> OrderAccepted:
    return OrderAccepted(
        client_order_id=place.client_order_id,
        order_id=order_id,
        ticker=place.ticker,
        side=place.side,
        price=place.price,
        count=place.count,
        filled=D(filled),
        remaining=place.count - D(filled),
        ts_event=T0,
        ts_recv=T0,
        session_id=place.session_id,
    )


def amended(amend, filled="0") -> OrderAmended:
    return OrderAmended(
        order_id=amend.order_id,
        client_order_id=amend.updated_client_order_id,
        previous_client_order_id=amend.client_order_id,
        ticker=amend.ticker,
        side=amend.side,
        price=amend.price,
        count=amend.count,
        filled=D(filled),
        remaining=amend.count - D(filled),
        ts_event=T0,
        ts_recv=T0,
        session_id=amend.session_id,
    )


def cancelled(order_id: str, client_order_id: str, ticker=TICKER, reduced_by="5") -> OrderCancelled:
    return OrderCancelled(
        order_id=order_id,
        client_order_id=client_order_id,
        ticker=ticker,
        reduced_by=D(reduced_by),
        reason="requested",
        ts_event=T0,
        ts_recv=T0,
    )


def rejected(command, action: str, code="invalid_order", source="exchange", reason=None) -> OrderRejected:
    return OrderRejected(
        action=action,
        client_order_id=command.client_order_id,
        order_id=getattr(command, "order_id", None),
        ticker=command.ticker,
        side=getattr(command, "side", None),
        price=getattr(command, "price", None),
        count=getattr(command, "count", None),
        source=source,
        code=code,
        reason=code if reason is None else reason,
        ts_recv=T0,
    )


def updated(
    order_id: str,
    client_order_id: str,
    side="bid",
    price="0.49",
    filled="0",
    remaining="5",
    status="resting",
    ticker=TICKER,
    reason="",
) -> OrderUpdated:
    """The exchange's view of an order (WS user_order): running totals, not one fill."""
    return OrderUpdated(
        order_id=order_id,
        client_order_id=client_order_id,
        ticker=ticker,
        side=side,
        price=D(price),
        status=status,
        filled=D(filled),
        remaining=D(remaining),
        initial=D(filled) + D(remaining),
        reason=reason,
        ts_event=T0,
        ts_recv=T0,
    )


def place(client_order_id, side, price, count, ticker=TICKER) -> PlaceOrder:
    return PlaceOrder(client_order_id=client_order_id, ticker=ticker, side=side, price=D(price), count=D(count), ts=T0)
