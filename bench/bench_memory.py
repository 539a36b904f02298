"""Memory per tracked market: the real daemon tracking 50 and then 200 markets (the
`scale_200` scenario, three volatility sessions at a time), each in a fresh process,
everything else equal; RSS per market by difference.

    .venv/bin/python bench/bench_memory.py [--warmup-s 300] [--minutes 120] [--every-min 30]
                                           [--tracemalloc [--traced-minutes 30]] [--live SECONDS] [--no-replay]

Replay (unless `--no-replay`): `ReplayHarness` on the deterministic runtime, the in-process simulated
exchange, virtual time. The 50-market run replays the first 50 markets of scale_200.yaml
(same name, seed and random streams: 24 event markets and 26 background ones), the
200-market run all of them. RSS is VmRSS from /proc/self/status, read (after gc.collect())
at virtual time 0, at the end of the warm-up and every `--every-min` minutes after, by a
probe scheduled on the exchange's own event queue (it adds steps, never draws a random
number). The probe also reads how many markets the scanner tracks and how many sessions
run. Per market = (RSS at 200 - RSS at 50) / 150, at every figure. Two hours by default:
the per-market buffers (market state's 1,000-trade ring and 15-minute mid/spread history,
the scanner's trade and price windows) take 15-100 virtual minutes to fill, and a figure
before they are full understates the steady state.

The in-process exchange is part of that RSS: simex keeps every trade it ever printed (a
simulator, not the daemon). `--tracemalloc` then runs the same two replays traced (for
`--traced-minutes`, default 30: tracing is slow) and splits the heap by who allocated it
(actors/<name>, kalshi, simex, python, ...), with the allocation sites that grew most; its
RSS is not read (tracemalloc's own bookkeeping is in it).

`--live S`: also the paper daemon on the wall clock, `mmd start --env paper --exchange-url
... --duration S`, against `mmd sim --scenario` serving the same 50/200 markets in a process
of its own, so the RSS (read from /proc/<pid>/status at S/3 and near the end) is the
daemon's alone. (Paper mode's embedded exchange cannot be pointed at a scenario from config
yet: runner.py reads `getattr(cfg.paper, "scenario", "default")` and PaperConfig has no such
key.) Sessions start ~2 minutes in, so S of 300 or more shows them.

Goal (issue "Fault campaigns", item 4): <= 0.3 MB per tracked market, 200 markets
<= 100 MB in total. Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import logging
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NS = 1_000_000_000
SMALL, LARGE = 50, 200
SCENARIO = "scale_200"
_RESULT = "RESULT "  # the line a child prints its figures on


def rss_mb() -> float:
    """VmRSS of this process, MB (from /proc/self/status, kB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def scale_scenario(markets: int):
    """The first `markets` of scale_200.yaml, everything else (name, seed, streams) kept."""
    from simex._scenario import load_scenario

    scenario = load_scenario(SCENARIO)
    return dataclasses.replace(scenario, markets=scenario.markets[:markets])


# ----------------------------------------------------------------------------- allocation sites
TRACE_FRAMES = 6  # enough to see past json, uuid and Decimal to the caller of ours


def package_of(filename: str) -> str | None:
    """actors/scanner, kernel, simex, kalshi, ... for a file of ours; None for the rest
    (a dataclass's generated __init__ is "<string>": its caller is the one of ours)."""
    if filename.startswith("<"):
        return None
    try:
        parts = Path(filename).resolve().relative_to(ROOT).parts
    except ValueError:
        return None
    if parts[0] in ("bench", ".venv"):
        return None
    if parts[0] == "actors" and len(parts) > 2:
        return f"actors/{parts[1]}"
    return parts[0]


def by_package(snapshot: tracemalloc.Snapshot) -> dict[str, int]:
    """Traced bytes by the package of the innermost frame of ours that allocated them (a
    string json made for the WS decoder counts to actors/ws, a uuid simex drew to simex)."""
    sizes: dict[str, int] = {}
    for stat in snapshot.statistics("traceback"):
        name = next((p for p in map(package_of, (f.filename for f in reversed(stat.traceback))) if p),
                    "python (stdlib, pykka, sqlite3 ...)")
        sizes[name] = sizes.get(name, 0) + stat.size
    return sizes


def top_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, count: int = 15) -> list[str]:
    """The allocation sites (file:line) that grew most between two snapshots."""
    lines = []
    for stat in after.compare_to(before, "lineno")[:count]:
        frame = stat.traceback[0]
        try:
            where = str(Path(frame.filename).resolve().relative_to(ROOT))
        except ValueError:
            where = frame.filename
        lines.append(f"{stat.size_diff / 1e6:+8.2f} MB {stat.count_diff:+9,} blocks  {where}:{frame.lineno}")
    return lines


def snapshot() -> tracemalloc.Snapshot:
    gc.collect()
    return tracemalloc.take_snapshot().filter_traces((
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
        tracemalloc.Filter(False, str(ROOT / "bench" / "*")),  # the bench's own records
    ))


# ----------------------------------------------------------------------------- replay child
def replay_child(markets: int, warmup_s: float, minutes: float, every_min: float, trace: bool) -> dict:
    from config import load_config
    from mmd.replay import ReplayHarness

    logging.disable(logging.WARNING)  # the bench prints figures, not the daemon's log
    if trace:
        tracemalloc.start(TRACE_FRAMES)
    scenario = scale_scenario(markets)
    duration_s = warmup_s + minutes * 60
    probes: list[dict] = []
    snaps: dict[str, tracemalloc.Snapshot] = {}
    with tempfile.TemporaryDirectory() as tmp:
        gc.collect()
        rss_imported = rss_mb()
        harness = ReplayHarness(load_config(), db_path=Path(tmp) / "memory.sqlite", scenario=scenario,
                                duration_s=duration_s, run_id="memory", runtime="deterministic")
        rig = harness.rig
        start_ns = rig.clock.now_ns()

        def probe(now_ns: int, label: str) -> None:
            refs = rig.daemon.refs
            scanner = refs["scanner"].proxy().get_status().get()
            sessions = refs["supervisor"].proxy().open_session_count().get()
            if trace and label in ("warm-up", "end"):
                snaps[label] = snapshot()
            gc.collect()
            probes.append({"label": label, "virtual_s": (now_ns - start_ns) / NS, "rss_mb": rss_mb(),
                           "tracked": scanner["tracked"], "sessions": sessions, "wall": time.perf_counter()})

        marks = [(warmup_s, "warm-up")]
        t = warmup_s + every_min * 60
        while t < duration_s - 1e-6:
            marks.append((t, f"+{(t - warmup_s) / 60:g} min"))
            t += every_min * 60
        marks.append((duration_s, "end"))
        for at_s, label in marks:
            # on the exchange's own queue: a step of the driver like any market event
            rig.raw_exchange.schedule(start_ns + int(at_s * NS), lambda now, lab=label: probe(now, lab))
        gc.collect()
        rss_start = rss_mb()
        started = time.perf_counter()
        summary = harness.run()
        wall = time.perf_counter() - started
    result = {"markets": markets, "rss_imported_mb": rss_imported, "rss_installed_mb": rss_start, "probes": probes,
              "wall_s": wall, "virtual_s": summary.virtual_seconds, "frames": summary.frames_delivered,
              "timers": summary.timers_fired, "scenario_events": summary.scenario_events, "started": started}
    if trace and len(snaps) == 2:
        result["packages_warmup"] = by_package(snaps["warm-up"])
        result["packages_end"] = by_package(snaps["end"])
        result["top_growth"] = top_growth(snaps["warm-up"], snaps["end"])
    return result


# ----------------------------------------------------------------------------- live
def scenario_file(markets: int, folder: Path) -> Path:
    """The first `markets` of scale_200.yaml as a file `mmd sim --scenario` can serve."""
    import yaml

    from simex._scenario import SCENARIO_DIR

    data = yaml.safe_load((SCENARIO_DIR / f"{SCENARIO}.yaml").read_text())
    data["markets"] = data["markets"][:markets]
    path = folder / f"scale_{markets}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def process_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def daemon_status(folder: Path) -> dict:
    """GET the daemon's /status (its URL is in daemon.json once it runs); {} before that."""
    try:
        url = json.loads((folder / "daemon.json").read_text())["status_url"]
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)
    except (OSError, ValueError, KeyError):
        return {}


def live_run(markets: int, duration_s: float) -> dict:
    """`mmd sim` serving the first `markets` of scale_200 in one process, the paper daemon
    (`mmd start --env paper --exchange-url ... --duration S`) in another: the daemon's RSS
    is its own (no exchange in it). Sampled from /proc/<pid>/status at S/3 and near the end."""
    mmd = [sys.executable, "-m", "mmd.cli", "--log-format", "human"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port = free_port()
        sim = subprocess.Popen([*mmd, "sim", "--data-dir", tmp, "--port", str(port),
                                "--scenario", str(scenario_file(markets, folder))],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while True:  # up once it accepts a connection (the paper key is written before it binds)
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or sim.poll() is not None:
                        raise RuntimeError("mmd sim did not come up") from None
                    time.sleep(0.2)
            daemon = subprocess.Popen([*mmd, "start", "--env", "paper", "--data-dir", tmp, "--status-port", "0",
                                       "--exchange-url", f"http://127.0.0.1:{port}/trade-api/v2",
                                       "--duration", str(duration_s)],
                                      cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            started = time.monotonic()
            samples = []
            for label, at in (("warm-up", duration_s / 3), ("end", duration_s - 5)):
                time.sleep(max(0.0, started + at - time.monotonic()))
                if daemon.poll() is not None:
                    break
                status = daemon_status(folder)
                samples.append({"label": label, "wall_s": time.monotonic() - started,
                                "rss_mb": process_rss_mb(daemon.pid), "tracked": (status.get("scanner") or {}).get("tracked"),
                                "sessions": len(status.get("sessions") or ())})
            _, stderr = daemon.communicate(timeout=duration_s + 120)
        finally:
            sim.terminate()
            sim.wait(timeout=30)
    return {"markets": markets, "exit_code": daemon.returncode, "samples": samples,
            "stderr_tail": stderr[-2000:] if daemon.returncode else ""}


# ----------------------------------------------------------------------------- parent
def run_child(*args: str) -> dict:
    """A fresh interpreter per measurement: nothing of one run's heap is left for the next."""
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, cwd=ROOT)
    for line in out.stdout.splitlines():
        if line.startswith(_RESULT):
            return json.loads(line[len(_RESULT):])
    raise RuntimeError(f"child {args} failed (exit {out.returncode}):\n{out.stderr[-3000:]}")


def per_market(small: float, large: float) -> str:
    return f"{(large - small) / (LARGE - SMALL):.3f} MB/market"


def report_replay(small: dict, large: dict) -> None:
    print(f"replay (deterministic runtime, scenario {SCENARIO}, virtual time):")
    for run in (small, large):
        speed = run["virtual_s"] / run["wall_s"]
        print(f"  {run['markets']:>3} markets: RSS {run['rss_imported_mb']:.1f} MB after imports, "
              f"{run['rss_installed_mb']:.1f} MB with the scenario installed; "
              f"{run['virtual_s']:.0f} virtual s in {run['wall_s']:.0f} s wall ({speed:.1f} virtual s/s), "
              f"{run['frames']:,} frames, {run['timers']:,} timers")
        for p in run["probes"]:
            print(f"    {p['label']:>9} (t={p['virtual_s']:6.0f} s): RSS {p['rss_mb']:7.1f} MB; "
                  f"tracked {p['tracked']}, sessions running {p['sessions']}")
    print("  per tracked market by difference (200 - 50) / 150:")
    for a, b in zip(small["probes"], large["probes"]):
        print(f"    {a['label']:>9}: {b['rss_mb'] - a['rss_mb']:6.1f} MB for 150 markets = "
              f"{per_market(a['rss_mb'], b['rss_mb'])}; 200 markets in {b['rss_mb']:.1f} MB total")


def report_traced(small: dict, large: dict) -> None:
    """The same two runs under tracemalloc (RSS not read: tracemalloc's own bookkeeping is in it)."""
    end = large["probes"][-1]["label"]
    print(f"tracemalloc (the same runs traced), bytes by allocating package, warm-up -> {end}:")
    for run in (small, large):
        print(f"  {run['markets']} markets:")
        for name in sorted(run["packages_end"], key=lambda n: -run["packages_end"][n]):
            w, e = run["packages_warmup"].get(name, 0) / 1e6, run["packages_end"][name] / 1e6
            if max(w, e) >= 0.05:
                print(f"    {name:<44} {w:7.2f} -> {e:7.2f} MB ({e - w:+.2f})")
    print(f"  per tracked market by package at {end}, (200 - 50) / 150 (simex is the simulator, not the daemon):")
    total = 0.0
    for name in sorted(large["packages_end"], key=lambda n: -large["packages_end"][n]):
        diff = (large["packages_end"][name] - small["packages_end"].get(name, 0)) / (LARGE - SMALL) / 1e6
        total += 0.0 if name == "simex" else diff
        if abs(diff) >= 0.001:
            print(f"    {name:<44} {diff:7.3f} MB/market")
    print(f"    {'all but simex':<44} {total:7.3f} MB/market")
    print(f"  top allocation sites that grew, warm-up -> {end} ({LARGE} markets):")
    for line in large["top_growth"]:
        print(f"    {line}")


def report_live(small: dict, large: dict) -> None:
    print("live paper daemon (mmd start --env paper --exchange-url, `mmd sim` in its own process, wall clock):")
    for run in (small, large):
        figures = "; ".join(f"{s['label']} (t={s['wall_s']:.0f} s) RSS {s['rss_mb']:.1f} MB, tracked {s['tracked']}, "
                            f"sessions running {s['sessions']}" for s in run["samples"])
        print(f"  {run['markets']:>3} markets: exit {run['exit_code']}; {figures}")
        if run["stderr_tail"]:
            print("    " + run["stderr_tail"].replace("\n", "\n    "))
    print("  per tracked market by difference (200 - 50) / 150:")
    for a, b in zip(small["samples"], large["samples"]):
        print(f"    {a['label']:>9}: {per_market(a['rss_mb'], b['rss_mb'])}; 200 markets in {b['rss_mb']:.1f} MB total")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup-s", type=float, default=300.0, help="virtual seconds before the first figure")
    parser.add_argument("--minutes", type=float, default=120.0, help="virtual minutes measured after the warm-up")
    parser.add_argument("--every-min", type=float, default=30.0, help="a figure every this many virtual minutes")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="then the same runs traced: the heap by allocating package (2-3x slower)")
    parser.add_argument("--traced-minutes", type=float, default=30.0,
                        help="virtual minutes after the warm-up of the traced runs")
    parser.add_argument("--live", type=float, metavar="SECONDS", help="also run the paper daemon this long")
    parser.add_argument("--no-replay", action="store_true", help="skip the untraced replays (with --live or --tracemalloc)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = replay_child(int(args.child[1]), args.warmup_s, args.minutes, args.every_min, args.tracemalloc)
        print(_RESULT + json.dumps(result), flush=True)
        return
    common = ["--warmup-s", str(args.warmup_s), "--minutes", str(args.minutes), "--every-min", str(args.every_min)]
    if not args.no_replay:
        report_replay(run_child("replay", str(SMALL), *common), run_child("replay", str(LARGE), *common))
    if args.tracemalloc:
        traced = ["--warmup-s", str(args.warmup_s), "--minutes", str(args.traced_minutes),
                  "--every-min", str(args.traced_minutes), "--tracemalloc"]
        report_traced(run_child("replay", str(SMALL), *traced), run_child("replay", str(LARGE), *traced))
    if args.live:
        report_live(live_run(SMALL, args.live), live_run(LARGE, args.live))


if __name__ == "__main__":
    main()
