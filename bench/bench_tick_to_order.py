"""Tick-to-order latency: WS frame received -> order request sent, through the real actors.

    .venv/bin/python bench/bench_tick_to_order.py [--updates 1500]

The daemon runs on the in-process rig (virtual clock, simulated exchange in-process).
A background liquidity provider keeps deep levels at 0.30/0.70 and moves its top quotes
by 3 cents, alternately up and down, amending in place; each move reaches the WS actor as
Kalshi orderbook_delta frames. Virtual time advances 1 s per move so the Basic write
budget (10 orders/s) never holds a write back: the figure is processing latency, not
rate limiting. For each such frame we
take perf_counter_ns just before the frame is posted to the WS actor and again when the
REST client hands the resulting order request to its transport. The path measured is
the whole trading path: WS decode -> market state -> maker quote -> risk check -> REST
client (signing and HTTP excluded: the transport is in-process). Prints figures; asserts
nothing. Real processing time only: the virtual clock does not tick during a step.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.rest import LoopbackTransport  # noqa: E402
from config import load_config  # noqa: E402
from kernel.clock import seconds  # noqa: E402
from mmd.replay import InProcessRig, config_for_tickers  # noqa: E402
from simex import MarketSpec, OrderRequest  # noqa: E402

TICKER = "KXBENCH-26DEC31-T50"
PROVIDER = "bench-provider"
START_NS = 1_795_000_000 * 1_000_000_000
STEP_NS = seconds(1.0)


class RecordingTransport(LoopbackTransport):
    """Notes the moment each write request leaves the REST client."""

    def __init__(self, exchange, account_id):
        super().__init__(exchange, account_id)
        self.write_times: list[int] = []

    def request(self, method, path, query=None, body=None):
        if method.upper() != "GET":
            self.write_times.append(time.perf_counter_ns())
        return super().request(method, path, query, body)


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=1500, help="quote updates to measure (>= 1000)")
    args = parser.parse_args()

    transports: list[RecordingTransport] = []

    def transport_factory(exchange, account_id):
        transports.append(RecordingTransport(exchange, account_id))
        return transports[-1]

    # The provider only moves quotes; nobody trades. The maker's no-trade guardrail would
    # freeze quoting after 15 s of that, so it is switched off: this bench times the
    # quoting path, not the guardrail.
    unguarded = {"maker": {"guardrails": {"no_trade_freeze_s": 10**9}}}
    config = config_for_tickers(load_config(overrides=unguarded), TICKER)
    with tempfile.TemporaryDirectory() as tmp:
        rig = InProcessRig(config, Path(tmp) / "bench.sqlite", run_id="bench", client_transport=transport_factory)
        transport = transports[0]
        rig.clock.advance_to(START_NS)
        rig.raw_exchange.add_market(
            MarketSpec(ticker=TICKER, event_ticker="KXBENCH-26DEC31", series_ticker="KXBENCH")
        )
        rig.raw_exchange.register_account(PROVIDER, 10**10, keep_history=False)
        provider_orders = {}

        def provide_liquidity(exchange) -> None:
            for side, price in (("bid", Decimal("0.30")), ("ask", Decimal("0.70"))):  # deep, static
                exchange.place_order(PROVIDER, OrderRequest(TICKER, side, price, Decimal(50)))
            for side, price in (("bid", Decimal("0.44")), ("ask", Decimal("0.56"))):
                provider_orders[side] = exchange.place_order(PROVIDER, OrderRequest(TICKER, side, price, Decimal(200))).order_id

        def move_provider(exchange, bid: Decimal, ask: Decimal) -> None:
            for side, price in (("bid", bid), ("ask", ask)):
                exchange.amend_order(PROVIDER, provider_orders[side], TICKER, side, price, Decimal(200))

        rig.act(provide_liquidity)
        rig.start()
        rig.run_until(rig.clock.now_ns() + seconds(config.maker.warmup_s + 1))  # warm-up timer

        latencies: list[int] = []
        frames_timed = 0
        step = 0
        started = time.perf_counter()
        while len(latencies) < args.updates:
            step += 1
            shift = Decimal("0.03") if step % 2 else Decimal("0")
            rig.act(lambda ex: move_provider(ex, Decimal("0.44") + shift, Decimal("0.56") + shift))
            pending = len(rig.network)  # the provider's move: these frames are timed
            for _ in range(pending):
                writes_before = len(transport.write_times)
                t0 = time.perf_counter_ns()
                rig.deliver_next_frame()
                frames_timed += 1
                if len(transport.write_times) > writes_before:
                    latencies.append(transport.write_times[writes_before] - t0)
            rig.deliver_frames()  # our own acks and deltas: not timed
            rig.run_until(rig.clock.now_ns() + STEP_NS)
            if step > args.updates * 3:
                raise SystemExit("the maker stopped requoting: check the bench setup")
        wall = time.perf_counter() - started
        rig.shutdown("bench finished")

    us = [v / 1000 for v in latencies]
    print(f"tick-to-order latency over {len(us)} quote updates ({frames_timed} book frames, {step} book moves)")
    print(f"  p50 {percentile(us, 0.50):8.1f} us")
    print(f"  p90 {percentile(us, 0.90):8.1f} us")
    print(f"  p99 {percentile(us, 0.99):8.1f} us")
    print(f"  max {max(us):8.1f} us   mean {statistics.fmean(us):.1f} us")
    print(f"  whole loop: {wall:.2f} s wall, {len(us) / wall:,.0f} quote updates/s")


if __name__ == "__main__":
    main()
