"""Throughput of the simulated exchange: prints figures, asserts nothing.

    .venv/bin/python bench/bench_simex.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simex import TapeMarketDriver, build_default_exchange  # noqa: E402

TAPE = ROOT.parent / "shared" / "data" / "kalshi" / "TRADES_KXNHLGAME-26APR02BOSFLA-BOS.csv"
START_NS = 1_795_000_000 * 1_000_000_000


def bench_synthetic(seconds: int = 3_600) -> None:
    clock = [START_NS]
    ex = build_default_exchange(seed=1, now_ns=lambda: clock[0])
    started = time.perf_counter()
    for _ in range(seconds):
        clock[0] += 1_000_000_000
        ex.advance(clock[0])
    elapsed = time.perf_counter() - started
    print(f"synthetic market: {seconds} simulated s in {elapsed:.2f} s "
          f"({seconds / elapsed:,.0f} sim-s/s, {len(ex.trades) / elapsed:,.0f} trades/s, {len(ex.orders):,} orders)")


def bench_tape() -> None:
    clock = [START_NS]
    ex = build_default_exchange(seed=0, now_ns=lambda: clock[0], markets=())
    driver = TapeMarketDriver(ex, "KXNHLGAME-26APR02BOSFLA-BOS", TAPE)
    events = driver.events()
    started = time.perf_counter()
    for ts_ns, row in events:
        clock[0] = ts_ns
        driver.apply(row)
    elapsed = time.perf_counter() - started
    print(f"tape replay: {len(events):,} rows in {elapsed:.2f} s ({len(events) / elapsed:,.0f} rows/s)")


if __name__ == "__main__":
    bench_synthetic()
    bench_tape()
