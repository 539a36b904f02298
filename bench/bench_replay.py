"""Replay throughput: a whole recorded tape through the real actors on the virtual clock.

    .venv/bin/python bench/bench_replay.py [TAPE.csv]

Prints tape rows, actor steps (frames delivered + timers fired) and virtual seconds
replayed per wall second. Asserts nothing.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config import load_config  # noqa: E402
from mmd.replay import run_replay  # noqa: E402

DEFAULT_TAPE = ROOT.parent / "shared" / "data" / "kalshi" / "TRADES_KXNHLGAME-26APR04FLAPIT-PIT.csv"


def main() -> None:
    tape = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_TAPE
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        summary = run_replay(load_config(), tape=tape, db_path=Path(tmp) / "bench.sqlite", run_id="bench")
        wall = time.perf_counter() - started
    steps = summary["frames_delivered"] + summary["timers_fired"]
    print(f"replay of {tape.name}: {summary['tape_events']:,} tape rows, {summary['virtual_seconds']:,.0f} virtual s")
    print(f"  {wall:.1f} s wall: {summary['tape_events'] / wall:,.0f} tape rows/s, {steps / wall:,.0f} actor steps/s "
          f"({summary['frames_delivered']:,} frames, {summary['timers_fired']:,} timers), "
          f"{summary['virtual_seconds'] / wall:,.0f}x real time")
    print(f"  {summary['orders']:,} order events, {summary['fills']:,} fills recorded")


if __name__ == "__main__":
    main()
