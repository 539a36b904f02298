"""Memory over a long paper run: the `default` scenario (which goes on generatively after
its 15-minute script: 4 fresh listings every 15 minutes, each settled two episodes later)
replayed through the real actors on the deterministic runtime for many simulated hours.

    .venv/bin/python bench/bench_memory_24h.py [--hours 24] [--every-h 2] [--tracemalloc] [--seed N]

Prints, as it goes, at the end of the script (0.25 h, the start figure), every `--every-h`
simulated hours and at the end: RSS (VmRSS from /proc/self/status after gc.collect()),
an estimate of the simulated exchange's own bytes (`deep_size`: it runs in the same
process) and RSS minus that estimate (the daemon plus the interpreter), wall time and
virtual seconds per wall second, markets listed so far, sessions run; at the end the
growth per simulated hour after 4 h of RSS and of RSS minus the exchange.

Then a census of every container the actors hold: for each actor class (all instances
summed; makers come and go), every dict/list/set/deque reachable from the actor through
our own objects (up to 4 attributes deep), its length at each figure. Those longer at the
end than at the start are printed with their whole series, so a bounded buffer (flat
after it fills) reads apart from a history or id set that grows with every event. The
simulated exchange (in the same process: `bin/mmd start` in paper mode runs it there too)
is censused apart; it serves a settled market's trades and finished orders for an hour
after the settlement (simex `settled_history_s`) and keeps the daemon account's fills.

`--tracemalloc`: traced bytes by allocating package (actors/<name>, kernel, messages,
kalshi, simex, python) at every figure, so the daemon's own slope reads apart from the
simulator's, and the top allocation sites (file:line) that grew from the first figure to
the last. It slows the run 2-3x: use fewer hours with it. Asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import tempfile
import time
import tracemalloc
import types
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pykka  # noqa: E402

from bench.bench_memory import TRACE_FRAMES, by_package, rss_mb, snapshot, top_growth  # noqa: E402
from config import load_config  # noqa: E402
from mmd.replay import ReplayHarness  # noqa: E402
from simex._model import MinuteVolumes  # noqa: E402 (a bench looking inside)

NS = 1_000_000_000
CONTAINERS = (dict, list, set, frozenset, deque, tuple, MinuteVolumes)  # the last: a settled market's packed window
OUR_PACKAGES = ("actors", "kernel", "messages", "kalshi", "config", "simex", "mmd")
NOT_THE_EXCHANGE = ("actors", "kernel", "messages", "kalshi", "config", "mmd", "pykka", "logging", "threading",
                    "asyncio")  # deep_size of the exchange stops at these (its clock leads to every actor)
EXCHANGE_SIDE = ("simex", "mmd")  # the in-process exchange and its replay wrappers: censused apart
MAX_DEPTH = 4

# deep_size stops at these: code and namespaces shared by the whole process, not data
SHARED_KINDS = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                types.CodeType, types.FrameType, types.GetSetDescriptorType, types.MemberDescriptorType,
                types.WrapperDescriptorType, types.MethodWrapperType)
SHARED_VALUES = (None, True, False, Ellipsis, NotImplemented)
_SHARED_IDS = frozenset(map(id, SHARED_VALUES))  # one set lookup per object visited
SMALL_INTS = range(-5, 257)  # CPython's cached ints: one copy for everyone


def deep_size(root: object, stop_packages: tuple[str, ...] = ()) -> int:
    """An estimate of the bytes `root` holds: sys.getsizeof summed over every object
    reachable from it (gc.get_referents), each object counted once however often it is
    referred to. Not followed nor counted: modules, classes, functions and bound methods,
    code, None/True/False, CPython's small ints, and objects of a class from one of the
    `stop_packages` (e.g. the daemon's packages: the exchange's clock leads to the runtime
    and every actor).

    Limits (why it is an estimate): getsizeof is the object's own allocation, without the
    allocator's rounding and free lists, so RSS minus this is not exactly "the rest";
    interned strings and other objects also referred to from elsewhere are counted in
    full here; a container's spare capacity is counted (getsizeof includes it), freed
    memory the allocator keeps for reuse is not; objects reachable only through a
    skipped function/closure or a C extension that hides its references are missed; an
    instance's attribute values are counted but not its inline attribute table (CPython
    3.11+ keeps one without a __dict__ until the __dict__ is asked for). Walking allocates
    an int and a set slot per object visited: see deep_size_apart."""
    seen: set[int] = set()
    total = 0
    stack = [root]
    while stack:
        obj = stack.pop()
        key = id(obj)
        if key in seen:
            continue
        seen.add(key)
        if (isinstance(obj, SHARED_KINDS) or key in _SHARED_IDS
                or (type(obj) is int and obj in SMALL_INTS)
                or type(obj).__module__.split(".")[0] in stop_packages):
            continue
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
        if isinstance(obj, dict):
            stack.extend(obj)  # the GC does not report a dict's str keys (they hold no references)
    return total


def _ours(value: object) -> bool:
    return type(value).__module__.split(".")[0] in OUR_PACKAGES


def _fields(obj: object) -> list[tuple[str, object]]:
    """An object's attributes (instance dict and slots)."""
    out = list(getattr(obj, "__dict__", {}).items())
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if hasattr(obj, name):
                out.append((name, getattr(obj, name)))
    return out


def census(root: object, prefix: str, into: dict[str, int], seen: set[int], depth: int = 0,
           skip: tuple[str, ...] = ()) -> None:
    """Length of every container reachable from `root` through our own objects (not through
    objects of the `skip` packages)."""
    if id(root) in seen or depth > MAX_DEPTH or type(root).__module__.split(".")[0] in skip:
        return
    seen.add(id(root))
    for name, value in _fields(root):
        if isinstance(value, (pykka.ActorRef, pykka.ActorProxy)) or name.startswith("actor_"):
            continue  # another actor: censused on its own
        path = f"{prefix}.{name}"
        if isinstance(value, CONTAINERS) and not (isinstance(value, tuple) and len(value) < 8):
            into[path] = into.get(path, 0) + len(value)
            # one level into the values of a container of our objects (a dict of books, of states)
            items = value.values() if isinstance(value, dict) else value
            sample = next(iter(items), None)
            if sample is not None and _ours(sample) and not isinstance(sample, type):
                for each in list(items):
                    census(each, f"{path}[*]", into, seen, depth + 1, skip)
        elif _ours(value) and not isinstance(value, type):
            census(value, path, into, seen, depth + 1, skip)


def actors_census() -> dict[str, int]:
    into: dict[str, int] = {}
    seen: set[int] = set()
    counts: dict[str, int] = {}
    for ref in pykka.ActorRegistry.get_all():
        actor = ref._actor_weakref()  # noqa: SLF001 (a bench looking inside; deterministic runtime)
        if actor is None:
            continue
        name = type(actor).__name__
        counts[name] = counts.get(name, 0) + 1
        census(actor, name, into, seen, skip=EXCHANGE_SIDE)
    for name, count in counts.items():
        into[f"{name} (instances)"] = count
    return into


def exchange_census(exchange: object) -> dict[str, int]:
    into: dict[str, int] = {}
    census(exchange, "Exchange", into, set(), depth=MAX_DEPTH - 1)  # its own containers, one level in
    return into


def deep_size_apart(root: object, stop_packages: tuple[str, ...] = ()) -> int:
    """deep_size walked in a forked child (copy-on-write: it sees the same objects), so the
    walk's own allocations (an int and a set slot for every object it visits, ~10 MB for
    the exchange) never land in this process's heap: walked here, they fragment it and
    show up in the RSS the bench reports."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the child: walk, write the figure, leave at once (no cleanup, no atexit)
        try:
            os.write(write_end, str(deep_size(root, stop_packages)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        figure = pipe.read()
    os.waitpid(child, 0)
    return int(figure)


def print_growth(title: str, series: list[dict[str, int]], labels: list[str], limit: int = 40) -> None:
    first, last = series[0], series[-1]
    grown = [(last[k] - first.get(k, 0), k) for k in last if last[k] > first.get(k, 0)]
    grown.sort(key=lambda item: (-item[0], item[1]))
    print(f"\n{title}: {len(grown)} container(s) longer at the end than at {labels[0]}"
          + (f" (the {limit} that grew most)" if len(grown) > limit else ""))
    print("  " + " ".join(f"{label:>8}" for label in labels) + "  container")
    for _, key in grown[:limit]:
        print("  " + " ".join(f"{s.get(key, 0):>8,}" for s in series) + f"  {key}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours")
    parser.add_argument("--every-h", type=float, default=2.0, help="a figure every this many simulated hours")
    parser.add_argument("--scenario", default="default")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()

    logging.disable(logging.WARNING)  # the bench prints figures, not the daemon's log
    if args.tracemalloc:
        tracemalloc.start(TRACE_FRAMES)
    duration_s = args.hours * 3600
    with tempfile.TemporaryDirectory() as tmp:
        harness = ReplayHarness(load_config(), db_path=Path(tmp) / "long.sqlite", scenario=args.scenario,
                                seed=args.seed, duration_s=duration_s, run_id="long", runtime="deterministic")
        rig = harness.rig
        start_ns = rig.clock.now_ns()
        scenario_s = harness.scenario.duration_s
        labels: list[str] = []
        actors: list[dict[str, int]] = []
        exchange: list[dict[str, int]] = []
        snaps: list[tracemalloc.Snapshot] = []
        packages: list[dict[str, int]] = []  # traced bytes by package, at every figure
        first: dict[str, float] = {}
        figures: list[tuple[float, float, float]] = []  # (simulated h, RSS MB, RSS minus exchange MB)
        wall_started = time.perf_counter()

        def probe(now_ns: int) -> None:
            virtual_s = (now_ns - start_ns) / NS
            labels.append(f"{virtual_s / 3600:g} h")
            if args.tracemalloc:
                snap = snapshot()
                packages.append(by_package(snap))
                if not snaps or virtual_s >= duration_s:
                    snaps.append(snap)  # only the first and the last are kept whole
            gc.collect()
            rss = rss_mb()
            wall = time.perf_counter() - wall_started
            actors.append(actors_census())
            exchange.append(exchange_census(rig.raw_exchange))
            supervisor = rig.daemon.refs["supervisor"].proxy().get_status().get()
            started = rig.daemon.refs["supervisor"]._actor_weakref().core.sessions._counter  # noqa: SLF001 (a bench)
            exchange_mb = deep_size_apart(rig.raw_exchange, stop_packages=NOT_THE_EXCHANGE) / 1e6
            figures.append((virtual_s / 3600, rss, rss - exchange_mb))
            first.setdefault("rss", rss)
            print(f"t={virtual_s / 3600:5.2f} h  RSS {rss:7.1f} MB ({rss - first['rss']:+6.1f} since "
                  f"{labels[0]})  exchange ~{exchange_mb:5.1f} MB  RSS minus exchange {rss - exchange_mb:7.1f} MB  "
                  f"wall {wall:7.0f} s ({virtual_s / max(wall, 1e-9):5.0f} virtual s/s)  "
                  f"markets listed {len(rig.raw_exchange.markets)}, sessions running "
                  f"{len(supervisor.get('active', []))}, started {started}; "
                  f"exchange trades {len(rig.raw_exchange.trades):,}", flush=True)

        marks = [scenario_s]  # after the script: what follows is the long run's steady state
        t = args.every_h * 3600
        while t < duration_s - 1e-6:
            if t > scenario_s:
                marks.append(t)
            t += args.every_h * 3600
        marks.append(duration_s)
        for at_s in marks:
            # on the exchange's own queue: a driver step like any market event (no random draws)
            rig.raw_exchange.schedule(start_ns + int(at_s * NS), probe)
        gc.collect()
        print(f"scenario {harness.scenario.name} (seed {harness.seed}), {args.hours:g} simulated hours, "
              f"deterministic runtime; RSS before start {rss_mb():.1f} MB", flush=True)
        print("exchange ~: the simulated exchange's own bytes, an estimate (sys.getsizeof over the objects "
              "reachable from it, each once, walked in a forked child; not the allocator's overhead nor "
              "the code; see deep_size)", flush=True)
        summary = harness.run()
    print(f"done: {summary.virtual_seconds / 3600:.2f} simulated h, {summary.frames_delivered:,} frames, "
          f"{summary.timers_fired:,} timers, {summary.scenario_events:,} exchange events in "
          f"{time.perf_counter() - wall_started:.0f} s wall")
    print_slopes(figures)
    print_growth("actors", actors, labels)
    print_growth("simulated exchange (in-process; not the daemon)", exchange, labels, limit=15)
    if len(snaps) == 2:
        print_packages(packages, labels)
        print(f"\ntracemalloc: top allocation sites that grew, {labels[0]} -> {labels[-1]}:")
        for line in top_growth(snaps[0], snaps[1], count=25):
            print(f"  {line}")


def print_slopes(figures: list[tuple[float, float, float]], after_h: float = 4.0) -> None:
    """MB per simulated hour from the first figure at or after `after_h` to the last."""
    later = [f for f in figures if f[0] >= after_h - 1e-9]
    if len(later) < 2 or later[-1][0] <= later[0][0]:
        return
    (h0, rss0, rest0), (h1, rss1, rest1) = later[0], later[-1]
    hours = h1 - h0
    print(f"growth per simulated hour, {h0:g} h -> {h1:g} h: RSS {(rss1 - rss0) / hours:+.3f} MB/h, "
          f"RSS minus exchange {(rest1 - rest0) / hours:+.3f} MB/h")


def print_packages(packages: list[dict[str, int]], labels: list[str]) -> None:
    """Traced MB by allocating package at every figure, the simulator apart from the daemon."""
    names = sorted(packages[-1], key=lambda n: -(packages[-1][n] - packages[0].get(n, 0)))
    print("\ntracemalloc: traced MB by allocating package at each figure (simex: the in-process simulator)")
    print("  " + " ".join(f"{label:>7}" for label in labels) + "  package")
    for name in [n for n in names if max(p.get(n, 0) for p in packages) >= 50_000]:
        print("  " + " ".join(f"{p.get(name, 0) / 1e6:7.2f}" for p in packages) + f"  {name}")
    daemon = [sum(v for n, v in p.items() if n != "simex") for p in packages]
    print("  " + " ".join(f"{d / 1e6:7.2f}" for d in daemon) + "  all but simex")

if __name__ == "__main__":
    main()
