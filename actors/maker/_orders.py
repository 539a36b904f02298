"""Our working orders in one market (one per side and ladder level) and the writes that
move them.

`reconcile` turns the desired quote into at most one command per side and level (SPEC 8
"one resting order per side and level"): level i of a side is matched against the order
working level i, kept while within `keep_within` of its target at the same size, else
amended (or cancelled and placed again); a level no longer wanted is cancelled. Hazards
it names:
- post-only orders that would cross are not sent (the exchange would refuse them);
- one in-flight command per side and level: until the last one is acknowledged we do not know the
  order's price, size or even whether it exists;
- an amend the exchange refuses falls back to cancel, then place on the next pass;
- an amend or cancel refused because the order is already executed or cancelled means
  the order is gone: it is forgotten, not kept as live;
- an amend to the order's current terms is never sent (it would only burn a write);
- a side whose place was refused waits `retry_after_ns` before trying again, so a risk
  limit does not turn every book update into a rejected write; likewise an order whose
  cancel was refused (not gone: still resting), whichever order it is, is cancelled again
  at most once per `retry_after_ns`;
- an order of this session that we do not track (a place whose outcome was unknown) is
  adopted when the exchange reports it resting, and cancelled: it is nobody's quote;
- a place whose outcome is unknown (transport failure) is not dropped: if the exchange
  already reported it live it stays the side's working order; otherwise it is kept,
  off its side, as an unsettled place (cancelled by id if it shows up, by a cancel-all of
  the market at shutdown if it never does);
- the book feed lags our REST acknowledgements: an order whose cancel (or move by amend)
  we already heard of may still show in the book. Its size stays subtracted at its old
  level ("ghost") until that level has shrunk by it, or for at most `retry_after_ns`, so
  others' liquidity is not imagined where our own order was.

What an order has filled follows the shared rule of `actors.ledger` (OwnOrders).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from messages import (
    AmendOrder,
    BookSide,
    BookView,
    CancelOrder,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderUpdated,
    PlaceOrder,
)

from ..ledger import OwnOrder, OwnOrders, outcome_unknown, refusal_means_executed, refusal_means_gone

__all__ = ["WorkingOrder", "OrderManager", "SIDES"]

SIDES: tuple[BookSide, ...] = ("bid", "ask")
GOOD_TILL_CANCELED = "good_till_canceled"
IMMEDIATE_OR_CANCEL = "immediate_or_cancel"

# Per side: (price, size), or (price, size, aggressive) for an exit order that crosses
# (immediate-or-cancel, reduce-only), or None for no order on that side; or a list of
# those, one per ladder level, best first (a plain tuple is level 0 alone).
LevelWant = "tuple[Decimal, Decimal] | tuple[Decimal, Decimal, bool] | None"
Desired = dict[BookSide, "tuple[Decimal, Decimal] | tuple[Decimal, Decimal, bool] | list | None"]
Command = PlaceOrder | AmendOrder | CancelOrder


@dataclass(slots=True, eq=False)
class WorkingOrder(OwnOrder):
    ioc: bool = False  # an exit order crossing the book: it never rests, forgotten once acknowledged
    changed_ns: int = 0  # when we last placed or amended it (quote refresh)
    amend_refused: bool = False  # the next change goes cancel-and-place
    cancel_refused_at: int | None = None  # its last cancel was refused (not gone) then
    level_when_moved: Decimal | None = None  # book size at its price when we sent a cancel/amend
    level: int = 0  # ladder level it works (0: the best)

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


def _level(book: BookView | None, side: BookSide, price: Decimal) -> Decimal | None:
    if book is None:
        return None
    levels = book.bids if side == "bid" else book.asks
    return next((size for p, size in levels if p == price), Decimal(0))


@dataclass(slots=True)
class _Ghost:
    """Our size the book may still show at a level we already left (see the docstring)."""

    side: BookSide
    price: Decimal
    size: Decimal
    shown_gone_at: Decimal | None  # level size once the book reflects our leaving (None: unknown)
    expires_ns: int

    def still_shown(self, book: BookView | None) -> Decimal:
        """How much of our old size the book's level may still hold."""
        level = _level(book, self.side, self.price)
        if level is None:
            return Decimal(0)
        if self.shown_gone_at is None:
            return min(self.size, level)
        return max(Decimal(0), min(self.size, level - self.shown_gone_at))


def _side_wants(want: object) -> list:
    """A side's desire as one entry per ladder level."""
    if want is None:
        return []
    if isinstance(want, list):
        return want
    return [want]


def _skip_key(side: BookSide, level: int) -> str:
    return side if level == 0 else f"{side} level {level + 1}"


def batched(commands: list) -> list:
    """Tag the places, and the cancels, decided together (two or more of a kind) with the
    client ids of their group, so the REST client sends each group as one V2 batch call
    once every item has passed (or been refused by) the risk governor."""
    for kind in (PlaceOrder, CancelOrder):
        ids = tuple(c.client_order_id for c in commands if type(c) is kind)
        if len(ids) > 1:
            commands = [replace(c, batch=ids) if type(c) is kind else c for c in commands]
    return commands


def _client_ids(event: object) -> tuple[str, ...]:
    ids = (getattr(event, "client_order_id", None), getattr(event, "previous_client_order_id", None))
    return tuple(i for i in ids if i)


def _left_its_level(order: WorkingOrder, event: object, old_price: Decimal) -> bool:
    """Whether this event took the order off the price level it rested at: a cancel
    confirmed, or an amend (acknowledged or seen applied) that moved it."""
    if order.gone:
        return isinstance(event, OrderCancelled) or (
            isinstance(event, OrderUpdated) and event.status in ("canceled", "cancelled")
        )
    return order.price != old_price


class OrderManager:
    def __init__(
        self, *, ticker: str, session_id: str, keep_within: Decimal, retry_after_ns: int, max_retry_after_ns: int = 0
    ) -> None:
        self.ticker = ticker
        self.session_id = session_id
        self.keep_within = keep_within
        self.retry_after_ns = retry_after_ns
        # Repeated place refusals on a side (a category budget other sessions use up) double
        # the wait up to this cap, so a side risk keeps refusing is not retried every interval.
        self.max_retry_after_ns = max(max_retry_after_ns, retry_after_ns)
        self._place_refusals: dict[BookSide, int] = {}
        self._client_prefix = f"{session_id}-"
        self._book = OwnOrders(adopt=self._is_ours_untracked, order_type=WorkingOrder)
        self._orders: dict[tuple[BookSide, int], WorkingOrder] = {}  # (side, level) -> working order
        self._ghosts: list[_Ghost] = []
        # exchange order id -> (side, price, contracts) of an order that is over, whose fills
        # the exchange reported (order update) but we have not yet seen (fill message)
        self._unseen: dict[str, tuple[BookSide, Decimal, Decimal]] = {}
        self._last_book: BookView | None = None
        self._place_refused_at: dict[BookSide, int | None] = {side: None for side in SIDES}
        self._aggressive_at: dict[BookSide, int | None] = {side: None for side in SIDES}
        self._sequence = 0
        # Bumped whenever an event may change what rests where (ours or ghosts): lets the
        # session reuse the book-less-our-orders within one pass instead of rebuilding it.
        self.version = 0
        self.places = 0
        self.amends = 0
        self.cancels = 0
        self.skipped: dict[str, str] = {}  # why a side (or "bid level 2") is not quoted on the last pass

    def _is_ours_untracked(self, event: OrderAccepted | OrderUpdated) -> bool:
        return event.ticker == self.ticker and self.session_client_id(event.client_order_id)

    def session_client_id(self, client_order_id: str | None) -> bool:
        """Whether a client order id is one this session gives its orders (`{session_id}-{n}`)."""
        if not client_order_id or not client_order_id.startswith(self._client_prefix):
            return False
        return client_order_id[len(self._client_prefix):].isdigit()

    def owns_fill(self, fill: OrderFilled) -> bool:
        """Whether a fill is of one of this session's orders: on this market, and with this
        session's client id or the exchange id of an order we track, track no longer
        (confirmed gone) or still await fills of. Hazard: the bus delivers every fill on
        the market (another session's order, a manual order); counting those would move our
        inventory with positions that are not ours. A fill naming neither (no client id,
        an order whose id we have not learnt yet) is left out here: the REST fill read at
        the session's end, by when we know the id, brings it back in."""
        if fill.ticker != self.ticker:
            return False
        if self.session_client_id(fill.client_order_id):
            return True
        order_id = fill.order_id
        if not order_id:
            return False
        return (
            order_id in self._unseen
            or self._book.find(self.ticker, order_id) is not None
            or self._book.was_closed(order_id, None)
        )

    # -- reads ----------------------------------------------------------------------
    def order(self, side: BookSide, level: int = 0) -> WorkingOrder | None:
        return self._orders.get((side, level))

    def levels_working(self, side: BookSide) -> int:
        """How many ladder levels deep this side's working orders reach."""
        return 1 + max((level for s, level in self._orders if s == side), default=-1)

    def open_orders(self) -> list[dict]:
        return [o.as_dict() for o in self._all()]

    def resting_size_by_level(
        self, book: BookView | None = None, now_ns: int | None = None
    ) -> dict[tuple[str, Decimal], Decimal]:
        """Our own size in the exchange's book by (side, price): acknowledged orders at
        their acknowledged terms (an amend in flight counts at its old price until acked),
        plus, given the book, what it may still show of orders we already moved or
        cancelled (ghosts; those the book no longer shows, or past their time, are dropped)."""
        levels: dict[tuple[str, Decimal], Decimal] = {}
        for order in self._all():
            if order.order_id is not None and not order.gone and order.remaining > 0:
                key = (order.side, order.price)
                levels[key] = levels.get(key, Decimal(0)) + order.remaining
        if book is not None:
            kept = []
            for ghost in self._ghosts:
                shown = ghost.still_shown(book)
                if shown <= 0 or (now_ns is not None and now_ns >= ghost.expires_ns):
                    continue
                kept.append(ghost)
                key = (ghost.side, ghost.price)
                levels[key] = levels.get(key, Decimal(0)) + shown
            self._ghosts = kept
        return levels

    @property
    def has_orders(self) -> bool:
        return len(self._book) > 0

    @property
    def order_count(self) -> int:
        return len(self._book)

    def risk_terms(self, side: BookSide) -> list[tuple[tuple[Decimal, ...], Decimal]]:
        """Our orders on a side as the risk governor may still count them: (the prices
        each may rest at, contracts), an unsettled amend's target counting until it settles."""
        terms = []
        for order in self._all():
            if order.side != side:
                continue
            if order.amend_to is None:
                terms.append(((order.price,), order.remaining))
            else:
                amended = max(Decimal(0), order.amend_to[1] - order.filled)
                terms.append(((order.price, order.amend_to[0]), max(order.remaining, amended)))
        return terms

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
    def reconcile(
        self,
        desired: Desired,
        book: BookView | None,
        now_ns: int,
        *,
        force: bool = False,
        refresh_before_ns: int | None = None,
    ) -> list[Command]:
        """One command per side and level at most. force: move every order to its exact target (the
        fair value jumped); refresh_before_ns: orders last changed before then are moved to
        their exact target too (stale quotes)."""
        commands: list[Command] = []
        self.skipped = {}
        if book is not None:
            self._last_book = book
        for side in SIDES:
            wants = _side_wants(desired.get(side))
            for level in range(max(len(wants), self.levels_working(side))):
                want = wants[level] if level < len(wants) else None
                command = self._reconcile_side(side, want, book, now_ns, force, refresh_before_ns, level)
                if command is not None:
                    commands.append(command)
        for stray in self._strays():
            if stray.pending is not None or stray.order_id is None:
                continue
            if self._cancel_refused_recently(stray, now_ns):
                continue
            commands.append(self._cancel(stray, now_ns, "adopted order of this session"))
        return batched(commands)

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
        return batched(commands)

    @property
    def unacknowledged_places(self) -> int:
        return sum(1 for o in self._all() if o.order_id is None)

    def _reconcile_side(
        self,
        side: BookSide,
        want: tuple | None,
        book: BookView | None,
        now_ns: int,
        force: bool = False,
        refresh_before_ns: int | None = None,
        level: int = 0,
    ) -> Command | None:
        order = self._orders.get((side, level))
        skip = _skip_key(side, level)
        if order is not None and order.pending is not None:
            self.skipped[skip] = f"{order.pending} in flight"
            return None
        if want is not None and want[1] <= 0:
            want = None
        if want is None:
            if order is None:
                return None
            return self._cancel_unless_refused(order, now_ns, "not quoting this side", skip)
        price, size = want[0], want[1]
        if len(want) > 2 and want[2]:
            return self._reconcile_aggressive(side, order, price, size, now_ns, level)
        if order is not None and order.ioc:
            self.skipped[skip] = "exit order in flight"
            return None
        if self._would_cross(side, price, book):
            # Post-only would be refused; a resting order already inside the book stays.
            self.skipped[skip] = "would cross the book"
            return None
        if order is None:
            if self._place_backoff(side, now_ns):
                self.skipped[skip] = "place refused recently"
                return None
            return self._place(side, price, size, now_ns, level=level)
        stale = refresh_before_ns is not None and order.changed_ns < refresh_before_ns
        if abs(order.price - price) <= self.keep_within and order.remaining == size and not (force or stale):
            return None
        if order.amend_refused:
            return self._cancel_unless_refused(order, now_ns, "replace after refused amend", skip)
        return self._amend(order, price, size, now_ns)

    def _reconcile_aggressive(
        self, side: BookSide, order: WorkingOrder | None, price: Decimal, size: Decimal, now_ns: int, level: int = 0
    ) -> Command | None:
        """An exit order that crosses: a resting order on that side goes first (cancel),
        then one immediate-or-cancel place at a time."""
        skip = _skip_key(side, level)
        if order is not None:
            if order.ioc:
                self.skipped[skip] = "exit order in flight"
                return None
            return self._cancel_unless_refused(order, now_ns, "replace by exit order", skip)
        if self._place_backoff(side, now_ns):
            self.skipped[skip] = "place refused recently"
            return None
        # Hazard: an IOC that found nobody comes back at once; another right away would
        # hammer the exchange (and its fills may still be on their way): one per interval.
        last = self._aggressive_at[side]
        if last is not None and now_ns < last + self.retry_after_ns:
            self.skipped[skip] = "exit order sent recently"
            return None
        self._aggressive_at[side] = now_ns
        return self._place(side, price, size, now_ns, aggressive=True, level=level)

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

    def _place(
        self, side: BookSide, price: Decimal, size: Decimal, now_ns: int, aggressive: bool = False, level: int = 0
    ) -> PlaceOrder:
        order = WorkingOrder(
            ticker=self.ticker,
            side=side,
            client_order_id=self._next_client_order_id(),
            order_id=None,
            price=price,
            count=size,
            pending="placing",
            ioc=aggressive,
            changed_ns=now_ns,
            level=level,
        )
        self._book.add(order)
        self._orders[(side, level)] = order
        self.places += 1
        return PlaceOrder(
            client_order_id=order.client_order_id,
            ticker=self.ticker,
            side=side,
            price=price,
            count=size,
            ts=now_ns,
            post_only=not aggressive,
            time_in_force=IMMEDIATE_OR_CANCEL if aggressive else GOOD_TILL_CANCELED,
            reduce_only=aggressive,
            session_id=self.session_id,
        )

    def _amend(self, order: WorkingOrder, price: Decimal, size: Decimal, now_ns: int) -> AmendOrder | None:
        total = order.filled + size  # amend takes the new total, filled included
        if price == order.price and total == order.count:
            return None  # the order already has these terms: an amend would only burn a write
        new_client_order_id = self._next_client_order_id()
        order.start_amend(price, total, new_client_order_id)
        order.changed_ns = now_ns
        order.level_when_moved = _level(self._last_book, order.side, order.price)
        self.amends += 1
        return AmendOrder(
            order_id=order.order_id or "",
            client_order_id=order.client_order_id,
            updated_client_order_id=new_client_order_id,
            ticker=self.ticker,
            side=order.side,
            price=price,
            count=total,
            ts=now_ns,
            session_id=self.session_id,
        )

    def _cancel_refused_recently(self, order: WorkingOrder, now_ns: int) -> bool:
        at = order.cancel_refused_at
        return at is not None and now_ns < at + self.retry_after_ns

    def _cancel_unless_refused(self, order: WorkingOrder, now_ns: int, reason: str, skip: str) -> CancelOrder | None:
        """Cancel, unless this order's last cancel was refused under `retry_after_ns` ago.
        Hazard: the refusal (a risk or rate-limit refusal, a transport failure) clears the
        order's in-flight cancel, so without this every input would send it again."""
        if self._cancel_refused_recently(order, now_ns):
            self.skipped[skip] = "cancel refused recently"
            return None
        return self._cancel(order, now_ns, reason)

    def _cancel(self, order: WorkingOrder, now_ns: int, reason: str) -> CancelOrder:
        order.pending = "cancelling"
        order.level_when_moved = _level(self._last_book, order.side, order.price)
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
        key = (order.side, order.level)
        if self._orders.get(key) is order:
            del self._orders[key]

    def apply(self, event: object, now_ns: int) -> None:
        """Apply an order event. Events for orders that are not ours are ignored."""
        self.version += 1
        if isinstance(event, OrderRejected):
            self._on_rejected(event, now_ns)
            return
        before = self._book.find(getattr(event, "ticker", ""), getattr(event, "order_id", None), *_client_ids(event))
        was = None
        if before is not None and before.order_id is not None and before.remaining > 0:
            was = (before.price, before.remaining)
        order = self._book.apply(event)
        if order is None:
            if isinstance(event, OrderFilled):
                self._saw_fill_of_gone_order(event)
            return
        assert isinstance(order, WorkingOrder)
        if isinstance(event, OrderAccepted):
            self._place_refusals.pop(order.side, None)  # the side is placing again: back to one interval
        if order.gone and order.order_id is not None:
            lacking = order.reported_filled - sum(order.fills.values(), Decimal(0))
            if lacking > 0:
                self._unseen[order.order_id] = (order.side, order.price, lacking)
        if was is not None and _left_its_level(order, event, was[0]):
            self._add_ghost(order, was[0], was[1], now_ns)
        if order.ioc and not order.gone and isinstance(event, (OrderAccepted, OrderUpdated)):
            # immediate-or-cancel: once the exchange answered, nothing of it rests
            self._forget(order)
        if order.gone:
            self._release(order)

    def _saw_fill_of_gone_order(self, fill: OrderFilled) -> None:
        unseen = self._unseen.get(fill.order_id)
        if unseen is not None:
            left = unseen[2] - fill.count
            if left > 0:
                self._unseen[fill.order_id] = (unseen[0], unseen[1], left)
            else:
                del self._unseen[fill.order_id]

    def unseen_fills(self) -> list[tuple[BookSide, Decimal, Decimal]]:
        """(side, price, contracts) the exchange reported filled that have not reached us
        as fills yet (a fill message may trail the order update): position already, for
        the risk governor too."""
        out = list(self._unseen.values())
        for order in self._all():
            lacking = order.reported_filled - sum(order.fills.values(), Decimal(0))
            if lacking > 0:
                out.append((order.side, order.price, lacking))
        return out

    def _add_ghost(self, order: WorkingOrder, price: Decimal, size: Decimal, now_ns: int) -> None:
        level = order.level_when_moved
        shown_gone_at = None if level is None else max(Decimal(0), level - size)
        self._ghosts.append(_Ghost(order.side, price, size, shown_gone_at, now_ns + self.retry_after_ns))

    def _place_backoff(self, side: BookSide, now_ns: int) -> bool:
        """Whether a side's last place was refused too recently to try again."""
        refused_at = self._place_refused_at[side]
        if refused_at is None:
            return False
        doublings = max(0, self._place_refusals.get(side, 1) - 1)
        wait = min(self.max_retry_after_ns, self.retry_after_ns << min(doublings, 16))
        return now_ns < refused_at + wait

    def _on_rejected(self, event: OrderRejected, now_ns: int) -> None:
        order = self._book.find(event.ticker, event.order_id, event.client_order_id)
        if order is None:
            return
        assert isinstance(order, WorkingOrder)
        if refusal_means_gone(event):  # already executed or cancelled: not live
            if refusal_means_executed(event) and order.order_id is not None:
                # what rested has filled, seen or not (as the risk governor counts it): the
                # acknowledged total, or an unsettled amend's if a cancel was refused and smaller
                total = order.count
                if event.action == "cancel" and order.amend_to is not None:
                    total = min(order.count, order.amend_to[1])
                lacking = total - sum(order.fills.values(), Decimal(0))
                if lacking > 0:
                    self._unseen[order.order_id] = (order.side, order.price, lacking)
            self._forget(order)
        elif event.action == "place":
            if outcome_unknown(event) and order.order_id is not None:
                order.pending = None  # the exchange already reported it live: keep working it
                return
            self._place_refused_at[order.side] = now_ns
            self._place_refusals[order.side] = self._place_refusals.get(order.side, 0) + 1
            if outcome_unknown(event):
                # may yet show up: kept off its side as an unsettled place, so it is
                # recognised (and cancelled) when reported, or cancelled with the market
                order.pending = None
                self._release(order)
            else:
                self._forget(order, closed=False)
        elif event.action == "amend":
            self._book.amend_refused(order, event)
            order.amend_refused = True
            if order.gone:
                self._release(order)
        elif event.action == "cancel":
            order.pending = None
            order.cancel_refused_at = now_ns
