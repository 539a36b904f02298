"""`mmd chaos`: fault campaigns against a real simulated exchange and a real daemon.

    mmd chaos [--seed N] [--campaign short|full] [--scenario default] [--tier basic] [--scale X]

Each phase of a campaign (`mmd/chaos_plan.py`) starts a fresh `mmd sim` and a fresh daemon
(`mmd start --exchange-url ...`) as subprocesses on loopback, pins the daemon to a few of the
scenario's markets, and injects the phase's faults one at a time through the exchange's
/_admin/faults endpoint (or, for a kill, SIGKILL and an immediate restart). The daemon talks
to the exchange through a counting relay (`mmd/chaos_proxy.py`) so the 429s it received can be
counted; the harness reads the exchange directly with the same paper key.

Checked, against the exchange's own records:
- after each fault: the daemon is alive and recovers within the phase's bound: the feed is
  healthy again (WebSocket faults) or it places or amends an order again (the rest);
- while running, about once a second (never while a REST fault is pending, so the harness
  never eats an injected burst): no two resting orders with one client order id, and at
  most one per ladder level on one market and side;
- after a kill and restart: nothing the killed run left is still resting;
- after `mmd stop`: nothing resting; every fill the exchange reports is in SQLite exactly
  once (fill ids, across runs), and SQLite has no other.
Printed: a row per phase (fills compared, orphans, duplicates, recovery p50/p99, the 429s
the daemon caused itself = 429s it received minus those a burst_429 fault injected) and
recovery per fault kind. Exit status 1 when any check failed.

Recovery times: feed faults from injection to the first status showing the fault noticed
(reconnect, gap, malformed frame or restored subscription counted) and the feed healthy;
kills and closes from injection to the first order acknowledged after it (restart, close); a
pause from its resume to the first order on that market. Status is polled every 0.1 s; order
times are the daemon's own (SQLite `orders.ts_ns`).
REST bursts (429, 5xx, slow answers) from the burst's END to the first order after it, and
only when an order was waiting to go (a faulted request was an order placement); the rest are
counted untimed. The exact rules: mmd/chaos_checks.py, "a REST burst's recovery". Why: timed
from injection to the first order after the burst was used up, a recovery also counted the
daemon's own lulls (no order to send, quotes standing): a burst waits for traffic to use it
up, the first order for a maker that wants one, and each fault's injection time follows the
recoveries before it, so the same code read 5xx p50 0.76 s in one run and 3.2 s in another.
The daemon must still place an order within the bound after every burst, timed or not.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from .chaos_plan import CAMPAIGNS, plan_campaign

__all__ = ["add_chaos_parser", "cmd_chaos"]


def add_chaos_parser(subparsers: argparse._SubParsersAction) -> None:
    chaos = subparsers.add_parser("chaos", help="fault campaign: a real mmd sim and daemon, faults, checks")
    chaos.add_argument("--seed", type=int, default=1, help="chooses the fault schedule (default 1)")
    chaos.add_argument("--campaign", choices=CAMPAIGNS, default="short",
                       help="short: a few faults of each kind (~2 min); full: 100 drops, 20 kills, storms (~20 min)")
    chaos.add_argument("--scenario", default="default", help="the simulated exchange's scenario (default: default)")
    chaos.add_argument("--tier", default="basic", help="the exchange's rate-limit tier (default: basic)")
    chaos.add_argument("--scale", type=float, default=1.0, help="scale the full campaign's fault counts")
    chaos.add_argument("--work-dir", help="where each phase's data and logs go (default: a new temporary dir)")
    chaos.set_defaults(func=cmd_chaos)


def cmd_chaos(args: argparse.Namespace) -> int:
    from .chaos_run import campaign_tickers, check_tier, report, run_campaign  # processes, sockets: only when run

    try:
        check_tier(args.tier)
        tickers = campaign_tickers(args.scenario, 3 if args.campaign == "full" else 2)
        campaign = plan_campaign(args.campaign, args.seed, tickers, args.scale)
    except (ValueError, OSError) as exc:
        print(f"mmd: chaos: {exc}", file=sys.stderr)
        return 1
    work_dir = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="mmd-chaos-"))
    print(f"chaos: campaign {campaign.name}, seed {campaign.seed}, {campaign.fault_count} fault(s), "
          f"scenario {args.scenario}, tier {args.tier}; work dir {work_dir}", flush=True)
    results = run_campaign(campaign, scenario=args.scenario, tier=args.tier, work_dir=work_dir,
                           say=lambda line: print(line, flush=True))
    print(report(results))
    return 0 if all(r.ok for r in results) else 1
