"""Our working orders in one market (one per side) and the writes that move them.

`reconcile` turns the desired quote into at most one command per side. Hazards it names:
- post-only orders that would cross are not sent (the exchange would refuse them);
- one in-flight command per side: until the last one is acknowledged we do not know the
  order's price, size or even whether it exists;
- an amend the exchange refuses falls back to cancel, then place on the next pass;
- an amend or cancel refused because the order is already executed or cancelled means
  the order is gone: it is forgotten, not kept as live;
- an amend to the order's current terms is never sent (it would only burn a write);
- a side whose place was refused waits `retry_after_ns` before trying again, so a risk
  limit does not turn every book update into a rejected write;
- an order of this session that we do not track (a place whose outcome was unknown) is
  adopted when the exchange reports it resting, and cancelled: it is nobody's quote.

What an order has filled follows the shared rule of `actors._own_orders`.
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
    OrderRejected,
    OrderUpdated,
    PlaceOrder,
)

from .._own_orders import OwnOrder, OwnOrders, refusal_means_gone

__all__ = ["WorkingOrder", "OrderManager", "SIDES"]

SIDES: tuple[BookSide, ...] = ("bid", "ask")

Desired = dict[BookSide, "tuple[Decimal, Decimal] | None"]
Command = PlaceOrder | AmendOrder | CancelOrder


@dataclass(slots=True, eq=False)
class WorkingOrder(OwnOrder):
    amend_refused: bool = False  # the next change goes cancel-and-place
    cancel_refused_at: int | None = None  # an adopted order's cancel was refused then

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
            "adopted": self.adopted,
        }


class OrderManager:
    def __init__(self, *, ticker: str, session_id: str, keep_within: Decimal, retry_after_ns: int) -> None:
        self.ticker = ticker
        self.session_id = session_id
        self.keep_within = keep_within
        self.retry_after_ns = retry_after_ns
        self._client_prefix = f"{session_id}-"
        self._book = OwnOrders(adopt=self._is_ours_untracked, order_type=WorkingOrder)
        self._orders: dict[BookSide, WorkingOrder | None] = {side: None for side in SIDES}
        self._place_refused_at: dict[BookSide, int | None] = {side: None for side in SIDES}
        self._sequence = 0
        self.places = 0
        self.amends = 0
        self.cancels = 0
        self.skipped: dict[BookSide, str] = {}  # why a side is not quoted on the last pass

    def _is_ours_untracked(self, event: OrderAccepted | OrderUpdated) -> bool:
        return event.ticker == self.ticker and event.client_order_id.startswith(self._client_prefix)

    # -- reads ----------------------------------------------------------------------
    def order(self, side: BookSide) -> WorkingOrder | None:
        return self._orders[side]

    def open_orders(self) -> list[dict]:
        return [o.as_dict() for o in self._all()]

    def resting_size_by_level(self) -> dict[tuple[str, Decimal], Decimal]:
        """Our own size in the exchange's book by (side, price): acknowledged orders at
        their acknowledged terms (an amend in flight counts at its old price until acked)."""
        levels: dict[tuple[str, Decimal], Decimal] = {}
        for order in self._all():
            if order.order_id is not None and not order.gone and order.remaining > 0:
                key = (order.side, order.price)
                levels[key] = levels.get(key, Decimal(0)) + order.remaining
        return levels

    @property
    def has_orders(self) -> bool:
        return len(self._book) > 0

    @property
    def adopted(self) -> int:
        """Orders of this session found resting untracked (and so cancelled)."""
        return self._book.adoptions

    @property
    def writes(self) -> int:
        return self.places + self.amends + self.cancels

    def _all(self) -> list[WorkingOrder]:
        return self._book.of_ticker(self.ticker)  # type: ignore[return-value]

    def _strays(self) -> list[WorkingOrder]:
        """Tracked orders that are no side's working order (adopted ones)."""
        working = [o for o in self._orders.values() if o is not None]
        return [o for o in self._all() if not any(o is w for w in working)]

    # -- decisions ------------------------------------------------------------------
    def reconcile(self, desired: Desired, book: BookView | None, now_ns: int) -> list[Command]:
        commands: list[Command] = []
        self.skipped = {}
        for side in SIDES:
            command = self._reconcile_side(side, desired.get(side), book, now_ns)
            if command is not None:
                commands.append(command)
        for stray in self._strays():
            if stray.pending is not None or stray.order_id is None:
                continue
            if stray.cancel_refused_at is not None and now_ns < stray.cancel_refused_at + self.retry_after_ns:
                continue
            commands.append(self._cancel(stray, now_ns, "adopted order of this session"))
        return commands

    def cancel_all(self, now_ns: int, reason: str, *, in_flight_too: bool = False) -> list[Command]:
        """Cancel every idle order. With in_flight_too (no ack will ever be read again, as
        when the actor stops) also those with an amend in flight; an order still being
        placed has no exchange id to cancel by: see `unacknowledged_places`."""
        commands: list[Command] = []
        for order in self._all():
            if order.pending == "cancelling" or order.order_id is None:
                continue
            if order.pending is None or in_flight_too:
                commands.append(self._cancel(order, now_ns, reason))
        return commands

    @property
    def unacknowledged_places(self) -> int:
        return sum(1 for o in self._all() if o.order_id is None)

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
        return f"{self._client_prefix}{self._sequence}"

    def _place(self, side: BookSide, price: Decimal, size: Decimal, now_ns: int) -> PlaceOrder:
        order = WorkingOrder(
            ticker=self.ticker,
            side=side,
            client_order_id=self._next_client_order_id(),
            order_id=None,
            price=price,
            count=size,
            pending="placing",
        )
        self._book.add(order)
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

    def _amend(self, order: WorkingOrder, price: Decimal, size: Decimal, now_ns: int) -> AmendOrder | None:
        total = order.filled + size  # amend takes the new total, filled included
        if price == order.price and total == order.count:
            return None  # the order already has these terms: an amend would only burn a write
        order.pending = "amending"
        order.amend_to = (price, total)
        self.amends += 1
        return AmendOrder(
            order_id=order.order_id or "",
            client_order_id=order.client_order_id,
            updated_client_order_id=self._next_client_order_id(),
            ticker=self.ticker,
            side=order.side,
            price=price,
            count=total,
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
    def _forget(self, order: WorkingOrder, *, closed: bool = True) -> None:
        self._book.remove(order, closed=closed)
        self._release(order)

    def _release(self, order: WorkingOrder) -> None:
        if self._orders[order.side] is order:
            self._orders[order.side] = None

    def apply(self, event: object, now_ns: int) -> None:
        """Apply an order event. Events for orders that are not ours are ignored."""
        if isinstance(event, OrderRejected):
            self._on_rejected(event, now_ns)
            return
        order = self._book.apply(event)
        if order is None:
            return
        if order.gone:
            self._release(order)

    def _on_rejected(self, event: OrderRejected, now_ns: int) -> None:
        order = self._book.find(event.ticker, event.order_id, event.client_order_id)
        if order is None:
            return
        assert isinstance(order, WorkingOrder)
        if refusal_means_gone(event):  # already executed or cancelled: not live
            self._forget(order)
        elif event.action == "place":
            # closed=False: a place whose outcome was unknown may yet show up resting
            self._forget(order, closed=False)
            self._place_refused_at[order.side] = now_ns
        elif event.action == "amend":
            order.pending = None
            order.amend_to = None
            order.amend_refused = True
        elif event.action == "cancel":
            order.pending = None
            order.cancel_refused_at = now_ns
