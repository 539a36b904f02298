"""Replay throughput: whole recorded game tapes through the real actors on the virtual
clock, under both runtimes, beside raw Pykka's message rate measured in the same run.

    .venv/bin/python bench/bench_replay.py [TAPE.csv ...] [--runtime deterministic|threading|both]
    .venv/bin/python bench/bench_replay.py --scenario four_events [--seed N] [--runtime ...]

Default: the three NHL tapes of the data folder ($MMD_DATA_DIR/kalshi, default
../shared/data/kalshi), both runtimes. For each run it prints wall time, tape rows, frames
delivered, timers fired, messages handled (deterministic runtime), CPU seconds (all
threads: on a shared machine they say what the wall time cannot), events/s where
events = tape rows + frames + timers actually stepped, and virtual seconds per wall second.
First it measures raw Pykka: a 3-actor chain of tells (each message hops three actors),
so the figures can be read as a ratio on a noisy machine. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pykka  # noqa: E402

from config import load_config  # noqa: E402
from mmd.replay import run_replay  # noqa: E402

DATA = Path(os.environ.get("MMD_DATA_DIR", ROOT.parent / "shared" / "data")) / "kalshi"
NHL_TAPES = (
    "TRADES_KXNHLGAME-26APR02BOSFLA-BOS.csv",
    "TRADES_KXNHLGAME-26APR04FLAPIT-PIT.csv",
    "TRADES_KXNHLGAME-26APR04VGKEDM-EDM.csv",
)


class _Hop(pykka.ThreadingActor):
    def __init__(self, next_ref=None, done=None, total=0) -> None:
        super().__init__()
        self.next_ref, self.done, self.total, self.seen = next_ref, done, total, 0

    def on_receive(self, message):
        if self.next_ref is not None:
            self.next_ref.tell(message)
            return
        self.seen += 1
        if self.seen == self.total:
            self.done.set()


def raw_pykka_three_hop_rate(messages: int = 60_000) -> float:
    """Messages per second through a 3-actor chain of tells (every message hops 3 actors)."""
    done = threading.Event()
    last = _Hop.start(done=done, total=messages)
    middle = _Hop.start(next_ref=last)
    first = _Hop.start(next_ref=middle)
    started = time.perf_counter()
    for n in range(messages):
        first.tell(n)
    done.wait(120)
    elapsed = time.perf_counter() - started
    for ref in (first, middle, last):
        ref.stop()
    return messages / elapsed


def one_run(runtime: str, **replay) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        started, cpu_started = time.perf_counter(), time.process_time()
        summary = run_replay(load_config(), db_path=Path(tmp) / "bench.sqlite", run_id="bench", runtime=runtime, **replay)
        summary["wall_s"] = time.perf_counter() - started
        summary["cpu_s"] = time.process_time() - cpu_started  # all threads: on a shared machine, read beside wall
    return summary


def report(label: str, runtime: str, s: dict) -> None:
    wall = s["wall_s"]
    events = s["tape_events"] + s["scenario_events"] + s["frames_delivered"] + s["timers_fired"]
    handled = s.get("messages_handled")
    print(
        f"{label} [{runtime}]: {wall:.2f} s wall ({s['cpu_s']:.2f} s CPU); {s['tape_events'] + s['scenario_events']:,} market events, "
        f"{s['frames_delivered']:,} frames, {s['timers_fired']:,} timers"
        + (f", {handled:,} messages handled" if handled else "")
        + f"; {events / wall:,.0f} events/s; {s['virtual_seconds'] / wall:,.0f} virtual s per wall s; "
        f"{s['orders']:,} order events, {s['fills']:,} fills",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tapes", nargs="*", help="trade tapes (default: the three NHL tapes)")
    parser.add_argument("--scenario", help="replay this scenario instead of tapes")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--duration", type=float, help="scenario seconds (default: the scenario's)")
    parser.add_argument("--runtime", choices=("deterministic", "threading", "both"), default="both")
    args = parser.parse_args()
    runtimes = ("deterministic", "threading") if args.runtime == "both" else (args.runtime,)

    rate = raw_pykka_three_hop_rate()
    print(f"raw Pykka, 3-actor chain of tells: {rate:,.0f} messages/s (this machine, now)", flush=True)
    if args.scenario:
        for runtime in runtimes:
            s = one_run(runtime, scenario=args.scenario, seed=args.seed, duration_s=args.duration)
            report(f"scenario {args.scenario}", runtime, s)
        return
    tapes = [Path(t) for t in args.tapes] or [DATA / name for name in NHL_TAPES]
    for tape in tapes:
        walls = {}
        for runtime in runtimes:
            s = one_run(runtime, tape=tape)
            walls[runtime] = s["wall_s"]
            report(tape.stem.removeprefix("TRADES_"), runtime, s)
        if len(walls) == 2:
            print(f"  deterministic runtime {walls['threading'] / walls['deterministic']:.1f}x faster than threading")


if __name__ == "__main__":
    main()
