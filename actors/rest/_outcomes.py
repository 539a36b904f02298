"""Outcome translation: what a finished REST call means, as messages to whom.

Pure functions. `outcome_effects(command, result, error, now_ns)` turns the client's answer
(a PlacedOrder, AmendedOrder, CancelledOrder, CancelAllResult, read body, a batch's
per-item list, or the exception the call raised) into the events published on the bus
(OrderAccepted, OrderAmended, OrderCancelled, OrderRejected, AllOrdersCancelled) or the
reply sent to the reader the request names (Send(to=reply_to, RestReadCompleted), its body
frozen once as the message is built). A batch yields one event per item, in the
batch's order.
"""

from __future__ import annotations

from typing import Any

from kalshi.wire import WireFormatError
from kernel.effects import Publish, Send
from messages import (
    AllOrdersCancelled,
    AmendOrder,
    CancelAllOrders,
    CancelOrder,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderRejected,
    OrderRequestSent,
    PlaceOrder,
    RestReadCompleted,
    RestReadRequested,
    rejection_of,
)

from ._batches import BatchCall
from ._client import AmendedOrder, CancelAllResult, CancelledOrder, OrderOutcomeUnknown, PlacedOrder, RestError
from ._effects import ReportFailure
from ._transport import TransportError

__all__ = [
    "outcome_effects",
    "order_accepted",
    "order_amended",
    "order_cancelled",
    "order_rejected",
    "all_orders_cancelled",
    "read_completed",
    "dropped_by_cancel_all",
    "rejection_source_and_code",
    "expected_failure",
]


def expected_failure(exc: BaseException) -> bool:
    """The failures the client raises on purpose; anything else is a bug worth a traceback."""
    return isinstance(exc, RestError | TransportError | OrderOutcomeUnknown | WireFormatError)


def rejection_source_and_code(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, RestError):
        return "exchange", exc.code
    if isinstance(exc, WireFormatError):
        return "exchange", "bad_response"
    if isinstance(exc, OrderOutcomeUnknown):
        return "transport", "outcome_unknown"
    if isinstance(exc, TransportError):
        return "transport", "transport_error"
    return "transport", "client_error"


def outcome_effects(command: Any, result: Any, error: BaseException | None, now_ns: int) -> list:
    if isinstance(command, RestReadRequested):
        return [Send(to=command.reply_to, message=read_completed(command, result, error, now_ns))]
    if isinstance(command, CancelAllOrders):
        return [Publish(all_orders_cancelled(command, result, error, now_ns))]
    if isinstance(command, BatchCall):
        return _batch_outcome(command, result, error, now_ns)
    if error is not None:
        effects: list = [] if expected_failure(error) else [ReportFailure("REST call failed unexpectedly", error)]
        return [*effects, Publish(order_rejected(command, error, now_ns))]
    if isinstance(command, PlaceOrder):
        return [Publish(order_accepted(command, result, now_ns))]
    if isinstance(command, AmendOrder):
        return [Publish(order_amended(command, result, now_ns))]
    if isinstance(command, CancelOrder):
        return [Publish(order_cancelled(command, result, now_ns))]
    return []


def _batch_outcome(batch: BatchCall, result: Any, error: BaseException | None, now_ns: int) -> list:
    """One event per item, in the batch's order; a failed call fails every item."""
    effects: list = []
    if error is not None:
        if not expected_failure(error):
            effects.append(ReportFailure("REST batch call failed unexpectedly", error))
        results: list = [error] * len(batch.commands)
    else:
        results = list(result)
    for cmd, item in zip(batch.commands, results):
        if isinstance(item, BaseException):
            effects.append(Publish(order_rejected(cmd, item, now_ns)))
        elif isinstance(cmd, PlaceOrder):
            effects.append(Publish(order_accepted(cmd, item, now_ns)))
        else:
            effects.append(Publish(order_cancelled(cmd, item, now_ns)))
    return effects


def order_accepted(cmd: PlaceOrder, placed: PlacedOrder, now_ns: int) -> OrderAccepted:
    return OrderAccepted(
        client_order_id=cmd.client_order_id,
        order_id=placed.order_id,
        ticker=cmd.ticker,
        side=cmd.side,
        price=cmd.price,
        count=cmd.count,
        filled=placed.filled,
        remaining=placed.remaining,
        ts_event=placed.ts_event if placed.ts_event is not None else now_ns,
        ts_recv=now_ns,
        session_id=cmd.session_id,
    )


def order_amended(cmd: AmendOrder, amended: AmendedOrder, now_ns: int) -> OrderAmended:
    return OrderAmended(
        order_id=amended.order_id,
        client_order_id=amended.client_order_id,
        previous_client_order_id=cmd.client_order_id,
        ticker=cmd.ticker,
        side=cmd.side,
        price=cmd.price,
        count=cmd.count,
        filled=amended.filled,
        remaining=amended.remaining,
        ts_event=amended.ts_event if amended.ts_event is not None else now_ns,
        ts_recv=now_ns,
        session_id=cmd.session_id,
    )


def order_cancelled(cmd: CancelOrder, cancelled: CancelledOrder, now_ns: int) -> OrderCancelled:
    return OrderCancelled(
        order_id=cancelled.order_id,
        client_order_id=cmd.client_order_id or cancelled.client_order_id,
        ticker=cmd.ticker,
        reduced_by=cancelled.reduced_by,
        reason=cmd.reason,
        ts_event=cancelled.ts_event if cancelled.ts_event is not None else now_ns,
        ts_recv=now_ns,
        session_id=cmd.session_id,
    )


def order_rejected(cmd: PlaceOrder | AmendOrder | CancelOrder, exc: BaseException, now_ns: int) -> OrderRejected:
    source, code = rejection_source_and_code(exc)
    return rejection_of(cmd, source=source, code=code, reason=str(exc), ts_recv=now_ns)


def dropped_by_cancel_all(cmd: PlaceOrder | AmendOrder, reason: str, now_ns: int) -> OrderRejected:
    """A place or amend taken back before it was sent, because a cancel-all came first."""
    return rejection_of(
        cmd,
        source="client",  # never sent: the exchange knows nothing of it
        code="dropped_by_cancel_all",
        reason=f"not sent: cancel-all ({reason})",
        ts_recv=now_ns,
    )


def all_orders_cancelled(
    cmd: CancelAllOrders, result: CancelAllResult, error: BaseException | None, now_ns: int
) -> AllOrdersCancelled:
    if error is not None:
        # still_resting = -1: not confirmed (the resting orders could not be read back)
        return AllOrdersCancelled(
            reason=f"{cmd.reason}; not confirmed: {error}",
            cancelled=0,
            still_resting=-1,
            ts_recv=now_ns,
            ticker=cmd.ticker,
        )
    return AllOrdersCancelled(
        reason=cmd.reason,
        cancelled=result.cancelled,
        still_resting=result.still_resting,
        ts_recv=now_ns,
        ticker=cmd.ticker,
    )


def read_completed(cmd: RestReadRequested, body: Any, error: BaseException | None, now_ns: int) -> RestReadCompleted:
    if error is None:
        status, reply_body, text = 200, body, ""
    elif isinstance(error, RestError):
        status, reply_body, text = error.status, error.body, str(error)
    else:
        status, reply_body, text = 0, None, f"{type(error).__name__}: {error}"
    return RestReadCompleted(
        request_id=cmd.request_id, path=cmd.path, status=status, body=reply_body, error=text, ts_recv=now_ns
    )


def requests_sent(command: Any, now_ns: int) -> list[OrderRequestSent]:
    """One event per order write a call hands to the transport (the latency metrics)."""
    commands = command.commands if isinstance(command, BatchCall) else (command,)
    actions = {PlaceOrder: "place", AmendOrder: "amend", CancelOrder: "cancel"}
    return [
        OrderRequestSent(
            action=actions[type(c)], client_order_id=c.client_order_id, ticker=c.ticker, decided_ts=c.ts, ts=now_ns,
            trigger_ts_recv=getattr(c, "trigger_ts_recv", 0), session_id=getattr(c, "session_id", ""),
        )
        for c in commands
        if type(c) in actions
    ]
