"""One market-making session as a plain object: state machine, quotes, orders, inventory,
throttles, guardrails and exit.

Its orders, fills and inventory are the trading ledger's (actors.ledger), which the risk
governor alone writes: the session reads them from the ledger's latest view of its market
(`on_trading_state`), never from a raw order event. Its inventory is its own share of the
market (the fills of its own orders: the session book, with a position held before this
run that the session took over when it started: see actors.ledger), which it quotes
around, exits and reports P&L from.

INIT -> WAIT_DATA -> QUOTING <-> PAUSED -> FLATTENING -> DONE (see `_state`; a risk
flatten goes back to quoting once flat and lifted, see `on_risk_directive`). The actor
shell feeds it books, trades, order events, directives and timer ticks; every call
returns the commands to send to the risk governor. Outside QUOTING and FLATTENING the
desired quote is empty, so any working order is cancelled, including one whose place was
still in flight when we stopped (it is cancelled once accepted).

Fair value is taken from the book less our own orders (the market as others show it).
Hazard: when our quote is the only liquidity on a side, that book is one-sided although
the market is not; being alone at the touch is when our liquidity matters most, so this
never pauses: fair value then stays at the last one (held inside what others still show),
or, before any, comes from the full book. Only a book one-sided in full pauses, or one
where nothing but our own orders is left on either side: no one else shows a price, so
the fair value would be frozen at the last one while the market may have moved anywhere.

Quote prices are snapped to the tick grid (bids down, asks up) and kept inside the book
others show: a bid never at or above their best ask (at most one tick under it, which
improves the market when there is room), an ask never at or below their best bid; the
order manager then skips a side that would still cross the full book (our own orders
included), since a post-only order would be refused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from decimal import Decimal

from config import MakerConfig
from messages import (
    BookView,
    CancelAllOrders,
    ExitUrgency,
    ExposureChanged,
    MarketConfig,
    MarketLifecycleChanged,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderUpdated,
    PositionView,
    QuoteSides,
    Realization,
    ReferencePriceUpdated,
    RiskDirective,
    SessionBook,
    SpotPriceUpdated,
    TradePrinted,
    TradingStateChanged,
)
from kernel.clock import seconds
from kalshi.wire import ceil_to, floor_to

from ._budget import defer_growth, fit_to_budget, position_exposure, shared_room
from ._exit import ExitPhase, ExitPlan
from ._guardrails import GuardrailVerdict, check_guardrails
from ._orders import SIDES, Command, Desired, OrderManager
from ._quoting import Quote
from ._state import Holds, MakerState
from ._throttles import SigmaEstimator, Throttles, VolumeSpikeDetector
from .models import BookFairValue, QuoteContext, ShockDetector, build_fair_value, build_quoting_model

__all__ = ["MakerState", "MakerSession", "effective_config", "inside_book", "StatusKey"]

log = logging.getLogger("mmd.MakerActor")

_ONE = Decimal(1)
_ZERO = Decimal(0)
_URGENCY_RANK = {ExitUrgency.CANCEL: 0, ExitUrgency.PASSIVE: 1, ExitUrgency.IMMEDIATE: 2}
_RESULT_PRICE = {"yes": _ONE, "no": _ZERO}
_FLAT = PositionView()
# the exchange's answers about orders: each is a cue to requote (the ledger's view shows
# what it changed); an admitted command or a cancel-all is not (our own decision, recorded)
_ORDER_EVENTS = (OrderAccepted, OrderAmended, OrderCancelled, OrderRejected, OrderUpdated)

StatusKey = tuple  # (state, why_not_quoting, adverse_selection, engaged throttles)


def effective_config(config: MakerConfig, market: MarketConfig | None) -> MakerConfig:
    """The config defaults with a session's generated market config applied: k, sigma,
    gamma multiplier, min/max spread, and the size factor on max_position (the quoting
    pipeline applies it to order sizes itself). None: the defaults as they are."""
    if market is None:
        return config
    max_position = int(Decimal(config.max_position) * market.size_factor)
    return replace(
        config,
        kappa=float(market.k),
        sigma=float(market.sigma),
        gamma=config.gamma * float(market.gamma_multiplier),
        min_spread=market.min_spread,
        max_spread=max(market.max_spread, market.min_spread),
        max_position=max(max_position, 1),
    )


def _to_decimal(x: float) -> Decimal:
    return Decimal(repr(x))


def inside_book(side: str, price: Decimal, tick: Decimal, market: BookView | None) -> Decimal | None:
    """Snap a model price to the grid and keep it inside the book others show; None when
    no valid price is left (off the [tick, 1 - tick] range)."""
    if side == "bid":
        snapped = floor_to(price, tick)
        if market is not None and market.best_ask is not None:
            snapped = min(snapped, market.best_ask - tick)
    else:
        snapped = ceil_to(price, tick)
        if market is not None and market.best_bid is not None:
            snapped = max(snapped, market.best_bid + tick)
    if snapped < tick or snapped > _ONE - tick:
        return None
    return snapped


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


@dataclass(frozen=True, slots=True)
class Finished:
    reason: str
    position: Decimal
    realized_pnl: Decimal
    fees: Decimal


class MakerSession:
    def __init__(
        self,
        *,
        ticker: str,
        session_id: str,
        config: MakerConfig,
        market_config: MarketConfig | None = None,
        market_budget: Decimal | None = None,
        fair_value_feed_problem: str = "",
    ) -> None:
        self.ticker = ticker
        self.session_id = session_id
        # an outside feed the fair value needs and this run lacks (config.fair_value_feed_problem):
        # the session never quotes, rather than quoting around the Kalshi book alone unawares
        self.fair_value_feed_problem = fair_value_feed_problem
        self.config = config
        self.market_config = market_config
        self.quoting_config = effective_config(config, market_config)
        # the market's tick when the session's config knows it, else the default grid
        self.tick = market_config.tick if market_config is not None and market_config.tick is not None else config.tick
        self.model = build_quoting_model(config)
        cfg = self.quoting_config  # (sigma, gamma, k) as the model reads them: fixed for the session
        self._model_parameters = (_to_decimal(cfg.sigma), _to_decimal(cfg.gamma), _to_decimal(cfg.kappa))
        try:
            self.fair_source = build_fair_value(config, ticker=ticker)
        except ValueError as exc:  # a model price without its strike: quote around the book
            self.fair_source = BookFairValue("microprice")
            self.fair_source_note = f"fair value fell back to microprice: {exc}"
        else:
            self.fair_source_note = ""
        self.shock = ShockDetector(config)
        self.plan_note = ""  # why the last quote plan was empty, or ""
        self.market_budget = market_budget  # risk.per_market_budget_dollars, when wired
        self.exposure_view: ExposureChanged | None = None  # the risk governor's latest, with its budgets
        self.budget_note = ""  # why a side quotes nothing for lack of budget, or ""
        self.orders = OrderManager(
            ticker=ticker,
            session_id=session_id,
            keep_within=config.keep_within,
            retry_after_ns=seconds(config.requote_interval_s),
            max_retry_after_ns=seconds(config.refusal_backoff_cap_s),
        )
        # this session's share of the market in the ledger's latest view (None: nothing yet)
        self.session_book: SessionBook | None = None
        self._realizations: list[Realization] = []  # closed round trips not yet reported
        self.throttles = Throttles(config.throttles)
        self.last_sigma: Decimal | None = None  # as the guardrails last judged it (None: window not covered yet)
        self.sigma = SigmaEstimator(
            window_ns=seconds(config.guardrails.sigma_window_s), bucket_ns=seconds(config.guardrails.sigma_bucket_s)
        )
        self.volume: VolumeSpikeDetector | None = None
        self.holds = Holds()
        self.state = MakerState.INIT
        self.why_not_quoting = "not started"
        self.book: BookView | None = None
        self.last_quote: Quote | None = None
        self.quote_updates = 0
        self.close_ns: int | None = market_config.close_ts if market_config is not None else None
        self.reduce_only = False
        self.guardrail = GuardrailVerdict()
        self.exit: ExitPlan | None = None
        # False while the running exit is a risk flatten only: the session outlives it
        self._exit_final = True
        self._ended_exit_reason: str | None = None  # a risk flatten that just ended, for its realizations
        self.risk_flattens = 0  # risk flattens that reached flat (the session went on)
        self.last_risk_flatten: str | None = None  # the latest one's reason, for status
        self.finished: Finished | None = None
        self.last_trade_ns: int | None = None
        self.feed_unhealthy_since_ns: int | None = None
        self.last_reference: object | None = None
        self.foreign_fills = 0  # fills on this market of orders not ours, left out
        self._start_ns: int | None = None
        self._fills_due_ns: int | None = None  # the finish waits for a REST fill read until then
        self._warm_until_ns: int | None = None
        self._now_ns: int | None = None
        self.check_interval_ns = seconds(config.requote_interval_s)  # the periodic checks' grid step
        self.last_check_ns: int | None = None  # the last periodic check, run or caught up (`catch_up`)
        self._standing_still = False  # as `next_check_ns` last found: the checks may be skipped
        # market_book() memo: (book, now, orders.version) -> book less our orders. Hazard:
        # rebuilding it costs more than the whole quoting model and a pass asks ~5 times.
        self._market_key: tuple | None = None
        self._market: BookView | None = None
        self._problem_of: tuple[BookView | None, str | None] = (None, "no book yet")  # (book, _book_problem(book))
        # _desired() memo: (what it read, the desire).
        # Hazard: a quote computed in full on every check and order event was the maker's
        # largest cost, and it changes only with these (the clock through the model's phase)
        self._desired_memo: tuple | None = None
        # Two memos inside a desire, for a pass whose inputs above did change. Hazard: most
        # book updates move the fair value or the depth (so the desire is computed again)
        # yet leave the snapped quote where it was; and an order event moves only the
        # working orders, which the model never reads.
        # _plan_memo: (the model's inputs: the desire's inputs up to the book's, the plan)
        self._plan_memo: tuple | None = None
        # _sides_memo: (the snapped levels and what sizing them to the book and budget
        # reads, (each side's levels, budget_note))
        self._sides_memo: tuple | None = None
        self._cap_of: tuple = (None, (None, ""))  # (exposure view, _budget_cap() under it)

    # -- lifecycle ------------------------------------------------------------------
    def start(self, now_ns: int) -> None:
        self.state = MakerState.WAIT_DATA
        self._start_ns = now_ns
        self._warm_until_ns = now_ns + seconds(self.config.warmup_s)
        self.why_not_quoting = "warming up"
        self.volume = VolumeSpikeDetector(
            factor=self.config.volume_spike_factor,
            window_ns=seconds(self.config.volume_spike_window_s),
            baseline_ns=seconds(self.config.volume_baseline_s),
            start_ns=now_ns,
        )

    def warmup_elapsed(self, now_ns: int) -> list[Command]:
        if self._warm_until_ns is not None and now_ns >= self._warm_until_ns:
            self._warm_until_ns = None
        return self.requote(now_ns)

    def stop(self, now_ns: int, reason: str, urgency: str = ExitUrgency.CANCEL) -> list[Command]:
        """End the session: quotes are pulled at once; then the exit of `urgency` runs
        (FLATTENING) until DONE. Orders with a command in flight are cancelled when it is
        acknowledged. A later, more urgent stop escalates a running exit."""
        self.begin_exit(now_ns, reason, urgency)
        return self.requote(now_ns)

    def begin_exit(self, now_ns: int, reason: str, urgency: str, *, final: bool = True) -> None:
        """Start (or escalate) an exit. final: the session ends with it (DONE); False only
        for a risk flatten, after which the session goes on (see `on_risk_directive`). Any
        final exit makes a running risk flatten final."""
        if self.state == MakerState.DONE:
            return
        if urgency not in _URGENCY_RANK:
            raise ValueError(f"unknown exit urgency {urgency!r}")
        if self.exit is not None:
            self._exit_final = self._exit_final or final
            if urgency == ExitUrgency.CANCEL:  # final: stop the running exit, pull the orders
                self.exit.cancel(now_ns, reason)
            elif self.exit.urgency != ExitUrgency.CANCEL and _URGENCY_RANK[urgency] > _URGENCY_RANK[self.exit.urgency]:
                self.exit.escalate(now_ns)
                self.exit.reason = reason
            return
        self._exit_final = final
        self.exit = ExitPlan(
            self.config.exit,
            urgency=urgency,
            reason=reason,
            start_ns=now_ns,
            position=self.inventory.position,
            mark=self._mark(),
            tick=self.tick,
        )

    def await_fills(self, until_ns: int) -> None:
        """A REST fill read is under way: the exit does not finish before it answers or
        `until_ns` passes (so a late answer never holds the finish hostage)."""
        self._fills_due_ns = until_ns

    def fills_read(self, now_ns: int) -> list[Command]:
        """The awaited fill read answered (its fills already applied)."""
        self._fills_due_ns = None
        return self.requote(now_ns)

    def _awaiting_fills(self, now_ns: int) -> bool:
        return self._fills_due_ns is not None and now_ns < self._fills_due_ns

    def shutdown(self, now_ns: int, reason: str) -> list[Command | CancelAllOrders]:
        """Last words before the actor dies: no acknowledgement will be read after this, so
        cancel everything now, and an order still being placed (no exchange id yet) by a
        cancel-all on this market."""
        commands: list[Command | CancelAllOrders] = []
        if self.state != MakerState.DONE and self.exit is None:
            self.begin_exit(now_ns, reason, ExitUrgency.CANCEL)
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
        self._now_ns = now_ns
        fair = self.fair_value()
        if fair is not None and self.shock.update(fair, now_ns):
            self.holds.set("shock", "price shock: cooling down", self.shock.pause_until_ns())
        if self.state != MakerState.QUOTING:
            fair = None
        moved = (
            fair is not None
            and self.last_quote is not None
            and abs(fair - self.last_quote.fair_value) > self.config.requote_move
        )
        self.orders.trigger_ts_recv = book.ts_recv  # orders decided now trace back to this update
        try:
            return self.requote(now_ns, force=moved)
        finally:
            self.orders.trigger_ts_recv = 0

    def on_trade(self, trade: TradePrinted, now_ns: int) -> list[Command]:
        self.last_trade_ns = max(self.last_trade_ns or 0, trade.ts_recv)
        self.fair_source.on_trade(trade.price, trade.count, trade.ts_recv)
        if self.volume is not None:
            self.volume.on_trade(trade.ts_recv, trade.count)
            if self.volume.spike(now_ns) and "volume_spike" not in self.holds:
                until = now_ns + seconds(self.config.pause_cooldown_s)
                self.holds.set("volume_spike", "volume spike: cooling down", until)
        return self.requote(now_ns)

    def on_trading_state(self, change: TradingStateChanged, now_ns: int) -> list[Command]:
        """The ledger's new state of the market (the risk governor's view after a change)
        and what changed it. The session reads its orders and inventory from it, then
        requotes on the exchange's answers as it did on the raw events: on every order
        event, and on a fill only when it is new to this session (a fill reported twice,
        by WS and the REST reconcile, counts once; a fill of another session's or a
        manual order is not ours)."""
        if change.ticker != self.ticker:
            return []
        before = self.inventory.fill_count
        book = change.session(self.session_id)
        if book is not None:
            self.session_book = book
            self._realizations.extend(book.realizations)
        self.orders.apply(change, now_ns)
        cause = change.cause
        if isinstance(cause, OrderFilled):
            if not self.seen_fill(cause):
                self.foreign_fills += 1
                return []
            if self.inventory.fill_count == before:
                return []  # counted before: a duplicate report
            self.throttles.on_fill(cause.ts_event, cause.side, cause.price)
            return self.requote(now_ns)
        if isinstance(cause, _ORDER_EVENTS):
            return self.requote(now_ns)
        if isinstance(cause, MarketLifecycleChanged):  # the ledger settled the market
            self.begin_exit(now_ns, f"market {cause.event_type}", ExitUrgency.CANCEL)
            return self.requote(now_ns)
        return []  # our own command recorded, or a cancel-all confirmed: nothing to answer

    @property
    def inventory(self) -> PositionView:
        """This session's position, as the ledger counts it (flat before its first fill)."""
        return _FLAT if self.session_book is None else self.session_book.position

    def seen_fill(self, fill: OrderFilled) -> bool:
        """Whether the ledger counted this fill in this session's book."""
        return self.session_book is not None and self.session_book.counted(fill.fill_id, fill.ts_event)

    def owns_fill(self, fill: OrderFilled) -> bool:
        """Whether a fill is of this session's orders (see `OrderManager.owns_fill`): the
        ledger's rule, for the REST-reconciled fills."""
        return self.orders.owns_fill(fill)

    def on_feed_health(self, healthy: bool, now_ns: int) -> tuple[list[Command], bool]:
        """Returns (commands, whether fills must be reconciled over REST): after the feed
        comes back, WS fills sent while it was down are lost for good."""
        was_down = self.feed_unhealthy_since_ns is not None
        if healthy:
            self.feed_unhealthy_since_ns = None
        elif not was_down:
            self.feed_unhealthy_since_ns = now_ns
        return self.requote(now_ns), healthy and was_down

    def on_lifecycle(self, event: MarketLifecycleChanged, now_ns: int) -> list[Command]:
        kind = event.event_type
        if kind == "close_date_updated" and event.close_ts is not None:
            self.close_ns = event.close_ts * 1_000_000_000
        elif kind == "deactivated":
            self.holds.set("market_paused", "market paused by the exchange")
        elif kind == "activated":
            self.holds.release("market_paused")
        elif kind in ("determined", "settled") and (event.result or "").lower() in _RESULT_PRICE:
            # the ledger settles the market; its view brings the settlement (on_trading_state)
            return []
        elif kind in ("closed", "close"):
            self.begin_exit(now_ns, "market closed", ExitUrgency.CANCEL)
        return self.requote(now_ns)

    def on_risk_directive(self, directive: RiskDirective, now_ns: int) -> list[Command]:
        """The risk governor's word on this market. pause / reduce_only / resume each state
        the market's whole restriction now (the governor sends one when it changes), so
        each replaces the one before:
        - pause: no quotes until `until_ts`, or, without one (as under the kill switch),
          until the next reduce_only or resume;
        - reduce_only: quote only the side that brings the position back towards flat; it
          lifts a pause (SPEC 9 REDUCING: exposure-reducing orders are allowed);
        - resume: no restriction: lifts a pause and reduce-only;
        - flatten (seed 000 hybrid policy, SPEC 9): exit IMMEDIATE until flat, then hold
          until the governor lifts the flatten (resume, or its next restriction), and quote
          on. The session does not end with it: only a stop (supervisor), the market's end,
          a guardrail or the model does that. A flatten that cannot get out keeps working
          the position within its slippage cap (see `_exit`), as any exit.
        The kill switch is its own hold (`on_kill_switch`): no directive lifts it."""
        action = directive.action
        if action == "flatten":
            self.begin_exit(now_ns, f"risk flatten: {directive.reason}", ExitUrgency.IMMEDIATE, final=False)
            why = f"risk flatten done: waiting for the risk governor to lift it ({directive.reason})"
            self.holds.set("risk_flatten", why)
        elif action == "pause":
            self.holds.release("risk_flatten")
            self.holds.set("risk_pause", f"risk pause: {directive.reason}", directive.until_ts)
        elif action == "reduce_only":
            self.holds.release("risk_flatten")
            self.holds.release("risk_pause")
            self.reduce_only = True
        elif action == "resume":
            self.holds.release("risk_flatten")
            self.holds.release("risk_pause")
            self.reduce_only = False
        return self.requote(now_ns)

    def on_kill_switch(self, engaged: bool, reason: str, now_ns: int) -> list[Command]:
        if engaged:
            self.holds.set("kill_switch", f"kill switch engaged: {reason}")
        else:
            self.holds.release("kill_switch")
        return self.requote(now_ns)

    def on_reference(self, message: object) -> None:
        """A reference-venue or spot price: the fair-value source's business."""
        self.last_reference = message
        if isinstance(message, ReferencePriceUpdated):
            self.fair_source.on_reference(message)
        elif isinstance(message, SpotPriceUpdated):
            self.fair_source.on_spot(message)

    @property
    def start_ns(self) -> int | None:
        return self._start_ns

    def check(self, now_ns: int) -> list[Command]:
        """The periodic check (each requote tick): throttles, guardrails, exit progress,
        then a requote that also refreshes orders older than `refresh_after_s`."""
        self._now_ns = now_ns
        self.last_check_ns = now_ns
        market = self.market_book()
        self.sigma.sample(now_ns, market.mid if market is not None else None)
        if self.state in (MakerState.QUOTING, MakerState.PAUSED):
            self.throttles.check(market, now_ns)
        if self.exit is None and self.state not in (MakerState.INIT, MakerState.DONE) and not self.warming_up:
            self._judge_guardrails(now_ns)
            if self.guardrail.end:
                self.begin_exit(now_ns, self.guardrail.end, ExitUrgency.PASSIVE)
        return self.requote(now_ns, refresh=True)

    # -- idle checks ----------------------------------------------------------------------
    def next_check_ns(self, now_ns: int) -> int | None:
        """The earliest instant a periodic check may do more than sample (None: not before an
        input): now (the next check) unless the session is paused with nothing working and
        stands still, that is: no order, ghost or command in flight, no exit, no warm-up;
        the throttles settled on the book last checked; then the first of: a hold's end,
        the feed's staleness thresholds, a throttle's shock clearing, and, where the guardrail's freeze is what the
        pause shows, the close window, the no-trade freeze and a change of the sigma
        judgement (`SigmaEstimator.quiet_until`). The checks in between are not run; the
        next input or check first carries them out (`catch_up`): they sample sigma and
        count the throttles' runs, and change nothing else."""
        self._standing_still = False
        if not self._stands_still():
            return now_ns
        market = self.market_book()
        steady = self.throttles.steady_checks(market)
        if steady == 0:
            return now_ns
        self._standing_still = True
        checked = self.last_check_ns
        assert checked is not None
        cfg = self.config.guardrails
        deadlines = [self.holds.next_deadline_ns()]
        if steady is not None:  # the check after those may engage or release a throttle
            deadlines.append(checked + (steady + 1) * self.check_interval_ns)
        since = self.feed_unhealthy_since_ns
        if since is not None:  # judged "more than": the instant after
            deadlines += [since + seconds(cfg.stale_freeze_s) + 1, since + seconds(cfg.stale_stop_s) + 1]
        if self._guardrail_shown(now_ns):
            if self.close_ns is not None:
                deadlines.append(self.close_ns - seconds(cfg.stop_before_close_s))
            last_trade = self.last_trade_ns if self.last_trade_ns is not None else self._start_ns or now_ns
            deadlines.append(last_trade + seconds(cfg.no_trade_freeze_s))
            mid = market.mid if market is not None else None
            deadlines.append(self.sigma.quiet_until(checked, mid, self.last_sigma, cfg.min_sigma))
        # a deadline after the last check is still to be judged, even one already past
        due = [d for d in deadlines if d is not None and d > checked]
        return min(due) if due else None

    def _stands_still(self) -> bool:
        orders = self.orders
        return (
            self.state == MakerState.PAUSED
            and self.exit is None
            and self._fills_due_ns is None
            and not self.warming_up
            and self.last_check_ns is not None
            and orders.order_count == 0
            and not orders.has_ghosts
            and not orders.in_flight()
        )

    def _guardrail_shown(self, now_ns: int) -> bool:
        """Whether the guardrail's freeze is what the pause shows (nothing before it in
        `_update_state` holds the session)."""
        return not (self.fair_value_feed_problem or self._held_before_guardrail(now_ns))

    def _held_before_guardrail(self, now_ns: int) -> str:
        """Why the session pauses before the guardrail's freeze is looked at, in
        `_update_state`'s order after the feed and the warm-up ("" when nothing does): the
        book's problem as last judged (a book not judged yet counts as one), our own orders
        alone in the book, a hold."""
        judged, problem = self._problem_of
        if judged is not self.book:
            return "book not judged yet"
        if problem is None and self._only_our_orders():
            problem = "no other liquidity in the book"
        return problem or self.holds.active(now_ns)

    def catch_up(self, until_ns: int) -> None:
        """Carry out the periodic checks skipped (`next_check_ns`) on the grid after the
        last one, up to until_ns: what each did, in order (sample sigma, count the
        throttles' runs, judge the guardrails)."""
        last = self.last_check_ns
        if last is None or not self._standing_still:
            return  # (live: a check merely late is not one to skip)
        interval = self.check_interval_ns
        checks = (until_ns - last) // interval
        if checks <= 0:
            return
        final = last + checks * interval
        market = self.market_book()
        self.sigma.catch_up(range(last + interval, final + 1, interval), market.mid if market is not None else None)
        self.throttles.skip(checks)
        self._now_ns = self.last_check_ns = final
        self._judge_guardrails(final)

    def _judge_guardrails(self, now_ns: int) -> None:
        """Sigma and the guardrail verdict as of `now_ns` (a check, or the last skipped one)."""
        self.last_sigma = self.sigma.sigma(now_ns)
        self.guardrail = check_guardrails(
            self.config.guardrails,
            now_ns=now_ns,
            close_ns=self.close_ns,
            last_trade_ns=self.last_trade_ns if self.last_trade_ns is not None else self._start_ns or now_ns,
            feed_unhealthy_since_ns=self.feed_unhealthy_since_ns,
            sigma=self.last_sigma,
        )

    # -- decisions ------------------------------------------------------------------
    def requote(self, now_ns: int, *, force: bool = False, refresh: bool = False) -> list[Command]:
        self._now_ns = now_ns
        self._update_state(now_ns)
        if self.state == MakerState.QUOTING:
            desired = self._desired()
        elif self.state == MakerState.FLATTENING:
            desired = self._exit_desired(now_ns)
        else:
            desired = {side: None for side in SIDES}
        refresh_before = now_ns - seconds(self.config.refresh_after_s) if refresh else None
        commands = self.orders.reconcile(desired, self.book, now_ns, force=force, refresh_before_ns=refresh_before)
        if self.exit is not None:  # an exit with nothing left to do is over now (without
            self._update_state(now_ns)  # one the state reads nothing the reconcile changed)
        return commands

    def _update_state(self, now_ns: int) -> None:
        if self.state in (MakerState.INIT, MakerState.DONE):
            return
        if self.exit is not None and self._update_exit_state(now_ns):
            return
        if self.fair_value_feed_problem:
            self.state, self.why_not_quoting = MakerState.PAUSED, self.fair_value_feed_problem
            return
        if self.warming_up:
            self.state, self.why_not_quoting = MakerState.WAIT_DATA, "warming up"
            return
        book = self.book
        if self._problem_of[0] is not book:  # books are immutable: judged once each
            self._problem_of = (book, _book_problem(book))
        problem = (
            self._held_before_guardrail(now_ns)
            or self.guardrail.freeze
            or self.throttles.verdict.freeze
            or self._nothing_to_quote()
        )
        if not problem:
            self.state, self.why_not_quoting = MakerState.QUOTING, ""
        elif self.state == MakerState.WAIT_DATA and self.book is None:
            self.why_not_quoting = problem
        else:
            self.state, self.why_not_quoting = MakerState.PAUSED, problem

    def _nothing_to_quote(self) -> str:
        if self.market_config is not None and self.market_config.size_factor <= 0:
            return "size factor leaves no size to quote"
        return ""

    def _update_exit_state(self, now_ns: int) -> bool:
        """Move the exit on; False when it just ended and the session goes on (a risk
        flatten that reached flat: the caller then decides the state as usual)."""
        assert self.exit is not None
        phase = self.exit.phase(now_ns)
        position = self.inventory.position
        over = phase == ExitPhase.CANCEL or position == 0
        orders_left = self.orders.order_count
        orders_gone = orders_left == 0 or self.exit.cancel_overdue(now_ns)
        if not self._exit_final and position == 0 and orders_left == 0 and not self.orders.unseen_fills():
            self._ended_exit_reason = self.last_risk_flatten = self.exit.reason
            self.risk_flattens += 1
            self.exit = None
            return False
        if over and orders_gone and not self._awaiting_fills(now_ns):
            reason = self.exit.reason
            if orders_left:
                reason = f"{reason} ({orders_left} orders not confirmed cancelled)"
            self.state, self.why_not_quoting = MakerState.DONE, f"stopped: {reason}"
            self.finished = Finished(reason, position, self.inventory.realized_pnl, self.inventory.fees_paid)
            return True
        self.state = MakerState.FLATTENING
        waiting = "; reconciling fills" if over and orders_gone else ""
        stuck = ""
        if phase == ExitPhase.STUCK:
            stuck = (
                f"; cannot get out: {position} left after {self.config.exit.hard_max_s:g} s of hard exit,"
                f" working it within {self.config.exit.max_slippage} of fair value"
            )
            if not self.exit.stuck_reported:  # once per exit, not every tick
                self.exit.stuck_reported = True
                log.warning("session %s on %s: exit (%s)%s", self.session_id, self.ticker, self.exit.reason, stuck)
        self.why_not_quoting = f"exiting ({phase}): {self.exit.reason}{waiting}{stuck}"
        return True

    def _exit_desired(self, now_ns: int) -> Desired:
        assert self.exit is not None
        desired: Desired = {side: None for side in SIDES}
        # fills the exchange reported but we have not yet seen count: never sell twice
        position, _ = position_exposure(self.inventory.layers, self.orders.unseen_fills())
        stuck = self.exit.phase(now_ns) == ExitPhase.STUCK  # works within the cap of the current mark
        order = self.exit.order(now_ns, position, self.market_book(), self._mark() if stuck else None)
        if order is not None:
            desired[order.side] = (order.price, order.size, True) if order.aggressive else (order.price, order.size)
        return desired

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
        key = self._market_key
        if key is not None and key[0] is self.book and key[2] == self.orders.version:
            # the time matters only to the ghosts of moved or cancelled orders (they expire)
            if key[1] == self._now_ns or (not key[3] and not self.orders.has_ghosts):
                return self._market
        had_ghosts = self.orders.has_ghosts
        self._market = without_own_orders(self.book, self.orders.resting_size_by_level(self.book, self._now_ns))
        self._market_key = (self.book, self._now_ns, self.orders.version, had_ghosts)
        return self._market

    def fair_value(self) -> Decimal | None:
        """From the market less our own orders; when that is one-sided only because of our
        orders, the last fair value (held inside what others show), else the full book's."""
        market = self.market_book()
        if market is None:
            return None
        self.fair_source.on_book(market, self._now_ns or market.ts_recv)
        value = self.fair_source.value(self._now_ns or market.ts_recv)
        if value is not None:
            return value
        if self.last_quote is not None:
            return _within_others(self.last_quote.fair_value, market)
        return _fair_value(self.book) if self.book is not None else None

    def _mark(self) -> Decimal | None:
        """The price the position is marked at: fair value, else the book's mid."""
        value = self.fair_value()
        if value is None and self.book is not None:
            value = self.book.mid
        return value

    def _context(self, fair: Decimal, market: BookView | None, now_ns: int) -> QuoteContext:
        cfg, market_config = self.quoting_config, self.market_config
        sigma, gamma, k = self._model_parameters
        return QuoteContext(
            fair=fair,
            book=market,
            position=self.inventory.position,
            max_position=cfg.max_position,
            sigma=sigma,
            gamma=gamma,
            k=k,
            now_ns=now_ns,
            session_start_ns=self._start_ns if self._start_ns is not None else now_ns,
            session_end_ns=None,
            market_close_ns=self.close_ns,
            tick=self.tick,
            maker_fee_series=False,
            quote_sides=market_config.quote_sides if market_config is not None else QuoteSides.BOTH,
            size_factor=market_config.size_factor if market_config is not None else _ONE,
            base_size=Decimal(cfg.base_size),
            min_spread=cfg.min_spread,
            max_spread=cfg.max_spread,
            extra_widen_ticks=self.throttles.verdict.widen_ticks,
        )

    def _desired(self) -> Desired:
        fair_value = self.fair_value()
        assert fair_value is not None  # the full book is two-sided when quoting
        now_ns = self._now_ns or 0
        position = self.inventory.position
        market = self.market_book()
        ctx = self._context(fair_value, market, now_ns)
        cap = self._budget_cap()
        inputs = self._desired_inputs(ctx, cap)
        memo = self._desired_memo
        # nothing it reads changed: the same quote, notes and desire (last_quote, the notes
        # and quote_updates stay as that pass left them)
        if memo is None or memo[0] != inputs:
            desired = self._desire(ctx, position, market, cap, inputs)
            if self.state != MakerState.QUOTING:  # a forced exit's desire is not kept
                self._desired_memo = None
                return desired
            memo = self._desired_memo = (inputs, desired)
        return {side: list(want) if isinstance(want, list) else want for side, want in memo[1].items()}

    def _desired_inputs(self, ctx: QuoteContext, cap: tuple[Decimal | None, str]) -> tuple[tuple, tuple]:
        """Everything a desire reads, as exact values: a Decimal by its text, since equal
        values may print differently (0.5, 0.50) and a quote built from either must not
        pass for the other. Of the book less our orders: its touch (where the quote is
        kept inside) and what the quoting model reads of it. Two parts: what the quoting
        model reads (the plan memo's key), then what only the sides read."""
        orders, market = self.orders, ctx.book
        model_reads = (
            str(ctx.fair),
            str(ctx.position),
            ctx.extra_widen_ticks,
            ctx.market_close_ns,
            ctx.session_start_ns,
            self.model.time_phase(ctx),
            None if market is None else (str(market.best_bid), str(market.best_ask), str(self.model.book_reads(ctx))),
        )
        sides_reads = (
            self.reduce_only,
            str(cap[0]),
            cap[1],
            tuple((str(layer.qty), str(layer.price)) for layer in self.inventory.layers),
            tuple((side, str(price), str(count)) for side, price, count in orders.unseen_fills()),
            tuple(
                (side, tuple(map(str, prices)), str(count))
                for side in SIDES
                for prices, count in orders.risk_terms(side)
            ),
        )
        return model_reads, sides_reads

    def _desire(
        self,
        ctx: QuoteContext,
        position: Decimal,
        market: BookView | None,
        cap: tuple[Decimal | None, str],
        inputs: tuple,
    ) -> Desired:
        """`inputs`: `_desired_inputs` of this pass (what the memos below are keyed by)."""
        fair_value, now_ns = ctx.fair, ctx.now_ns
        # the model reads the context alone: fair, position, widening, close, start, its
        # time phase and its book reads; plans are immutable values
        model_reads, rest = inputs
        if self._plan_memo is not None and self._plan_memo[0] == model_reads:
            plan = self._plan_memo[1]
        else:
            plan = self.model.plan(ctx)
            self._plan_memo = (model_reads, plan)
        self.plan_note = plan.why_empty
        if plan.force_exit:
            self.begin_exit(now_ns, "quoting model forces an exit (near resolution with inventory)", ExitUrgency.IMMEDIATE)
            self._update_state(now_ns)
            return self._exit_desired(now_ns)
        best_bid, best_ask = plan.best_bid, plan.best_ask
        half = plan.half_spread if plan.half_spread is not None else _ZERO
        snapped = {
            side: [(floor_to(lv.price, self.tick) if side == "bid" else ceil_to(lv.price, self.tick), lv.size)
                   for lv in plan.side(side)]
            for side in SIDES
        }
        quote = Quote(
            fair_value=fair_value,
            reservation=plan.reservation if plan.reservation is not None else fair_value,
            spread=half * 2,
            gamma=float(ctx.gamma),
            bid=None if best_bid is None else snapped["bid"][0][0],
            ask=None if best_ask is None else snapped["ask"][0][0],
            bid_size=_ZERO if best_bid is None else best_bid.size,
            ask_size=_ZERO if best_ask is None else best_ask.size,
            deeper=tuple((side, price, size) for side in SIDES for price, size in snapped[side][1:]),
        )
        if self.last_quote is None or quote.orders() != self.last_quote.orders():
            self.quote_updates += 1
        self.last_quote = quote
        # the sides read the snapped levels, the touch (inside_book), the position,
        # reduce-only, the budget, the layers, unseen fills and working orders' terms
        book_reads = model_reads[6]
        touch = book_reads[:2] if book_reads is not None else None
        sides_reads = (tuple(tuple(map(str, level)) for side in SIDES for level in snapped[side]),
                       tuple(len(snapped[side]) for side in SIDES), model_reads[1], touch, rest)
        if self._sides_memo is not None and self._sides_memo[0] == sides_reads:
            kept, self.budget_note = self._sides_memo[1]
        else:
            wanted = {
                side: self._ladder_side(side, snapped[side], market) if self._may_quote(side, position) else []
                for side in SIDES
            }
            wanted = self._within_budget(wanted, cap)
            kept = {side: tuple(levels) for side, levels in wanted.items()}
            self._sides_memo = (sides_reads, (kept, self.budget_note))
        desired: Desired = {}
        for side in SIDES:
            levels = kept[side]
            # one level keeps the single-order shape; a ladder is a (fresh) list, best first
            desired[side] = (levels[0] if levels else None) if len(levels) <= 1 else list(levels)
        return desired

    def _ladder_side(
        self, side: str, levels: list[tuple[Decimal, Decimal]], market: BookView | None
    ) -> list[tuple[Decimal, Decimal]]:
        """A side's levels, best first: each snapped and inside the book, strictly worse
        than the one before (levels that collapse onto one price after the clamp are
        pushed a tick apart: one resting order per level). The side ends at the first
        level with no valid price or no size."""
        out: list[tuple[Decimal, Decimal]] = []
        for price, size in levels:
            price = inside_book(side, price, self.tick, market)
            if price is not None and out:
                worse = out[-1][0] - self.tick if side == "bid" else out[-1][0] + self.tick
                price = min(price, worse) if side == "bid" else max(price, worse)
                if price < self.tick or price > _ONE - self.tick:
                    price = None
            if price is None or size <= 0:
                break
            out.append((price, size))
        return out

    @property
    def budget(self) -> Decimal | None:
        """The market's budget as the risk governor applies it: min(MarketConfig.max_exposure,
        risk.per_market_budget_dollars (given, or as the governor publishes it)), each when
        set; None: no cap known."""
        published = self.exposure_view.market_budget if self.exposure_view is not None else None
        caps = [
            c for c in (self.market_config.max_exposure if self.market_config else None, self.market_budget, published)
            if c is not None and c > 0
        ]
        return min(caps) if caps else None

    @property
    def category(self) -> str:
        """The market's category as the governor's category budget groups it ("" unknown)."""
        return self.market_config.category.lower() if self.market_config is not None else ""

    def on_exposure(self, view: ExposureChanged) -> None:
        """The risk governor's latest exposure and budgets: the next quote is sized to the
        room it leaves in the budgets shared with other markets (no requote now)."""
        self.exposure_view = view

    def _budget_cap(self) -> tuple[Decimal | None, str]:
        """(the cap the market's worst-case exposure is sized to, the budget it is): the
        market's own, or its room in the category and global budgets beside the other
        markets' exposure when that is smaller; None: no cap known."""
        view = self.exposure_view
        if self._cap_of[0] is view and view is not None:  # views are immutable: judged once each
            return self._cap_of[1]
        cap, label = self.budget, "market budget"
        shared = shared_room(view, ticker=self.ticker, category=self.category)
        if shared is not None and (cap is None or shared.cap < cap):
            cap, label = shared.cap, shared.budget
        self._cap_of = (view, (cap, label))
        return cap, label

    def _within_budget(self, wanted: dict[str, list], budget: tuple[Decimal | None, str]) -> dict[str, list]:
        """Cut both sides so the market's worst-case exposure stays in `budget` (`_budget`,
        `_budget_cap`): the position as the governor counts it, fills reported but not
        yet seen included."""
        self.budget_note = ""
        cap, label = budget
        if cap is None:
            return wanted
        position, held = position_exposure(self.inventory.layers, self.orders.unseen_fills())
        fit = fit_to_budget(wanted, cap=cap, position=position, held=held, budget=label)
        self.budget_note = "; ".join(fit.notes[side] for side in SIDES if side in fit.notes)
        working = {side: self.orders.risk_terms(side) for side in SIDES}
        return defer_growth(fit.levels, working, cap=cap, position=position, held=held)

    def _may_quote(self, side: str, position: Decimal) -> bool:
        sides = self.market_config.quote_sides if self.market_config is not None else QuoteSides.BOTH
        if side == "bid" and sides == QuoteSides.ASK_ONLY or side == "ask" and sides == QuoteSides.BID_ONLY:
            return False
        if self.reduce_only:  # only the side that brings the position back towards flat
            return position < 0 if side == "bid" else position > 0
        return True

    # -- outputs --------------------------------------------------------------------
    def drain_realizations(self) -> list[Realization]:
        """Round trips closed since the last call (oldest first), as the ledger's views
        brought them."""
        drained, self._realizations = self._realizations, []
        self._ended_exit_reason = None  # read (exit_reason) before the drain
        return drained

    @property
    def exit_reason(self) -> str:
        """What a round trip closed now is attributed to (realizations.exit_reason)."""
        if self.inventory.settled_at is not None:
            return "settlement"
        if self.exit is not None:
            return self.exit.reason
        return self._ended_exit_reason or "quote"

    def next_deadline_ns(self, now_ns: int) -> int | None:
        """The next time the state changes on its own (hold cooldown, exit phase)."""
        deadlines = [self.holds.next_deadline_ns()]
        if self.exit is not None:
            deadlines.extend((self.exit.next_deadline_ns(now_ns), self._fills_due_ns))
        future = [d for d in deadlines if d is not None and d > now_ns]
        return min(future) if future else None

    def status_key(self) -> StatusKey:
        verdict = self.throttles.verdict
        return (self.state, self.why_not_quoting, verdict.adverse_selection, verdict.engaged)

    def unrealized_pnl(self) -> Decimal:
        mark = self.book.mid if self.book is not None else None
        return self.inventory.unrealized_pnl(mark)

    def status(self) -> dict:
        vwap = self.inventory.vwap
        quote = self.last_quote
        skipped = "; ".join(f"{side} {why}" for side, why in self.orders.skipped.items())
        verdict = self.throttles.verdict
        return {
            "ticker": self.ticker,
            "session_id": self.session_id,
            "state": self.state,
            "why_not_quoting": self.why_not_quoting or self.plan_note or self.budget_note or skipped,
            "budget": None if self.budget is None else str(self.budget),
            "budget_note": self.budget_note,
            "sigma": None if self.last_sigma is None else str(self.last_sigma.quantize(Decimal("0.0001"))),
            "position": str(self.inventory.position),
            "vwap": None if vwap is None else str(vwap.quantize(Decimal("0.000001"))),
            "realized_pnl": str(self.inventory.realized_pnl),
            "unrealized_pnl": str(self.unrealized_pnl()),
            "fees": str(self.inventory.fees_paid),
            "open_orders": self.orders.open_orders(),
            "throttles": list(verdict.engaged),
            "widen_ticks": verdict.widen_ticks,
            "adverse_selection": verdict.adverse_selection,
            "reduce_only": self.reduce_only,
            "last_risk_flatten": self.last_risk_flatten,
            "fair_value_note": self.fair_source_note,
            "exit": None
            if self.exit is None
            else {"urgency": self.exit.urgency, "reason": self.exit.reason, "phase": self.exit.phase(self._now_ns or 0)},
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
                "foreign_fills": self.foreign_fills,
                "risk_flattens": self.risk_flattens,
            },
        }
