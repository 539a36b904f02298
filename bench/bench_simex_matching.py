"""Orders per second of the simulated exchange's matching core: prints figures, asserts nothing.

Three mixes, each through `Exchange.place_order` / `cancel_order` (the path participants,
tapes and the REST layer all use) and, for reference, the bare `OrderBook`:
  place/cancel  - passive orders that rest and are then cancelled (a quoting maker);
  cross         - takers that sweep resting liquidity (every order trades);
  mixed         - 60% passive place, 25% cancel, 15% crossing IOC.

    .venv/bin/python bench/bench_simex_matching.py [orders_per_mix]
"""

from __future__ import annotations

import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simex import Exchange, MarketSpec, OrderBook, OrderRequest  # noqa: E402
from simex._book import STP_TAKER_AT_CROSS  # noqa: E402

TICKER = "KXBENCH-1"
START_NS = 1_795_000_000 * 1_000_000_000
PRICES = [Decimal(c) / 100 for c in range(1, 100)]


def _exchange() -> tuple[Exchange, list[int]]:
    clock = [START_NS]
    ex = Exchange(now_ns=lambda: clock[0])
    ex.add_market(MarketSpec(ticker=TICKER, event_ticker="KXBENCH", series_ticker="KXBENCH"))
    for name in ("maker", "taker"):
        ex.register_account(name, 10**12, keep_history=False)  # bounded memory, like background accounts
    return ex, clock


def _report(name: str, orders: int, elapsed: float) -> None:
    print(f"{name:<28} {orders:>8,} orders in {elapsed:6.2f} s  {orders / elapsed:>10,.0f} orders/s")


def bench_place_cancel(n: int) -> None:
    ex, clock = _exchange()
    rng = random.Random(1)
    started = time.perf_counter()
    for i in range(n // 2):
        clock[0] += 1_000
        side = "bid" if i % 2 else "ask"
        price = PRICES[rng.randrange(10, 40)] if side == "bid" else PRICES[rng.randrange(59, 89)]
        order = ex.place_order("maker", OrderRequest(TICKER, side, price, Decimal(5)))
        ex.cancel_order("maker", order.order_id)
    _report("exchange place/cancel", n, time.perf_counter() - started)


def bench_cross(n: int) -> None:
    ex, clock = _exchange()
    started = time.perf_counter()
    for i in range(n // 2):
        clock[0] += 1_000
        ex.place_order("maker", OrderRequest(TICKER, "ask", Decimal("0.50"), Decimal(5)))
        ex.place_order("taker", OrderRequest(TICKER, "bid", Decimal("0.50"), Decimal(5),
                                             time_in_force="immediate_or_cancel"))
    elapsed = time.perf_counter() - started
    _report("exchange rest+cross", n, elapsed)
    print(f"{'':<28} {len(ex.trades):,} trades, {len(ex.trades) / elapsed:,.0f} trades/s")


def bench_mixed(n: int) -> None:
    ex, clock = _exchange()
    rng = random.Random(2)
    resting: list[str] = []
    started = time.perf_counter()
    for _ in range(n):
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
    _report("exchange mixed", n, time.perf_counter() - started)


def bench_bare_book(n: int) -> None:
    book = OrderBook()
    rng = random.Random(3)
    started = time.perf_counter()
    for i in range(n):
        side = rng.choice(("bid", "ask"))
        price = PRICES[rng.randrange(40, 60)]
        result = book.match("t" if i % 3 else "m", side, price, Decimal(rng.randint(1, 10)), STP_TAKER_AT_CROSS)
        if result.remaining > 0 and not book.would_cross(side, price):
            book.add(f"o{i}", "m", side, price, result.remaining)
    _report("bare OrderBook match+rest", n, time.perf_counter() - started)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    print(f"simex matching benchmark, Python {sys.version.split()[0]}, {n:,} orders per mix")
    bench_place_cancel(n)
    bench_cross(n)
    bench_mixed(n)
    bench_bare_book(n)


if __name__ == "__main__":
    main()
