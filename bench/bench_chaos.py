"""The full fault campaign: a real `mmd sim` and a real daemon, prints a table, asserts nothing.

    .venv/bin/python bench/bench_chaos.py [--seed 1] [--scale 1.0] [--phases storms,kills] [--work-dir DIR]

Phases (each a fresh exchange and daemon, 3 pinned sessions x 3-level ladders at the Basic
rate-limit tier): 100 WebSocket drops; REST storms (429 / 5xx bursts, answers slower than the
daemon's REST timeout); 20 kill -9 with immediate restarts; channel errors 10/17/25 with
sequence skips and malformed frames; markets paused and one closed early. ~20 minutes at
scale 1; `--scale 0.25` runs a quarter of each fault count; `--phases` runs only the phases
named (drops, storms, kills, "channel errors", markets), each with the faults it has in the full
campaign's schedule. What is checked and how recovery
is measured: mmd/chaos.py. Exit status 1 when a check failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mmd.chaos_run import campaign_tickers, report, run_campaign  # noqa: E402
from mmd.chaos_plan import plan_campaign  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--scenario", default="default")
    parser.add_argument("--tier", default="basic")
    parser.add_argument("--phases", help="comma-separated phase names to run (default: all)")
    parser.add_argument("--work-dir")
    args = parser.parse_args()
    campaign = plan_campaign("full", args.seed, campaign_tickers(args.scenario, 3), args.scale)
    if args.phases:
        wanted = [name.strip() for name in args.phases.split(",") if name.strip()]
        known = [phase.name for phase in campaign.phases]
        unknown = [name for name in wanted if name not in known]
        if unknown:
            parser.error(f"unknown phase(s) {', '.join(unknown)}; the phases are: {', '.join(known)}")
        campaign = replace(campaign, phases=tuple(p for p in campaign.phases if p.name in wanted))
    work_dir = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="mmd-chaos-full-"))
    print(f"full campaign, seed {args.seed}, scale {args.scale}: {campaign.fault_count} faults; work dir {work_dir}",
          flush=True)
    started = time.monotonic()
    results = run_campaign(campaign, scenario=args.scenario, tier=args.tier, work_dir=work_dir,
                           say=lambda line: print(line, flush=True))
    print(report(results))
    print(f"took {time.monotonic() - started:.0f} s")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
