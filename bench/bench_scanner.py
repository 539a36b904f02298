"""Scanner cost per market: discovery scoring, one REST sweep observation, one WS touch.

Synthetic markets (seeded, deterministic) are discovered, then swept for a simulated
half hour of virtual time: every sweep tick's REST reply is answered with fresh prices
(random walks, some mean-reverting jumps). Prints real processing time per market.

    .venv/bin/python bench/bench_scanner.py [--markets 300] [--minutes 30]
"""

from __future__ import annotations

import argparse
import random
import time
from decimal import Decimal

from actors.scanner import Budgets, RestRead, ScannerCore
from config import load_config
from messages import RestReadCompleted, VolatilityDetected
from kernel.clock import seconds
from kalshi.wire import rfc3339_from_ns

START = seconds(1_800_000_000)


def listing(i: int, mid_cents: int, now_ns: int) -> dict:
    return {
        "ticker": f"KXBENCH-{i:04d}", "event_ticker": f"EV-{i % 40}", "market_type": "binary", "status": "active",
        "yes_bid_dollars": f"{(mid_cents - 1) / 100:.4f}", "yes_ask_dollars": f"{(mid_cents + 1) / 100:.4f}",
        "yes_bid_size_fp": "250.00", "yes_ask_size_fp": "250.00", "last_price_dollars": f"{mid_cents / 100:.4f}",
        "volume_fp": f"{10_000 + 37 * i}.00", "volume_24h_fp": f"{6_000 + 53 * i}.00",
        "open_time": rfc3339_from_ns(now_ns - seconds(7200)), "close_time": rfc3339_from_ns(now_ns + seconds(20 * 86400)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=300)
    parser.add_argument("--minutes", type=float, default=30)
    args = parser.parse_args()
    rng = random.Random(7)
    cfg = load_config()
    scanner = cfg.scanner
    core = ScannerCore(scanner, Budgets(cfg.risk.per_market_budget_dollars, cfg.risk.global_budget_dollars))
    for e in range(40):
        core.event_category[f"EV-{e}"] = ("economics", "rates", "crypto", "tech")[e % 4]
    mids = [rng.randint(20, 80) for _ in range(args.markets)]

    def reply(read: RestRead, body: dict, now: int) -> RestReadCompleted:
        return RestReadCompleted(request_id=read.request_id, path=read.path, status=200, body=body, error="", ts_recv=now)

    # discovery
    (read,) = [o for o in core.start(START) if isinstance(o, RestRead)]
    markets = [listing(i, m, START) for i, m in enumerate(mids)]
    t0 = time.perf_counter()
    core.on_reply(reply(read, {"markets": markets}, START), START)
    discovery_s = time.perf_counter() - t0

    # sweeps: answer each tick's reads with moved prices
    by_ticker = {m["ticker"]: i for i, m in enumerate(markets)}
    observations = events = 0
    sweep_s = 0.0
    ticks = int(args.minutes * 60 / scanner.volatility.sweep_tick_s)
    for tick in range(1, ticks + 1):
        now = START + seconds(tick * scanner.volatility.sweep_tick_s)
        for i in range(len(mids)):  # random walk; every 50th market oscillates hard
            mids[i] = min(90, max(10, mids[i] + (rng.choice((-6, 6)) if i % 50 == 0 else rng.choice((-1, 0, 0, 1)))))
        for read in [o for o in core.sweep_tick(now) if isinstance(o, RestRead)]:
            tickers = dict(read.query)["tickers"].split(",")
            body = {"markets": [listing(by_ticker[t], mids[by_ticker[t]], START) for t in tickers]}
            t0 = time.perf_counter()
            out = core.on_reply(reply(read, body, now), now)
            sweep_s += time.perf_counter() - t0
            observations += len(tickers)
            events += sum(isinstance(o, VolatilityDetected) for o in out)

    # WS touches: every tracked market, one update each per virtual second for a minute
    touches = 0
    t0 = time.perf_counter()
    for second in range(60):
        now = START + seconds(ticks * scanner.volatility.sweep_tick_s + 30 + second)
        for i, ticker in enumerate(core.tracked):
            mid = Decimal(mids[by_ticker[ticker]]) / 100
            core.on_touch(ticker, mid - Decimal("0.01"), mid + Decimal("0.01"), Decimal(250), Decimal(250), now)
            touches += 1
    ws_s = time.perf_counter() - t0

    print(f"markets: {args.markets}, tracked: {len(core.tracked)}, virtual minutes swept: {args.minutes:g}")
    print(f"discovery (parse, pre-filter, score, configs): {discovery_s * 1e3:.1f} ms total, "
          f"{discovery_s / args.markets * 1e6:.1f} us per market")
    print(f"REST sweep observations: {observations} ({observations / max(1, len(core.tracked)) / args.minutes:.2f} per market per minute), "
          f"{sweep_s / max(1, observations) * 1e6:.1f} us per market observation (parse + history + regime + event check)")
    print(f"WS touches: {touches}, {ws_s / touches * 1e6:.1f} us per touch (sample bucket: most touches only replace)")
    print(f"read requests issued: {core.counters['requests']} "
          f"({core.counters['requests'] / (args.minutes * 60):.2f} per second), volatility events: {events}")


if __name__ == "__main__":
    main()
