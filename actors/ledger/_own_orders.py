"""Our own orders as the exchange reports them: one rule for what is filled and what rests.

The trading ledger (`_ledger`) keeps our orders with it; makers read them from its views.
Hazards it names:
- the exchange reports one execution twice: `user_order` (OrderUpdated, a running total
  of the order's filled contracts) and `fill` (OrderFilled, one fill's contracts), in
  either order, and a REST place reply (OrderAccepted, running totals again) may overtake
  or trail both. Adding the two would count the same contracts twice,
  so an order's `filled` is the larger of the highest running total seen and the sum of
  its distinct fills (by fill id); either source alone can only lag, never overcount;
- an amend's REST reply is no running total: its fill_count counts only the contracts the
  amend itself filled (crossing the book), so the order's total after it is the amend's
  count, never the reply's filled + remaining (which would take a partly filled order
  moved by an amend for executed, and drop it while it still rests); what of that count
  does not rest had filled, whether or not those fills have reached us;
- running totals may arrive stale: `filled` never decreases, and an OrderUpdated's price
  and count are not taken while an amend is in flight (the amend's ack brings them) nor
  when it names an earlier client id of the order (a snapshot the amend's reply overtook);
  one that names the amend's NEW client id shows the amend applied, and is taken;
- an order is not over because our counts say so while the exchange still shows it
  resting, nor while an amend may have raised its total: "fully executed" means filled
  reaches the largest total the order may have (its count, or an unsettled amend's), and
  an OrderUpdated with status resting and contracts remaining always keeps the order;
- an amend or a place whose outcome is unknown (a transport failure) may have happened:
  the amend's terms stay counted and its new client id is still recognised; a place the
  exchange has already reported live is kept;
- a cancel's reply says how many contracts it took off (`reduced_by`); the rest of the
  order's total had filled, and that reply can arrive before those fills do: the order's
  reported filled becomes total - reduced_by (unless an amend is unsettled, when the
  total is not known), so an owner carrying unseen fills sees them;
- an order the exchange confirmed gone may still be reported resting by a stale event:
  its ids are remembered, so it is not adopted back (until the owner stops adopting on its
  market: `forget_market`); but an event with an exchange id we
  never closed is a new order even under a closed client id (a late create retry);
- an order we do not know may rest on the exchange (a place whose outcome was unknown,
  one placed around us): the owner decides by `adopt` whether to take it in; one adopted
  under the client id a tracked order was first known by (a late create retry after an
  amend renamed that order) gets a key of its own, so readers keying by `key` see both;
- a fill can arrive before we can match it to its order (it names only the exchange id,
  which the order learns later; or the order is adopted later): the owner may hand in
  `known_fills` (exchange order id -> fills already seen), and an order takes those in as
  its own when it learns its exchange id, so they are neither lost nor counted twice. A
  fill matched by client id also teaches the order its exchange id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from messages import (
    BookSide,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderUpdated,
    OrderView,
    owner_of_client_order_id,
)

__all__ = [
    "OwnOrder",
    "OwnOrders",
    "TERMINAL_STATUSES",
    "ORDER_GONE_CODES",
    "refusal_means_gone",
    "refusal_means_executed",
    "outcome_unknown",
]

_ZERO = Decimal(0)
TERMINAL_STATUSES = frozenset({"canceled", "cancelled", "executed"})
# A write refused with one of these codes: the order no longer exists on the exchange.
ORDER_GONE_CODES = frozenset({"not_found", "order_not_found"})
# simex refuses a cancel or amend of an order that no longer rests with 400 invalid_order,
# details "order is executed" / "order is canceled" (live Kalshi's wording is not in our
# API notes: widen this when seen). Kept strict on purpose: taking a refusal for "gone"
# while the order still rests would drop it from risk exposure.
_NO_LONGER_RESTING = re.compile(r"\border is (executed|canceled|cancelled)\b", re.IGNORECASE)
_KEY_EXCHANGE_ID = "@"  # a key `client id@exchange id`: a second order under one client id (see `_adopt`)
_REMEMBER_CLOSED = 50_000  # ids of confirmed-gone orders kept to refuse stale adoptions


def outcome_unknown(event: OrderRejected) -> bool:
    """True when a refused command may nevertheless have happened: the transport failed
    (the REST client could not settle it, or settled it by a read-back that a request
    still being processed can miss)."""
    return event.source == "transport"


def refusal_means_executed(event: OrderRejected) -> bool:
    """True when an amend or cancel was refused because the order already fully executed:
    what it had left was filled, whether or not those fills have reached us yet."""
    if not refusal_means_gone(event) or event.code in ORDER_GONE_CODES:
        return False
    match = _NO_LONGER_RESTING.search(event.reason)
    return match is not None and match.group(1).lower() == "executed"


def refusal_means_gone(event: OrderRejected) -> bool:
    """True when the exchange refused an amend or cancel because the order is already
    executed, cancelled or unknown to it: the order is gone, not still resting."""
    if event.source != "exchange" or event.action not in ("amend", "cancel"):
        return False
    if event.code in ORDER_GONE_CODES:
        return True
    return event.code == "invalid_order" and _NO_LONGER_RESTING.search(event.reason) is not None


@dataclass(slots=True, eq=False)
class OwnOrder:
    """One of our orders: its terms and how much of it the exchange says has filled."""

    ticker: str
    side: BookSide
    client_order_id: str
    order_id: str | None  # None until the exchange accepts the place
    price: Decimal
    count: Decimal  # total, filled included
    pending: str | None = None  # placing | amending | cancelling: a command awaiting its ack
    # (price, total count) of an amend not yet settled: in flight, or its outcome unknown
    amend_to: tuple[Decimal, Decimal] | None = None
    amend_client_order_id: str | None = None  # the client id that unsettled amend gives the order
    adopted: bool = False  # not placed by us in this run: found on the exchange
    gone: bool = False  # the exchange confirmed it no longer rests (or its place failed)
    reported_filled: Decimal = _ZERO  # highest running total the exchange reported
    fills: dict[str, Decimal] = field(default_factory=dict)  # fill id -> contracts
    key: str = ""  # stable while tracked: the client id it was first tracked by (set by `add`)
    # the ledger's last view of it (TradingLedger._order_view), reused while it still matches
    view: OrderView | None = field(default=None, repr=False)

    @property
    def owner(self) -> str:
        """The session whose order this is, named by the client id it was first tracked by.
        Hazard: a second order under one client id is keyed `client id@exchange id`, whose
        tail is no sequence number: the owner is read from the client id before the `@`."""
        return owner_of_client_order_id((self.key or self.client_order_id).partition(_KEY_EXCHANGE_ID)[0])

    @property
    def filled(self) -> Decimal:
        # Two views of the same executions, never added: see the module docstring.
        return max(self.reported_filled, sum(self.fills.values(), _ZERO))

    @property
    def remaining(self) -> Decimal:
        return max(_ZERO, self.count - self.filled)

    @property
    def largest_total(self) -> Decimal:
        """The largest total the order may have on the exchange: an unsettled amend may
        have raised it."""
        return self.count if self.amend_to is None else max(self.count, self.amend_to[1])

    @property
    def fully_executed(self) -> bool:
        return self.filled >= self.largest_total

    def start_amend(self, price: Decimal, total: Decimal, new_client_order_id: str) -> None:
        self.pending = "amending"
        self.amend_to = (price, total)
        self.amend_client_order_id = new_client_order_id

    def amend_applied(self) -> None:
        """The exchange shows the amend in effect: the order now goes by its new client id."""
        if self.amend_client_order_id:
            self.client_order_id = self.amend_client_order_id
        self.amend_to = None
        self.amend_client_order_id = None

    def record_fill(self, fill_id: str, count: Decimal) -> bool:
        """Count one fill; False (and no change) when this fill id was already counted."""
        if fill_id in self.fills:
            return False
        self.fills[fill_id] = count
        return True

    def take_running_totals(self, filled: Decimal, remaining: Decimal, price: Decimal | None, *, terms: bool) -> None:
        """Apply an exchange snapshot of the order. With terms, also its price and total."""
        self.reported_filled = max(self.reported_filled, filled)
        if terms:
            if price is not None:
                self.price = price
            self.count = filled + remaining  # the total at that snapshot


OrderFactory = Callable[..., OwnOrder]


class OwnOrders:
    """The orders we track, by ticker, with the event handling both actors share.

    `apply` updates the order an event is about and returns it (None when the event is
    about no order we track); an order that ends is removed and has `gone` set, so the
    caller can drop its own references. Rejections are left to the caller (what a refused
    command means depends on who sent it), with `refusal_means_gone` and `remove`.
    """

    def __init__(
        self,
        *,
        adopt: Callable[[OrderAccepted | OrderUpdated], bool] = lambda event: False,
        order_type: OrderFactory = OwnOrder,
        known_fills: Callable[[str], Mapping[str, Decimal] | None] = lambda order_id: None,
    ) -> None:
        self._adopt_filter = adopt
        self._known_fills = known_fills
        self._order_type = order_type
        self._orders: dict[str, list[OwnOrder]] = {}
        # ids of confirmed-gone orders -> their market, oldest first (see `forget_market`)
        self._closed_ids: dict[str, str] = {}
        self.adoptions = 0

    # -- reads ----------------------------------------------------------------------
    def __iter__(self) -> Iterator[OwnOrder]:
        for orders in list(self._orders.values()):
            yield from list(orders)

    def __len__(self) -> int:
        return sum(len(orders) for orders in self._orders.values())

    def tickers(self) -> list[str]:
        return list(self._orders)

    def of_ticker(self, ticker: str) -> list[OwnOrder]:
        return list(self._orders.get(ticker, ()))

    def find(self, ticker: str, order_id: str | None, *client_order_ids: str | None) -> OwnOrder | None:
        for order in self._orders.get(ticker, ()):
            if order_id and order.order_id == order_id:
                return order
        for order in self._orders.get(ticker, ()):
            if order.client_order_id and order.client_order_id in client_order_ids:
                return order
        for order in self._orders.get(ticker, ()):  # an amend we have not heard back from
            if order.amend_client_order_id and order.amend_client_order_id in client_order_ids:
                return order
        return None

    def was_closed(self, order_id: str | None, client_order_id: str | None) -> bool:
        return bool(order_id and order_id in self._closed_ids) or bool(
            client_order_id and client_order_id in self._closed_ids
        )

    def closed_ids_remembered(self) -> int:
        return len(self._closed_ids)

    # -- writes ---------------------------------------------------------------------
    def add(self, order: OwnOrder) -> OwnOrder:
        order.key = order.key or order.client_order_id
        self._orders.setdefault(order.ticker, []).append(order)
        return order

    def remove(self, order: OwnOrder, *, closed: bool = True) -> None:
        """Stop tracking an order. closed: the exchange confirmed it gone, so a stale
        event must not adopt it back (False for a place that may never have happened)."""
        order.gone = True
        order.pending = None
        order.amend_to = None
        alias, order.amend_client_order_id = order.amend_client_order_id, None
        orders = self._orders.get(order.ticker, [])
        if order in orders:
            orders.remove(order)
        if not orders:
            self._orders.pop(order.ticker, None)
        if closed:
            for key in (order.order_id, order.client_order_id, alias):
                if key:
                    self._closed_ids[key] = order.ticker
            while len(self._closed_ids) > _REMEMBER_CLOSED:
                del self._closed_ids[next(iter(self._closed_ids))]

    def forget_market(self, ticker: str) -> None:
        """Forget the closed orders of a market whose orders can no longer be adopted (the
        owner's `adopt` refuses the market from now on: it settled). Hazard: forgotten
        while adoption is still possible, a stale resting echo would adopt a closed order."""
        if ticker in self._closed_ids.values():
            self._closed_ids = {key: t for key, t in self._closed_ids.items() if t != ticker}

    def apply(self, event: object) -> OwnOrder | None:
        """Apply an exchange event about one order; returns that order (None if not ours)."""
        if isinstance(event, OrderAccepted):
            order = self.find(event.ticker, event.order_id, event.client_order_id) or self._adopt(event)
            if order is None:
                return None
            self._identify(order, event.order_id)
            order.take_running_totals(event.filled, event.remaining, event.price, terms=True)
            if order.pending == "placing":
                order.pending = None
        elif isinstance(event, OrderAmended):
            order = self.find(event.ticker, event.order_id, event.previous_client_order_id, event.client_order_id)
            if order is None:
                return None
            order.client_order_id = event.client_order_id
            # Hazard: the reply's fill_count counts only what the amend itself filled, not
            # the order's running total: filled + remaining is no total (an order 4 of 5
            # filled, moved, replies 0 + 1). Its total is the amend's count, and what of it
            # does not rest had filled, seen or not (the reply can overtake those fills).
            # Exact unless the exchange capped the amend (reduce-only: the maker never
            # amends those, its exit orders are immediate-or-cancel).
            order.reported_filled = max(order.reported_filled, event.filled, event.count - event.remaining)
            order.price, order.count = event.price, event.count
            if order.pending == "amending":
                order.pending = None
            order.amend_to = None
            order.amend_client_order_id = None
        elif isinstance(event, OrderCancelled):
            order = self.find(event.ticker, event.order_id, event.client_order_id)
            if order is None:
                return None
            if event.reduced_by > 0 and order.amend_to is None:
                # what the cancel took off is what still rested: the rest had filled, seen
                # or not (the cancel's reply can overtake the fills). Not with an amend
                # unsettled: the total the cancel reduced from is then unknown
                order.reported_filled = max(order.reported_filled, order.count - event.reduced_by)
            self.remove(order)
            return order
        elif isinstance(event, OrderFilled):
            order = self.find(event.ticker, event.order_id, event.client_order_id)
            if order is None:
                return None
            if order.order_id is None:  # matched by client id: the fill names the exchange id
                self._identify(order, event.order_id)
            order.record_fill(event.fill_id, event.count)
        elif isinstance(event, OrderUpdated):
            order = self.find(event.ticker, event.order_id, event.client_order_id)
            if order is None and event.status == "resting":
                order = self._adopt(event)
            if order is None:
                return None
            if order.order_id is None:  # the exchange shows the order live before the place's reply
                self._identify(order, event.order_id)
            if event.status in TERMINAL_STATUSES:
                order.reported_filled = max(order.reported_filled, event.filled)
                self.remove(order)
                return order
            if order.amend_client_order_id and event.client_order_id == order.amend_client_order_id:
                order.amend_applied()  # the update shows the amend in effect (its reply may trail)
                terms = True
            else:
                terms = self._current_terms(order, event)
            order.take_running_totals(event.filled, event.remaining, event.price, terms=terms)
            if event.status == "resting" and event.remaining > 0:
                return order  # still on the book, whatever our counts say
        else:
            return None
        self.remove_if_executed(order)
        return order

    def remove_if_executed(self, order: OwnOrder) -> bool:
        """Remove an order whose fills reach the largest total it may have; True if removed."""
        if order.gone or not order.fully_executed:
            return False
        self.remove(order)
        return True

    def amend_refused(self, order: OwnOrder, event: OrderRejected) -> None:
        """An amend did not (or may not have) happened. Unless its outcome is unknown, the
        order keeps its old terms; if unknown, the amend's terms and new client id stay
        recognised until the exchange shows which terms hold."""
        if order.pending == "amending":
            order.pending = None
        if not outcome_unknown(event):
            order.amend_to = None
            order.amend_client_order_id = None
        self.remove_if_executed(order)

    @staticmethod
    def _current_terms(order: OwnOrder, event: OrderUpdated) -> bool:
        """Whether an update's price and total describe the order as it is now. Not while
        an amend is in flight (its ack brings them), nor when the update names another
        client id than the order's: every amend renames the order, so that is a snapshot
        from before our last acknowledged amend, overtaken by the amend's REST reply."""
        if order.pending == "amending" or order.amend_to is not None:
            return False
        return not event.client_order_id or event.client_order_id == order.client_order_id

    def _adopt(self, event: OrderAccepted | OrderUpdated) -> OwnOrder | None:
        # Staleness by the exchange id when the event has one: a create retried under a
        # closed order's client id can land late and make a SECOND order (the exchange
        # refuses a client id only while its order is live), which must be adopted.
        stale = self.was_closed(event.order_id, None if event.order_id else event.client_order_id)
        if event.remaining <= 0 or stale:
            return None
        if not self._adopt_filter(event):
            return None
        order = self._order_type(
            ticker=event.ticker,
            side=event.side,
            client_order_id=event.client_order_id,
            order_id=event.order_id,
            price=event.price,
            count=event.filled + event.remaining,
            adopted=True,
            reported_filled=event.filled,
        )
        if any(tracked.key == event.client_order_id for tracked in self._orders.get(event.ticker, ())):
            # the client id an order we track was first tracked by, which an amend has renamed
            # since: a create retried under it landed late and made a second order. Readers
            # key orders by `key`: the same key would hide one of the two
            order.key = f"{event.client_order_id}{_KEY_EXCHANGE_ID}{event.order_id}"
        self._identify(order, event.order_id)  # fills of it may have reached us already
        self.adoptions += 1
        return self.add(order)

    def _identify(self, order: OwnOrder, order_id: str | None) -> None:
        """The order's exchange id is known: take in the fills already seen under it."""
        if not order_id:
            return
        order.order_id = order_id
        for fill_id, count in (self._known_fills(order_id) or {}).items():
            order.record_fill(fill_id, count)
