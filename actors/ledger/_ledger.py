"""The trading ledger: our orders, fills and positions, kept in one place by one writer.

The risk governor is its only writer: every command passes through risk (an admitted one
is recorded here before it leaves for the exchange) and risk hears every order event
first. After each change risk publishes the market's state as an immutable
`TradingStateChanged` (`changed`), and the market's maker reads that instead of keeping
a copy of its own: there is one state, so risk and maker cannot disagree about it.

Per market it keeps:
- our orders (`OwnOrders`: the shared rule for what is filled and what rests), adopted
  ones included (an order we did not admit but the exchange reports resting is ours and
  counts all the same), until the exchange confirms them gone;
- the position from every fill of ours on the market (FIFO layers with their ages,
  realised P&L, fees), each fill counted once by fill id;
- each session's share of it (`SessionBook`): the fills of that session's own orders as
  their own FIFO position, which the session's maker quotes around and reports P&L from.
  A fill is the session's by the session's client id (`{session}-{n}`) or by the
  exchange id of one of its orders. Hazard: the bus carries every fill on the market
  (another session's order, a manual order); counting those in a session would move its
  inventory with positions that are not its own. A fill that arrived before it could be
  told whose it was (no client id, an exchange id not known yet) counts in the market at
  once and in its session when it is reported again (the REST fill read at the session's
  end brings it back);
- a position held before this run (reconciled at start-up, `hold`): the market's, and
  no session's until the session that starts on the market takes it over
  (`take_over_held`). Hazard: left unattributed, a flatten risk orders for the market
  (it counts the held contracts) is one no maker can carry out (a maker exits its own
  book only), and the market stays paused until the flatten times out. Taken over, the
  contracts enter the session's book at their reconciled price (average cost), no fill
  and no fee: closing them realises exit price - that price in the session;
- fills the exchange reported filled (order updates, an order refused as executed) that
  have not reached us as fills, carried per order that is over, as position at the
  order's price until the fills arrive.

Hazards named here (see also `_own_orders`):
- an order can be over (executed, or an amend/cancel refused "order is executed") before
  its fills reach us: what it filled and we have not seen is carried (see above); what
  has been seen is counted per exchange order id from every fill that reached the
  position, not from the fills matched to the tracked order: a fill can reach the
  position without reaching its order (it named only an exchange id the order did not
  know yet, or the order was adopted later), and would then be carried again;
- a refusal "order is executed" does not say the order's total: with an unsettled amend
  that shrank it, the total is the smaller of the two, so the smaller is assumed. Too
  few is made good by the fills as they arrive; too many would never be taken back;
- cancel-all confirmations are matched to their command by market AND reason (the same
  reason, "maker stopped", is used on every market);
- a place whose outcome is unknown (transport failure) stays until the exchange settles
  it: a report naming it, or a confirmed cancel-all of its market;
- a settled market's positions close at the settlement price and its orders are gone (the
  exchange removed them); a fill of it reported after the settlement was settled by the
  exchange as well, so it is closed at that price as it arrives;
- the fill ids kept to drop a duplicate report are bounded per market and per session
  book (seen_fill_ids_per_market); a session's REST read-back reports again every fill
  since the session began, so a fill older than the ids kept counts as seen (`BoundedIds`);
- the order ids kept (closed orders, each order's seen fills, whose an order is) are
  forgotten once nothing late can need them: a market's closed orders and seen fills when
  it settles (no order of it is tracked or adopted again, and a late fill is closed at the
  settlement price, de-duplicated by the market's position, kept an hour); a session's
  orders' owner when it ends (a fill of an ended session's order goes to no book, known
  owner or not). A day of paper lists ~400 markets: the count bounds below are a backstop;
- a settled market is kept whole (its position's fill ids and P&L) for an hour after the
  settlement and while a session book of it is open, so a late report of its fills
  counts once; then it is folded: its realised P&L, fees and fill count go into `folded`
  (the day's totals are unchanged) and its per-market entries go. A fill of a folded
  market is taken as a repeat: nothing first reports a fill of a market settled an hour
  ago (every session on it has ended and read its fills back). That it settled is kept
  six hours, then forgotten with its ended sessions. Hazard: a fill first reported past
  the hour would be lost; past six hours a resting echo of one of its orders would be
  adopted, and a repeated fill report would open the market's position again (its fill
  already counted in `folded`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from messages import (
    AllOrdersCancelled,
    AmendOrder,
    BookSide,
    CancelAllOrders,
    CancelOrder,
    OrderFilled,
    OrderRejected,
    OrderView,
    PlaceOrder,
    PositionView,
    Realization,
    SessionBook,
    TradingStateChanged,
    UnseenFill,
    owner_of_client_order_id,
)

from ._own_orders import OwnOrder, OwnOrders, outcome_unknown, refusal_means_executed, refusal_means_gone
from ._positions import Inventory

__all__ = ["TradingLedger", "Unseen"]

_ZERO = Decimal(0)
_NO_POSITION = PositionView()  # immutable: one for every market without a fill
_REMEMBER_CANCEL_ALLS = 1_000  # cancel-alls awaiting their confirmation (a memory bound)
_REMEMBER_FILLED_ORDERS = 50_000  # exchange order ids whose seen fills are kept (a memory bound)
_REMEMBER_OWNERS = 50_000  # exchange order id -> session (a memory bound)
# sessions ended: their books are not opened again. Those of a settled market go with it
# (six hours on); this bounds the others (markets that left without settling): a paper day
# ends ~400 sessions, so about five days of them
_REMEMBER_ENDED = 2_000
# Session books kept per market, least recently active dropped first. One session trades
# a market at a time; the others are a previous session's late fills or a stray client id.
_BOOKS_PER_MARKET = 8
# A settled market's position is kept whole this long (a late fill report counts once),
# then folded into the ledger's totals; that it settled is kept longer (see above). A
# paper day settles ~16 markets an hour: ~16 positions and ~100 tickers kept.
SETTLED_FILLS_KEPT_NS = 3_600 * 1_000_000_000
SETTLED_TICKERS_KEPT_NS = 6 * 3_600 * 1_000_000_000

LedgerCommand = PlaceOrder | AmendOrder | CancelOrder | CancelAllOrders


@dataclass(slots=True, eq=False)
class Unseen:
    """An order that is over, reduced to the contracts it filled that we have not yet seen
    as fills (count): they rest nowhere, they are position already."""

    ticker: str
    side: BookSide
    price: Decimal
    count: Decimal
    order_id: str | None
    client_order_id: str
    owner: str


@dataclass(slots=True)
class Folded:
    """What the markets folded away leave of their positions: every one was flat."""

    realized_pnl: Decimal = _ZERO
    fees_paid: Decimal = _ZERO
    fill_count: int = 0


class _Book:
    """One session's share of a market (see the module docstring)."""

    __slots__ = ("session_id", "inventory", "order_ids", "realizations", "_view")

    def __init__(self, session_id: str, seen_limit: int) -> None:
        self.session_id = session_id
        self.inventory = Inventory(seen_limit)  # a session can run for days: its fill ids are bounded too
        self.order_ids: dict[str, None] = {}
        self.realizations: list[Realization] = []  # closed since the last view
        self._view: SessionBook | None = None

    def count(self, fill: OrderFilled, settled_at: Decimal | None) -> bool:
        """Count a fill of this session's; False when it was counted already."""
        if not self.inventory.apply_fill(fill):
            return False
        if settled_at is not None:  # settled by the exchange with the market
            self.inventory.settled_at = None
            self.inventory.settle(settled_at, fill.ts_event)
        self.changed()
        return True

    def changed(self) -> None:
        self.realizations.extend(self.inventory.drain_realizations())
        self._view = None

    def view(self, *, take_realizations: bool) -> SessionBook:
        if self._view is None:
            self._view = SessionBook(
                session_id=self.session_id,
                position=self.inventory.view(),
                fill_ids=self.inventory.fill_ids(),
                order_ids=frozenset(self.order_ids),
                fills_forgotten_through_ns=self.inventory.fills_forgotten_through_ns,
            )
        if not take_realizations or not self.realizations:
            return self._view
        realizations, self.realizations = tuple(self.realizations), []
        return SessionBook(
            session_id=self._view.session_id,
            position=self._view.position,
            fill_ids=self._view.fill_ids,
            order_ids=self._view.order_ids,
            realizations=realizations,
            fills_forgotten_through_ns=self._view.fills_forgotten_through_ns,
        )


class TradingLedger:
    def __init__(self, *, seen_fill_ids_per_market: int) -> None:
        self._seen_limit = seen_fill_ids_per_market
        # exchange order id -> {fill id: contracts} of every fill counted in a position,
        # oldest order first: what of an order has been seen, whether or not the fill
        # could be matched to the tracked order when it arrived
        self._seen_fills: dict[str, dict[str, Decimal]] = {}
        self._seen_fill_market: dict[str, str] = {}  # order id -> its ticker, for every id in _seen_fills
        # ticker -> settlement price ($1 / $0) of a market that resolved, for
        # SETTLED_TICKERS_KEPT_NS after it did
        self.settled: dict[str, Decimal] = {}
        # ticker -> settlement time, oldest first: settled, kept whole; then folded
        self._settled_at: dict[str, int] = {}
        self._folded_at: dict[str, int] = {}
        self.folded = Folded()  # the totals of the markets folded away
        self._forgotten: list[str] = []  # markets folded since the last `drain_forgotten`
        # every order counts from admission until the exchange confirms it gone; one the
        # exchange reports resting that we never admitted is ours too (adopted), unless
        # its market is settled (its orders are gone with it)
        self.orders = OwnOrders(adopt=lambda event: event.ticker not in self.settled, known_fills=self._seen_fills.get)
        self._positions: dict[str, Inventory] = {}
        self._unseen: dict[str, list[Unseen]] = {}  # by ticker
        # cancel-alls recorded, oldest first: (reason, ticker, unsettled places they settle)
        self._cancel_alls: deque[tuple[str, str | None, list[OwnOrder]]] = deque(maxlen=_REMEMBER_CANCEL_ALLS)
        self._books: dict[str, dict[str, _Book]] = {}  # ticker -> session id -> book, least recent first
        self._owners: dict[str, str] = {}  # exchange order id -> session whose order it is
        # sessions ended (oldest first) -> their market: forgotten with their market, once
        # it settled and was forgotten (no fill of it is taken then)
        self._ended: dict[str, str] = {}
        # ticker -> (contracts, price, ts) held before this run that no session took over yet
        self._held: dict[str, tuple[Decimal, Decimal, int]] = {}
        self._taken_over: dict[str, str] = {}  # ticker -> the live session that took it over
        # bumped by every write: a reader may keep what it derived from the ledger (risk's
        # exposure figures) for as long as the version is unchanged; per market, the version
        # of its last write (a write not told apart by market moves the epoch: every market's)
        self.version = 0
        self._epoch = 0
        # Hazard: dropping a market's entry (to bound memory) must move the epoch too, or a
        # figure kept from before the market's first write would read as current again
        self._market_versions: dict[str, int] = {}

    # -- reads (the writer's own; everyone else reads `changed`'s views) ---------------
    def market_version(self, ticker: str) -> tuple[int, int]:
        """Changes whenever `ticker`'s orders, position or unseen fills may have changed."""
        return self._epoch, self._market_versions.get(ticker, 0)

    def _wrote(self, ticker: str | None) -> None:
        self.version += 1
        if ticker and ticker not in self._folded_at:
            self._market_versions[ticker] = self.version
        else:  # a cancel-all (of every market, or confirmed), or a write naming a market
            # folded away (no version kept for it): rare, so every market counts as written
            self._epoch += 1

    def position(self, ticker: str) -> Inventory | None:
        """The market's position: every fill of ours on it."""
        return self._positions.get(ticker)

    def unseen(self, ticker: str) -> list[Unseen]:
        return list(self._unseen.get(ticker, ()))

    def tickers(self) -> list[str]:
        """Markets with orders, a position or unseen fills."""
        return sorted(set(self.orders.tickers()) | set(self._positions) | set(self._unseen))

    def find(self, ticker: str, order_id: str | None, *client_order_ids: str | None) -> OwnOrder | None:
        return self.orders.find(ticker, order_id, *client_order_ids)

    def session_position(self, ticker: str, session_id: str) -> PositionView | None:
        book = self._books.get(ticker, {}).get(session_id)
        return None if book is None else book.inventory.view()

    # -- writes: commands ---------------------------------------------------------------
    def record(self, command: LedgerCommand) -> OwnOrder | None:
        """An admitted command, recorded before it leaves for the exchange: a place is
        counted from now, an amend at the worse of its old and new terms until settled, a
        cancel is awaited (the order counts until the exchange confirms it gone). Returns
        the order it is about (None: a cancel-all, or an order we do not track)."""
        self._wrote(command.ticker)
        if isinstance(command, PlaceOrder):
            order = OwnOrder(
                ticker=command.ticker,
                side=command.side,
                client_order_id=command.client_order_id,
                order_id=None,
                price=command.price,
                count=command.count,
                pending="placing",
            )
            return self.orders.add(order)
        if isinstance(command, AmendOrder):
            order = self.orders.find(command.ticker, command.order_id, command.client_order_id)
            if order is not None:
                order.start_amend(command.price, command.count, command.updated_client_order_id)
            return order
        if isinstance(command, CancelOrder):
            order = self.orders.find(command.ticker, command.order_id, command.client_order_id)
            if order is not None:
                order.pending = "cancelling"
            return order
        self._cancel_alls.append((command.reason, command.ticker, self._unsettled_places(command.ticker)))
        return None

    # -- writes: events -----------------------------------------------------------------
    def apply(self, event: object) -> tuple[OwnOrder | None, tuple[str, ...]]:
        """Apply an order event: (the order it was about, after it, gone included; the
        markets whose state it may have changed)."""
        if getattr(event, "ticker", None) in self._folded_at:
            return None, ()  # a folded market's: nothing of it is tracked (a fill: a repeat)
        self._wrote(None if isinstance(event, AllOrdersCancelled) else getattr(event, "ticker", None))
        if isinstance(event, AllOrdersCancelled):
            return None, self._on_all_cancelled(event)
        ticker = getattr(event, "ticker", None)
        if not ticker:
            return None, ()
        if isinstance(event, OrderRejected):
            return self._on_rejected(event), (ticker,)
        if isinstance(event, OrderFilled) and not self._count_fill(event):
            return None, (ticker,)
        order = self.orders.apply(event)
        if order is not None:
            self._learn_owner(order)
            if order.gone:
                self._carry_unseen_fills(order)
        return order, (ticker,)

    def settle(self, ticker: str, price: Decimal, ts: int) -> bool:
        """The market resolved at `price`: its positions close there (P&L realised), the
        exchange removed its resting orders, and fills reported filled but not yet seen are
        settled as they arrive. False when already settled. Markets settled long enough
        before `ts` are folded or forgotten (see the module docstring)."""
        if ticker in self.settled:
            return False
        self._wrote(ticker)
        self.settled[ticker] = price
        self._settled_at[ticker] = ts
        self._held.pop(ticker, None)
        self._taken_over.pop(ticker, None)
        self._market_position(ticker).settle(price, ts)
        self._market_position(ticker).drain_realizations()
        for book in self._books.get(ticker, {}).values():
            if book.inventory.settle(price, ts):
                book.changed()
        for order in self.orders.of_ticker(ticker):
            self.orders.remove(order)
        self._unseen.pop(ticker, None)
        # nothing of the market is tracked or adopted from now on: its ids can go
        self.orders.forget_market(ticker)
        for order_id in [o for o, market in self._seen_fill_market.items() if market == ticker]:
            del self._seen_fill_market[order_id]
            self._seen_fills.pop(order_id, None)
        self._fold_settled(ts)
        return True

    def _fold_settled(self, now: int) -> None:
        """Fold the markets settled SETTLED_FILLS_KEPT_NS before `now` (none of their
        session books open); forget those settled SETTLED_TICKERS_KEPT_NS before."""
        for ticker, settled_at in list(self._settled_at.items()):
            if now - settled_at < SETTLED_FILLS_KEPT_NS:
                break  # oldest first: the rest are younger
            if ticker in self._unseen or self.orders.of_ticker(ticker):
                continue
            if ticker in self._books and now - settled_at < SETTLED_TICKERS_KEPT_NS:
                # a session of it may still be open (its book): kept whole. Hazard: a book
                # opened by a stray client id (an earlier run's session, never ended in this
                # one) would keep the market forever; six hours on it goes with the market
                continue
            self._books.pop(ticker, None)
            del self._settled_at[ticker]
            self._folded_at[ticker] = settled_at
            position = self._positions.pop(ticker, None)
            if position is not None:
                self.folded.realized_pnl += position.realized_pnl
                self.folded.fees_paid += position.fees_paid
                self.folded.fill_count += position.fill_count
            self._held.pop(ticker, None)
            self._taken_over.pop(ticker, None)
            # a figure kept from before the market's first write must not read as current
            if self._market_versions.pop(ticker, None) is not None:
                self._epoch += 1
            self._forgotten.append(ticker)
        for ticker, settled_at in list(self._folded_at.items()):
            if now - settled_at < SETTLED_TICKERS_KEPT_NS:
                break
            del self._folded_at[ticker]
            del self.settled[ticker]
            if ticker in self._ended.values():
                self._ended = {session: market for session, market in self._ended.items() if market != ticker}

    def drain_forgotten(self) -> list[str]:
        """The markets folded away since the last call (a reader drops what it kept of them)."""
        out, self._forgotten = self._forgotten, []
        return out

    def hold(self, ticker: str, position: Decimal, price: Decimal, ts: int) -> bool:
        """A position held before this run (read from the exchange at start-up) opens the
        market's position at `price` (YES leg), for a session to take over. False when flat
        or the market already has a position (this run's fills came first)."""
        if position == 0 or ticker in self._positions:
            return False
        self._wrote(ticker)
        self._market_position(ticker).open_held(position, price, ts)
        self._held[ticker] = (position, price, ts)
        return True

    def take_over_held(self, ticker: str, session_id: str, ts: int) -> bool:
        """The session starting on `ticker` takes over the position held before this run:
        its book opens with it at the reconciled price (the market's position is
        unchanged). False when there is none left to take (or the session has ended)."""
        held = self._held.get(ticker)
        if held is None or not session_id or session_id in self._ended:
            return False
        self._wrote(ticker)
        del self._held[ticker]
        position, price, _ = held
        market = self._market_position(ticker).position
        # only what the market still holds of it (a manual trade may have closed some)
        if market == 0 or (market > 0) != (position > 0):
            return False
        book = self._book(ticker, session_id)
        assert book is not None  # a live session: its book opens
        qty = position if abs(position) <= abs(market) else market
        book.inventory.open_held(qty, price, ts)
        book.changed()
        self._taken_over[ticker] = session_id
        return True

    def took_over_held(self, ticker: str) -> bool:
        """Whether a live session on `ticker` took over a position held before this run."""
        return ticker in self._taken_over

    def end_session(self, ticker: str, session_id: str) -> None:
        """A session ended: its book is dropped (its maker is gone) and not opened again;
        if it took over a held position, what is left of its book is held again."""
        self._wrote(ticker)
        books = self._books.get(ticker)
        book = None if books is None else books.pop(session_id, None)
        if books is not None and not books:  # a paper day makes ~400 markets, each traded by a session or two
            del self._books[ticker]
        if self._taken_over.get(ticker) == session_id:
            # what it leaves of the held position (a cancel exit keeps it) is held again,
            # for the next session on the market to take over
            del self._taken_over[ticker]
            inventory = None if book is None else book.inventory
            if inventory is not None and inventory.position != 0 and inventory.vwap is not None:
                self._held[ticker] = (inventory.position, inventory.vwap, inventory.layers[0].ts)
        self._ended[session_id] = ticker
        while len(self._ended) > _REMEMBER_ENDED:
            del self._ended[next(iter(self._ended))]
        # a fill of its orders goes to no book now, whoever's it is known to be
        if session_id in self._owners.values():
            self._owners = {order_id: owner for order_id, owner in self._owners.items() if owner != session_id}

    def remembered_ids(self) -> dict[str, int]:
        """How many order ids the ledger keeps, by purpose (for memory checks)."""
        return {
            "closed order ids": self.orders.closed_ids_remembered(),
            "order owners": len(self._owners),
            "orders with seen fills": len(self._seen_fills),
        }

    # -- views --------------------------------------------------------------------------
    def changed(self, ticker: str, cause: object, order: OwnOrder | None, ts: int) -> TradingStateChanged:
        """The market's state after a change, for its readers: the round trips closed
        since the last change go with it (once)."""
        position = self._positions.get(ticker)
        return TradingStateChanged(
            ticker=ticker,
            cause=cause,  # type: ignore[arg-type]
            order=None if order is None or order.ticker != ticker else self._order_view(order),
            orders=tuple(self._order_view(o) for o in self.orders.of_ticker(ticker)),
            position=_NO_POSITION if position is None else position.view(),
            unseen=tuple(
                UnseenFill(side=u.side, price=u.price, count=u.count, order_id=u.order_id, owner=u.owner)
                for u in self._unseen.get(ticker, ())
            ),
            sessions=tuple(book.view(take_realizations=True) for book in self._books.get(ticker, {}).values()),
            ts=ts,
        )

    @staticmethod
    def _order_view(order: OwnOrder) -> OrderView:
        """The order as readers see it; its last view again while nothing in it changed
        (a market's view lists every order, and most did not change). Hazard: equal
        Decimals can print differently (0.44, 0.4400): the amounts must be the very
        objects the last view holds, or print alike, to reuse it."""
        key = order.key or order.client_order_id
        fills_seen = sum(order.fills.values(), _ZERO)
        last = order.view
        if (
            last is not None
            and last.price is order.price
            and last.count is order.count
            and last.reported_filled is order.reported_filled
            and last.amend_to is order.amend_to
            and (last.fills_seen is fills_seen or str(last.fills_seen) == str(fills_seen))
            and last.order_id == order.order_id
            and last.pending == order.pending
            and last.client_order_id == order.client_order_id
            and last.amend_client_order_id == order.amend_client_order_id
            and last.adopted == order.adopted
            and last.gone == order.gone
            and last.key == key
            and last.side == order.side
            and last.ticker == order.ticker
        ):
            return last
        order.view = OrderView(
            key=key,
            owner=order.owner,
            ticker=order.ticker,
            side=order.side,
            client_order_id=order.client_order_id,
            order_id=order.order_id,
            price=order.price,
            count=order.count,
            pending=order.pending,
            amend_to=order.amend_to,
            amend_client_order_id=order.amend_client_order_id,
            adopted=order.adopted,
            gone=order.gone,
            reported_filled=order.reported_filled,
            fills_seen=fills_seen,
        )
        return order.view

    # -- fills and positions --------------------------------------------------------------
    def _market_position(self, ticker: str) -> Inventory:
        position = self._positions.get(ticker)
        if position is None:
            position = self._positions[ticker] = Inventory(self._seen_limit)
        return position

    def _count_fill(self, fill: OrderFilled) -> bool:
        """Count a fill in the market's position and its session's book. False when there
        is nothing more to do with it: a duplicate report, a fill of a settled market
        (closed at once), or one of an order already over (it settles carried contracts)."""
        book = self._book(fill.ticker, self._owner_of(fill))
        settled_at = self.settled.get(fill.ticker)
        if book is not None and not book.inventory.counted(fill):
            book.count(fill, settled_at)  # new to its session, if not to the market
        position = self._market_position(fill.ticker)
        if not position.apply_fill(fill):
            return False  # duplicate report of a fill already counted
        if settled_at is not None:  # settled by the exchange with the market
            position.settled_at = None
            position.settle(settled_at, fill.ts_event)
        position.drain_realizations()  # the market's round trips are nobody's report
        if settled_at is not None:
            return False
        self._note_seen(fill)
        return not self._fill_seen(fill)

    def _owner_of(self, fill: OrderFilled) -> str:
        return owner_of_client_order_id(fill.client_order_id) or self._owners.get(fill.order_id or "", "")

    def _book(self, ticker: str, session_id: str) -> _Book | None:
        if not session_id or session_id in self._ended:
            return None
        books = self._books.setdefault(ticker, {})
        book = books.pop(session_id, None) or _Book(session_id, self._seen_limit)
        books[session_id] = book  # the most recently active last
        while len(books) > _BOOKS_PER_MARKET:
            del books[next(iter(books))]
        return book

    def _learn_owner(self, order: OwnOrder) -> None:
        """Remember whose order an exchange id is: a fill may name only that id."""
        if not order.order_id or order.order_id in self._owners:
            return
        owner = order.owner
        if not owner or owner in self._ended:  # an ended session's: its fills go to no book
            return
        self._owners[order.order_id] = owner
        while len(self._owners) > _REMEMBER_OWNERS:
            del self._owners[next(iter(self._owners))]
        book = self._book(order.ticker, owner)
        if book is not None:
            book.order_ids[order.order_id] = None
            book.changed()

    def _note_seen(self, fill: OrderFilled) -> None:
        if not fill.order_id:
            return
        seen = self._seen_fills.get(fill.order_id)
        if seen is None:
            seen = self._seen_fills[fill.order_id] = {}
            self._seen_fill_market[fill.order_id] = fill.ticker
            while len(self._seen_fills) > _REMEMBER_FILLED_ORDERS:
                oldest = next(iter(self._seen_fills))
                del self._seen_fills[oldest]
                self._seen_fill_market.pop(oldest, None)
        seen[fill.fill_id] = fill.count

    def _carry_unseen_fills(self, order: OwnOrder) -> None:
        """An order is over: what it filled that has not reached us as fills stays counted.
        Seen: every fill of its exchange id that reached the position, matched or not."""
        seen_by_id = self._seen_fills.get(order.order_id, {}) if order.order_id else {}
        seen = max(sum(seen_by_id.values(), _ZERO), sum(order.fills.values(), _ZERO))
        unseen = order.reported_filled - seen
        if unseen <= 0:
            return
        carried = Unseen(
            ticker=order.ticker,
            side=order.side,
            price=order.price,
            count=unseen,
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            owner=order.owner,
        )
        self._unseen.setdefault(order.ticker, []).append(carried)

    def _fill_seen(self, fill: OrderFilled) -> bool:
        """A fill of an order that is already over: it settles that much unseen position.
        True when the fill belonged to such an order."""
        carried = self._unseen.get(fill.ticker, [])
        match = next((u for u in carried if fill.order_id and u.order_id == fill.order_id), None)
        if match is None:
            match = next(
                (u for u in carried if fill.client_order_id and u.client_order_id == fill.client_order_id), None
            )
        if match is None:
            return False
        match.count = max(_ZERO, match.count - fill.count)
        if match.count <= 0:
            carried.remove(match)
            if not carried:
                del self._unseen[fill.ticker]
        return True

    # -- orders -------------------------------------------------------------------------
    def _forget(self, order: OwnOrder, *, closed: bool = True) -> None:
        self.orders.remove(order, closed=closed)
        self._carry_unseen_fills(order)

    def _unsettled_places(self, ticker: str | None) -> list[OwnOrder]:
        """Places whose outcome is unknown and that the exchange has not reported since."""
        return [
            o for o in self.orders if (ticker is None or o.ticker == ticker) and o.order_id is None and o.pending is None
        ]

    def _on_all_cancelled(self, event: AllOrdersCancelled) -> tuple[str, ...]:
        """A cancel-all confirmed that none of our orders rest (on its market): the unknown
        places it covered never rested, or no longer do. Returns the markets changed."""
        for entry in self._cancel_alls:
            reason, ticker, places = entry
            if event.ticker != ticker:
                continue
            if event.reason == reason or event.reason.startswith(f"{reason}; "):
                self._cancel_alls.remove(entry)
                break
        else:
            return ()
        if event.still_resting != 0:
            return ()
        changed: list[str] = []
        for order in places:
            if not order.gone and order.order_id is None:
                self.orders.remove(order, closed=False)  # may still show up: counted again then
                if order.ticker not in changed:
                    changed.append(order.ticker)
        return tuple(changed)

    @staticmethod
    def _executed_total(order: OwnOrder, event: OrderRejected) -> Decimal:
        """The total an order refused as executed filled, at the least. A cancel's refusal:
        the acknowledged total, or an unsettled amend's if smaller (it may have applied).
        An amend's refusal: the refused amend (the one in flight) did not apply."""
        if event.action == "cancel" and order.amend_to is not None:
            return min(order.count, order.amend_to[1])
        return order.count

    def _on_rejected(self, event: OrderRejected) -> OwnOrder | None:
        if event.source == "risk":  # the writer's own refusal: nothing was recorded
            return None
        order = self.orders.find(event.ticker, event.order_id, event.client_order_id)
        if order is None:
            return None
        if refusal_means_gone(event):  # already executed or cancelled: no longer rests
            if refusal_means_executed(event) and event.action in ("amend", "cancel"):
                # what rested has filled, seen or not
                order.reported_filled = max(order.reported_filled, self._executed_total(order, event))
            self._forget(order)
        elif event.action == "place":
            if outcome_unknown(event):
                # counted until the exchange settles it (a report naming it, a cancel-all)
                order.pending = None
            else:
                # closed=False: refused, but a late report of it must still count
                self.orders.remove(order, closed=False)
        elif event.action == "amend":
            self.orders.amend_refused(order, event)
            if order.gone:
                self._carry_unseen_fills(order)
        elif event.action == "cancel":
            order.pending = None  # the cancel did not happen (or may not have): it still rests
        return order
