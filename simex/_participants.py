"""Synthetic market activity: a seeded fair value plus background liquidity providers and takers.

Model (one `SyntheticMarket` per listed market, all driven by `Exchange.advance`):
- Fair value: an Ornstein-Uhlenbeck walk in cents, stepped once a second,
  fair += mean_reversion * (initial - fair) + volatility * N(0, 1), kept inside 2..98.
  It is a latent model state (float); only whole-cent Decimal prices reach the book.
- Liquidity providers (own accounts, large balances): each keeps post-only GTC orders on a
  few levels each side of round(fair) at its own half-spread, sizes 5-50. After every fair
  step they cancel levels that left their ladder and refill levels that are missing or
  mostly eaten; refills join the back of the queue, so a resting order placed earlier at
  the same price is ahead of them.
- Takers (one account): arrive after exponential gaps clipped to 0.5-3 s and send an IOC
  for 1-30 contracts at the touch plus 0-2 cents, buying more often when fair is above mid.
Every random draw comes from `random.Random` seeded from (seed, ticker): same seed, same
trade stream.

`ScenarioMarket` is the scenario-driven variant (see `_scenario.py`): the fair value follows
the market's regime script (or N(d2) of a spot symbol), the providers' spread, depth and the
takers' rate and sizes change with the regime (`BookProfile`), the book centre may lag the
fair value by the reference lead, and a `close` regime ends with close, determine, settle.
Scenario takers draw log-normal sizes (median ~20-30 contracts, long tail) at exponential
gaps, calibrated on the data/kalshi NHL tapes.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from kalshi.wire import CENT

from ._book import ASK, BID
from ._errors import ApiError
from ._exchange import Exchange
from ._model import IOC, NS_PER_S, MarketSpec, OrderRequest

__all__ = [
    "ScenarioMarket",
    "DEFAULT_MARKET",
    "LiquidityProviderSpec",
    "SyntheticMarket",
    "build_default_exchange",
]

PARTICIPANT_BALANCE_CENTS = 10**11  # a billion dollars: background accounts never run dry
FAIR_STEP_NS = NS_PER_S
MIN_TICK, MAX_TICK = 1, 99

DEFAULT_MARKET = MarketSpec(
    ticker="KXSIMRATE-26DEC31-T4.25",
    event_ticker="KXSIMRATE-26DEC31",
    series_ticker="KXSIMRATE",
    category="Economics",
    title="Simulated rate above 4.25% on Dec 31, 2026",
    initial_fair_cents=42,
    volatility_cents=0.35,
    mean_reversion=0.01,
    close_offset_s=40 * 86_400,
)


@dataclass(frozen=True)
class LiquidityProviderSpec:
    name: str
    half_spread_cents: int
    levels: int
    min_size: int = 5
    max_size: int = 50


DEFAULT_PROVIDERS = (
    LiquidityProviderSpec("lp-tight", half_spread_cents=1, levels=3),
    LiquidityProviderSpec("lp-deep", half_spread_cents=2, levels=5, min_size=20, max_size=50),
)


def _cents(n: int) -> Decimal:
    return Decimal(n) * CENT


class _LiquidityProvider:
    def __init__(self, exchange: Exchange, ticker: str, spec: LiquidityProviderSpec, rng: random.Random) -> None:
        self.exchange = exchange
        self.ticker = ticker
        self.spec = spec
        self.rng = rng
        self.account_id = f"{spec.name}:{ticker}"
        exchange.register_account(self.account_id, PARTICIPANT_BALANCE_CENTS, keep_history=False)
        self._sizes: dict[str, Decimal] = {}  # order id -> size it was placed with

    def ladder(self, centre: int) -> list[tuple[str, int]]:
        """Target (side, price in cents) levels. A list, not a set: placement order must be
        stable across processes (string hashing is randomised per process)."""
        bids = [(BID, centre - self.spec.half_spread_cents - i) for i in range(self.spec.levels)]
        asks = [(ASK, centre + self.spec.half_spread_cents + i) for i in range(self.spec.levels)]
        return [(side, p) for side, p in bids + asks if MIN_TICK <= p <= MAX_TICK]

    def requote(self, centre: int) -> None:
        target = self.ladder(centre)
        wanted = set(target)
        kept: set[tuple[str, int]] = set()
        for book_order in self.exchange.markets[self.ticker].book.orders_of(self.account_id):
            key = (book_order.side, int(book_order.price / CENT))
            placed = self._sizes.get(book_order.order_id, book_order.remaining)
            if key in wanted and book_order.remaining * 2 >= placed:
                kept.add(key)
                continue
            self.exchange.cancel_order(self.account_id, book_order.order_id)
            self._sizes.pop(book_order.order_id, None)
        for side, price in target:
            if (side, price) not in kept:
                self._place(side, price)

    def _place(self, side: str, price_cents: int) -> None:
        size = Decimal(self.rng.randint(self.spec.min_size, self.spec.max_size))
        request = OrderRequest(self.ticker, side, _cents(price_cents), size, post_only=True)
        try:
            order = self.exchange.place_order(self.account_id, request)
        except ApiError:  # post-only cross against someone else's order: skip this level
            return
        self._sizes[order.order_id] = size


class _Taker:
    def __init__(self, exchange: Exchange, ticker: str, rng: random.Random) -> None:
        self.exchange = exchange
        self.ticker = ticker
        self.rng = rng
        self.account_id = f"taker:{ticker}"
        exchange.register_account(self.account_id, PARTICIPANT_BALANCE_CENTS, keep_history=False)

    def next_gap_ns(self) -> int:
        seconds = min(3.0, max(0.5, self.rng.expovariate(1 / 1.5)))
        return int(seconds * NS_PER_S)

    def act(self, fair_cents: float) -> None:
        book = self.exchange.markets[self.ticker].book
        if book.best(BID) is None and book.best(ASK) is None:
            return
        take_at_touch(
            self.exchange, self.account_id, self.ticker, self.rng, fair_cents,
            lean_cap=0.3, lean_scale=10, draw_size=lambda: self.rng.randint(1, 30),
        )


def take_at_touch(
    exchange: Exchange,
    account_id: str,
    ticker: str,
    rng: random.Random,
    fair_cents: float,
    *,
    lean_cap: float,
    lean_scale: float,
    draw_size: Callable[[], int],
) -> None:
    """One IOC take at the touch, leaning towards the fair value, slipping 0-2 ticks.

    Hazard: replays are byte-for-byte only while the draws keep their order (side, size,
    slip), so change this order and every recorded scenario changes.
    """
    book = exchange.markets[ticker].book
    bid, ask = book.best(BID), book.best(ASK)
    mid_cents = float((bid + ask) / 2 / CENT) if bid is not None and ask is not None else fair_cents
    lean = max(-lean_cap, min(lean_cap, (fair_cents - mid_cents) / lean_scale))
    buy = rng.random() < 0.5 + lean
    size = Decimal(draw_size())
    slip = rng.choice((0, 0, 0, 1, 2))
    touch = ask if buy else bid
    if touch is None:
        return
    limit_cents = int(touch / CENT) + (slip if buy else -slip)
    limit = _cents(max(MIN_TICK, min(MAX_TICK, limit_cents)))
    request = OrderRequest(ticker, BID if buy else ASK, limit, size, time_in_force=IOC)
    try:
        exchange.place_order(account_id, request)
    except ApiError:  # market paused or closed: nothing to take
        return


class SyntheticMarket:
    """Fair value, liquidity providers and takers for one market, scheduled on the exchange."""

    def __init__(
        self,
        exchange: Exchange,
        spec: MarketSpec,
        seed: int,
        providers: tuple[LiquidityProviderSpec, ...] = DEFAULT_PROVIDERS,
    ) -> None:
        self.exchange = exchange
        self.spec = spec
        self.market = exchange.markets.get(spec.ticker) or exchange.add_market(spec)
        self._rng = random.Random(f"{seed}:{spec.ticker}:fair")
        self.fair_cents = float(spec.initial_fair_cents)
        self.providers = [
            _LiquidityProvider(exchange, spec.ticker, p, random.Random(f"{seed}:{spec.ticker}:{p.name}"))
            for p in providers
        ]
        self.taker = _Taker(exchange, spec.ticker, random.Random(f"{seed}:{spec.ticker}:taker"))
        start = exchange.now()
        with exchange.acting_at(start):
            self._requote()
        self._repeat(start + FAIR_STEP_NS, lambda _now: FAIR_STEP_NS, self._step_fair)
        self._repeat(start + self.taker.next_gap_ns(), lambda _now: self.taker.next_gap_ns(),
                     lambda: self.taker.act(self.fair_cents))

    def centre(self) -> int:
        return max(MIN_TICK + 1, min(MAX_TICK - 1, round(self.fair_cents)))

    def _repeat(self, first_ns: int, gap: Callable[[int], int], action: Callable[[], None]) -> None:
        def run(now_ns: int) -> None:
            if self.market.status != "active":
                return  # closed: background activity stops for good
            action()
            self.exchange.schedule(now_ns + gap(now_ns), run)

        self.exchange.schedule(first_ns, run)

    def _step_fair(self) -> None:
        pull = self.spec.mean_reversion * (self.spec.initial_fair_cents - self.fair_cents)
        self.fair_cents += pull + self.spec.volatility_cents * self._rng.gauss(0.0, 1.0)
        self.fair_cents = max(2.0, min(98.0, self.fair_cents))
        self._requote()

    def _requote(self) -> None:
        centre = self.centre()
        for provider in self.providers:
            provider.requote(centre)


def build_default_exchange(
    seed: int = 0,
    now_ns: Callable[[], int] = time.time_ns,
    markets: tuple[MarketSpec, ...] = (DEFAULT_MARKET,),
) -> Exchange:
    """An exchange listing `markets`, each with background participants. Default clock: wall time."""
    exchange = Exchange(now_ns=now_ns, seed=seed)
    for spec in markets:
        SyntheticMarket(exchange, spec, seed)
    return exchange


# ----------------------------------------------------------------------------- scenarios
SETTLE_STEP_NS = NS_PER_S  # close -> determine -> settle, one simulated second apart


def _provider_specs(book) -> tuple[LiquidityProviderSpec, LiquidityProviderSpec]:
    """The tight provider at the regime's half spread; the deep one two levels behind it
    (none when the regime is illiquid: a single level of thin size)."""
    tight = LiquidityProviderSpec("lp-tight", book.half_spread_cents, book.levels, book.min_size, book.max_size)
    deep_levels = 0 if book.levels <= 1 else 2
    deep = LiquidityProviderSpec("lp-deep", book.half_spread_cents + book.levels, deep_levels,
                                 book.min_size * 2, book.max_size * 2)
    return tight, deep


class _ScenarioTaker:
    """Background taker: exponential gaps, log-normal sizes, leaning toward the fair value."""

    def __init__(self, exchange: Exchange, ticker: str, rng: random.Random) -> None:
        self.exchange = exchange
        self.ticker = ticker
        self.rng = rng
        self.account_id = f"taker:{ticker}"
        exchange.register_account(self.account_id, PARTICIPANT_BALANCE_CENTS, keep_history=False)

    def next_gap_ns(self, book) -> int:
        mean = book.trade_gap_s
        seconds = min(10 * mean, max(0.2, self.rng.expovariate(1 / mean)))
        return int(seconds * NS_PER_S)

    def size(self, book) -> int:
        draw = book.take_median * math.exp(book.take_sigma * self.rng.gauss(0.0, 1.0))
        return max(1, min(book.take_max, round(draw)))

    def act(self, fair_cents: float, book) -> None:
        take_at_touch(
            self.exchange, self.account_id, self.ticker, self.rng, fair_cents,
            lean_cap=0.35, lean_scale=6, draw_size=lambda: self.size(book),
        )


class ScenarioMarket:
    """One scenario market on the exchange: listing, latent fair value, providers, taker, settlement."""

    def __init__(self, run, market) -> None:
        from ._scenario import LatentPath  # _scenario imports this module lazily; no cycle at import

        self.run = run
        self.scenario = market
        exchange = self.exchange = run.exchange
        start = run.start_ns
        with exchange.acting_at(start - market.listed_s_before_start * NS_PER_S):
            self.market = exchange.markets.get(market.ticker) or exchange.add_market(market.spec())
        # Hazard: scanners want 24 h volume; a fresh listing has none. Seed it as prior history.
        self.market.volume += Decimal(market.prior_volume)
        self.path = LatentPath(market.regimes, market.initial_cents, run.rng("fair", market.ticker), low=1.0, high=99.0)
        self.fair_cents = float(market.initial_cents)
        if market.spot is not None:
            self.fair_cents = self._spot_fair(start)
        lead = market.reference.lead_s if market.reference is not None else 0
        self._lagged: deque[float] = deque([self.fair_cents] * (lead + 1), maxlen=lead + 1)
        self.book_profile = market.regimes[0].book
        tight, deep = _provider_specs(self.book_profile)
        self.providers = [
            _LiquidityProvider(exchange, market.ticker, spec, run.rng("provider", market.ticker, spec.name))
            for spec in (tight, deep)
        ]
        self.taker = _ScenarioTaker(exchange, market.ticker, run.rng("taker", market.ticker))
        with exchange.acting_at(start):
            self._requote()
        exchange.schedule(start + NS_PER_S, self._step)
        exchange.schedule(start + self.taker.next_gap_ns(self.book_profile), self._take)
        last = market.regimes[-1]
        if last.kind == "close" and last.end_s is not None:
            end_ns = start + int(last.end_s * NS_PER_S)
            exchange.schedule(end_ns, lambda _now: self._close(last.outcome))

    @property
    def ticker(self) -> str:
        return self.scenario.ticker

    def participant_accounts(self) -> list[str]:
        return [provider.account_id for provider in self.providers] + [self.taker.account_id]

    def regime(self, now_ns: int):
        return self.scenario.regime_at(self.run.elapsed_s(now_ns))

    def centre(self) -> int:
        return max(MIN_TICK + 1, min(MAX_TICK - 1, round(self._lagged[0])))

    def _spot_fair(self, now_ns: int) -> float:
        from ._scenario import above_strike_probability

        link = self.scenario.spot
        price, _ = self.run.spot(link.symbol)
        seconds_left = (self.market.close_ns - now_ns) / NS_PER_S
        return 100.0 * above_strike_probability(float(price), float(link.strike), link.sigma_annual, seconds_left)

    def _step(self, now_ns: int) -> None:
        status = self.market.status
        if status not in ("active", "inactive", "initialized"):
            return  # closed or settled: the script is over for this market
        # The fair value keeps moving while trading is paused, so the script stays on time.
        path_value = self.path.step()
        self.fair_cents = self._spot_fair(now_ns) if self.scenario.spot is not None else path_value
        self._lagged.append(self.fair_cents)
        profile = self.regime(now_ns).book
        if profile != self.book_profile:
            self.book_profile = profile
            for provider, spec in zip(self.providers, _provider_specs(profile)):
                provider.spec = spec
        if status == "active":
            self._requote()
        self.exchange.schedule(now_ns + NS_PER_S, self._step)

    def _take(self, now_ns: int) -> None:
        if self.market.status in ("closed", "determined", "finalized", "settled"):
            return
        if self.market.status == "active":
            self.taker.act(self.fair_cents, self.book_profile)
        self.exchange.schedule(now_ns + self.taker.next_gap_ns(self.book_profile), self._take)

    def _requote(self) -> None:
        centre = self.centre()
        for provider in self.providers:
            provider.requote(centre)

    def _close(self, outcome: str) -> None:
        exchange, ticker = self.exchange, self.ticker
        if self.market.status in ("active", "inactive", "initialized"):
            exchange.close_market(ticker)
        at = exchange.now()
        exchange.schedule(at + SETTLE_STEP_NS, lambda _now: exchange.determine_market(ticker, outcome))
        exchange.schedule(at + 2 * SETTLE_STEP_NS, lambda _now: exchange.settle_market(ticker))
