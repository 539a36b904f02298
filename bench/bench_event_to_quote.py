"""Event-to-first-quote latency: from a VolatilityDetected on the bus to the new maker's
spawn (SessionStarted) and its first order accepted by the (in-process) exchange, through
the real actors.

Method: the real scanner produces the events. Each run replays the `four_events` scenario
(simex/scenarios/four_events.yaml: four mean-reverting jumps, 30 s apart) through
mmd/replay.py's rig, driven the way ReplayHarness drives a scenario, so admission goes
through the real path: the scanner's VolatilityDetected, its RegimeUpdated views (fresh by
data_ts, stable, allowed) for the pending ticker, the supervisor's regime wait, the risk
exposure ask, the maker's spawn, warm-up, first quote, risk check, REST client, exchange.
Runs repeat with the next seeds until --samples events have quoted. One bench setting:
supervisor.max_concurrent_sessions is 4, so the fourth event does not wait for a free slot
(a slot wait is not processing time). Chosen over a bench that plays the scanner and
publishes RegimeUpdated views itself: the scenario gives 20 events per setting in under
10 s of wall time, and nothing in the admission path is imitated.

Timestamps are taken on the bus (wall clock, perf_counter) when the VolatilityDetected,
the SessionStarted and the first OrderAccepted of the session are published. Two figures
per interval:
  wall       everything the driver did in between, including the other markets' data,
             the scanner's sweeps and the timers during the virtual waits;
  own steps  the virtual waits excluded. The driver runs one step at a time with the
             actors quiet in between (a frame delivered, a timer fired, an exchange
             advance), so each step's work belongs to one virtual instant. Counted: from
             the event's publication while the clock stays at its instant, then, at each
             later instant, from the step in which the chain resumes (the supervisor's
             admission timer or the maker's warm-up timer for the ticker, the step of the
             spawn, or the step in which the interval ends; the admission itself usually
             runs on the scanner's RegimeUpdated at the end of the regime wait)
             while the clock stays there. Steps at other instants are left out; other
             markets' data and timers at a counted instant, after the chain resumed, stay in
             (the replay runs them before the chain's next step).
With both waits set to 0 the whole chain runs at the event's instant, so the two agree.
The instruments are wrapped onto this rig's instances only (its bus's publish, its
deliver_next_frame, its clock's timer heap); mmd's classes are untouched.

    .venv/bin/python bench/bench_event_to_quote.py [--samples 20] [--scenario four_events]
"""

from __future__ import annotations

import argparse
import bisect
import logging
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config import load_config  # noqa: E402
from messages import OrderAccepted, SessionStarted, VolatilityDetected  # noqa: E402
from mmd.replay import InProcessRig, ReplayHarness, _next_scheduled_ns  # noqa: E402
from simex._scenario import load_scenario  # noqa: E402

MAX_RUNS = 10  # seeds tried per setting before giving up on --samples


# timers that resume an event's chain after a virtual wait (+ ticker): the supervisor's
# admission check after the regime wait, the new maker's end of warm-up
CHAIN_TIMERS = ("supervisor-admit:", "maker-warmup:")


@dataclass
class Timeline:
    """Bench instruments on one rig (driver-side code, not an actor of mmd): when events,
    spawns and first accepts are published, and where each driver step began."""

    events: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # event_id -> (wall ns, virtual ns, ticker)
    spawns: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # session -> (wall, virtual, event_id)
    accepts: dict[str, tuple[int, int]] = field(default_factory=dict)  # session -> first (wall, virtual)
    step_wall: list[int] = field(default_factory=list)  # wall ns a step began (the actors quiet)...
    step_virtual: list[int] = field(default_factory=list)  # ...the virtual time it ran at...
    step_timer: list[str] = field(default_factory=list)  # ...and the timer it fired ("" for data)

    def step(self, virtual_ns: int, timer: str = "") -> None:
        self.step_wall.append(time.perf_counter_ns())
        self.step_virtual.append(virtual_ns)
        self.step_timer.append(timer)

    def install(self, rig: InProcessRig) -> None:
        """Steps: each frame delivered, each timer fired, each exchange advance (the
        driver's loop calls step() for those)."""
        bus, clock = rig.daemon.bus, rig.clock
        publish, deliver_next_frame = bus.publish, rig.deliver_next_frame
        heap = clock._timers  # noqa: SLF001 (the bench names each timer step by the timer it fires)
        pop_due = heap.pop_due

        def timed_publish(message):
            wall, now = time.perf_counter_ns(), clock.now_ns()
            if isinstance(message, VolatilityDetected):
                self.events.setdefault(message.event_id, (wall, now, message.ticker))
            elif isinstance(message, SessionStarted) and message.event_id:
                self.spawns[message.session_id] = (wall, now, message.event_id)
            elif isinstance(message, OrderAccepted):
                self.accepts.setdefault(message.client_order_id.rsplit("-", 1)[0], (wall, now))
            return publish(message)

        def stepped_frame():
            rig.quiet()  # the previous step ends here
            if rig.network:
                self.step(clock.now_ns())
            return deliver_next_frame()

        def named_pop(now_key):
            handle = pop_due(now_key)
            if handle is not None:
                self.step(max(clock.now_ns(), handle.deadline_ns), str(getattr(handle.message, "what", "")))
            return handle

        bus.publish = timed_publish
        rig.deliver_next_frame = stepped_frame
        heap.pop_due = named_pop  # ReplayClock.fire_next_due pops, then posts: the step starts at the pop

    def own_ns(self, start: tuple, end: tuple, ticker: str, via: tuple = ()) -> int:
        """Wall ns of the event's own work between two marks: from `start` while the clock
        stays at its instant, then from each chain timer of the ticker, from the step in
        which each `via` mark (an earlier link, e.g. the spawn) happened and from the step
        in which `end` happens, each while the clock stays at that step's instant."""
        w0, w1 = start[0], end[0]
        chain = tuple(prefix + ticker for prefix in CHAIN_TIMERS)
        i = max(0, bisect.bisect_right(self.step_wall, w0) - 1)
        last = bisect.bisect_right(self.step_wall, w1) - 1  # the step in which `end` happens
        links = {bisect.bisect_right(self.step_wall, mark[0]) - 1 for mark in via} | {last}
        total, active = 0, True  # the step containing `start` is the event's own
        for j in range(i, last + 1):
            if j > i:
                moved = self.step_virtual[j] != self.step_virtual[j - 1]
                active = (active and not moved) or self.step_timer[j] in chain or j in links
            if active:
                seg_start = max(self.step_wall[j], w0)
                seg_end = min(self.step_wall[j + 1] if j + 1 < len(self.step_wall) else w1, w1)
                total += max(0, seg_end - seg_start)
        return total

    def done(self) -> bool:
        return bool(self.events) and len(self.events) == sum(1 for s in self.spawns if s in self.accepts)


@dataclass
class Samples:
    spawn_wall: list[float] = field(default_factory=list)  # ms
    spawn_own: list[float] = field(default_factory=list)
    quote_wall: list[float] = field(default_factory=list)
    quote_own: list[float] = field(default_factory=list)
    spawn_virtual: list[float] = field(default_factory=list)  # s
    quote_virtual: list[float] = field(default_factory=list)
    runs: int = 0
    run_wall_s: float = 0.0
    missed: list[str] = field(default_factory=list)


def run_scenario(config, scenario: str, seed: int, out: Samples) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        harness = ReplayHarness(config, db_path=Path(tmp) / "b.sqlite", scenario=scenario, seed=seed, run_id="bench")
        rig = harness.rig
        started = time.perf_counter()
        end_ns = rig.clock.now_ns() + harness.duration_ns
        rig.start()
        timeline = Timeline()
        timeline.install(rig)
        try:  # ReplayHarness._run_scenario's loop, ending once every event so far has quoted
            while True:
                next_ns = rig.act(_next_scheduled_ns)
                if next_ns is None or next_ns > end_ns:
                    rig.run_until(end_ns)
                    break
                rig.run_until(next_ns, before_ns=next_ns)
                rig.quiet()
                timeline.step(next_ns)
                rig.act(lambda exchange: exchange.advance(next_ns))
                if timeline.done() and len(timeline.events) >= len(harness.scenario_run.markets):
                    break
            supervisor = rig.daemon.refs["supervisor"].proxy().get_status().get()
        finally:
            rig.shutdown("bench finished")
        out.runs += 1
        out.run_wall_s += time.perf_counter() - started
    by_event = {event_id: session for session, (_w, _v, event_id) in timeline.spawns.items()}
    for event_id, event in timeline.events.items():
        session = by_event.get(event_id)
        if session is None or session not in timeline.accepts:
            why = "no order" if session is not None else "no session; supervisor waiting {} dropped {}".format(
                supervisor.get("waiting_events"), supervisor.get("dropped_events", [])[-2:])
            out.missed.append(f"seed {harness.seed} {event_id}: {why}")
            continue
        spawn, accept = timeline.spawns[session], timeline.accepts[session]
        out.spawn_wall.append((spawn[0] - event[0]) / 1e6)
        out.quote_wall.append((accept[0] - event[0]) / 1e6)
        out.spawn_own.append(timeline.own_ns(event, spawn, event[2]) / 1e6)
        out.quote_own.append(timeline.own_ns(event, accept, event[2], via=(spawn,)) / 1e6)
        out.spawn_virtual.append((spawn[1] - event[1]) / 1e9)
        out.quote_virtual.append((accept[1] - event[1]) / 1e9)


def measure(scenario: str, samples: int, waits_zero: bool) -> Samples:
    overrides = {"supervisor": {"max_concurrent_sessions": 4}}
    if waits_zero:
        overrides["supervisor"]["regime_wait_s"] = 0
        overrides["maker"] = {"warmup_s": 0}
    config = load_config(overrides=overrides)
    out = Samples()
    first_seed = load_scenario(scenario).seed
    for run in range(MAX_RUNS):  # the scenario's own seed, then the next ones
        if len(out.spawn_wall) >= samples:
            break
        run_scenario(config, scenario, first_seed + run, out)
    return out


def describe(label: str, values: list[float], unit: str = "ms") -> str:
    if not values:
        return f"{label}: no samples"
    ordered = sorted(values)
    p95 = ordered[math.ceil(0.95 * len(ordered)) - 1]  # nearest rank
    return f"{label}: median {statistics.median(ordered):.2f} {unit}, p95 {p95:.2f} {unit}, max {ordered[-1]:.2f} {unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20, help="events to time per setting (default 20)")
    parser.add_argument("--scenario", default="four_events")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    defaults = load_config()
    default_label = f"default waits (regime {defaults.supervisor.regime_wait_s:g} s, warm-up {defaults.maker.warmup_s:g} s)"
    for waits_zero in (False, True):
        out = measure(args.scenario, args.samples, waits_zero)
        label = "regime wait 0 s, warm-up 0 s" if waits_zero else default_label
        print(f"== {label}: {len(out.spawn_wall)} events from {out.runs} run(s) of {args.scenario}, "
              f"{out.run_wall_s:.1f} s wall")
        if out.spawn_virtual:
            print(f"  virtual time skipped: to spawn {statistics.mean(out.spawn_virtual):.1f} s, "
                  f"to first order {statistics.mean(out.quote_virtual):.1f} s (mean)")
        print("  " + describe("event -> maker spawned, own steps ", out.spawn_own))
        print("  " + describe("event -> maker spawned, wall      ", out.spawn_wall))
        print("  " + describe("event -> first order,   own steps ", out.quote_own))
        print("  " + describe("event -> first order,   wall      ", out.quote_wall))
        for miss in out.missed:
            print(f"  not timed: {miss}", file=sys.stderr)


if __name__ == "__main__":
    main()
