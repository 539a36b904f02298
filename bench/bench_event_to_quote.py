"""Event-to-first-quote latency: from a VolatilityDetected on the bus to the new maker's
first order accepted by the (in-process) exchange, through the real actors.

Real processing time only: the replay clock jumps over virtual waits (the 5 s regime
wait, the maker's warm-up) without sleeping, so the figure is the wall time the actors
spend on admission (risk exposure ask), spawning the maker, its first quote, the risk
check, the REST client and the exchange. The driver's own steps (exchange background
events in between) are included; both waits are also measured set to zero.

    .venv/bin/python bench/bench_event_to_quote.py [--events 30]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors._base import MmdActor, handles  # noqa: E402
from config import load_config  # noqa: E402
from messages import MarketConfig, OrderAccepted, RegimeUpdated, SessionStarted, StopSession, VolatilityDetected  # noqa: E402
from mmd.bus import post  # noqa: E402
from mmd.clock import seconds  # noqa: E402
from mmd.replay import ReplayHarness, _next_scheduled_ns  # noqa: E402


class Probe(MmdActor):
    """Notes when the first order of a ticker is accepted (wall clock: bench code, not an actor of mmd)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.first_accept_ns: dict[str, int] = {}
        self.started: dict[str, int] = {}

    @handles(OrderAccepted)
    def on_accepted(self, m):
        self.first_accept_ns.setdefault(m.client_order_id.rsplit("-", 1)[0], time.perf_counter_ns())

    @handles(SessionStarted)
    def on_started(self, m):
        self.started[m.session_id] = time.perf_counter_ns()

    def seen(self):
        return dict(self.first_accept_ns), dict(self.started)


def market_config(ticker: str) -> MarketConfig:
    return MarketConfig(
        ticker=ticker, category="rates", profile="mean_reverting", max_exposure=Decimal("8.00"),
        size_factor=Decimal("1"), quote_sides="both", price_band="normal", k=Decimal("1.2"), sigma=Decimal("0.03"),
        gamma_multiplier=Decimal("1.0"), min_spread=Decimal("0.02"), max_spread=Decimal("0.04"),
        regime="MEAN_REVERTING", close_ts=None,
    )


def regime(ticker: str, now: int) -> RegimeUpdated:
    return RegimeUpdated(
        ticker=ticker, regime="MEAN_REVERTING", candidate="MEAN_REVERTING", stable=True, sigma=Decimal("0.03"),
        drift_z=Decimal("0"), mr_score=Decimal("0.7"), gamma_multiplier=Decimal("1"), k_multiplier=Decimal("1"), ts=now,
    )


def run(events: int, waits_zero: bool) -> tuple[list[float], list[float], float]:
    overrides = {"maker": {"guardrails": {"min_sigma": "0"}}}
    if waits_zero:
        overrides["supervisor"] = {"regime_wait_s": 0}
        overrides["maker"]["warmup_s"] = 0
    with tempfile.TemporaryDirectory() as tmp:
        harness = ReplayHarness(load_config(overrides=overrides), db_path=Path(tmp) / "b.sqlite", scenario="default",
                                run_id="bench", duration_s=3600)
        rig = harness.rig
        rig.start()
        rig.daemon.refs["scanner"].stop()  # the bench plays the scanner
        bus, clock = rig.daemon.bus, rig.clock
        probe = Probe.start(clock=clock, bus=bus, tracker=rig.tracker)
        bus.subscribe(probe, OrderAccepted)
        bus.subscribe(probe, SessionStarted)
        tickers = sorted(harness.scenario_run.markets)[:4]
        supervisor = rig.daemon.refs["supervisor"]

        def step_to(t_ns: int) -> None:
            """Advance virtual time to t_ns: exchange events, timers, a regime per ticker per second."""
            while True:
                nxt = rig.act(_next_scheduled_ns)
                target = t_ns if nxt is None else min(nxt, t_ns)
                rig.run_until(target, before_ns=target)
                if nxt is not None and nxt <= t_ns:
                    rig.act(lambda exchange: exchange.advance(nxt))
                if target >= t_ns:
                    break
            rig.run_until(t_ns)

        def publish_regimes() -> None:
            for ticker in tickers:
                bus.publish(regime(ticker, clock.now_ns()))
            rig.quiet()

        step_to(clock.now_ns() + seconds(30))  # books populated
        to_spawn, to_quote, virtual = [], [], []
        for i in range(events):
            ticker = tickers[i % len(tickers)]
            publish_regimes()
            known_sessions = set(probe.proxy().seen().get()[1])
            virtual_start = clock.now_ns()
            t0 = time.perf_counter_ns()
            bus.publish(VolatilityDetected(
                event_id=f"bench-{i}", ticker=ticker, category="rates", strength=Decimal("0.8"), sigma=Decimal("0.03"),
                jump=Decimal("0.12"), direction="up", regime="MEAN_REVERTING", config=market_config(ticker), ts=clock.now_ns(),
            ))
            rig.quiet()
            session_id = None
            for _ in range(200):  # virtual seconds
                accepted, started = probe.proxy().seen().get()
                fresh = [sid for sid in started if sid not in known_sessions]
                if session_id is None and fresh:
                    session_id = fresh[0]
                if session_id and session_id in accepted:
                    break
                step_to(clock.now_ns() + seconds(0.1))
                if clock.now_ns() % seconds(1) < seconds(0.1):
                    publish_regimes()
            accepted, started = probe.proxy().seen().get()
            first = accepted.get(session_id) if session_id else None
            if session_id is None or first is None:
                status = supervisor.proxy().get_status().get()
                print(f"event {i} on {ticker}: no first order (session {session_id}); dropped "
                      f"{status['dropped_events'][-1:]} waiting {status['waiting_events']}", file=sys.stderr)
            else:
                spawn_wall = started[session_id] - t0
                quote_wall = first - t0
                to_spawn.append(spawn_wall / 1e6)
                to_quote.append(quote_wall / 1e6)
                virtual.append((clock.now_ns() - virtual_start) / 1e9)
            post(supervisor, StopSession(ticker=ticker, reason="bench", ts=clock.now_ns()), rig.tracker)
            rig.quiet()
            step_to(clock.now_ns() + seconds(2))
        probe.stop()
        rig.shutdown("bench finished")
        return to_spawn, to_quote, statistics.mean(virtual) if virtual else 0.0


def describe(label: str, values: list[float]) -> str:
    if not values:
        return f"{label}: no samples"
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    return f"{label}: n={len(values)} median {statistics.median(values):.2f} ms, p95 {p95:.2f} ms, max {values[-1]:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    for waits_zero in (False, True):
        spawn, quote, virtual_s = run(args.events, waits_zero)
        label = "regime wait 0 s, warm-up 0 s" if waits_zero else "default waits (regime 5 s, warm-up 5 s)"
        print(f"== {label}; virtual time skipped per event: {virtual_s:.1f} s")
        print("  " + describe("event -> maker spawned (wall)", spawn))
        print("  " + describe("event -> first order accepted (wall, incl. driver steps)", quote))


if __name__ == "__main__":
    main()
