"""`mmd sweep SPEC.yaml`: many `mmd backtest` settings at once, on every core or on a Ray
cluster, then one table ranking the settings by what they earned across the games.

The spec (mmd/sweep_spec.py) names a grid or a random search over config keys, and the
tapes, scenario seeds and fill models to replay under each setting. Every run is one
`mmd backtest` run (mmd/backtest.py `execute_run`, the same key, store and metrics): a run
finished by any earlier sweep or backtest into the same folder is not redone, and a run's
result is stored only once its folder is complete, so an interrupted sweep (Ctrl-C) keeps
what finished and the next invocation resumes.

Out folder (`--out`, default var/sweeps/<name>): `backtest.sqlite` and `runs/` as
`mmd backtest` writes them, `ranking.csv` (one row per setting x fill model) and
`runs.csv` (one row per run). With `--ray`, the workers write into the out folder: on a
cluster of several machines it must be a folder every machine sees at the same path.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from config import Config
    from mmd.backtest import Plan, PlannedRun
    from mmd.backtest_metrics import RunMetrics
    from mmd.backtest_store import RunRecord
    from mmd.sweep_spec import Setting, SweepSpec

__all__ = ["add_sweep_parser", "cmd_sweep", "main"]

INTERRUPTED = 130  # the shell's status for a command ended by Ctrl-C


class _Refused(Exception):
    """Bad input: one line for stderr."""


@dataclass(frozen=True)
class _Job:
    run: PlannedRun
    plan: Plan
    setting: int  # index into the spec's settings
    config_file: str | None
    assignments: tuple[str, ...]  # the setting's `--set` overrides, the spec's fixed ones first

    def portable(self) -> tuple:
        """run_one's arguments: a Config does not pickle, so the worker loads it again."""
        return self.run, dataclasses.replace(self.plan, config=None), self.config_file, self.assignments


# ----------------------------------------------------------------------------- the plan
def _backtest_args(spec: SweepSpec, setting: Setting, out_dir: Path) -> argparse.Namespace:
    """What `mmd backtest` would be given for this setting."""
    return argparse.Namespace(
        tapes=list(spec.tapes), scenario=list(spec.scenarios) or None, seeds=spec.seeds, duration=spec.duration,
        config=spec.config, set=[*spec.base_set, *setting.assignments], fill_model=list(spec.fill_models),
        queue_share=spec.queue_share, result=None, results=None, name=spec.name, out=str(out_dir))


def plan_sweep(spec: SweepSpec, out_dir: Path) -> list[tuple[Setting, Plan]]:
    """Every setting's backtest plan, validated; writes nothing. Raises _Refused."""
    from mmd import backtest

    plans = []
    for setting in spec.settings:
        try:
            plans.append((setting, backtest.build_plan(_backtest_args(spec, setting, out_dir))))
        except backtest._Refused as exc:  # noqa: SLF001 - the backtest's own refusal, passed on
            where = f"setting {setting.label}: " if str(exc).startswith("config") else ""
            raise _Refused(f"{where}{exc}") from None
    return plans


# ----------------------------------------------------------------------------- one run, anywhere
_stopping = False


def _stop_taking_work(signum: int, frame: Any) -> None:
    """A pool worker's Ctrl-C: abandon the run in hand (execute_run removes its scratch
    folder) and refuse any run already queued to this worker."""
    global _stopping  # noqa: PLW0603 - per worker process
    _stopping = True
    raise KeyboardInterrupt


def _pool_worker_init() -> None:
    signal.signal(signal.SIGINT, _stop_taking_work)


@functools.lru_cache(maxsize=8)
def _load_config(config_file: str | None, assignments: tuple[str, ...]) -> tuple[Config, str]:
    from config import load_config
    from mmd.app import config_to_json
    from mmd.backtest_inputs import parse_overrides

    config = load_config(config_file, overrides=parse_overrides(list(assignments)) or None)
    return config, config_to_json(config)


def run_one(run: PlannedRun, plan: Plan, config_file: str | None, assignments: tuple[str, ...]) \
        -> tuple[RunRecord, RunMetrics]:
    """One backtest run and its metrics: the unit of work for every executor."""
    from mmd import backtest

    if _stopping:
        raise KeyboardInterrupt
    config, config_json = _load_config(config_file, assignments)
    if config_json != plan.config_json:  # a changed config file between planning and running
        raise RuntimeError(f"{run.label}: the config loaded here differs from the planned one ({run.config_hash})")
    plan = dataclasses.replace(plan, config=config)
    record = backtest.execute_run(run, plan, plan.out_dir / "runs")
    return record, backtest._metrics(record, plan)  # noqa: SLF001 - the backtest's metrics, reused


Done = Callable[[_Job, "RunRecord", "RunMetrics"], None]


def _run_serial(jobs: list[_Job], done: Done) -> None:
    for job in jobs:
        done(job, *run_one(*job.portable()))


def _run_on_pool(jobs: list[_Job], workers: int, done: Done) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: a fresh interpreter per worker, whatever threads (or Ray) this process holds
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_pool_worker_init)
    try:
        futures = {pool.submit(run_one, *job.portable()): job for job in jobs}
        for future in as_completed(futures):
            done(futures[future], *future.result())
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise _Refused("--ray needs Ray, an optional extra: pip install 'mmd[ray]'") from None
    except Exception as exc:  # noqa: BLE001 - a broken install, said in one line
        raise _Refused(f"--ray: Ray is installed but does not import: {type(exc).__name__}: {exc}") from None
    return ray


def _run_on_ray(ray: Any, address: str, workers: int | None, jobs: list[_Job], done: Done) -> None:
    """On the Ray instance this process is already connected to, else on `address` (auto:
    the running cluster; local: a new one on this machine, stopped at the end)."""
    started = False
    if not ray.is_initialized():
        try:
            if address == "local":
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
        except Exception as exc:  # noqa: BLE001 - no cluster there: one line
            raise _Refused(f"--ray {address}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") \
                from None
        started = True
    from mmd.sweep import run_one as importable_run_one  # not __main__'s (python -m mmd.sweep): workers import it

    remote_run = ray.remote(num_cpus=1, max_retries=0)(importable_run_one)
    pending = {remote_run.remote(*job.portable()): job for job in jobs}
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                done(pending.pop(ref), *ray.get(ref))
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)  # the worker's scratch folder is removed by the next attempt
        raise
    finally:
        if started:
            ray.shutdown()


# ----------------------------------------------------------------------------- the command
def cmd_sweep(args: argparse.Namespace) -> int:
    from mmd.sweep_spec import SpecError, load_spec

    try:
        spec = load_spec(args.spec)
        if args.workers is not None and args.workers < 1:
            raise _Refused("--workers: a number >= 1")
        out_dir = Path(args.out) if args.out else Path("var") / "sweeps" / spec.name
        plans = plan_sweep(spec, out_dir)
        ray = _import_ray() if args.ray else None
    except (SpecError, _Refused) as exc:
        print(f"mmd: sweep: {exc}", file=sys.stderr)
        return 1
    try:
        return _sweep(args, spec, out_dir, plans, ray)
    except _Refused as exc:
        print(f"mmd: sweep: {exc}", file=sys.stderr)
        return 1


def _sweep(args: argparse.Namespace, spec: SweepSpec, out_dir: Path, plans: list[tuple[Setting, Plan]],
           ray: Any) -> int:
    import time

    from tqdm import tqdm

    from mmd import backtest
    from mmd.backtest_store import ResultsStore, write_csv

    jobs = [_Job(run, plan, i, spec.config, (*spec.base_set, *setting.assignments))
            for i, (setting, plan) in enumerate(plans) for run in plan.runs]
    jobs = list({job.run.run_key: job for job in jobs}.values())  # two settings can name one config
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    store = ResultsStore(out_dir / "backtest.sqlite")
    try:
        results: dict[str, tuple[RunRecord, RunMetrics]] = {}
        to_do = []
        for job in jobs:
            record = store.finished(job.run.run_key)
            if record is not None and (out_dir / record.run_dir / "replay.sqlite").is_file():
                results[job.run.run_key] = (record, backtest._metrics(record, job.plan))  # noqa: SLF001
            else:
                to_do.append(job)
        workers = args.workers or os.cpu_count() or 1
        where = f"Ray ({args.ray})" if ray else ("1 process" if workers == 1 else f"{workers} processes")
        print(f"sweep {spec.name}: {len(spec.settings)} settings, {len(jobs)} runs; {len(results)} finished before, "
              f"{len(to_do)} to run on {where}", file=sys.stderr)
        started = time.perf_counter()
        with tqdm(total=len(to_do), desc="sweep", unit="run", file=sys.stderr, disable=args.no_progress or not to_do,
                  dynamic_ncols=True) as bar:
            def done(job: _Job, record: RunRecord, metrics: RunMetrics) -> None:
                store.record(record, metrics)  # the run's folder is complete: it counts as finished from now
                results[job.run.run_key] = (record, metrics)
                bar.update(1)

            try:
                if not to_do:
                    pass
                elif ray is not None:
                    _run_on_ray(ray, args.ray, args.workers, to_do, done)
                elif workers == 1 or len(to_do) == 1:
                    _run_serial(to_do, done)
                else:
                    _run_on_pool(to_do, min(workers, len(to_do)), done)
            except KeyboardInterrupt:
                bar.close()
                print(f"\nmmd: sweep: interrupted; {len(results)} of {len(jobs)} runs finished and stored in "
                      f"{out_dir}; run the same command again to resume", file=sys.stderr)
                return INTERRUPTED
        wall = time.perf_counter() - started
        if to_do:
            print(f"{len(to_do)} runs in {wall:.1f} s wall", file=sys.stderr)
        _report(args, plans, jobs, results, out_dir, store, write_csv)
    finally:
        store.close()
    return 0


def _report(args: argparse.Namespace, plans: list[tuple[Setting, Plan]], jobs: list[_Job],
            results: dict[str, tuple[RunRecord, RunMetrics]], out_dir: Path, store: Any, write_csv: Any) -> None:
    from mmd.sweep_report import NOTES, format_ranking, rank, summarise_setting, write_ranking_csv

    groups: dict[tuple[int, str], list[RunMetrics]] = {}
    for i, (_, plan) in enumerate(plans):
        for run in plan.runs:
            groups.setdefault((i, run.fill_label), []).append(results[run.run_key][1])
    summaries = [summarise_setting(plans[i][0].label, fill, plans[i][1].runs[0].config_hash, games)
                 for (i, fill), games in groups.items()]
    ranked = rank(summaries, args.rank_by)
    print(format_ranking(ranked))
    print()
    print(NOTES)
    write_ranking_csv(ranked, out_dir / "ranking.csv")
    written = write_csv(store.rows([job.run.run_key for job in jobs]), out_dir / "runs.csv")
    print(f"\nranking: {out_dir / 'ranking.csv'}; runs: {out_dir / 'runs.csv'} ({written}), "
          f"{out_dir / 'backtest.sqlite'}, {out_dir / 'runs'}/")


def add_sweep_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The `sweep` subcommand on an argparse subparsers object; sets func=cmd_sweep."""
    from mmd.sweep_report import RANK_KEYS

    p = subparsers.add_parser(
        "sweep", help="backtest a grid or random search of config settings in parallel and rank them",
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("spec", metavar="SPEC.yaml", help="the sweep: grid: or random:, tapes:/scenarios: "
                                                      "(see config/sweeps/example.yaml)")
    p.add_argument("--workers", type=int, metavar="N", help="processes (default: every core); with --ray local, "
                                                             "the CPUs of the local Ray instance")
    p.add_argument("--ray", metavar="auto|local|ADDRESS",
                   help="run on Ray (optional extra: pip install 'mmd[ray]'): auto = the running cluster, "
                        "local = a new instance on this machine, or a cluster's address")
    p.add_argument("--out", help="results folder (default: var/sweeps/NAME)")
    p.add_argument("--rank-by", choices=RANK_KEYS, default="mean",
                   help="rank settings by mean P&L, mean/std or worst game (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)
    return p


def main(argv: list[str] | None = None) -> int:
    """`python -m mmd.sweep SPEC.yaml ...`: the subcommand on its own."""
    parser = argparse.ArgumentParser(prog="mmd")
    add_sweep_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sweep", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
