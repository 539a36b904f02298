"""One market-making session as a plain object: state machine, quotes, orders, inventory.

INIT -> WAIT_DATA -> QUOTING <-> PAUSED -> DONE. The actor shell feeds it books, order
events and timer ticks; every call returns the commands to send to the risk governor.
Outside QUOTING the desired quote is empty, so any working order is cancelled, including
one whose place was still in flight when we stopped (it is cancelled once accepted).

Fair value is taken from the book less our own orders (the market as others show it).
Hazard: when our quote is the only liquidity on a side, that book is one-sided although
the market is not; being alone at the touch is when our liquidity matters most, so this
never pauses: fair value then stays at the last one (held inside what others still show),
or, before any, comes from the full book. Only a book one-sided in full pauses, or one
where nothing but our own orders is left on either side: no one else shows a price, so
the fair value would be frozen at the last one while the market may have moved anywhere.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from config import MakerConfig
from messages import BookView, CancelAllOrders, OrderFilled
from mmd.clock import seconds

from ._inventory import Inventory
from ._orders import SIDES, Command, Desired, OrderManager
from ._quoting import AvellanedaStoikovQuoter, Quote

__all__ = ["MakerState", "MakerSession"]


class MakerState:
    INIT = "INIT"
    WAIT_DATA = "WAIT_DATA"
    QUOTING = "QUOTING"
    PAUSED = "PAUSED"
    DONE = "DONE"


def _fair_value(book: BookView) -> Decimal | None:
    """Microprice, falling back to the mid."""
    return book.microprice if book.microprice is not None else book.mid


def without_own_orders(book: BookView, own: dict[tuple[str, Decimal], Decimal]) -> BookView:
    """The book as the rest of the market shows it. Hazard: fair value taken from a book
    whose touch is our own quote only ever finds our own price again, so the maker
    would stop following the market."""

    def strip(levels: tuple, side: str) -> tuple:
        kept = []
        for price, size in levels:
            left = size - own.get((side, price), Decimal(0))
            if left > 0:
                kept.append((price, left))
        return tuple(kept)

    if not own:
        return book
    return replace(book, bids=strip(book.bids, "bid"), asks=strip(book.asks, "ask"))


def _book_problem(book: BookView | None) -> str | None:
    """What keeps the FULL book from being quoted around (our own orders included: a side
    that is empty only without them is not a problem, see the module docstring)."""
    if book is None:
        return "no book yet"
    if not book.trusted:
        return "book untrusted (waiting for a fresh snapshot)"
    if _fair_value(book) is None:
        return "book empty or one-sided"
    return None


def _within_others(value: Decimal, market: BookView) -> Decimal:
    """Hold a fair value inside the side(s) others still show."""
    if market.best_bid is not None and value < market.best_bid:
        return market.best_bid
    if market.best_ask is not None and value > market.best_ask:
        return market.best_ask
    return value


class MakerSession:
    def __init__(self, *, ticker: str, session_id: str, config: MakerConfig) -> None:
        self.ticker = ticker
        self.session_id = session_id
        self.config = config
        self.quoter = AvellanedaStoikovQuoter(config)
        self.orders = OrderManager(
            ticker=ticker,
            session_id=session_id,
            keep_within=config.keep_within,
            retry_after_ns=seconds(config.requote_interval_s),
        )
        self.inventory = Inventory()
        self.state = MakerState.INIT
        self.why_not_quoting = "not started"
        self.book: BookView | None = None
        self.last_quote: Quote | None = None
        self.quote_updates = 0
        self._warm_until_ns: int | None = None
        self._now_ns: int | None = None

    # -- lifecycle ------------------------------------------------------------------
    def start(self, now_ns: int) -> None:
        self.state = MakerState.WAIT_DATA
        self._warm_until_ns = now_ns + seconds(self.config.warmup_s)
        self.why_not_quoting = "warming up"

    def warmup_elapsed(self, now_ns: int) -> list[Command]:
        if self._warm_until_ns is not None and now_ns >= self._warm_until_ns:
            self._warm_until_ns = None
        return self.requote(now_ns)

    def stop(self, now_ns: int, reason: str) -> list[Command]:
        """Stop quoting; orders with a command in flight are cancelled when it is acknowledged."""
        self.state = MakerState.DONE
        self.why_not_quoting = f"stopped: {reason}"
        return self.orders.cancel_all(now_ns, reason)

    def shutdown(self, now_ns: int, reason: str) -> list[Command | CancelAllOrders]:
        """Last words before the actor dies: no acknowledgement will be read after this, so
        cancel everything now, and an order still being placed (no exchange id yet) by a
        cancel-all on this market."""
        commands: list[Command | CancelAllOrders] = []
        if self.state != MakerState.DONE:
            commands.extend(self.stop(now_ns, reason))
        commands.extend(self.orders.cancel_all(now_ns, reason, in_flight_too=True))
        if self.orders.unacknowledged_places:
            commands.append(CancelAllOrders(reason=reason, ts=now_ns, ticker=self.ticker))
        return commands

    @property
    def warming_up(self) -> bool:
        return self._warm_until_ns is not None

    # -- inputs ---------------------------------------------------------------------
    def on_book(self, book: BookView, now_ns: int) -> list[Command]:
        self.book = book
        return self.requote(now_ns)

    def on_order_event(self, event: object, now_ns: int) -> list[Command]:
        # WS and the REST reconcile may both report a fill: a duplicate must not grow the
        # order's filled size either.
        if isinstance(event, OrderFilled) and not self.inventory.apply_fill(event):
            return []
        self.orders.apply(event, now_ns)
        return self.requote(now_ns)

    # -- decisions ------------------------------------------------------------------
    def requote(self, now_ns: int) -> list[Command]:
        self._now_ns = now_ns
        self._update_state()
        desired = self._desired() if self.state == MakerState.QUOTING else {side: None for side in SIDES}
        return self.orders.reconcile(desired, self.book, now_ns)

    def _update_state(self) -> None:
        if self.state in (MakerState.INIT, MakerState.DONE):
            return
        if self.warming_up:
            self.state, self.why_not_quoting = MakerState.WAIT_DATA, "warming up"
            return
        problem = _book_problem(self.book)
        if problem is None and self._only_our_orders():
            problem = "no other liquidity in the book"
        if problem is None:
            self.state, self.why_not_quoting = MakerState.QUOTING, ""
        elif self.state == MakerState.WAIT_DATA and self.book is None:
            self.why_not_quoting = problem
        else:
            self.state, self.why_not_quoting = MakerState.PAUSED, problem

    def _only_our_orders(self) -> bool:
        """True when the book less our own orders is empty on both sides (one side alone
        keeps quoting: see the module docstring)."""
        market = self.market_book()
        return market is not None and not market.bids and not market.asks

    def market_book(self) -> BookView | None:
        """The latest book less our own orders (and what it may still show of orders we
        already moved or cancelled): what fair value is taken from."""
        if self.book is None:
            return None
        return without_own_orders(self.book, self.orders.resting_size_by_level(self.book, self._now_ns))

    def fair_value(self) -> Decimal | None:
        """From the market less our own orders; when that is one-sided only because of our
        orders, the last fair value (held inside what others show), else the full book's."""
        market = self.market_book()
        if market is None:
            return None
        value = _fair_value(market)
        if value is not None:
            return value
        if self.last_quote is not None:
            return _within_others(self.last_quote.fair_value, market)
        return _fair_value(self.book) if self.book is not None else None

    def _desired(self) -> Desired:
        fair_value = self.fair_value()
        assert fair_value is not None  # the full book is two-sided when quoting
        quote = self.quoter.quote(fair_value, self.inventory.position)
        if self.last_quote is None or quote.orders() != self.last_quote.orders():
            self.quote_updates += 1
        self.last_quote = quote
        return {
            "bid": (quote.bid, quote.bid_size) if quote.bid is not None else None,
            "ask": (quote.ask, quote.ask_size) if quote.ask is not None else None,
        }

    # -- status ---------------------------------------------------------------------
    def status(self) -> dict:
        mark = self.book.mid if self.book is not None else None
        vwap = self.inventory.vwap
        quote = self.last_quote
        skipped = "; ".join(f"{side} {why}" for side, why in self.orders.skipped.items())
        return {
            "ticker": self.ticker,
            "session_id": self.session_id,
            "state": self.state,
            "why_not_quoting": self.why_not_quoting or skipped,
            "position": str(self.inventory.position),
            "vwap": None if vwap is None else str(vwap.quantize(Decimal("0.000001"))),
            "realized_pnl": str(self.inventory.realized_pnl),
            "unrealized_pnl": str(self.inventory.unrealized_pnl(mark)),
            "fees": str(self.inventory.fees_paid),
            "open_orders": self.orders.open_orders(),
            "last_quote": None
            if quote is None
            else {
                "fair_value": str(quote.fair_value),
                "reservation": str(quote.reservation),
                "spread": str(quote.spread),
                "bid": None if quote.bid is None else str(quote.bid),
                "ask": None if quote.ask is None else str(quote.ask),
                "bid_size": str(quote.bid_size),
                "ask_size": str(quote.ask_size),
            },
            "counters": {
                "writes_sent": self.orders.writes,
                "places": self.orders.places,
                "amends": self.orders.amends,
                "cancels": self.orders.cancels,
                "adopted": self.orders.adopted,
                "quote_updates": self.quote_updates,
                "fills": self.inventory.fill_count,
            },
        }
