"""Pre-trade risk checks and the exposure book they rely on, as a plain object.

Exposure counts positions AND resting orders: cancels are asynchronous and an order may
still fill before the cancel lands, so an order stays counted until the exchange confirms
it gone. An amend in flight counts at the worse of its old and new terms for the same
reason (the old terms may fill before the amend applies).

Dollar exposure is what a fill can cost at most: a bid locks price x count, an ask (a NO
bid) locks (1 - price) x count, a long position its cost, a short one (1 - entry) per
contract. Resting orders on the side that closes the position count only for what goes
beyond it: filling them releases exposure, and counting them would refuse the very
orders that get us out.

The orders, fills and positions are the trading ledger's (`actors.ledger`), which the
governor alone writes: an admitted command is recorded there (`admit`), every order event
applied (`apply`), a settlement booked (`settle_market`). Its rules (what an order has
filled, when it is gone, fills reported filled but not yet seen, adopted orders, places
whose outcome is unknown, settled markets) are named there. Contracts the exchange
reported filled that have not reached us as fills are pending position here, on the
order's side at its price, until the fills arrive: dropping them would admit the next
order past the limits.

Hazards named here:
- an amend that does not make the worst case worse than it is now (one that shrinks the
  order) is never refused on the position limit, as on the budgets.

Beyond the exposure book, an order that does not reduce a position is refused while its
market is paused or restricted to reducing (a policy flatten in progress), on the side
the hybrid quote logic closes (long beyond the skew threshold: asks only), when it would
sit closer than the minimum spread to our own opposite order, past the inventory value
per side, past the market / category / global budgets, or past the available balance.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from decimal import Decimal
from typing import Any, NamedTuple

from config import RiskConfig
from messages import (
    AmendOrder,
    BookSide,
    BookUpdated,
    CancelAllOrders,
    CancelOrder,
    MarketExposure,
    PlaceOrder,
)
from kalshi.wire import CENT

from ..ledger import Inventory, OwnOrder, TradingLedger, position_exposure
from ._budgets import Budgets
from ._hybrid import HybridLimits, hybrid_quote_sides

__all__ = ["TradingState", "Verdict", "RiskGovernor"]

_ZERO = Decimal(0)
_ONE = Decimal(1)


class TradingState:
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"  # only orders that reduce a position
    HALTED = "HALTED"  # nothing but cancels
    ALL = (ACTIVE, REDUCING, HALTED)
    SEVERITY = {ACTIVE: 0, REDUCING: 1, HALTED: 2}


class Verdict(NamedTuple):
    ok: bool
    code: str
    reason: str


_PASS = Verdict(True, "", "")


def order_exposure(side: BookSide, price: Decimal, count: Decimal) -> Decimal:
    return price * count if side == "bid" else (_ONE - price) * count


def _amend_remaining(order: OwnOrder) -> Decimal | None:
    """What would rest once the amend in flight applies (None: no amend in flight)."""
    return None if order.amend_to is None else max(_ZERO, order.amend_to[1] - order.filled)


def _worst_remaining(order: OwnOrder) -> Decimal:
    return max(order.remaining, _amend_remaining(order) or _ZERO)


def _exposure_beyond(order: OwnOrder, covered: Decimal) -> Decimal:
    """Worst exposure of the contracts beyond the first `covered` (which close a position)."""
    exposure = order_exposure(order.side, order.price, max(_ZERO, order.remaining - covered))
    amend_remaining = _amend_remaining(order)
    if order.amend_to is not None and amend_remaining is not None:
        amended = order_exposure(order.side, order.amend_to[0], max(_ZERO, amend_remaining - covered))
        exposure = max(exposure, amended)
    return exposure


class RiskGovernor:
    def __init__(self, config: RiskConfig) -> None:
        self.config = config
        # our orders, fills and positions: the governor is the ledger's only writer
        self.ledger = TradingLedger(seen_fill_ids_per_market=config.seen_fill_ids_per_market)
        self.state = TradingState.ACTIVE
        self.state_reason = "start"
        # cause -> (state, reason): the state is the most severe hold (the kill switch,
        # a breaker, the operator); releasing one cause never lifts another's
        self._holds: dict[str, tuple[str, str]] = {}
        self.rejections: Counter[str] = Counter()
        self.budgets = Budgets(config)
        self.hybrid_limits = HybridLimits.from_config(config.hybrid)
        self.marks: dict[str, Decimal] = {}  # ticker -> last book mid
        self._paused: dict[str, str] = {}  # ticker -> reason: no new exposure until unpaused
        self._reducing_markets: dict[str, str] = {}  # ticker -> reason: only reducing orders
        # last available balance the exchange reported, and our global exposure then
        self._balance: tuple[Decimal, Decimal] | None = None
        # figures derived from the ledger, kept while what they read is unchanged: one
        # command reads its market's exposure five or six times (the check, the warning
        # levels, ExposureChanged), and every market's for the global total. Per market:
        # (its ledger version, figure -> value); the market list and the global total
        # while the ledger's version is unchanged.
        self._derived: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}
        self._derived_at = -1
        self._tickers: list[str] = []
        self._global_exposure: Decimal | None = None
        # category -> its markets' summed exposure, while the ledger's version and the
        # categories learnt are unchanged (every market of the run is looked at to find them)
        self._category_exposure: dict[tuple[str, int], Decimal] = {}

    @property
    def settled(self) -> dict[str, Decimal]:
        """ticker -> settlement price of the markets that resolved (the ledger's)."""
        return self.ledger.settled

    # -- trading state ------------------------------------------------------------------
    def set_state(self, state: str, reason: str) -> bool:
        """The operator's hold (ACTIVE lifts it, and only it); True when the state changed."""
        if state not in TradingState.ALL:
            raise ValueError(f"unknown trading state {state!r}")
        if state == TradingState.ACTIVE:
            return self.release("manual", reason)
        return self.hold("manual", state, reason)

    def hold(self, cause: str, state: str, reason: str) -> bool:
        """Hold trading at `state` (or worse) for `cause`; True when the state changed."""
        if state not in TradingState.ALL:
            raise ValueError(f"unknown trading state {state!r}")
        self._holds[cause] = (state, reason)
        return self._settle_state(reason)

    def release(self, cause: str, reason: str) -> bool:
        """Lift `cause`'s hold; True when the state changed."""
        self._holds.pop(cause, None)
        return self._settle_state(reason)

    def holds(self) -> dict[str, tuple[str, str]]:
        return dict(self._holds)

    def _settle_state(self, reason: str) -> bool:
        before = self.state
        if self._holds:
            # most severe wins; equal severity: the cause named first in sort order
            cause = min(self._holds, key=lambda c: (-TradingState.SEVERITY[self._holds[c][0]], c))
            self.state, self.state_reason = self._holds[cause]
        else:
            self.state, self.state_reason = TradingState.ACTIVE, reason
        return self.state != before

    # -- market restrictions and inputs ---------------------------------------------
    def pause_market(self, ticker: str, reason: str) -> None:
        self._paused[ticker] = reason

    def unpause_market(self, ticker: str) -> bool:
        return self._paused.pop(ticker, None) is not None

    def restrict_market(self, ticker: str, reason: str) -> None:
        """Only exposure-reducing orders on this market (a policy flatten is under way)."""
        self._reducing_markets[ticker] = reason

    def unrestrict_market(self, ticker: str) -> bool:
        return self._reducing_markets.pop(ticker, None) is not None

    def market_restriction(self, ticker: str) -> tuple[str, str]:
        """("pause" | "reduce_only" | "", reason): what this market may do now."""
        if ticker in self._paused:
            return "pause", self._paused[ticker]
        if ticker in self._reducing_markets:
            return "reduce_only", self._reducing_markets[ticker]
        sides = hybrid_quote_sides(self.position(ticker), self.hybrid_limits.skew_threshold)
        if sides != "both":
            return "reduce_only", f"hybrid_{'long' if sides == 'ask_only' else 'short'}_beyond_{self.hybrid_limits.skew_threshold}"
        return "", ""

    def settle_market(self, ticker: str, price: Decimal, ts: int) -> bool:
        """The market resolved at `price`: the ledger closes its positions there and drops
        its orders (the exchange removed them); nothing about it is restricted or marked
        any more. False when already settled."""
        if not self.ledger.settle(ticker, price, ts):
            return False
        for forgotten in self.ledger.drain_forgotten():  # folded away by the ledger
            self._derived.pop(forgotten, None)
            self.budgets.forget(forgotten)
        self.marks.pop(ticker, None)
        self._paused.pop(ticker, None)
        self._reducing_markets.pop(ticker, None)
        return True

    def note_balance(self, available: Decimal) -> None:
        """The exchange's available balance now; orders admitted later draw it down."""
        self._balance = (available, self.global_exposure())

    def available_balance(self) -> Decimal | None:
        if self._balance is None:
            return None
        available, exposure_then = self._balance
        return available - (self.global_exposure() - exposure_then)

    def inventory(self, ticker: str) -> Inventory | None:
        """The market's position (every fill of ours on it), as the ledger keeps it."""
        return self.ledger.position(ticker)

    def tickers(self) -> list[str]:
        self._fresh()
        if not self._tickers:
            self._tickers = self.ledger.tickers()
        return list(self._tickers)

    def _fresh(self) -> None:
        """Drop the market list and the global total when the ledger changed."""
        if self._derived_at != self.ledger.version:
            self._derived_at = self.ledger.version
            self._tickers = []
            self._global_exposure = None
            self._category_exposure = {}

    def _figures(self, ticker: str) -> dict[str, Any]:
        """The figures derived for `ticker`, dropped when its part of the ledger changed."""
        version = self.ledger.market_version(ticker)
        kept = self._derived.get(ticker)
        if kept is None or kept[0] != version:
            kept = self._derived[ticker] = (version, {})
        return kept[1]

    def total_pnl(self) -> Decimal:
        """Realised plus open positions marked at mid, net of fees, every market (those
        the ledger folded away after they settled included)."""
        total = self.ledger.folded.realized_pnl
        for ticker in self.tickers():
            inventory = self.ledger.position(ticker)
            if inventory is not None:
                total += inventory.realized_pnl + inventory.unrealized_pnl(self.marks.get(ticker))
        return total

    def category_exposure(self, category: str) -> Decimal:
        tickers = self.tickers()  # drops the kept totals when the ledger changed
        key = (category, self.budgets.revision)
        used = self._category_exposure.get(key)
        if used is None:
            used = self._category_exposure[key] = sum(
                (self.exposure(t) for t in self.budgets.in_category(category, tickers)), _ZERO
            )
        return used

    def resting_value(self, ticker: str) -> Decimal:
        """What the resting orders lock, each on its own (no netting against the position)."""
        figures = self._figures(ticker)
        value = figures.get("resting_value")
        if value is None:
            value = figures["resting_value"] = sum(
                (order_exposure(o.side, o.price, _worst_remaining(o)) for o in self._resting(ticker)), _ZERO
            )
        return value

    def seed_position(self, ticker: str, position: Decimal, price: Decimal, ts: int) -> bool:
        """A position held before this run (read from the exchange at start-up) opens the
        market's inventory at `price` (YES leg), for the session that starts on the market
        to take over (see TradingLedger.hold). False when flat or the market already has an
        inventory."""
        return self.ledger.hold(ticker, position, price, ts)

    # -- exposure book ------------------------------------------------------------------
    def position(self, ticker: str) -> Decimal:
        """Signed position: our fills, plus fills the exchange reported that have not reached us."""
        figures = self._figures(ticker)
        position = figures.get("position")
        if position is None:
            inventory = self.ledger.position(ticker)
            seen = _ZERO if inventory is None else inventory.position
            position = figures["position"] = seen + self.pending_position(ticker)
        return position

    def _position_exposure(self, ticker: str) -> Decimal:
        """What the open position can cost: long layers their price, short ones 1 - price,
        the unseen fills matched against the open layers first (FIFO), as they will be.
        The maker sizes its orders with the same function."""
        inventory = self.ledger.position(ticker)
        unseen = [(u.side, u.price, u.count) for u in self.ledger.unseen(ticker)]
        _, cost = position_exposure(inventory.layers if inventory is not None else (), unseen)
        return cost

    def exposure(self, ticker: str, orders: list[OwnOrder] | None = None) -> Decimal:
        """Position plus resting orders (`orders` instead of the book's, for what-ifs)."""
        if orders is None:
            figures = self._figures(ticker)
            exposure = figures.get("exposure")
            if exposure is None:
                exposure = figures["exposure"] = self._exposure(ticker, self._resting(ticker))
            return exposure
        return self._exposure(ticker, orders)

    def _exposure(self, ticker: str, orders: list[OwnOrder]) -> Decimal:
        position = self.position(ticker)
        closing_side = "ask" if position > 0 else "bid"
        to_close = abs(position)
        total = self._position_exposure(ticker)
        for order in orders:
            covered = min(to_close, _worst_remaining(order)) if order.side == closing_side else _ZERO
            to_close -= covered
            total += _exposure_beyond(order, covered)
        return total

    def global_exposure(self) -> Decimal:
        self._fresh()
        if self._global_exposure is None:
            # each market's own figure, recounted only where its part of the ledger changed
            self._global_exposure = sum((self.exposure(t) for t in self.tickers()), _ZERO)
        return self._global_exposure

    def pending_position(self, ticker: str) -> Decimal:
        """Signed contracts the exchange reported filled that have not reached us as fills."""
        return sum((o.count if o.side == "bid" else -o.count for o in self.ledger.unseen(ticker)), _ZERO)

    def _resting_on_side(self, ticker: str, side: BookSide, excluding: OwnOrder | None) -> Decimal:
        return sum(
            (_worst_remaining(o) for o in self._resting(ticker) if o.side == side and o is not excluding),
            _ZERO,
        )

    def _resting(self, ticker: str) -> list[OwnOrder]:
        return self.ledger.orders.of_ticker(ticker)

    def _find(self, ticker: str, order_id: str | None, *client_order_ids: str | None) -> OwnOrder | None:
        return self.ledger.find(ticker, order_id, *client_order_ids)

    # -- checks -------------------------------------------------------------------------
    def _reduces(self, ticker: str, side: BookSide, remaining: Decimal, replacing: OwnOrder | None) -> bool:
        """True when this order, with every resting order on its side, can only shrink |position|."""
        position = self.position(ticker)
        already = self._resting_on_side(ticker, side, replacing)
        if side == "ask":
            return position > 0 and already + remaining <= position
        return position < 0 and already + remaining <= -position

    def _check(
        self, ticker: str, side: BookSide, price: Decimal, remaining: Decimal, replacing: OwnOrder | None
    ) -> Verdict:
        if ticker in self.settled:
            return Verdict(False, "market_settled", f"{ticker} settled at ${self.settled[ticker]}")
        if self.state == TradingState.HALTED:
            return Verdict(False, "halted", f"trading halted: {self.state_reason}")
        reduces = self._reduces(ticker, side, remaining, replacing)
        if self.state == TradingState.REDUCING and not reduces:
            return Verdict(False, "reducing_only", "trading state REDUCING accepts only orders that reduce a position")
        if price % CENT != 0:
            return Verdict(False, "price_off_grid", f"price {price} is not on the cent grid")
        if not self.config.min_price <= price <= self.config.max_price:
            return Verdict(
                False, "price_out_of_range", f"price {price} outside [{self.config.min_price}, {self.config.max_price}]"
            )
        if remaining <= 0:
            return Verdict(False, "bad_count", f"count must be > 0 (remaining {remaining})")
        if remaining > self.config.max_order_contracts:
            return Verdict(
                False, "order_too_large", f"{remaining} contracts exceeds max_order_contracts {self.config.max_order_contracts}"
            )
        # an amend that only shrinks an order where it rests takes nothing new on
        shrink_only = replacing is not None and price == replacing.price and remaining <= replacing.remaining
        if not reduces and not shrink_only:
            refusal = self._market_refusal(ticker, side, price, replacing)
            if refusal is not None:
                return refusal
        limit = Decimal(self.config.max_position_contracts)
        worst_position = self._worst_position(ticker, side, replacing, remaining)
        worst_now = self._worst_position(ticker, side, replacing, None)
        # an amend that leaves the worst case no worse than now (a shrink) always passes
        if abs(worst_position) > limit and abs(worst_position) > abs(worst_now) and not reduces:
            return Verdict(
                False, "position_limit", f"worst-case position {worst_position} if all {side}s fill exceeds {limit}"
            )
        if not reduces:
            # the side's worst-case inventory (long for bids, short for asks) at this order's price
            direction = 1 if side == "bid" else -1
            side_contracts = max(_ZERO, direction * worst_position)
            worst_value = side_contracts * (price if side == "bid" else _ONE - price)
            grows = side_contracts > max(_ZERO, direction * worst_now)
            if worst_value > self.config.max_inventory_value_per_side_dollars and grows:
                return Verdict(
                    False,
                    "inventory_value",
                    f"{side} side inventory ${worst_value:.2f} if all fill exceeds "
                    f"${self.config.max_inventory_value_per_side_dollars}",
                )
        market_now = self.exposure(ticker)
        market_after = self.exposure(ticker, self._orders_after(ticker, side, price, remaining, replacing))
        if market_after <= market_now:
            return _PASS  # releases (or keeps) exposure: never refused on budget
        market_limit = self.budgets.market_limit(ticker)
        if market_after > market_limit:
            return Verdict(False, "market_budget", f"{ticker} exposure ${market_after:.2f} exceeds ${market_limit}")
        exposures = {t: self.exposure(t) for t in self.tickers() if t != ticker}  # each market once
        category = self.budgets.category_of(ticker)
        if category:
            others = sum((exposures[t] for t in self.budgets.in_category(category, list(exposures))), _ZERO)
            category_after = others + market_after
            if category_after > self.budgets.category_limit():
                return Verdict(
                    False,
                    "category_budget",
                    f"category {category} exposure ${category_after:.2f} exceeds ${self.budgets.category_limit()}",
                )
        global_after = sum(exposures.values(), _ZERO) + market_after
        if global_after > self.config.global_budget_dollars:
            return Verdict(
                False, "global_budget", f"global exposure ${global_after:.2f} exceeds ${self.config.global_budget_dollars}"
            )
        available = self.available_balance()
        if available is not None and market_after - market_now > available - self.config.balance_reserve_dollars:
            return Verdict(
                False,
                "insufficient_balance",
                f"order needs ${market_after - market_now:.2f} of collateral; ${available:.2f} available "
                f"(reserve ${self.config.balance_reserve_dollars})",
            )
        return _PASS

    def _market_refusal(
        self, ticker: str, side: BookSide, price: Decimal, replacing: OwnOrder | None
    ) -> Verdict | None:
        """Refusals of an order that adds exposure, from this market's state."""
        if ticker in self._paused:
            return Verdict(False, "market_paused", f"{ticker} paused: {self._paused[ticker]}")
        if ticker in self._reducing_markets:
            return Verdict(False, "market_reducing", f"{ticker} accepts only reducing orders: {self._reducing_markets[ticker]}")
        sides = hybrid_quote_sides(self.position(ticker), self.hybrid_limits.skew_threshold)
        if (sides == "ask_only" and side == "bid") or (sides == "bid_only" and side == "ask"):
            return Verdict(
                False,
                "hybrid_skew",
                f"position {self.position(ticker)} beyond +/-{self.hybrid_limits.skew_threshold}: {sides.replace('_', ' ')}",
            )
        for order in self._resting(ticker):
            if order is replacing or order.side == side:
                continue
            # an amend in flight may rest at either price until it is acknowledged
            for theirs in (order.price,) if order.amend_to is None else (order.price, order.amend_to[0]):
                bid, ask = (price, theirs) if side == "bid" else (theirs, price)
                if ask - bid < self.config.min_quote_spread:
                    return Verdict(
                        False,
                        "min_spread",
                        f"{side} at {price} would sit {ask - bid} from our own {order.side} at {theirs} "
                        f"(minimum {self.config.min_quote_spread})",
                    )
        return None

    def _worst_position(
        self, ticker: str, side: BookSide, replacing: OwnOrder | None, remaining: Decimal | None
    ) -> Decimal:
        """Position if every order on `side` fills, with this command recorded (remaining
        None: as things are now). An amend in flight counts at the worse of old and new."""
        building = self._resting_on_side(ticker, side, replacing)
        if replacing is not None:
            worst = _worst_remaining(replacing)
            building += worst if remaining is None else max(remaining, worst)
        elif remaining is not None:
            building += remaining
        return self.position(ticker) + (building if side == "bid" else -building)

    def _orders_after(
        self, ticker: str, side: BookSide, price: Decimal, remaining: Decimal, replacing: OwnOrder | None
    ) -> list[OwnOrder]:
        """The market's resting orders as they would be once this command is recorded."""
        orders = [o for o in self._resting(ticker) if o is not replacing]
        if replacing is None:
            orders.append(OwnOrder(ticker=ticker, side=side, client_order_id="", order_id=None, price=price, count=remaining))
        else:  # the old terms stay counted until the amend is acknowledged
            orders.append(replace(replacing, amend_to=(price, replacing.filled + remaining)))
        return orders

    def check_place(self, cmd: PlaceOrder) -> Verdict:
        return self._check(cmd.ticker, cmd.side, cmd.price, cmd.count, None)

    def check_amend(self, cmd: AmendOrder) -> Verdict:
        order = self._find(cmd.ticker, cmd.order_id, cmd.client_order_id)
        if order is None:
            return Verdict(False, "unknown_order", f"no resting order {cmd.order_id or cmd.client_order_id} to amend")
        if order.amend_to is not None:
            return Verdict(False, "amend_in_flight", "an amend of this order is already in flight")
        return self._check(cmd.ticker, order.side, cmd.price, cmd.count - order.filled, order)

    def admit(self, cmd: PlaceOrder | AmendOrder | CancelOrder | CancelAllOrders) -> Verdict:
        """Check a command and, when it passes, record it in the ledger."""
        if isinstance(cmd, PlaceOrder):
            verdict = self.check_place(cmd)
        elif isinstance(cmd, AmendOrder):
            verdict = self.check_amend(cmd)
        else:
            verdict = _PASS  # cancels always pass; the order stays counted until confirmed
        if verdict.ok:
            self.ledger.record(cmd)
        else:
            self.rejections[verdict.code] += 1
        return verdict

    # -- events -------------------------------------------------------------------------
    def apply(self, event: object) -> tuple[OwnOrder | None, tuple[str, ...]]:
        """A book moves the mark; an order event goes into the ledger: (the order it was
        about, the markets it may have changed)."""
        if isinstance(event, BookUpdated):
            mid = event.book.mid
            if mid is not None and event.book.trusted and event.ticker not in self.settled:
                self.marks[event.ticker] = mid
            return None, ()
        return self.ledger.apply(event)

    # -- status -------------------------------------------------------------------------
    def exposure_snapshot(self) -> dict:
        """Per ticker: position, resting order value and exposure (dollars); totals; state.
        Plain strings and numbers only: a snapshot, never live state."""
        markets = {}
        for ticker in self.tickers():
            markets[ticker] = {
                "position": self.position(ticker),
                "resting_order_value": self.resting_value(ticker),
                "resting_orders": len(self._resting(ticker)),
                "exposure": self.exposure(ticker),
                "budget": self.budgets.market_limit(ticker),
                "category": self.budgets.category_of(ticker),
                "restriction": self.market_restriction(ticker)[0],
            }
        return {
            "state": self.state,
            "state_reason": self.state_reason,
            "markets": markets,
            "totals": {
                "positions": sum((abs(m["position"]) for m in markets.values()), _ZERO),
                "resting_order_value": sum((m["resting_order_value"] for m in markets.values()), _ZERO),
                "exposure": self.global_exposure(),
                "budget": self.config.global_budget_dollars,
                "available_balance": self.available_balance(),
            },
        }

    def market_exposures(self) -> tuple[MarketExposure, ...]:
        """What `exposure_snapshot` reports per market, as message payloads sorted by
        ticker; a market with nothing left (flat, nothing resting, no exposure) is absent."""
        markets = []
        for ticker in self.tickers():
            category = self.budgets.category_of(ticker)
            figures = self._figures(ticker)
            market = figures.get("market_exposure")  # kept while the market and its category are unchanged
            if market is None or market.category != category:
                market = figures["market_exposure"] = MarketExposure(
                    ticker=ticker,
                    position=self.position(ticker),
                    resting_orders=len(self._resting(ticker)),
                    resting_order_value=self.resting_value(ticker),
                    exposure=self.exposure(ticker),
                    category=category,
                )
            if market.position or market.resting_orders or market.resting_order_value or market.exposure:
                markets.append(market)
        return tuple(markets)

    def status(self) -> dict:
        tickers = self.tickers()
        return {
            "state": self.state,
            "state_reason": self.state_reason,
            "positions": {t: str(self.position(t)) for t in tickers},  # unseen fills included
            "exposure": {t: str(self.exposure(t)) for t in tickers},
            "global_exposure": str(self.global_exposure()),
            "resting_orders": {t: len(self._resting(t)) for t in tickers},
            "unseen_fills": {t: str(self.pending_position(t)) for t in tickers},
            "rejections": dict(self.rejections),
            "settled": {t: str(price) for t, price in sorted(self.settled.items())},
        }
