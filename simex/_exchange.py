"""The simulated exchange core: markets, accounts, orders, fills. No sockets, threads or wall clock.

Time comes only from the injected `now_ns` callable, or from the scheduled time of a
background event while `advance()` runs it, so a replay driven by a virtual clock is
byte-identical run after run. Ids come from counters (`stable_id`), never from uuid4.

Accounting model (whole-cent prices, whole contracts):
- A resting order locks p x remaining (bid) or (1 - p) x remaining (ask). `balance` is cash
  minus locked collateral; a new order must fit in it, with a taker-fee allowance.
- A fill costs the buyer of YES p per contract and the buyer of NO (an `ask`) 1 - p. YES
  and NO held in the same market net immediately: each YES/NO pair pays back $1.00.
- Fees per fill, as Kalshi's fee-rounding page describes: the trade fee k x C x P x (1 - P)
  x series multiplier rounded UP to $0.0001 (k = 0.07 taker; maker 0.0175 only on
  `quadratic_with_maker_fees` series, 0.035 on combo maker-fee series, else 0); then a
  rounding fee floors the balance change to whole cents; a per-order accumulator of that
  overpayment pays a $0.01 rebate each time it exceeds $0.01. Whole-cent prices and whole
  contracts therefore cost about ceil_to_cent of the order's cumulative trade fee.

Lifecycle (kalshi-api.md section 10): initialized -> active (at open time, no WS event) ->
inactive (pause, `deactivated`) -> active (resume, `activated`, resting orders cancelled) ->
closed (at close time, or early with `close_date_updated`) -> determined (`determined`) ->
finalized (`settled`: $1 per net winning contract, a Settlement record per holder).
Place, amend and decrease get MARKET_INACTIVE unless the market is active; cancels also work
in a paused (`inactive`) market, as in Kalshi's trading pause (maintenance_and_pauses.md), and
get MARKET_INACTIVE once the market has closed.

Collateral with YES/NO netting (kalshi-api.md section 5): an order on the side that reduces the
account's position (an ask while long YES, a bid while short) needs no collateral for the
contracts that close the position; the fill pays back $1 per YES/NO pair. The position covers
the account's orders on that side in fill priority (best price, then queue place), so only the
part that would open new exposure locks collateral. Reduce-only orders never lock collateral:
they are capped together at the position and re-capped or cancelled (`ReduceOnlyCancel`) as it
shrinks.

History (memory over a day of paper, which runs this core in the daemon's process): like
Kalshi, whose live endpoints serve data only until a cutoff (older data moves to
`/historical/...`), a settled market's public trades and its finished orders leave the live
endpoints `settled_history_s` after the settlement; an account's fills, settlements and
positions stay (a restarting client reads back every fill since the last one it recorded).
Background participants keep no history (`keep_history=False`): their emptied positions in
a settled market go at the settlement. At the cut-off the market's candles leave too, and
`on_history_dropped` listeners run (a scenario then forgets the listing's driver and its
participants' accounts, `forget_account`); the market itself stays listed (status reads).
"""

from __future__ import annotations

import heapq
import logging
from bisect import bisect_left, insort
from contextlib import contextmanager
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Callable, Iterator

from kalshi.wire import CENT, ONE, ceil_to, floor_to, format_price

from ._book import ASK, BID, STP_MAKER, MatchResult, OrderBook
from ._errors import ApiError
from ._model import (
    FOK,
    GTC,
    MARKET_RESULTS,
    MAX_PRICE,
    MIN_PRICE,
    NS_PER_S,
    ZERO,
    Account,
    Fill,
    LiveSide,
    Market,
    MarketSpec,
    Order,
    OrderRequest,
    Position,
    Settlement,
    Trade,
    stable_id,
    unit_cost,
)
from ._ratelimit import DEFAULT_TIER, RateLimiter, request_cost
from ._rest import API_PREFIX, RestApi, parse_json_body
from ._ws import WsHub, WsSession

__all__ = ["Exchange", "FEE_TYPES", "taker_fee"]

log = logging.getLogger(__name__)

FEE_TYPES = ("quadratic", "quadratic_with_maker_fees", "quadratic_with_combo_maker_fees", "flat")
TAKER_FEE_RATE = Decimal("0.07")
MAKER_FEE_RATES = {
    "quadratic_with_maker_fees": Decimal("0.0175"),
    "quadratic_with_combo_maker_fees": Decimal("0.035"),
}
FEE_STEP = Decimal("0.0001")  # trade fees round up to the centicent
REBATE = CENT
MARKET_INACTIVE = "MARKET_INACTIVE"
CANCELLABLE = ("active", "inactive")  # a trading pause still allows cancels
SETTLED_HISTORY_S = 3600  # a settled market's trades and finished orders are served this long
_NEW = float("inf")  # queue priority of an order not yet in the book: behind its price level


def _held(entry: tuple[Decimal, Decimal, Decimal]) -> Decimal:
    """Collateral a (cost, netted, fee_reserve) lock entry holds."""
    cost, netted, reserve = entry
    return cost - netted + reserve


def _held_now(order: Order) -> Decimal:
    return order.locked - order.netted + order.fee_reserve


def _remove_sorted(keys: list[tuple], key: tuple) -> None:
    i = bisect_left(keys, key)
    if i < len(keys) and keys[i] == key:
        del keys[i]


def taker_fee(count: Decimal, price: Decimal, fee_multiplier: Decimal = ONE) -> Decimal:
    return ceil_to(TAKER_FEE_RATE * fee_multiplier * count * price * (ONE - price), CENT)


class Exchange:
    """Sans-IO Kalshi exchange. Drive it with handle_rest / open_session / advance.

    `ticker` WS messages are published at the end of each REST call, advance step or
    `acting_at` scope (e.g. one tape row), once per market whose summary changed.
    """

    def __init__(self, now_ns: Callable[[], int], seed: int = 0, rate_limit_tier: str | None = None,
                 settled_history_s: int | None = SETTLED_HISTORY_S) -> None:
        """rate_limit_tier: Kalshi usage tier whose token buckets every account gets
        (e.g. "basic"); None leaves requests unmetered (backtests). settled_history_s: how
        long after its settlement a market's trades and finished orders are still served
        (None: for ever; see "History" above)."""
        self._clock = now_ns
        self._acting_ns: int | None = None  # set while a scheduled event or tape row runs
        self.seed = seed
        self.markets: dict[str, Market] = {}
        self.accounts: dict[str, Account] = {}
        self.orders: dict[str, Order] = {}  # creation order
        self.trades: list[Trade] = []
        self.fills: list[Fill] = []
        self.settlements: list[Settlement] = []
        self._limiters: dict[str | None, RateLimiter] = {}
        self._rate_limited: dict[str, dict[str, int]] = {}  # account -> bucket kind -> 429s given
        self._rate_limit_tier: str | None = None
        self.rate_limit_tier = rate_limit_tier
        self._counters: dict[str, int] = {}
        self._live_coids: dict[tuple[str, str], str] = {}
        self._expiries: list[tuple[int, str]] = []
        self.settled_history_s = settled_history_s
        self._history_cutoffs: list[tuple[int, str]] = []  # (when, ticker): settled markets' history to drop
        # called with the ticker once its history is dropped (the scenario forgets its driver then)
        self.on_history_dropped: list[Callable[[str], None]] = []
        self._schedule: list[tuple[int, int, Callable[[int], None]]] = []
        self._schedule_seq = 0
        self._advanced_to = 0
        self._ticker_cache: dict[str, tuple] = {}
        self._touched: set[str] = set()
        self._unit_fees: dict[tuple, Decimal] = {}  # one contract's trade fee by (fee type, multiplier, price, taker)
        self.hub = WsHub(self)
        self._rest_api = RestApi(self)

    # ----- time -----
    def now(self) -> int:
        return self._acting_ns if self._acting_ns is not None else self._clock()

    def now_ms(self) -> int:
        return self.now() // 1_000_000

    @contextmanager
    def acting_at(self, ts_ns: int) -> Iterator[None]:
        """Run the body as if the clock read `ts_ns` (background events, tape rows)."""
        previous, self._acting_ns = self._acting_ns, ts_ns
        try:
            yield
            if previous is None:
                self._flush_tickers()  # outermost scope: publish ticker changes at its time
        finally:
            self._acting_ns = previous

    def schedule(self, at_ns: int, action: Callable[[int], None]) -> None:
        """Run `action(at_ns)` during the first advance() that reaches `at_ns`."""
        self._schedule_seq += 1
        heapq.heappush(self._schedule, (at_ns, self._schedule_seq, action))

    def advance(self, now_ns: int) -> None:
        """Run background activity (scheduled events, expiries, closes) up to `now_ns`."""
        while self._schedule and self._schedule[0][0] <= now_ns:
            at_ns, _, action = heapq.heappop(self._schedule)
            at_ns = max(at_ns, self._advanced_to)
            with self.acting_at(at_ns):
                self._sweep(at_ns)
                action(at_ns)
        self._advanced_to = max(self._advanced_to, now_ns)
        with self.acting_at(self._advanced_to):
            self._sweep(self._advanced_to)

    def catch_up(self) -> None:
        """Run what is due by the clock before a client request (REST or WS) is served.

        A live server steps advance() every ~100 ms; without this, a request between two steps
        would trade at wall time t and the next step would then run background events due
        before t, printing trades that go back in time. Inside a scheduled event or tape row
        (acting_at) nothing happens: time is the event's own."""
        if self._acting_ns is None:
            self.advance(max(self._clock(), self._advanced_to))

    def _bump(self, kind: str) -> int:
        n = self._counters.get(kind, 0) + 1
        self._counters[kind] = n
        return n

    def _next_id(self, kind: str) -> str:
        return stable_id(kind, self._bump(kind))

    # ----- setup -----
    def add_market(self, spec: MarketSpec) -> Market:
        if spec.fee_type not in FEE_TYPES:
            raise ValueError(f"unknown fee_type {spec.fee_type!r}")
        if spec.ticker in self.markets:
            raise ValueError(f"market {spec.ticker} already listed")
        if spec.open_offset_s < 0 or spec.close_offset_s <= spec.open_offset_s:
            raise ValueError(f"{spec.ticker}: need 0 <= open_offset_s < close_offset_s")
        market = Market(spec, created_ns=self.now(), seq=len(self.markets) + 1)
        market.updated_ns = market.created_ns
        if spec.open_offset_s > 0:
            market.status = "initialized"
        self.markets[spec.ticker] = market
        self.hub.lifecycle(market, "created", {"open_ts": market.open_ns // 10**9, "close_ts": market.close_ns // 10**9})
        return market

    # ----- market lifecycle (scenario generators, fault injection and tests call these) -----
    def open_market(self, ticker: str) -> Market:
        """initialized -> active ahead of its open time (no WS event, as on Kalshi)."""
        market = self._market_in(ticker, "open", ("initialized",))
        self._set_status(market, "active")
        return market

    def pause_market(self, ticker: str) -> Market:
        """active -> inactive: trading stops; `cancel_order_on_pause` orders are cancelled."""
        market = self._market_in(ticker, "pause", ("active",))
        self._set_status(market, "inactive")
        for order in self._resting_in(market):
            if order.cancel_order_on_pause:
                self._cancel_resting(order, "HaltCancel")
        self.hub.lifecycle(market, "deactivated", {"is_deactivated": True})
        return market

    def resume_market(self, ticker: str) -> Market:
        """inactive -> active. Kalshi cancels every resting order on reactivation."""
        market = self._market_in(ticker, "resume", ("inactive",))
        for order in self._resting_in(market):
            self._cancel_resting(order, "HaltCancel")
        self._set_status(market, "active")
        self.hub.lifecycle(market, "activated", {"is_deactivated": False})
        return market

    def close_market(self, ticker: str) -> Market:
        """Close now. Before the scheduled close time this is an early close: the close time
        moves to now and `close_date_updated` goes out. Resting orders are cancelled."""
        market = self._market_in(ticker, "close", ("initialized", "active", "inactive"))
        now = self.now()
        if now < market.close_ns:
            market.close_override_ns = now
            self.hub.lifecycle(market, "close_date_updated", {"close_ts": now // 10**9})
        self._close(market)
        return market

    def determine_market(self, ticker: str, result: str) -> Market:
        """closed -> determined with `result` "yes" or "no" (closes an open market first)."""
        if result not in MARKET_RESULTS:
            raise ValueError(f"result must be one of {MARKET_RESULTS}, not {result!r}")
        market = self._market_in(ticker, "determine", ("initialized", "active", "inactive", "closed"))
        if market.status != "closed":
            self.close_market(ticker)
        market.result = result
        market.determined_ns = self.now()
        self._set_status(market, "determined")
        self.hub.lifecycle(market, "determined", {
            "result": result, "determination_ts": market.determined_ns // 10**9,
            "settlement_value": format_price(market.settlement_value()),
        })
        return market

    def settle_market(self, ticker: str) -> list[Settlement]:
        """determined -> finalized: pay $1 per net winning contract and record a Settlement
        for every account holding a position (their collateral is already free: no resting
        orders survive close)."""
        market = self._market_in(ticker, "settle", ("determined",))
        now = self.now()
        records = []
        for account in self.accounts.values():  # registration order: deterministic
            pos = account.positions.get(ticker)
            if pos is not None and pos.position:
                records.append(self._settle_position(market, account, pos, now))
            if not account.keep_history:  # emptied by the settlement, and read by no one
                account.positions.pop(ticker, None)
        market.open_interest = ZERO
        market.settled_ns = now
        if self.settled_history_s is not None:
            heapq.heappush(self._history_cutoffs, (now + self.settled_history_s * NS_PER_S, ticker))
        self._set_status(market, "finalized")
        self.hub.lifecycle(market, "settled", {"settled_ts": now // 10**9})
        return records

    def _settle_position(self, market: Market, account: Account, pos: Position, now: int) -> Settlement:
        held_yes = max(ZERO, pos.position)
        held_no = max(ZERO, -pos.position)
        winning = held_yes if market.result == "yes" else held_no
        revenue = winning * ONE
        record = Settlement(
            account.account_id, market.ticker, market.spec.event_ticker, market.result,
            held_yes, pos.cost if held_yes else ZERO, held_no, pos.cost if held_no else ZERO,
            revenue, now, market.settlement_value(), self._bump("settlement"),
        )
        account.cash += revenue
        pos.realized_pnl += revenue - pos.cost
        pos.position, pos.cost, pos.updated_ns = ZERO, ZERO, now
        if account.keep_history:
            self.settlements.append(record)
        self.hub.private(account.account_id, "market_positions", market.ticker, "market_position",
                         pos.ws_json(account.account_id))
        return record

    def _market_in(self, ticker: str, action: str, allowed: tuple[str, ...]) -> Market:
        market = self.markets.get(ticker)
        if market is None:
            raise ValueError(f"market {ticker} is not listed")
        if market.status not in allowed:
            raise ValueError(f"cannot {action} {ticker}: it is {market.status}")
        return market

    def _set_status(self, market: Market, status: str) -> None:
        market.status = status
        market.updated_ns = self.now()

    def _resting_in(self, market: Market) -> list[Order]:
        return [o for o in self.orders.values() if o.ticker == market.ticker and o.status == "resting"]

    # ----- rate limits -----
    @property
    def rate_limit_tier(self) -> str | None:
        return self._rate_limit_tier

    @rate_limit_tier.setter
    def rate_limit_tier(self, tier: str | None) -> None:
        """Meter REST with this Kalshi usage tier (None = unmetered); buckets restart full."""
        if tier is not None:
            RateLimiter(tier, 0)  # fail fast on an unknown tier name
        self._rate_limit_tier = tier
        self._limiters.clear()

    def limiter(self, account_id: str | None) -> RateLimiter:
        """The account's buckets (unsigned callers share one), created full on first use."""
        limiter = self._limiters.get(account_id)
        if limiter is None:
            limiter = self._limiters[account_id] = RateLimiter(self.rate_limit_tier or DEFAULT_TIER, self.now())
        return limiter

    def admit_request(self, account_id: str | None, method: str, path: str, body: Any) -> bool:
        """Charge one request to the account's bucket; False means answer 429."""
        if self.rate_limit_tier is None:
            return True
        sub = path[len(API_PREFIX):] if path.startswith(API_PREFIX) else path
        kind, cost = request_cost(method, sub, body)
        limiter = self.limiter(account_id)
        if limiter.admit(kind, cost, self.now()):
            return True
        # Hazard: a 429 of our own limiter is otherwise seen only by the client that got it
        account = account_id or "unsigned"
        refused = self._rate_limited.setdefault(account, {})
        refused[kind] = refused.get(kind, 0) + 1
        log.info("simex: 429 (rate limit) to %s: %s %s costs %d, the %s bucket holds %d", account, method, sub,
                 cost, kind, limiter.buckets[kind].level(self.now()))
        return False

    def rate_limited(self) -> dict[str, dict[str, int]]:
        """The 429s the rate limiter gave (not injected ones: `faults_of(ex).injected`), by
        account and bucket kind, e.g. {"alice": {"write": 2}}; accounts with none left out."""
        return {account: dict(kinds) for account, kinds in self._rate_limited.items()}

    def register_account(self, account_id: str, balance_cents: int, keep_history: bool = True) -> Account:
        """keep_history=False (background participants) bounds memory in long paper sessions:
        their finished orders and their fills are not kept for REST reads."""
        if account_id in self.accounts:
            raise ValueError(f"account {account_id} already registered")
        account = Account(account_id, Decimal(balance_cents) * CENT, keep_history=keep_history)
        self.accounts[account_id] = account
        return account

    # ----- front doors -----
    def handle_rest(
        self, method: str, path: str, query: dict | None, body: Any, account_id: str | None
    ) -> tuple[int, dict]:
        """One REST request, already authenticated to `account_id` (None = unsigned)."""
        self.catch_up()
        status, payload = self._rest_api.handle(method, path, query or {}, body, account_id)
        self._flush_tickers()
        return status, payload

    def handle_rest_raw(
        self, method: str, path: str, query: dict | None, raw_body: bytes | str | None, account_id: str | None
    ) -> tuple[int, dict]:
        """Like handle_rest, but parses the body; a body that is not JSON gets a 400."""
        ok, body = parse_json_body(raw_body)
        if not ok:
            return 400, body
        return self.handle_rest(method, path, query, body, account_id)

    def open_session(self, account_id: str | None, send: Callable[[str], None]) -> WsSession:
        return self.hub.open(account_id, send)

    # ----- lookups -----
    def market(self, ticker: str) -> Market:
        market = self.markets.get(ticker)
        if market is None:
            raise ApiError.not_found(f"market {ticker} not found")
        return market

    def account(self, account_id: str) -> Account:
        account = self.accounts.get(account_id)
        if account is None:
            raise ApiError(401, "unauthorized", "unknown account")
        return account

    def owned_order(self, account_id: str, order_id: str) -> Order:
        order = self.orders.get(order_id)
        if order is None or order.account_id != account_id:
            raise ApiError.not_found(f"order {order_id} not found")
        return order

    def locked(self, account: Account) -> Decimal:
        """Cost of the account's resting orders, price x remaining (maintained incrementally:
        summing every resting order on each placement made busy books quadratic)."""
        return account.locked

    def committed(self, account: Account) -> Decimal:
        """Collateral the resting orders actually hold: their cost less the part the position
        covers (YES/NO netting), plus the maker-fee allowance on maker-fee series."""
        return account.locked - account.netted + account.fee_reserve

    def _sync_lock(self, order: Order) -> None:
        """Re-derive what `order` (and the account's other orders on its side of its market, which
        share the position as cover) lock after any change to its price, size or liveness."""
        account = self.accounts[order.account_id]
        if order.order_id not in account.live_order_ids:
            self._set_lock(account, order, (ZERO, ZERO, ZERO))
        self._relock(account, order.ticker, order.side, changed=order)

    def _set_live(self, order: Order, live: bool) -> None:
        """Enter or leave the account's fill-priority index. Price and queue priority, the key,
        do not change while an order is live (a reprice takes it out first)."""
        account = self.accounts[order.account_id]
        key = (order.ticker, order.side)
        sort_key = (*self._fill_priority(order), order.order_id)
        if live:
            if order.order_id in account.live_order_ids:
                return
            account.live_order_ids.add(order.order_id)
            side = account.live_index.get(key)
            if side is None:
                side = account.live_index[key] = LiveSide()
            insort(side.keys, sort_key)
            if order.reduce_only:
                insort(side.reduce_only, sort_key)
            return
        if order.order_id not in account.live_order_ids:
            return
        account.live_order_ids.discard(order.order_id)
        side = account.live_index[key]
        _remove_sorted(side.keys, sort_key)
        if order.reduce_only:
            _remove_sorted(side.reduce_only, sort_key)
        side.covered.pop(order.order_id, None)
        if not side.keys:
            del account.live_index[key]

    @staticmethod
    def _reducible(account: Account, ticker: str, side: str) -> Decimal:
        """Contracts an order on `side` would close: NO held for a bid, YES held for an ask."""
        pos = account.positions.get(ticker)
        held = pos.position if pos else ZERO
        return max(ZERO, -held if side == BID else held)

    @staticmethod
    def _fill_priority(order: Any) -> tuple:
        """Which of one account's orders on one side fills first: best price, then queue place."""
        return (-order.price if order.side == BID else order.price, order.priority)

    def _lock_entry(self, market: Market, order: Any, covered: Decimal) -> tuple[Decimal, Decimal, Decimal]:
        """(cost, netted, fee_reserve) of one order when the position covers `covered` of its
        contracts: the covered contracts' cost is netted off; the uncovered rest also reserves
        the maker-fee allowance on maker-fee series. Reduce-only orders are netted whole: they
        are cancelled before they could open exposure."""
        cost = unit_cost(order.side, order.price) * order.remaining
        if order.reduce_only:
            return cost, cost, ZERO
        return (cost, unit_cost(order.side, order.price) * covered,
                self._fee_allowance(market, order.remaining - covered, order.price, False))

    @staticmethod
    def _set_lock(account: Account, order: Order, entry: tuple[Decimal, Decimal, Decimal]) -> None:
        cost, netted, reserve = entry
        account.locked += cost - order.locked
        account.netted += netted - order.netted
        account.fee_reserve += reserve - order.fee_reserve
        order.locked, order.netted, order.fee_reserve = cost, netted, reserve

    def _relock(self, account: Account, ticker: str, side: str, changed: Order | None = None) -> None:
        """The position covers the account's orders on `side` in fill priority. Only the covered
        prefix, the orders that were covered before, and `changed` (whose size or liveness just
        moved) can have a different lock: every other order stays uncovered, its lock as it was."""
        live = account.live_index.get((ticker, side))
        if live is None:
            return
        market = self.markets[ticker]
        cover = self._reducible(account, ticker, side)
        before, after = live.covered, {}
        changed_done = False
        orders = self.orders
        for key in live.keys:
            if cover <= ZERO:
                break
            order = orders[key[-1]]
            covered = min(order.remaining, cover)
            cover -= covered
            if covered:
                after[order.order_id] = covered
            if order is changed or before.get(order.order_id, ZERO) != covered:
                self._set_lock(account, order, self._lock_entry(market, order, covered))
            if order is changed:
                changed_done = True
        for order_id in before:
            if order_id not in after:
                order = orders[order_id]
                self._set_lock(account, order, self._lock_entry(market, order, ZERO))
                if order is changed:
                    changed_done = True
        live.covered = after
        if (not changed_done and changed is not None and changed.ticker == ticker and changed.side == side
                and changed.order_id in account.live_order_ids):
            self._set_lock(account, changed, self._lock_entry(market, changed, ZERO))

    def _relock_market(self, account: Account, ticker: str, changed: Order | None = None) -> None:
        for side in (BID, ASK):
            self._relock(account, ticker, side, changed)

    def _fee_allowance(self, market: Market, count: Decimal, price: Decimal, is_taker: bool) -> Decimal:
        """Most that fills of `count` contracts at `price` can cost in fees: the same trade fee
        the fills are charged (rate x series fee_multiplier, per contract rounded up to $0.0001,
        kalshi-api.md section 9), rounded up to the cent, plus the $0.01 the per-order rounding
        accumulator may hold before it pays a rebate. Zero when the fee rate is zero."""
        if count <= ZERO:
            return ZERO
        spec = market.spec
        key = (spec.fee_type, spec.fee_multiplier, price, is_taker)
        per_contract = self._unit_fees.get(key)
        if per_contract is None:
            per_contract = self._unit_fees[key] = self._trade_fee(market, ONE, price, is_taker)
        if not per_contract:
            return ZERO
        return ceil_to(per_contract * count, CENT) + REBATE

    def _collateral_need(self, account: Account, market: Market, side: str, price: Decimal, count: Decimal,
                         reduce_only: bool, replacing: Order | None = None) -> Decimal:
        """Extra collateral an order needs: how much the locks of the account's orders on `side`
        rise when it joins them (a crossing order is better priced than all of them, so it claims
        the position as cover first), plus the taker-fee allowance on the part that opens new
        exposure. Closing contracts need neither: each YES/NO pair pays back $1 at the fill.

        Only orders whose cover changes lock differently, so the sum runs over the covered
        prefix (with the new order slotted in behind its price level) and the orders covered
        before, not over every resting order."""
        new = SimpleNamespace(side=side, price=price, remaining=count, reduce_only=reduce_only, priority=_NEW)
        live = account.live_index.get((market.ticker, side))
        keys = live.keys if live is not None else []
        before = live.covered if live is not None else {}
        cover = self._reducible(account, market.ticker, side)
        rise, new_covered, seen = ZERO, ZERO, set()
        slot = bisect_left(keys, self._fill_priority(new)) if cover > ZERO else 0
        for order in self._with_new(keys, slot, new):
            if cover <= ZERO:
                break
            if order is replacing:
                continue
            covered = min(order.remaining, cover)
            cover -= covered
            if order is new:
                new_covered = covered
                continue
            seen.add(order.order_id)
            if before.get(order.order_id, ZERO) != covered:
                rise += _held(self._lock_entry(market, order, covered)) - _held_now(order)
        for order_id in before:
            if order_id not in seen and (replacing is None or order_id != replacing.order_id):
                order = self.orders[order_id]
                rise += _held(self._lock_entry(market, order, ZERO)) - _held_now(order)
        if replacing is not None and replacing.order_id in account.live_order_ids:
            rise -= _held_now(replacing)
        rise += _held(self._lock_entry(market, new, new_covered))
        opening = ZERO if reduce_only else count - new_covered
        return rise + self._fee_allowance(market, opening, price, True)

    def _with_new(self, keys: list[tuple], slot: int, new: Any) -> Iterator[Any]:
        """The live orders behind `keys` in fill priority, with `new` at index `slot`."""
        orders = self.orders
        for i, key in enumerate(keys):
            if i == slot:
                yield new
            yield orders[key[-1]]
        if slot == len(keys):
            yield new

    def available(self, account: Account) -> Decimal:
        return account.cash - self.committed(account)

    def portfolio_value(self, account: Account) -> Decimal:
        value = ZERO
        for pos in account.positions.values():
            mark = self.markets[pos.ticker].mark()
            if mark is None or not pos.position:
                value += pos.cost
                continue
            value += abs(pos.position) * (mark if pos.position > 0 else ONE - mark)
        return value

    # ----- order entry -----
    def place_order(self, account_id: str, req: OrderRequest) -> Order:
        account = self.account(account_id)
        market = self._tradable(req.ticker)
        self._check_price_and_count(req.price, req.count)
        self._check_coid_free(account_id, req.client_order_id)
        count = self._reduce_only_cap(account, req) if req.reduce_only else req.count
        if req.post_only and market.book.would_cross(req.side, req.price):
            raise ApiError.invalid_order("post only cross")
        need = self._collateral_need(account, market, req.side, req.price, count, req.reduce_only)
        if self.available(account) < need:
            raise ApiError(400, "insufficient_balance", "insufficient balance", f"order needs {need} of collateral")
        order = self._new_order(account_id, req, count)
        if req.time_in_force == FOK and market.book.fillable(account_id, req.side, req.price, order.stp) < count:
            self._finish(order, "canceled", "Cancel")
            return order
        self._execute_and_rest(market, order, reason="")
        return order

    def cancel_order(self, account_id: str, order_id: str) -> tuple[Order, Decimal]:
        """Allowed in an active or paused market (a trading pause still takes cancels)."""
        order = self._live_owned(account_id, order_id, cancel=True)
        reduced = order.remaining
        self._cancel_resting(order, "Cancel")
        return order, reduced

    def cancel_all(self, account_id: str, ticker: str | None = None) -> list[tuple[Order, Decimal]]:
        """Cancel the account's resting orders, in paused markets too (trading pause:
        maintenance_and_pauses.md). With a ticker, a closed market is MARKET_INACTIVE."""
        self.account(account_id)
        if ticker is not None:
            self._cancellable(ticker)
        live = [  # creation order, not set order: replays must be identical
            o.order_id for o in self.orders.values()
            if o.account_id == account_id and o.status == "resting" and (ticker is None or o.ticker == ticker)
            and self.markets[o.ticker].status in CANCELLABLE
        ]
        return [self.cancel_order(account_id, oid) for oid in live]

    def decrease_order(self, account_id: str, order_id: str, reduce_by: Decimal | None, reduce_to: Decimal | None) -> Order:
        if (reduce_by is None) == (reduce_to is None):
            raise ApiError.bad_request("exactly one of reduce_by or reduce_to is required")
        for name, value in (("reduce_by", reduce_by), ("reduce_to", reduce_to)):
            if value is not None and value % 1:  # the whole-contract rule of order entry
                raise ApiError.invalid_order(f"{name} {value} must be a whole number of contracts")
        order = self._live_owned(account_id, order_id)
        market = self._tradable(order.ticker)
        target = order.remaining - reduce_by if reduce_by is not None else reduce_to
        if target < ZERO or target >= order.remaining:
            raise ApiError.invalid_order("decrease must leave between 0 and the current remaining count")
        self._shrink_in_place(market, order, target, "Decrease")
        return order

    def amend_order(
        self, account_id: str, order_id: str, ticker: str, side: str, price: Decimal, total: Decimal,
        updated_client_order_id: str | None = None,
    ) -> Order:
        """`total` is the new TOTAL count (filled + resting). Same price and smaller size keeps
        queue priority; any other change moves the order to the back of its new level."""
        order = self._live_owned(account_id, order_id)
        market = self._tradable(order.ticker)
        if ticker != order.ticker or side != order.side:
            raise ApiError.invalid_order("ticker and side must match the order")
        self._check_price_and_count(price, total)
        new_remaining = total - order.filled
        if new_remaining <= ZERO:
            raise ApiError.invalid_order("count must exceed the filled count")
        if order.reduce_only:
            room = self._reduce_only_room(self.accounts[account_id], order.ticker, order.side, exclude=order)
            if room <= ZERO:
                raise ApiError.invalid_order("reduce only order would increase the position")
            new_remaining = min(new_remaining, room)
            total = order.filled + new_remaining
        if updated_client_order_id and updated_client_order_id != order.client_order_id:
            self._check_coid_free(account_id, updated_client_order_id)
        if price == order.price and new_remaining <= order.remaining:
            self._rename(order, updated_client_order_id)
            order.initial = total
            self._shrink_in_place(market, order, new_remaining, "Amend")
            return order
        self._reprice(market, order, price, new_remaining, updated_client_order_id)
        return order

    # ----- internals: validation -----
    def _tradable(self, ticker: str) -> Market:
        market = self.market(ticker)
        if market.status != "active":
            raise ApiError(400, MARKET_INACTIVE, "market is not active", f"{ticker} is {market.status}")
        return market

    def _cancellable(self, ticker: str) -> Market:
        market = self.market(ticker)
        if market.status not in CANCELLABLE:
            raise ApiError(400, MARKET_INACTIVE, "market is not active", f"{ticker} is {market.status}")
        return market

    @staticmethod
    def _check_price_and_count(price: Decimal, count: Decimal) -> None:
        if not MIN_PRICE <= price <= MAX_PRICE or price % CENT:
            raise ApiError.invalid_order(f"price {price} is off the linear_cent grid ($0.01..$0.99)")
        if count <= ZERO or count % 1:
            raise ApiError.invalid_order(f"count {count} must be a positive whole number of contracts")

    def _check_coid_free(self, account_id: str, coid: str) -> None:
        if coid and (account_id, coid) in self._live_coids:
            raise ApiError(409, "order_already_exists", "order already exists", f"client_order_id {coid} is live")

    def _reduce_only_room(self, account: Account, ticker: str, side: str, exclude: Order | None = None,
                          ahead_of: Order | None = None) -> Decimal:
        """Position a reduce-only order may still close: what is held against `side`, less what
        the account's other live reduce-only orders there already claim (only those ahead of
        `ahead_of` in fill priority, when given)."""
        room = self._reducible(account, ticker, side)
        live = account.live_index.get((ticker, side))
        for key in live.reduce_only if live is not None else ():
            other = self.orders[key[-1]]
            if other is exclude:
                continue
            if ahead_of is not None and self._fill_priority(other) >= self._fill_priority(ahead_of):
                continue
            room -= other.remaining
        return max(ZERO, room)

    def _reduce_only_cap(self, account: Account, req: OrderRequest) -> Decimal:
        """kalshi-api.md section 5: reduce_only caps the order at the position; reduce-only orders
        together never exceed it."""
        room = self._reduce_only_room(account, req.ticker, req.side)
        if room <= ZERO:
            raise ApiError.invalid_order("reduce only order would increase the position")
        return min(req.count, room)

    def _recap_reduce_only(self, account: Account, market: Market) -> None:
        """After the position moved: shrink or cancel (ReduceOnlyCancel) the reduce-only orders
        that no longer fit in it, the last in fill priority first."""
        for side in (BID, ASK):
            live = account.live_index.get((market.ticker, side))
            if live is None or not live.reduce_only:
                continue
            room = self._reducible(account, market.ticker, side)
            for order in [self.orders[key[-1]] for key in live.reduce_only]:
                keep = min(order.remaining, room)
                room -= keep
                if keep < order.remaining:
                    self._shrink_in_place(market, order, keep, "ReduceOnlyCancel")

    def _live_owned(self, account_id: str, order_id: str, cancel: bool = False) -> Order:
        order = self.owned_order(account_id, order_id)
        # a closed market (or, except for a cancel, a paused one) answers MARKET_INACTIVE first
        self._cancellable(order.ticker) if cancel else self._tradable(order.ticker)
        if order.status != "resting":
            raise ApiError.invalid_order(f"order is {order.status}")
        return order

    # ----- internals: order state -----
    def _new_order(self, account_id: str, req: OrderRequest, count: Decimal) -> Order:
        now = self.now()
        order = Order(
            order_id=self._next_id("order"), account_id=account_id, ticker=req.ticker, side=req.side,
            price=req.price, initial=count, time_in_force=req.time_in_force,
            stp=req.self_trade_prevention_type, created_ns=now, client_order_id=req.client_order_id,
            post_only=req.post_only, expiration_ns=req.expiration_ns, order_group_id=req.order_group_id,
            cancel_order_on_pause=req.cancel_order_on_pause, remaining=count, updated_ns=now,
            reduce_only=req.reduce_only, seq=self._counters["order"],
        )
        self.orders[order.order_id] = order
        return order

    def _execute_and_rest(self, market: Market, order: Order, reason: str) -> None:
        """Match `order` as a taker, then rest (GTC) or cancel (IOC/FOK/STP) what is left."""
        traded, stp_makers, stp_taker = False, False, False
        involved = {order.account_id: self.accounts[order.account_id]}
        while True:
            result = market.book.match(order.account_id, order.side, order.price, order.remaining, order.stp)
            shortfall = self._apply_match(market, order, result)
            traded = traded or bool(result.executions)
            stp_makers = stp_makers or bool(result.stp_cancelled_makers)
            stp_taker = stp_taker or result.taker_stp_cancelled
            for execution in result.executions:
                involved.setdefault(execution.maker.owner, self.accounts[execution.maker.owner])
            # a reduce-only maker cut short mid-sweep leaves the taker contracts to match further on
            if not shortfall or stp_taker or order.remaining <= ZERO:
                break
        if order.remaining <= ZERO:
            self._finish(order, "executed", "Trade")
        elif stp_taker or (order.stp == STP_MAKER and stp_makers):
            self._finish(order, "canceled", "SelfTradeCancel")
        elif order.time_in_force != GTC:
            self._finish(order, "canceled", "Cancel")
        else:
            self._rest(market, order, "Trade" if traded else reason)
        if traded:
            for account in involved.values():  # positions moved: re-cap their reduce-only orders
                self._recap_reduce_only(account, market)

    def _rest(self, market: Market, order: Order, reason: str) -> None:
        entry = market.book.add(order.order_id, order.account_id, order.side, order.price, order.remaining)
        order.status = "resting"
        order.priority = entry.priority
        self._set_live(order, True)
        self._sync_lock(order)
        if order.client_order_id:
            self._live_coids[(order.account_id, order.client_order_id)] = order.order_id
        if order.expiration_ns is not None:
            heapq.heappush(self._expiries, (order.expiration_ns, order.order_id))
        self.hub.book_delta(market, order.side, order.price, order.remaining, order)
        self._order_update(order, reason)
        self._touched.add(market.ticker)

    def _finish(self, order: Order, status: str, reason: str) -> None:
        """Terminal state for an order that is not (or no longer) in the book."""
        order.status = status
        if status == "canceled":
            order.remaining = ZERO
        account = self.accounts[order.account_id]
        self._set_live(order, False)
        self._sync_lock(order)
        if not account.keep_history:
            self.orders.pop(order.order_id, None)
        if order.client_order_id and self._live_coids.get((order.account_id, order.client_order_id)) == order.order_id:
            del self._live_coids[(order.account_id, order.client_order_id)]
        self._order_update(order, reason)

    def _cancel_resting(self, order: Order, reason: str) -> None:
        market = self.markets[order.ticker]
        market.book.remove(order.order_id)
        self.hub.book_delta(market, order.side, order.price, -order.remaining, order)
        self._touched.add(market.ticker)
        self._finish(order, "canceled", reason)

    def _shrink_in_place(self, market: Market, order: Order, new_remaining: Decimal, reason: str) -> None:
        if new_remaining <= ZERO:
            self._cancel_resting(order, reason)
            return
        delta = new_remaining - order.remaining
        market.book.reduce(order.order_id, new_remaining)
        order.remaining = new_remaining
        self._sync_lock(order)
        self.hub.book_delta(market, order.side, order.price, delta, order)
        self._touched.add(market.ticker)
        self._order_update(order, reason)

    def _reprice(self, market: Market, order: Order, price: Decimal, remaining: Decimal, new_coid: str | None) -> None:
        """Amend that loses priority: pull the order, then re-enter it like a new one (it may trade)."""
        if order.post_only and market.book.would_cross(order.side, price):
            raise ApiError.invalid_order("post only cross")
        account = self.accounts[order.account_id]
        need = self._collateral_need(account, market, order.side, price, remaining, order.reduce_only, replacing=order)
        if self.available(account) < need:
            raise ApiError(400, "insufficient_balance", "insufficient balance", "amend needs more collateral")
        market.book.remove(order.order_id)
        self.hub.book_delta(market, order.side, order.price, -order.remaining, order)
        self._set_live(order, False)
        self._sync_lock(order)
        self._live_coids.pop((order.account_id, order.client_order_id), None)
        self._rename(order, new_coid)
        order.price, order.remaining = price, remaining
        order.initial = order.filled + remaining
        self._execute_and_rest(market, order, reason="Amend")

    def _rename(self, order: Order, new_coid: str | None) -> None:
        if not new_coid or new_coid == order.client_order_id:
            return
        if order.status == "resting":
            self._live_coids.pop((order.account_id, order.client_order_id), None)
            self._live_coids[(order.account_id, new_coid)] = order.order_id
        order.client_order_id = new_coid

    def _order_update(self, order: Order, reason: str) -> None:
        order.updated_ns = self.now()
        order.last_update_reason = reason
        if self.hub.listens(order.account_id):
            self.hub.private(order.account_id, "user_orders", order.ticker, "user_order", order.ws_json())

    # ----- internals: executions -----
    def _apply_match(self, market: Market, taker: Order, result: MatchResult) -> Decimal:
        """Apply the book's executions in priority order. A reduce-only maker fills only as far
        as the maker's position (already moved by earlier fills of this sweep) allows; the rest
        of it is cancelled (ReduceOnlyCancel). Returns the contracts the taker did not get."""
        for maker_book in result.stp_cancelled_makers:
            maker = self.orders[maker_book.order_id]
            self.hub.book_delta(market, maker.side, maker.price, -maker.remaining, maker)
            maker.remaining = ZERO
            self._finish(maker, "canceled", "SelfTradeCancel")
        shortfall = ZERO
        for execution in result.executions:
            maker = self.orders[execution.maker.order_id]
            count = execution.count
            if maker.reduce_only:
                room = self._reduce_only_room(self.accounts[maker.account_id], maker.ticker, maker.side,
                                              exclude=maker, ahead_of=maker)
                count = min(count, room)
            if count > ZERO:
                self._execute(market, taker, maker, execution.price, count)
            if count < execution.count:
                shortfall += execution.count - count
                self._cancel_resting(maker, "ReduceOnlyCancel")
        if result.executions or result.stp_cancelled_makers:
            self._touched.add(market.ticker)
        return shortfall

    def print_trade(self, ticker: str, price: Decimal, count: Decimal, taker_side: str) -> Trade:
        """A trade between parties outside the book (a recorded tape print the book could not
        carry): it counts as market activity (trades list, volume, last price, candles, the
        `trade` channel) but fills no order and moves no position."""
        market = self.markets[ticker]
        trade = self._record_trade(market, price, count, taker_side)
        self._touched.add(ticker)
        self.hub.trade(trade)
        return trade

    def _record_trade(self, market: Market, price: Decimal, count: Decimal, taker_side: str) -> Trade:
        now = self.now()
        n = self._bump("trade")
        trade = Trade(stable_id("trade", n), market.ticker, price, count, taker_side, now, n)
        self.trades.append(trade)
        market.last_price, market.last_trade_size, market.updated_ns = price, count, now
        market.record_trade(now, count)
        market.bars.trade(now, price, count)
        return trade

    def _execute(self, market: Market, taker: Order, maker: Order, price: Decimal, count: Decimal) -> None:
        trade = self._record_trade(market, price, count, taker.side)
        self.hub.book_delta(market, maker.side, price, -count, maker)
        self.hub.trade(trade)
        maker_fill = self._fill(market, maker, trade, is_taker=False)
        taker_fill = self._fill(market, taker, trade, is_taker=True)
        if maker.remaining <= ZERO:
            self._finish(maker, "executed", "Trade")
        else:
            self._order_update(maker, "Trade")
        if taker.remaining > ZERO:  # a fully filled taker gets its final update from _execute_and_rest
            self._order_update(taker, "Trade")
        for fill in (maker_fill, taker_fill):
            if not self.hub.listens(fill.account_id):
                continue  # a background account: nothing to build
            self.hub.private(fill.account_id, "fill", market.ticker, "fill", fill.ws_json())
            position = self.accounts[fill.account_id].positions[market.ticker]
            self.hub.private(fill.account_id, "market_positions", market.ticker, "market_position",
                             position.ws_json(fill.account_id))

    @staticmethod
    def _trade_fee(market: Market, count: Decimal, price: Decimal, is_taker: bool) -> Decimal:
        rate = TAKER_FEE_RATE if is_taker else MAKER_FEE_RATES.get(market.spec.fee_type, ZERO)
        return ceil_to(rate * market.spec.fee_multiplier * count * price * (ONE - price), FEE_STEP)

    @staticmethod
    def _net_fee(order: Order, revenue: Decimal, trade_fee: Decimal) -> Decimal:
        """Trade fee + rounding fee - rebate for one fill (Kalshi's fee-rounding mechanics):
        the balance change floors to whole cents; the overpayment accumulates per order and
        every time it exceeds $0.01 a $0.01 rebate comes back."""
        balance_change = revenue - trade_fee
        rounding_fee = balance_change - floor_to(balance_change, CENT)
        order.fee_accumulator += rounding_fee
        rebate = ZERO
        while order.fee_accumulator > REBATE:
            order.fee_accumulator -= REBATE
            rebate += REBATE
        return trade_fee + rounding_fee - rebate

    def _fill(self, market: Market, order: Order, trade: Trade, is_taker: bool) -> Fill:
        trade_fee = self._trade_fee(market, trade.count, trade.price, is_taker)
        cost = unit_cost(order.side, trade.price) * trade.count
        order.filled += trade.count
        order.remaining -= trade.count
        order.fill_notional += trade.price * trade.count
        account = self.accounts[order.account_id]
        position, revenue = self._book_position(market, account, order.side, trade.price, trade.count)
        self._relock_market(account, market.ticker, changed=order)  # size and position both moved
        fee = self._net_fee(order, revenue, trade_fee)
        account.cash -= fee
        position.fees_paid += fee
        if is_taker:
            order.taker_fill_cost += cost
            order.taker_fees += fee
        else:
            order.maker_fill_cost += cost
            order.maker_fees += fee
        fill = Fill(trade.trade_id, account.account_id, order.order_id, order.client_order_id, market.ticker,
                    order.side, trade.price, trade.count, is_taker, fee, position.position, trade.ts_ns,
                    self._bump("fill"))
        if account.keep_history:
            self.fills.append(fill)
        return fill

    def _book_position(self, market: Market, account: Account, side: str, price: Decimal,
                       count: Decimal) -> tuple[Position, Decimal]:
        """Cash and netted position after buying `count` YES (bid) or NO (ask) contracts, fees
        aside. Returns the position and the fill's revenue (signed cash change)."""
        pos = account.positions.get(market.ticker)
        if pos is None:
            pos = account.positions[market.ticker] = Position(market.ticker, market.spec.event_ticker,
                                                              seq=len(account.positions) + 1)
        per_contract = unit_cost(side, price)
        direction = 1 if side == BID else -1
        held_against = max(ZERO, -direction * pos.position)  # opposite-outcome contracts held
        closing = min(count, held_against)
        opening = count - closing
        revenue = -per_contract * opening
        if closing:
            basis = pos.cost * closing / held_against
            pos.cost -= basis
            pos.realized_pnl += (ONE - per_contract) * closing - basis
            revenue += (ONE - per_contract) * closing  # pay per_contract, pair pays back $1
        account.cash += revenue
        pos.cost += per_contract * opening
        open_long_before = max(ZERO, pos.position)
        pos.position += direction * count
        market.open_interest += max(ZERO, pos.position) - open_long_before
        pos.total_traded += per_contract * count
        pos.volume += count
        pos.updated_ns = self.now()
        return pos, revenue

    # ----- internals: time-driven -----
    def _sweep(self, now_ns: int) -> None:
        """Expire GTC orders past expiration_time, open markets at open time, close them at close time."""
        while self._expiries and self._expiries[0][0] <= now_ns:
            _, order_id = heapq.heappop(self._expiries)
            order = self.orders.get(order_id)  # background accounts' finished orders are dropped
            if order is not None and order.status == "resting" and order.expiration_ns is not None and order.expiration_ns <= now_ns:
                self._cancel_resting(order, "ExpiryCancel")
        while self._history_cutoffs and self._history_cutoffs[0][0] <= now_ns:
            self._drop_settled_history(heapq.heappop(self._history_cutoffs)[1])
        for market in self.markets.values():
            if market.status == "initialized" and market.open_ns <= now_ns:
                self._set_status(market, "active")
            if market.status in ("initialized", "active", "inactive") and market.close_ns <= now_ns:
                self._close(market)

    def _drop_settled_history(self, ticker: str) -> None:
        """A settled market's trades and finished orders leave the live endpoints (the
        market's own trades are no cursor key of another's: pages go on, see `_paginate`);
        its 24 h volume is counted by the minute from now on."""
        self.trades = [t for t in self.trades if t.ticker != ticker]
        market = self.markets[ticker]
        market.count_recent_trades_by_the_minute()  # its 24 h volume goes on
        for order_id in [o.order_id for o in self.orders.values() if o.ticker == ticker and o.status != "resting"]:
            del self.orders[order_id]
        market.bars = None  # its candles leave the live endpoints too (Kalshi: /historical)
        market.__dict__.pop("_json_cache", None)  # its listing is built when read, no longer cached
        if market.book.is_empty():  # it is, closed: a fresh one, as a dict never shrinks from its peak
            market.book = OrderBook()
        self._ticker_cache.pop(ticker, None)  # a finalized market's summary changes no more
        for listener in self.on_history_dropped:
            listener(ticker)

    def forget_account(self, account_id: str) -> None:
        """Drop a background account that is done (its market's history was dropped): it
        must hold no resting order and, having no history kept, nothing a client reads."""
        account = self.accounts[account_id]
        if account.keep_history:
            raise ValueError(f"account {account_id} keeps history: it is never forgotten")
        if any(o.account_id == account_id and o.status == "resting" for o in self.orders.values()):
            raise ValueError(f"account {account_id} still has resting orders")
        del self.accounts[account_id]
        self._limiters.pop(account_id, None)
        self._rate_limited.pop(account_id, None)

    def _close(self, market: Market) -> None:
        for order in self._resting_in(market):
            self._cancel_resting(order, "CloseCancel")
        self._set_status(market, "closed")

    def _flush_tickers(self) -> None:
        """One `ticker` message per market whose touch, last trade, volume or OI changed."""
        for ticker in sorted(self._touched):
            market = self.markets[ticker]
            if market.bars is None:  # settled and past its cut-off: its summary changes no more
                continue
            touch = market.touch()
            state = (touch["bid"], touch["ask"], touch["bid_size"], touch["ask_size"], market.last_price,
                     market.volume, market.open_interest)
            if self._ticker_cache.get(ticker) != state:
                self._ticker_cache[ticker] = state
                market.bars.quote(self.now(), touch["bid"], touch["ask"], market.open_interest)
                self.hub.ticker(market)
        self._touched.clear()
