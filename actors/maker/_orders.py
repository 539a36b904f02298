"""Our working orders in one market (one per side) and the writes that move them.

`reconcile` turns the desired quote into at most one command per side. Hazards it names:
- post-only orders that would cross are not sent (the exchange would refuse them);
- one in-flight command per side: until the last one is acknowledged we do not know the
  order's price, size or even whether it exists;
- an amend the exchange refuses falls back to cancel, then place on the next pass;
- a side whose place was refused waits `retry_after_ns` before trying again, so a risk
  limit does not turn every book update into a rejected write.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from messages import (
    AmendOrder,
    BookSide,
    BookView,
    CancelOrder,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderUpdated,
    PlaceOrder,
)

__all__ = ["WorkingOrder", "OrderManager", "SIDES"]

SIDES: tuple[BookSide, ...] = ("bid", "ask")
_ZERO = Decimal(0)
# A cancel refused with one of these codes means the order is already gone.
_ORDER_GONE_CODES = frozenset({"not_found", "order_not_found"})
_TERMINAL_STATUSES = frozenset({"canceled", "cancelled", "executed"})

Desired = dict[BookSide, "tuple[Decimal, Decimal] | None"]
Command = PlaceOrder | AmendOrder | CancelOrder


@dataclass(slots=True)
class WorkingOrder:
    side: BookSide
    client_order_id: str
    order_id: str | None  # None until the exchange accepts the place
    price: Decimal
    count: Decimal  # total, filled included
    filled: Decimal = _ZERO
    pending: str | None = "placing"  # placing | amending | cancelling | None
    amend_refused: bool = False  # the next change goes cancel-and-place

    @property
    def remaining(self) -> Decimal:
        return self.count - self.filled

    def as_dict(self) -> dict:
        return {
            "side": self.side,
            "order_id": self.order_id,
            "client_order_id": self.client_order_id,
            "price": str(self.price),
            "count": str(self.count),
            "filled": str(self.filled),
            "remaining": str(self.remaining),
            "pending": self.pending,
        }


class OrderManager:
    def __init__(self, *, ticker: str, session_id: str, keep_within: Decimal, retry_after_ns: int) -> None:
        self.ticker = ticker
        self.session_id = session_id
        self.keep_within = keep_within
        self.retry_after_ns = retry_after_ns
        self._orders: dict[BookSide, WorkingOrder | None] = {side: None for side in SIDES}
        self._place_refused_at: dict[BookSide, int | None] = {side: None for side in SIDES}
        self._sequence = 0
        self.places = 0
        self.amends = 0
        self.cancels = 0
        self.skipped: dict[BookSide, str] = {}  # why a side is not quoted on the last pass

    # -- reads ----------------------------------------------------------------------
    def order(self, side: BookSide) -> WorkingOrder | None:
        return self._orders[side]

    def open_orders(self) -> list[dict]:
        return [o.as_dict() for o in self._orders.values() if o is not None]

    @property
    def has_orders(self) -> bool:
        return any(o is not None for o in self._orders.values())

    @property
    def writes(self) -> int:
        return self.places + self.amends + self.cancels

    # -- decisions ------------------------------------------------------------------
    def reconcile(self, desired: Desired, book: BookView | None, now_ns: int) -> list[Command]:
        commands: list[Command] = []
        self.skipped = {}
        for side in SIDES:
            command = self._reconcile_side(side, desired.get(side), book, now_ns)
            if command is not None:
                commands.append(command)
        return commands

    def cancel_all(self, now_ns: int, reason: str, *, in_flight_too: bool = False) -> list[Command]:
        """Cancel every idle order. With in_flight_too (no ack will ever be read again, as
        when the actor stops) also those with an amend in flight; an order still being
        placed has no exchange id to cancel by: see `unacknowledged_places`."""
        commands: list[Command] = []
        for order in self._orders.values():
            if order is None or order.pending == "cancelling" or order.order_id is None:
                continue
            if order.pending is None or in_flight_too:
                commands.append(self._cancel(order, now_ns, reason))
        return commands

    @property
    def unacknowledged_places(self) -> int:
        return sum(1 for o in self._orders.values() if o is not None and o.order_id is None)

    def _reconcile_side(
        self, side: BookSide, want: tuple[Decimal, Decimal] | None, book: BookView | None, now_ns: int
    ) -> Command | None:
        order = self._orders[side]
        if order is not None and order.pending is not None:
            self.skipped[side] = f"{order.pending} in flight"
            return None
        if want is not None and want[1] <= 0:
            want = None
        if want is None:
            return self._cancel(order, now_ns, "not quoting this side") if order is not None else None
        price, size = want
        if self._would_cross(side, price, book):
            # Post-only would be refused; a resting order already inside the book stays.
            self.skipped[side] = "would cross the book"
            return None
        if order is None:
            refused_at = self._place_refused_at[side]
            if refused_at is not None and now_ns < refused_at + self.retry_after_ns:
                self.skipped[side] = "place refused recently"
                return None
            return self._place(side, price, size, now_ns)
        if abs(order.price - price) <= self.keep_within and order.remaining == size:
            return None
        if order.amend_refused:
            return self._cancel(order, now_ns, "replace after refused amend")
        return self._amend(order, price, size, now_ns)

    @staticmethod
    def _would_cross(side: BookSide, price: Decimal, book: BookView | None) -> bool:
        if book is None:
            return False
        if side == "bid":
            return book.best_ask is not None and price >= book.best_ask
        return book.best_bid is not None and price <= book.best_bid

    def _next_client_order_id(self) -> str:
        self._sequence += 1
        return f"{self.session_id}-{self._sequence}"

    def _place(self, side: BookSide, price: Decimal, size: Decimal, now_ns: int) -> PlaceOrder:
        order = WorkingOrder(side=side, client_order_id=self._next_client_order_id(), order_id=None, price=price, count=size)
        self._orders[side] = order
        self.places += 1
        return PlaceOrder(
            client_order_id=order.client_order_id,
            ticker=self.ticker,
            side=side,
            price=price,
            count=size,
            ts=now_ns,
            post_only=True,
            session_id=self.session_id,
        )

    def _amend(self, order: WorkingOrder, price: Decimal, size: Decimal, now_ns: int) -> AmendOrder:
        order.pending = "amending"
        self.amends += 1
        return AmendOrder(
            order_id=order.order_id or "",
            client_order_id=order.client_order_id,
            updated_client_order_id=self._next_client_order_id(),
            ticker=self.ticker,
            side=order.side,
            price=price,
            count=order.filled + size,  # amend takes the new total, filled included
            ts=now_ns,
            session_id=self.session_id,
        )

    def _cancel(self, order: WorkingOrder, now_ns: int, reason: str) -> CancelOrder:
        order.pending = "cancelling"
        self.cancels += 1
        return CancelOrder(
            order_id=order.order_id or "",
            client_order_id=order.client_order_id,
            ticker=self.ticker,
            ts=now_ns,
            reason=reason,
            session_id=self.session_id,
        )

    # -- events ---------------------------------------------------------------------
    def _find(self, order_id: str | None, *client_order_ids: str | None) -> WorkingOrder | None:
        for order in self._orders.values():
            if order is None:
                continue
            if order_id and order.order_id == order_id:
                return order
            if order.client_order_id in client_order_ids:
                return order
        return None

    def _forget(self, order: WorkingOrder) -> None:
        if self._orders[order.side] is order:
            self._orders[order.side] = None

    def _forget_if_done(self, order: WorkingOrder) -> None:
        if order.remaining <= 0:
            self._forget(order)

    def apply(self, event: object, now_ns: int) -> None:
        """Apply an order event. Events for orders that are not ours are ignored."""
        if isinstance(event, OrderAccepted):
            self._on_accepted(event)
        elif isinstance(event, OrderAmended):
            self._on_amended(event)
        elif isinstance(event, OrderRejected):
            self._on_rejected(event, now_ns)
        elif isinstance(event, OrderCancelled):
            order = self._find(event.order_id, event.client_order_id)
            if order is not None:
                self._forget(order)
        elif isinstance(event, OrderFilled):
            self._on_filled(event)
        elif isinstance(event, OrderUpdated):
            self._on_updated(event)

    def _on_accepted(self, event: OrderAccepted) -> None:
        order = self._find(None, event.client_order_id)
        if order is None:
            return
        order.order_id = event.order_id
        order.price = event.price
        order.count = event.count
        # a fill may have overtaken the accept: both are cumulative, keep the larger
        order.filled = max(order.filled, event.filled)
        if order.pending == "placing":
            order.pending = None
        self._forget_if_done(order)

    def _on_amended(self, event: OrderAmended) -> None:
        order = self._find(event.order_id, event.previous_client_order_id, event.client_order_id)
        if order is None:
            return
        order.client_order_id = event.client_order_id
        order.price = event.price
        order.count = event.count
        order.filled = max(order.filled, event.filled)
        if order.pending == "amending":
            order.pending = None
        self._forget_if_done(order)

    def _on_rejected(self, event: OrderRejected, now_ns: int) -> None:
        order = self._find(event.order_id, event.client_order_id)
        if order is None:
            return
        if event.action == "place":
            self._forget(order)
            self._place_refused_at[order.side] = now_ns
        elif event.action == "amend":
            order.pending = None
            order.amend_refused = True
        elif event.action == "cancel":
            order.pending = None
            if event.code in _ORDER_GONE_CODES:
                self._forget(order)

    def _on_filled(self, event: OrderFilled) -> None:
        order = self._find(event.order_id, event.client_order_id)
        if order is None:
            return
        order.filled += event.count
        self._forget_if_done(order)

    def _on_updated(self, event: OrderUpdated) -> None:
        order = self._find(event.order_id, event.client_order_id)
        if order is None:
            return
        if event.status in _TERMINAL_STATUSES:
            self._forget(order)
            return
        if order.pending is None:  # a pending command's ack will bring the authoritative state
            order.price = event.price
            order.filled = max(order.filled, event.filled)
            order.count = order.filled + event.remaining
        self._forget_if_done(order)
