"""Scenario speed: simulated seconds per wall second for a scenario (default: `default`).

    .venv/bin/python bench/bench_simex_scenarios.py [SCENARIO] [SECONDS]

Two figures: the simulated exchange alone (background participants, settlement; one advance
per simulated second), and the whole daemon replaying the scenario through the real actors
on the virtual clock (mmd.replay). Also prints trades, taker-size median and book depth so
a change in the market model shows up here. Asserts nothing.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config import load_config  # noqa: E402
from mmd.replay import SCENARIO_START_NS, run_replay  # noqa: E402
from simex import Exchange, install_scenario, load_scenario  # noqa: E402

NS = 1_000_000_000


def exchange_only(name: str, seconds: int) -> None:
    now = [SCENARIO_START_NS]
    exchange = Exchange(now_ns=lambda: now[0], seed=7)
    scenario = load_scenario(name)
    started = time.perf_counter()
    install_scenario(exchange, scenario)
    for _ in range(seconds):
        now[0] += NS
        exchange.advance(now[0])
    wall = time.perf_counter() - started
    sizes = sorted(int(t.count) for t in exchange.trades)
    depth = [sum(s for _, s in m.book.levels("bid")) + sum(s for _, s in m.book.levels("ask"))
             for m in exchange.markets.values() if m.status == "active"]
    print(f"exchange only : {name}, {len(scenario.markets)} markets, {seconds} simulated s in {wall:.2f} s wall"
          f" = {seconds / wall:,.0f} simulated s/s; {len(exchange.trades)} trades"
          f" (median size {sizes[len(sizes) // 2] if sizes else 0}), median book depth"
          f" {sorted(depth)[len(depth) // 2] if depth else 0} contracts")


def through_actors(name: str, seconds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        summary = run_replay(load_config(), scenario=name, duration_s=seconds, db_path=Path(tmp) / "bench.sqlite",
                             run_id="bench")
        wall = time.perf_counter() - started
    steps = summary["frames_delivered"] + summary["timers_fired"]
    print(f"through actors: {seconds} simulated s in {wall:.2f} s wall = {seconds / wall:,.1f} simulated s/s;"
          f" {summary['scenario_events']} exchange events, {steps} actor steps ({steps / wall:,.0f}/s),"
          f" {summary['orders']} order rows, {summary['fills']} fills")


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "default"
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 600
    exchange_only(name, seconds)
    through_actors(name, seconds)


if __name__ == "__main__":
    main()
