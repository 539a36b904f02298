"""Risk governor cost on the order path: one pre-trade check (admit) and one hybrid-policy
evaluation, with a book of resting orders and positions across several markets.

The plain objects only (no actor hop): what the governor adds to every order, and to
every book update of a market we hold a position in.

    .venv/bin/python bench/bench_risk_checks.py [--markets 10] [--orders-per-market 4] [--n 20000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.risk import HybridPolicy, RiskGovernor  # noqa: E402
from config import load_config  # noqa: E402
from messages import MarketConfig, OrderAccepted, OrderFilled, PlaceOrder  # noqa: E402

T0 = 1_700_000_000_000_000_000


def market_config(ticker: str, category: str) -> MarketConfig:
    d = Decimal
    return MarketConfig(
        ticker=ticker, category=category, profile="mean_reverting", max_exposure=d("8"), size_factor=d(1),
        quote_sides="both", price_band="normal", k=d("1.5"), sigma=d("0.02"), gamma_multiplier=d(1),
        min_spread=d("0.02"), max_spread=d("0.04"), regime="MEAN_REVERTING", close_ts=None,
    )  # fmt: skip


def build(markets: int, orders_per_market: int) -> RiskGovernor:
    config = load_config().risk
    # budgets wide enough that every order passes: the benchmark times the full check
    config = replace(config, global_budget_dollars=Decimal(10_000), per_category_budget_dollars=Decimal(10_000))
    governor = RiskGovernor(config)
    for m in range(markets):
        ticker = f"KXBENCH-{m:03d}"
        governor.budgets.learn(ticker, market_config(ticker, f"cat{m % 3}"))
        governor.apply(
            OrderFilled(
                fill_id=f"f{m}", order_id=f"o{m}", client_order_id="", ticker=ticker, side="bid", price=Decimal("0.40"),
                count=Decimal(2), fee=Decimal(0), is_taker=False, post_position=None, ts_event=T0, ts_recv=T0,
            )
        )  # fmt: skip
        for i in range(orders_per_market):
            side = "bid" if i % 2 == 0 else "ask"
            price = Decimal("0.30") - Decimal(i) / 100 if side == "bid" else Decimal("0.70") + Decimal(i) / 100
            place = PlaceOrder(client_order_id=f"c{m}-{i}", ticker=ticker, side=side, price=price, count=Decimal(1), ts=T0)
            assert governor.admit(place).ok
            governor.apply(
                OrderAccepted(
                    client_order_id=place.client_order_id, order_id=f"x{m}-{i}", ticker=ticker, side=side, price=price,
                    count=Decimal(1), filled=Decimal(0), remaining=Decimal(1), ts_event=T0, ts_recv=T0,
                )
            )  # fmt: skip
    return governor


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--markets", type=int, default=10)
    parser.add_argument("--orders-per-market", type=int, default=4)
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    governor = build(args.markets, args.orders_per_market)
    probe = PlaceOrder(client_order_id="probe", ticker="KXBENCH-000", side="bid", price=Decimal("0.20"), count=Decimal(1), ts=T0)

    samples = []
    for _ in range(args.n):
        start = time.perf_counter_ns()
        verdict = governor.check_place(probe)
        samples.append(time.perf_counter_ns() - start)
    assert verdict.ok, verdict
    samples.sort()
    print(f"pre-trade check: {args.markets} markets x {args.orders_per_market} resting orders, {args.n} checks")
    print(f"  median {statistics.median(samples) / 1000:.1f} us, p99 {samples[int(len(samples) * 0.99)] / 1000:.1f} us")

    inventory = governor.inventory("KXBENCH-000")
    policy = HybridPolicy(governor.hybrid_limits)
    layers, vwap = inventory.layers, inventory.vwap
    samples = []
    for i in range(args.n):
        start = time.perf_counter_ns()
        policy.observe(layers, vwap, Decimal("0.39"), T0 + i * 1_000_000)
        policy.next_check_ns(layers)
        samples.append(time.perf_counter_ns() - start)
    samples.sort()
    print(f"hybrid policy check (observe + next deadline), {args.n} book updates")
    print(f"  median {statistics.median(samples) / 1000:.1f} us, p99 {samples[int(len(samples) * 0.99)] / 1000:.1f} us")


if __name__ == "__main__":
    main()
