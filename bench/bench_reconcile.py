"""Time from start to READY with 50 orders of ours left resting by an earlier run.

A simulated exchange (what `mmd sim` runs) on loopback in this process; 50 resting orders
with `mmd-` client ids placed with the paper key; then `mmd start --env paper
--exchange-url ...` (run_daemon) on the main thread. READY is the systemd notification,
caught by replacing mmd.systemd.ready. Prints the time from run_daemon's call to READY.

    .venv/bin/python bench/bench_reconcile.py [--orders 50] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import simex

from config import load_config
from mmd import runner, systemd


def one_run(orders: int) -> tuple[float, int]:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    _, public_path = runner._paper_key(data_dir)
    exchange, _ = simex.build_scenario_exchange(runner.PAPER_SCENARIO, seed=7, now_ns=time.time_ns)
    server = simex.SimServer(exchange).start_in_thread()
    server.authorize_key(runner.PAPER_KEY_ID, public_path.read_bytes(), runner.PAPER_KEY_ID, balance_cents=10_000_000)
    cfg = load_config(overrides={"status": {"port": 0}, "metrics": {"port": 0}})
    client = runner.cancel_all_client(cfg, "paper", server.base_url, data_dir)
    tickers = sorted(m["ticker"] for m in client.get_markets())
    for n in range(orders):
        client.create_order(tickers[n % len(tickers)], "bid", Decimal("0.01"), Decimal(1), f"mmd-earlier-s1-{n}")
    resting_before = len(client.get_orders(status="resting"))

    ready_at: list[float] = []
    original_ready = systemd.ready
    systemd.ready = lambda *a, **k: (ready_at.append(time.perf_counter()), original_ready(*a, **k))[1]
    try:
        started = time.perf_counter()
        runner.run_daemon(cfg, env="paper", exchange_url=server.base_url, data_dir=data_dir, duration_s=0.1)
    finally:
        systemd.ready = original_ready
        server.stop()
    return ready_at[0] - started, resting_before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times = []
    for _ in range(args.runs):
        seconds, resting = one_run(args.orders)
        times.append(seconds)
        print(f"{resting} resting at start -> READY after {seconds * 1000:.0f} ms")
    print(f"start to READY with {args.orders} orders of ours to reconcile: median {statistics.median(times) * 1000:.0f} ms "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, {args.runs} runs)")


if __name__ == "__main__":
    main()
