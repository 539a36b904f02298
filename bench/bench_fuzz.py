"""Fuzzing at scale: mutated real WS frames and REST replies through the real actors.

Prints figures and findings; asserts nothing (tests/fuzz runs the short campaign in CI).

    .venv/bin/python bench/bench_fuzz.py --frames 1000000
    .venv/bin/python bench/bench_fuzz.py --frames 200000 --replies 20000 --seed 7

WS: `--frames` mutated frames (mutation kinds in turn, seed frames of every type drawn at
random) posted to the real WsConnectionActor in the deterministic runtime, on a loopback
connection to the simulated exchange; the exchange's answers to the actor's own commands
are fed back unmutated ("echo"). REST: `--replies` replies served by the simulated exchange
to the real REST client and actor, a share of them mutated. For each: throughput, counts
per mutation kind, the outcome table, and every finding (known ones are pinned by strict
xfail tests in tests/fuzz; NEW ones are not). Exit status 1 when a NEW finding shows.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fuzz.rest_campaign import RestFuzzRig  # noqa: E402
from tests.fuzz.ws_campaign import WsFuzzRig  # noqa: E402



def bench_ws(frames: int, seed: int) -> bool:
    rig = WsFuzzRig()
    print(f"WS corpus: {len(rig.corpus)} real frames captured from simex "
          f"({', '.join(sorted({s.type for s in rig.corpus}))})")  # fmt: skip
    campaign = rig.run(frames, seed=seed)
    print(campaign.summary())
    print()
    print("WS outcomes per mutation kind (frames):")
    print(campaign.outcome_table())
    print()
    print("WS seed frame type x mutation kind (frames):")
    print(campaign.type_table())
    print()
    print("published:", ", ".join(f"{name} {n:,}" for name, n in sorted(campaign.published.items())))
    print("log records:", ", ".join(f"{name} {level} {n:,}" for (name, level), n in sorted(campaign.log_counts.items())))
    status = campaign.status
    print(f"actor status: frames {status['frames']:,}, malformed {status['malformed']:,}, gaps {status['gaps']:,}, "
          f"unknown types {len(status['unknown_types']):,} names, unknown fields {len(status['unknown_fields']):,} names, "
          f"server error codes {len(status['server_errors']):,}, errors {status['errors']}")  # fmt: skip
    print()
    print("WS findings:")
    print(campaign.findings.describe())
    return not campaign.findings.unknown()


def bench_rest(replies: int, seed: int) -> bool:
    rig = RestFuzzRig()
    campaign = rig.run(replies, seed=seed)
    print(campaign.summary())
    print("replies per mutation kind:", ", ".join(f"{k} {n:,}" for k, n in sorted(campaign.reply_kinds.items())))
    print()
    print("REST outcomes per first mutation of the operation:")
    print(campaign.outcome_table())
    print()
    print("REST outcomes per operation:")
    print(campaign.operation_table())
    print()
    status = campaign.status
    print(f"actor status: sent {status['sent']:,}, completed {status['completed']:,}, rejected {status['rejected']:,}, "
          f"retried {status['retried']:,}, http requests {status['http_requests']:,}, errors {status['errors']}")  # fmt: skip
    print("log records:", ", ".join(f"{name} {level} {n:,}" for (name, level), n in sorted(campaign.log_counts.items())))
    print()
    print("REST findings:")
    print(campaign.findings.describe())
    return not campaign.findings.unknown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1_000_000, help="mutated WS frames (default 1,000,000)")
    parser.add_argument("--replies", type=int, default=50_000, help="REST replies served (default 50,000)")
    parser.add_argument("--seed", type=int, default=1, help="campaign seed (default 1)")
    args = parser.parse_args()
    started = time.perf_counter()
    clean = True
    if args.frames:
        clean &= bench_ws(args.frames, args.seed)
        print()
    if args.replies:
        clean &= bench_rest(args.replies, args.seed)
    print(f"\ntotal {time.perf_counter() - started:.0f} s; {'no NEW finding' if clean else 'NEW findings: see above'}")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
