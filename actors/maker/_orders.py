"""Our working orders in one market (one per side and ladder level) and the writes that
move them.

What our orders are (their terms, what they filled, whether they still rest) is the
trading ledger's: the risk governor writes it and publishes each change of the market
(`TradingStateChanged`), which `apply` takes in. The manager keeps only what the ledger
cannot know, its own decisions:
- commands sent that risk has not recorded yet (between our send and risk's admission
  the ledger may publish changes that do not show them): a place is our working order
  from the moment we send it, an amend or cancel is in flight on its order. Each is
  dropped when the ledger's view shows it recorded (the change it caused) or risk
  refused it (its OrderRejected, source "risk");
- which order works which side and ladder level, when we last moved it, and how the
  exchange answered our commands (an amend refused, a cancel refused, a place refused);
- immediate-or-cancel orders the exchange answered (nothing of them rests any more);
- ghosts of our orders in the book feed (below).

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
- an order that fills up to its total while an amend of ours that raises the total has
  not been recorded yet is not over for us: the amend may still apply. It stays until
  the amend is settled (the ledger, which has not seen the amend, takes it as executed);
- the book feed lags our REST acknowledgements: an order whose cancel (or move by amend)
  we already heard of may still show in the book. Its size stays subtracted at its old
  level ("ghost") until that level has shrunk by it, or for at most `retry_after_ns`, so
  others' liquidity is not imagined where our own order was.
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
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderUpdated,
    OrderView,
    PlaceOrder,
    TradingStateChanged,
    UnseenFill,
)

from ..ledger import outcome_unknown, refusal_means_gone

__all__ = ["WorkingOrder", "OrderManager", "SIDES"]

SIDES: tuple[BookSide, ...] = ("bid", "ask")
GOOD_TILL_CANCELED = "good_till_canceled"
IMMEDIATE_OR_CANCEL = "immediate_or_cancel"
_ZERO = Decimal(0)
_ORDER_EVENTS = (OrderAccepted, OrderAmended, OrderCancelled, OrderFilled, OrderUpdated)

# Per side: (price, size), or (price, size, aggressive) for an exit order that crosses
# (immediate-or-cancel, reduce-only), or None for no order on that side; or a list of
# those, one per ladder level, best first (a plain tuple is level 0 alone).
LevelWant = "tuple[Decimal, Decimal] | tuple[Decimal, Decimal, bool] | None"
Desired = dict[BookSide, "tuple[Decimal, Decimal] | tuple[Decimal, Decimal, bool] | list | None"]
Command = PlaceOrder | AmendOrder | CancelOrder


@dataclass(slots=True)
class _Notes:
    """What the maker notes about one of its orders, which the ledger cannot know."""

    side: BookSide
    level: int = 0  # ladder level it works (0: the best)
    ioc: bool = False  # an exit order crossing the book: it never rests, forgotten once answered
    changed_ns: int = 0  # when we last placed or amended it (quote refresh)
    amend_refused: bool = False  # the next change goes cancel-and-place
    cancel_refused_at: int | None = None  # its last cancel was refused (not gone) then
    level_when_moved: Decimal | None = None  # book size at its price when we sent a cancel/amend


class WorkingOrder:
    """One of this session's orders as the maker reads it: the ledger's view of it (None
    for a place risk has not recorded yet), our commands risk has not recorded yet laid
    over it, and our notes. Rebuilt from each view: never a copy that events update.
    The terms and what filled come from the view (or our place) alone, both immutable:
    they are read once here (quoting reads them many times per book update)."""

    __slots__ = (
        "key", "view", "notes", "place", "amend", "cancel",
        "ticker", "side", "client_order_id", "order_id", "price", "count",
        "adopted", "gone", "reported_filled", "fills_seen", "filled", "remaining",
    )  # fmt: skip

    def __init__(self, key: str, view: OrderView | None, notes: _Notes, *, place: PlaceOrder | None = None) -> None:
        self.key = key
        self.view = view
        self.notes = notes
        self.place = place  # our place, not recorded yet (view is None)
        self.amend: AmendOrder | None = None  # our amend, not recorded yet
        self.cancel: CancelOrder | None = None  # our cancel, not recorded yet
        # the order's terms: the ledger's, or what we sent
        if view is not None:
            self.ticker: str = view.ticker
            self.side: BookSide = view.side
            self.client_order_id: str = view.client_order_id
            self.order_id: str | None = view.order_id
            self.price: Decimal = view.price
            self.count: Decimal = view.count
            self.adopted: bool = view.adopted
            self.gone: bool = view.gone
            self.reported_filled: Decimal = view.reported_filled
            self.fills_seen: Decimal = view.fills_seen
        else:
            assert place is not None
            self.ticker, self.side, self.client_order_id = place.ticker, place.side, place.client_order_id
            self.order_id, self.price, self.count = None, place.price, place.count
            self.adopted = self.gone = False
            self.reported_filled = self.fills_seen = _ZERO
        self.filled: Decimal = max(self.reported_filled, self.fills_seen)
        self.remaining: Decimal = max(_ZERO, self.count - self.filled)

    @property
    def pending(self) -> str | None:
        if self.cancel is not None:
            return "cancelling"
        if self.amend is not None:
            return "amending"
        return "placing" if self.view is None else self.view.pending

    @property
    def amend_to(self) -> tuple[Decimal, Decimal] | None:
        if self.amend is not None:
            return (self.amend.price, self.amend.count)
        return None if self.view is None else self.view.amend_to

    @property
    def amend_client_order_id(self) -> str | None:
        if self.amend is not None:
            return self.amend.updated_client_order_id
        return None if self.view is None else self.view.amend_client_order_id

    # -- our notes ------------------------------------------------------------------------
    @property
    def ioc(self) -> bool:
        return self.notes.ioc

    @property
    def level(self) -> int:
        return self.notes.level

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
    if len(commands) < 2:  # no group to tag (the usual pass)
        return commands
    for kind in (PlaceOrder, CancelOrder):
        ids = tuple(c.client_order_id for c in commands if type(c) is kind)
        if len(ids) > 1:
            commands = [replace(c, batch=ids) if type(c) is kind else c for c in commands]
    return commands


def _recorded(command: Command, cause: object) -> bool:
    """Whether a change the ledger published was caused by (the recording of) `command`."""
    return (
        type(cause) is type(command)
        and cause.client_order_id == command.client_order_id  # type: ignore[attr-defined]
        and getattr(cause, "updated_client_order_id", None) == getattr(command, "updated_client_order_id", None)
        and getattr(cause, "order_id", None) == getattr(command, "order_id", None)
    )


def _refused_by_risk(command: Command, rejection: OrderRejected) -> bool:
    action = "place" if isinstance(command, PlaceOrder) else "amend" if isinstance(command, AmendOrder) else "cancel"
    return rejection.action == action and rejection.client_order_id == command.client_order_id


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
        self.trigger_ts_recv = 0  # the book update being handled (latency metrics; 0: a timer)
        self.keep_within = keep_within
        self.retry_after_ns = retry_after_ns
        # Repeated place refusals on a side (a category budget other sessions use up) double
        # the wait up to this cap, so a side risk keeps refusing is not retried every interval.
        self.max_retry_after_ns = max(max_retry_after_ns, retry_after_ns)
        self._place_refusals: dict[BookSide, int] = {}
        self._client_prefix = f"{session_id}-"
        # the ledger's latest view of this session's orders, by key (oldest first)
        self._views: dict[str, OrderView] = {}
        self._unseen: tuple[UnseenFill, ...] = ()  # this session's fills reported but not yet seen
        self._order_ids: frozenset[str] = frozenset()  # exchange ids of this session's orders
        # our decisions: commands risk has not recorded yet (oldest first), the order working
        # each (side, level), our notes per order, immediate-or-cancel orders answered
        self._unrecorded: list[tuple[str, Command]] = []
        self._slots: dict[tuple[BookSide, int], str] = {}
        self._notes: dict[str, _Notes] = {}
        self._ioc_answered: set[str] = set()
        self._adopted: set[str] = set()
        # the orders as we read them now (views, our unrecorded commands laid over them)
        self._book: dict[str, WorkingOrder] = {}
        self._ghosts: list[_Ghost] = []
        self._last_book: BookView | None = None
        self._place_refused_at: dict[BookSide, int | None] = {side: None for side in SIDES}
        self._aggressive_at: dict[BookSide, int | None] = {side: None for side in SIDES}
        self._sequence = 0
        # Bumped whenever the ledger's view may change what rests where (ours or ghosts): lets
        # the session reuse the book-less-our-orders within one pass instead of rebuilding it.
        self.version = 0
        self.places = 0
        self.amends = 0
        self.cancels = 0
        self.skipped: dict[str, str] = {}  # why a side (or "bid level 2") is not quoted on the last pass

    def session_client_id(self, client_order_id: str | None) -> bool:
        """Whether a client order id is one this session gives its orders (`{session_id}-{n}`)."""
        if not client_order_id or not client_order_id.startswith(self._client_prefix):
            return False
        return client_order_id[len(self._client_prefix):].isdigit()

    def owns_fill(self, fill: OrderFilled) -> bool:
        """Whether a fill is of one of this session's orders: on this market, and with this
        session's client id or the exchange id of one of its orders (the ledger's rule for
        a session's share; see actors.ledger). A fill naming neither (no client id, an
        order whose id was not known yet) is left out: the REST fill read at the session's
        end, by when the id is known, brings it back in."""
        if fill.ticker != self.ticker:
            return False
        if self.session_client_id(fill.client_order_id):
            return True
        return bool(fill.order_id) and fill.order_id in self._order_ids

    # -- reads ----------------------------------------------------------------------
    def order(self, side: BookSide, level: int = 0) -> WorkingOrder | None:
        key = self._slots.get((side, level))
        return None if key is None else self._book.get(key)

    def levels_working(self, side: BookSide) -> int:
        """How many ladder levels deep this side's working orders reach."""
        if not self._slots:
            return 0
        return 1 + max((level for s, level in self._slots if s == side), default=-1)

    def in_flight(self) -> list[Command]:
        """Commands sent that risk has not recorded (nor refused) yet, oldest first."""
        return [command for _, command in self._unrecorded]

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
    def has_ghosts(self) -> bool:
        """Whether the book may still show orders we moved or cancelled (they expire by time)."""
        return bool(self._ghosts)

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
            amend_to = order.amend_to
            if amend_to is None:
                terms.append(((order.price,), order.remaining))
            else:
                amended = max(Decimal(0), amend_to[1] - order.filled)
                terms.append(((order.price, amend_to[0]), max(order.remaining, amended)))
        return terms

    @property
    def adopted(self) -> int:
        """Orders of this session found resting untracked (and so cancelled)."""
        return len(self._adopted)

    @property
    def writes(self) -> int:
        return self.places + self.amends + self.cancels

    def unseen_fills(self) -> list[tuple[BookSide, Decimal, Decimal]]:
        """(side, price, contracts) the exchange reported filled that have not reached us
        as fills yet (a fill message may trail the order update): position already, for
        the risk governor too."""
        out = [(u.side, u.price, u.count) for u in self._unseen]
        for order in self._all():
            lacking = order.reported_filled - order.fills_seen
            if lacking > 0:
                out.append((order.side, order.price, lacking))
        return out

    def _all(self) -> list[WorkingOrder]:
        return list(self._book.values())

    def _strays(self) -> list[WorkingOrder]:
        """Tracked orders that are no side's working order (adopted ones)."""
        if not self._book:
            return []
        working = set(self._slots.values())
        return [o for o in self._all() if o.key not in working]

    def _find(self, order_id: str | None, *client_order_ids: str | None) -> WorkingOrder | None:
        """As the ledger finds an order an event names: by exchange id, then client id,
        then the client id an amend of ours gives it."""
        orders = self._all()
        for order in orders:
            if order_id and order.order_id == order_id:
                return order
        for order in orders:
            if order.client_order_id and order.client_order_id in client_order_ids:
                return order
        for order in orders:
            if order.amend_client_order_id and order.amend_client_order_id in client_order_ids:
                return order
        return None

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
        order = self.order(side, level)
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
        if order is not None and order.notes.ioc:
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
        stale = refresh_before_ns is not None and order.notes.changed_ns < refresh_before_ns
        if abs(order.price - price) <= self.keep_within and order.remaining == size and not (force or stale):
            return None
        if order.notes.amend_refused:
            return self._cancel_unless_refused(order, now_ns, "replace after refused amend", skip)
        return self._amend(order, price, size, now_ns)

    def _reconcile_aggressive(
        self, side: BookSide, order: WorkingOrder | None, price: Decimal, size: Decimal, now_ns: int, level: int = 0
    ) -> Command | None:
        """An exit order that crosses: a resting order on that side goes first (cancel),
        then one immediate-or-cancel place at a time."""
        skip = _skip_key(side, level)
        if order is not None:
            if order.notes.ioc:
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
        place = PlaceOrder(
            client_order_id=self._next_client_order_id(),
            ticker=self.ticker,
            side=side,
            price=price,
            count=size,
            ts=now_ns,
            post_only=not aggressive,
            time_in_force=IMMEDIATE_OR_CANCEL if aggressive else GOOD_TILL_CANCELED,
            reduce_only=aggressive,
            session_id=self.session_id,
            trigger_ts_recv=self.trigger_ts_recv,
        )
        key = place.client_order_id
        notes = self._notes[key] = _Notes(side=side, level=level, ioc=aggressive, changed_ns=now_ns)
        self._book[key] = WorkingOrder(key, None, notes, place=place)
        self._slots[(side, level)] = key
        self._unrecorded.append((key, place))
        self.places += 1
        return place

    def _amend(self, order: WorkingOrder, price: Decimal, size: Decimal, now_ns: int) -> AmendOrder | None:
        total = order.filled + size  # amend takes the new total, filled included
        if price == order.price and total == order.count:
            return None  # the order already has these terms: an amend would only burn a write
        amend = AmendOrder(
            order_id=order.order_id or "",
            client_order_id=order.client_order_id,
            updated_client_order_id=self._next_client_order_id(),
            ticker=self.ticker,
            side=order.side,
            price=price,
            count=total,
            ts=now_ns,
            session_id=self.session_id,
            trigger_ts_recv=self.trigger_ts_recv,
        )
        order.notes.level_when_moved = _level(self._last_book, order.side, order.price)
        order.amend = amend
        order.notes.changed_ns = now_ns
        self._unrecorded.append((order.key, amend))
        self.amends += 1
        return amend

    def _cancel_refused_recently(self, order: WorkingOrder, now_ns: int) -> bool:
        at = order.notes.cancel_refused_at
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
        cancel = CancelOrder(
            order_id=order.order_id or "",
            client_order_id=order.client_order_id,
            ticker=self.ticker,
            ts=now_ns,
            reason=reason,
            session_id=self.session_id,
        )
        order.notes.level_when_moved = _level(self._last_book, order.side, order.price)
        order.cancel = cancel
        self._unrecorded.append((order.key, cancel))
        self.cancels += 1
        return cancel

    # -- the ledger's word ------------------------------------------------------------
    def apply(self, change: TradingStateChanged, now_ns: int) -> None:
        """The ledger's new state of the market, and what changed it. Our orders are read
        from it from now on; what the change means for our own decisions (a refusal, an
        order that left its price level, an exit order answered) is noted here."""
        if change.ticker != self.ticker:
            return
        self.version += 1
        cause = change.cause
        about = change.order if change.order is not None and change.order.owner == self.session_id else None
        if isinstance(cause, OrderRejected):
            before = self._find(cause.order_id, cause.client_order_id)
        else:
            before = None if about is None else self._book.get(about.key)
        was = None
        if before is not None and before.order_id is not None and before.remaining > 0:
            was = (before.price, before.remaining)
        self._take(change)
        if isinstance(cause, OrderRejected):
            self._on_rejected(cause, before, now_ns)
        elif about is not None and isinstance(cause, _ORDER_EVENTS):
            self._on_event(cause, about, was, now_ns)
        self._drop_vanished()

    def _take(self, change: TradingStateChanged) -> None:
        """Read this session's orders from the view; drop our commands it shows recorded
        (or risk refused); lay the rest over the orders."""
        cause = change.cause
        for entry in self._unrecorded:
            _, command = entry
            if _recorded(command, cause) or (
                isinstance(cause, OrderRejected) and cause.source == "risk" and _refused_by_risk(command, cause)
            ):
                self._unrecorded.remove(entry)
                break
        views = {view.key: view for view in change.orders if view.owner == self.session_id}
        for key, last in self._views.items():
            if key not in views:
                kept = self._still_amending(key, last, change)
                if kept is not None:
                    views[key] = kept
        self._views = views
        self._adopted.update(key for key, view in views.items() if view.adopted)
        self._ioc_answered.intersection_update(views)
        self._unseen = tuple(u for u in change.unseen if u.owner == self.session_id)
        book = change.session(self.session_id)
        if book is not None:
            self._order_ids = book.order_ids
        self._rebuild()

    def _still_amending(self, key: str, last: OrderView, change: TradingStateChanged) -> OrderView | None:
        """An order the ledger took as executed while an amend of ours that raises its
        total is unrecorded (see the docstring) stays, as the ledger last showed it, until
        the amend is settled. None: the order is gone for us too."""
        amend = next((c for k, c in self._unrecorded if k == key and isinstance(c, AmendOrder)), None)
        if amend is None:
            return None
        final = change.order if change.order is not None and change.order.key == key else last
        if final.filled >= final.count and final.filled < amend.count:
            return final
        return None

    def _rebuild(self) -> None:
        """The orders as we read them now. An order whose view is the very one it was
        built from (the ledger reuses the views of orders a change left alone) is kept,
        our unrecorded commands laid over it again."""
        book: dict[str, WorkingOrder] = {}
        last = self._book
        for key, view in self._views.items():
            if key in self._ioc_answered:
                continue
            notes = self._notes.get(key)
            if notes is None:
                notes = self._notes[key] = _Notes(side=view.side)
            kept = last.get(key)
            if kept is not None and kept.view is view and kept.notes is notes:
                kept.amend = kept.cancel = None
                book[key] = kept
                continue
            book[key] = WorkingOrder(key, replace(view, gone=False) if view.gone else view, notes)
        for key, command in self._unrecorded:
            if isinstance(command, PlaceOrder):
                if key not in book:
                    book[key] = WorkingOrder(key, None, self._notes[key], place=command)
                continue
            order = book.get(key)
            if order is None:
                continue
            if isinstance(command, AmendOrder):
                order.amend = command
            else:
                order.cancel = command
        self._book = book

    def _drop_vanished(self) -> None:
        """Orders gone from the ledger (and not ours in flight) work no side any more."""
        for slot, key in list(self._slots.items()):
            if key not in self._book:
                del self._slots[slot]
        for key in [k for k in self._notes if k not in self._book]:
            del self._notes[key]

    def _on_event(self, event: object, about: OrderView, was: tuple[Decimal, Decimal] | None, now_ns: int) -> None:
        order = self._book.get(about.key)
        if order is None:  # gone from the ledger with this event
            order = WorkingOrder(about.key, about, self._notes.get(about.key) or _Notes(side=about.side))
        if isinstance(event, OrderAccepted):
            self._place_refusals.pop(order.side, None)  # the side is placing again: back to one interval
        if was is not None and _left_its_level(order, event, was[0]):
            self._add_ghost(order, was[0], was[1], now_ns)
        if order.notes.ioc and not order.gone and isinstance(event, (OrderAccepted, OrderUpdated)):
            # immediate-or-cancel: once the exchange answered, nothing of it rests
            self._ioc_answered.add(order.key)
            self._book.pop(order.key, None)
            self._release(order)
        if order.gone:
            self._release(order)

    def _release(self, order: WorkingOrder) -> None:
        slot = (order.side, order.notes.level)
        if self._slots.get(slot) == order.key:
            del self._slots[slot]

    def _add_ghost(self, order: WorkingOrder, price: Decimal, size: Decimal, now_ns: int) -> None:
        level = order.notes.level_when_moved
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

    def _on_rejected(self, event: OrderRejected, order: WorkingOrder | None, now_ns: int) -> None:
        """A command of ours did not (or may not have) happened. The ledger already says
        what it means for the order; here: what it means for our next decisions."""
        if order is None:
            return
        if refusal_means_gone(event):  # already executed or cancelled: not live
            self._release(order)
        elif event.action == "place":
            if outcome_unknown(event) and order.order_id is not None:
                return  # the exchange already reported it live: keep working it
            self._place_refused_at[order.side] = now_ns
            self._place_refusals[order.side] = self._place_refusals.get(order.side, 0) + 1
            # an unknown outcome may yet show up: the ledger keeps it, off its side here as
            # an unsettled place, recognised (and cancelled) when reported, or cancelled with
            # the market; a refused place is gone
            self._release(order)
        elif event.action == "amend":
            order.notes.amend_refused = True
            if order.key not in self._book:
                self._release(order)
        elif event.action == "cancel":
            order.notes.cancel_refused_at = now_ns
