"""Orders per second of the simulated exchange's matching core: prints figures, asserts nothing.

Three mixes, each through `Exchange.place_order` / `cancel_order` (the path participants,
tapes and the REST layer all use) and, for reference, the bare `OrderBook`:
  place/cancel  - passive orders that rest and are then cancelled (a quoting maker);
  cross         - takers that sweep resting liquidity (every order trades);
  mixed         - 60% passive place, 25% cancel, 15% crossing IOC.

    .venv/bin/python bench/bench_simex_matching.py [orders_per_mix] [seconds_per_mix]

It cannot silently take minutes: each mix first runs a tenth of the orders, then the full count,
and stops at `seconds_per_mix` (default 30) saying how far it got. A full run much slower per
order than its tenth is flagged as super-linear (something recomputed over every resting order
or trade on each order).
"""

from __future__ import annotations

import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simex import Exchange, MarketSpec, OrderBook, OrderRequest  # noqa: E402
from simex._book import STP_TAKER_AT_CROSS  # noqa: E402

TICKER = "KXBENCH-1"
START_NS = 1_795_000_000 * 1_000_000_000
PRICES = [Decimal(c) / 100 for c in range(1, 100)]
BUDGET_S = 30.0  # wall-clock cap per mix and size
SUPERLINEAR = 2.0  # flag a full run this many times slower per order than its tenth


class OutOfTime(Exception):
    def __init__(self, done: int) -> None:
        super().__init__(done)
        self.done = done


class Budget:
    """Raises OutOfTime once the mix has run past its deadline (checked every 256 orders)."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.perf_counter() + seconds

    def check(self, done: int) -> None:
        if done & 255 == 0 and time.perf_counter() > self.deadline:
            raise OutOfTime(done)


def _exchange() -> tuple[Exchange, list[int]]:
    clock = [START_NS]
    ex = Exchange(now_ns=lambda: clock[0])
    ex.add_market(MarketSpec(ticker=TICKER, event_ticker="KXBENCH", series_ticker="KXBENCH"))
    for name in ("maker", "taker"):
        ex.register_account(name, 10**12, keep_history=False)  # bounded memory, like background accounts
    return ex, clock


def _report(name: str, orders: int, elapsed: float) -> float:
    print(f"{name:<28} {orders:>8,} orders in {elapsed:6.2f} s  {orders / elapsed:>10,.0f} orders/s")
    return orders / elapsed


def bench_place_cancel(n: int, budget: Budget) -> float:
    ex, clock = _exchange()
    rng = random.Random(1)
    started = time.perf_counter()
    for i in range(n // 2):
        budget.check(2 * i)
        clock[0] += 1_000
        side = "bid" if i % 2 else "ask"
        price = PRICES[rng.randrange(10, 40)] if side == "bid" else PRICES[rng.randrange(59, 89)]
        order = ex.place_order("maker", OrderRequest(TICKER, side, price, Decimal(5)))
        ex.cancel_order("maker", order.order_id)
    return _report("exchange place/cancel", n, time.perf_counter() - started)


def bench_cross(n: int, budget: Budget) -> float:
    ex, clock = _exchange()
    started = time.perf_counter()
    for i in range(n // 2):
        budget.check(2 * i)
        clock[0] += 1_000
        ex.place_order("maker", OrderRequest(TICKER, "ask", Decimal("0.50"), Decimal(5)))
        ex.place_order("taker", OrderRequest(TICKER, "bid", Decimal("0.50"), Decimal(5),
                                             time_in_force="immediate_or_cancel"))
    elapsed = time.perf_counter() - started
    rate = _report("exchange rest+cross", n, elapsed)
    print(f"{'':<28} {len(ex.trades):,} trades, {len(ex.trades) / elapsed:,.0f} trades/s")
    return rate


def bench_mixed(n: int, budget: Budget) -> float:
    ex, clock = _exchange()
    rng = random.Random(2)
    resting: list[str] = []
    started = time.perf_counter()
    for i in range(n):
        budget.check(i)
        clock[0] += 1_000
        roll = rng.random()
        if roll < 0.25 and resting:
            order_id = resting.pop(rng.randrange(len(resting)))
            if ex.orders.get(order_id) is not None and ex.orders[order_id].status == "resting":
                ex.cancel_order("maker", order_id)
        elif roll < 0.40:
            side = rng.choice(("bid", "ask"))
            price = Decimal("0.99") if side == "bid" else Decimal("0.01")
            ex.place_order("taker", OrderRequest(TICKER, side, price, Decimal(rng.randint(1, 10)),
                                                 time_in_force="immediate_or_cancel"))
        else:
            side = rng.choice(("bid", "ask"))
            price = PRICES[rng.randrange(30, 50)] if side == "bid" else PRICES[rng.randrange(50, 70)]
            order = ex.place_order("maker", OrderRequest(TICKER, side, price, Decimal(rng.randint(1, 20))))
            if order.status == "resting":
                resting.append(order.order_id)
    return _report("exchange mixed", n, time.perf_counter() - started)


def bench_bare_book(n: int, budget: Budget) -> float:
    book = OrderBook()
    rng = random.Random(3)
    started = time.perf_counter()
    for i in range(n):
        budget.check(i)
        side = rng.choice(("bid", "ask"))
        price = PRICES[rng.randrange(40, 60)]
        result = book.match("t" if i % 3 else "m", side, price, Decimal(rng.randint(1, 10)), STP_TAKER_AT_CROSS)
        if result.remaining > 0 and not book.would_cross(side, price):
            book.add(f"o{i}", "m", side, price, result.remaining)
    return _report("bare OrderBook match+rest", n, time.perf_counter() - started)


def _run(bench: Callable[[int, Budget], float], n: int, seconds: float) -> None:
    """A tenth of `n` first, then `n`; each stopped at `seconds`."""
    rates = []
    for size in (max(1, n // 10), n):
        started = time.perf_counter()
        try:
            rates.append(bench(size, Budget(seconds)))
        except OutOfTime as stop:
            elapsed = time.perf_counter() - started
            print(f"{bench.__name__:<28} STOPPED at the {seconds:g} s budget after {stop.done:,} of {size:,} "
                  f"orders ({stop.done / elapsed:,.0f} orders/s)")
            return
    if rates[1] * SUPERLINEAR < rates[0]:
        print(f"{'':<28} WARNING: {rates[0] / rates[1]:.1f}x slower per order at {n:,} than at {n // 10:,}: "
              "super-linear")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else BUDGET_S
    print(f"simex matching benchmark, Python {sys.version.split()[0]}, {n:,} orders per mix "
          f"(a tenth first), at most {seconds:g} s per run")
    for bench in (bench_place_cancel, bench_cross, bench_mixed, bench_bare_book):
        _run(bench, n, seconds)


if __name__ == "__main__":
    main()
