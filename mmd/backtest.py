"""`mmd backtest`: replay tapes and scenario seeds through the real actors, one run at a
time in the deterministic runtime, and compare what each run earned.

Runs: every tape (files, folders, globs; trade CSVs and ticker JSONL) under each chosen
fill model (simex/_tape.py: pessimistic, the floor and default; calibrated; optimistic, the
ceiling), and every scenario x seed (fills from the simulated exchange's own matching
against its synthetic traders: fill model "simulator"). Config comes from the defaults,
`--config FILE`, `--profile NAME` (a named strategy, config/profiles.yaml) and `--set
key.path=value`, validated as `mmd start` validates it.

Out folder (`--out`, default var/backtests/<name>): `backtest.sqlite` (table
`backtest_runs`, mmd/backtest_store.py) and `runs/<run>/` per run: the replay database, the
daemon's log, and its fills, realizations and triggers as CSV. A run is keyed by the tape's
bytes or the scenario, the seed, the config hash and the fill model; a repeated command
reuses the runs already finished. Metrics: mmd/backtest_metrics.py.

Bad input (a file that is not a tape, an unknown scenario or config key, an empty
selection) is one line on stderr and exit status 1, before anything is written.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import logging
import re
import shutil
import sqlite3
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:  # the command line starts fast: the replay machinery loads when a backtest runs
    from config import Config
    from mmd.backtest_inputs import TapeInput
    from mmd.backtest_metrics import RunMetrics
    from mmd.backtest_store import RunRecord
    from simex._scenario import Scenario
    from simex._tape import FillModel

__all__ = ["add_backtest_parser", "cmd_backtest", "main"]

RUN_ID = "backtest"
SIMULATOR = "simulator"  # the fill model of a scenario run: the exchange's own matching
DEFAULT_NAME = "default"
_CENT = Decimal("0.01")


class _Refused(Exception):
    """Bad input: one line for stderr."""


# ----------------------------------------------------------------------------- the plan
@dataclass(frozen=True)
class PlannedRun:
    source_kind: str  # tape | scenario
    source: str  # the tape's path as given, or the scenario's name
    label: str  # market ticker or scenario name
    source_key: str  # what was replayed: tape bytes, or scenario content and duration
    config_hash: str
    tape: TapeInput | None = None
    scenario: Scenario | None = None
    seed: int | None = None
    duration_s: float | None = None
    fill_model: FillModel | None = None  # None for a scenario: the simulator's own matching

    @property
    def fill_label(self) -> str:
        return SIMULATOR if self.fill_model is None else self.fill_model.label

    @property
    def run_key(self) -> str:
        seed = "-" if self.seed is None else str(self.seed)
        return f"{self.source_key}|seed={seed}|config={self.config_hash}|fill={self.fill_label}"

    @property
    def slug(self) -> str:
        """The run's folder name: readable, and unique through the key's hash."""
        seed = "" if self.seed is None else f"-seed{self.seed}"
        digest = hashlib.sha256(self.run_key.encode()).hexdigest()[:8]
        return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{self.label}{seed}-{self.fill_label}").strip("-") + f"-{digest}"


@dataclass(frozen=True)
class Plan:
    runs: tuple[PlannedRun, ...]
    config: Config
    config_json: str
    results: dict[str, str]
    out_dir: Path


def _fill_models(names: list[str] | None, queue_share: Decimal) -> list[FillModel]:
    from simex._tape import FILL_MODEL_NAMES, fill_model_named

    chosen: list[str] = []
    for raw in names or ["pessimistic"]:
        for name in (n.strip() for n in raw.split(",")):
            chosen.extend(FILL_MODEL_NAMES if name == "all" else [name])
    try:
        return [fill_model_named(n, queue_share) for n in dict.fromkeys(chosen)]
    except ValueError as exc:
        raise _Refused(f"--fill-model: {exc}") from None


def _queue_share(raw: str) -> Decimal:
    try:
        share = Decimal(raw)
    except ArithmeticError:
        share = None
    if share is None or not share.is_finite() or not 0 <= share <= 1:
        raise _Refused(f"--queue-share {raw!r}: a share of the queue ahead, within 0..1")
    return share


def _scenario_key(scenario: Scenario, duration_s: float) -> str:
    content = repr(dataclasses.replace(scenario, source=""))  # where the file lies is no part of it
    return f"scenario:{scenario.name}:{hashlib.sha256(content.encode()).hexdigest()[:16]}:duration={duration_s:g}"


def build_plan(args: argparse.Namespace) -> Plan:
    """Everything the runs need, validated; writes nothing. Raises _Refused."""
    from config import ConfigError, load_config
    from mmd.app import config_to_json
    from mmd.backtest_inputs import BacktestInputError, parse_overrides, parse_results, parse_seeds, read_tape_input, \
        select_tapes
    from simex._scenario import ScenarioError, load_scenario

    try:
        results = parse_results(args.result or [], args.results)
        profile = getattr(args, "profile", None)  # the same as a first --set maker.profile=NAME
        overrides = parse_overrides([*([f"maker.profile={profile}"] if profile else []), *(args.set or [])])
        try:
            config = load_config(args.config, overrides=overrides or None)
        except ConfigError as exc:
            raise _Refused("config: " + "; ".join(exc.errors)) from None
        if not args.tapes and not args.scenario:
            raise _Refused("nothing to run: give tape files, folders or globs, or --scenario NAME")
        if args.seeds is not None and not args.scenario:
            raise _Refused("--seeds needs --scenario")
        if args.duration is not None and (not args.scenario or args.duration <= 0):
            raise _Refused("--duration needs --scenario and a number of seconds > 0")
        tapes = [read_tape_input(path) for path in select_tapes(args.tapes)] if args.tapes else []
        seeds = parse_seeds(args.seeds) if args.seeds is not None else None
        scenarios = []
        for name in args.scenario or []:
            try:
                scenarios.append(load_scenario(name))
            except ScenarioError as exc:
                raise _Refused(f"scenario {exc}") from None
    except BacktestInputError as exc:
        raise _Refused(str(exc)) from None
    models = _fill_models(args.fill_model, _queue_share(args.queue_share))
    config_json = config_to_json(config)
    config_hash = hashlib.sha256(config_json.encode()).hexdigest()[:12]
    runs = []
    for tape in tapes:
        for model in models:
            runs.append(PlannedRun("tape", str(tape.path), tape.ticker, f"tape:{tape.digest[:16]}", config_hash,
                                   tape=tape, fill_model=model))
    for scenario in scenarios:
        duration = float(args.duration if args.duration is not None else scenario.duration_s)
        for seed in seeds if seeds is not None else (scenario.seed,):
            runs.append(PlannedRun("scenario", scenario.name, scenario.name, _scenario_key(scenario, duration),
                                   config_hash, scenario=scenario, seed=seed, duration_s=duration))
    unique = {run.run_key: run for run in runs}
    out_dir = Path(args.out) if args.out else Path("var") / "backtests" / args.name
    if out_dir.exists() and not out_dir.is_dir():
        raise _Refused(f"--out {out_dir} is a file, not a folder")
    return Plan(tuple(unique.values()), config, config_json, results, out_dir)


# ----------------------------------------------------------------------------- one run
@contextlib.contextmanager
def _daemon_log_to(path: Path) -> Iterator[None]:
    """The daemon's log lines go to the run's file, not between the progress bar's lines."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.handlers = [handler]
    root.setLevel(min(saved_level or logging.INFO, logging.INFO))
    try:
        yield
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)
        handler.close()


def _market_facts_of_tape(tape: TapeInput) -> dict:
    from mmd.backtest_inputs import result_from_final_prints
    from mmd.backtest_metrics import MarketFacts

    result = result_from_final_prints(tape.final_prices_cents)
    return {tape.ticker: MarketFacts(tape.volume, result, "tape" if result else None)}


def _market_facts_of_scenario(exchange: Any, scenario: Scenario) -> dict:
    """Contracts each market traded in the run; its result from the simulator when it was
    determined in the run, else from the scenario's closing regime, if it has one."""
    from mmd.backtest_metrics import MarketFacts

    facts = {}
    for market in scenario.markets:
        state = exchange.markets.get(market.ticker)
        volume = state.traded_volume if state is not None else Decimal(0)
        closing = market.regimes[-1].outcome if market.regimes else None
        if state is not None and state.result:
            facts[market.ticker] = MarketFacts(volume, state.result, SIMULATOR)
        elif closing:
            facts[market.ticker] = MarketFacts(volume, closing, "scenario")
        else:
            facts[market.ticker] = MarketFacts(volume)
    return facts


def _as_one_file(db_path: Path) -> None:
    """Fold the write-ahead log into the database: a finished run is one self-contained file."""
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=DELETE")


def execute_run(run: PlannedRun, plan: Plan, runs_dir: Path) -> RunRecord:
    """Replay one run into a scratch folder, export its CSVs, then move the folder into
    place; returns its RunRecord (not yet stored)."""
    from actors.analytics._export import export_run_csvs
    from mmd.backtest_store import RunRecord
    from mmd.replay import ReplayHarness

    final_dir = runs_dir / run.slug
    work_dir = runs_dir / f".partial-{run.slug}"
    shutil.rmtree(work_dir, ignore_errors=True)  # an interrupted attempt
    work_dir.mkdir(parents=True)
    try:
        db = work_dir / "replay.sqlite"
        started = time.perf_counter()
        with _daemon_log_to(work_dir / "daemon.log"):
            if run.tape is not None:
                harness = ReplayHarness(plan.config, run.tape.path, db, run_id=RUN_ID, runtime="deterministic",
                                        fill_model=run.fill_model)
            else:
                harness = ReplayHarness(plan.config, db_path=db, scenario=run.scenario, seed=run.seed,
                                        duration_s=run.duration_s, run_id=RUN_ID, runtime="deterministic")
            summary = harness.run()
        wall_s = time.perf_counter() - started
        if run.tape is not None:
            markets, book_updates = _market_facts_of_tape(run.tape), summary.tape_events
        else:
            markets, book_updates = _market_facts_of_scenario(harness.rig.raw_exchange, run.scenario), \
                summary.scenario_events
        _as_one_file(db)
        export_run_csvs(db, work_dir, run_id=RUN_ID)
        shutil.rmtree(final_dir, ignore_errors=True)  # finished once but never recorded
        work_dir.rename(final_dir)
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise
    return RunRecord(
        run_key=run.run_key, source_kind=run.source_kind, source=run.source, label=run.label, seed=run.seed,
        duration_s=run.duration_s, fill_model=run.fill_label, config_hash=run.config_hash,
        run_dir=str(final_dir.relative_to(plan.out_dir)), wall_s=round(wall_s, 3), book_updates=book_updates,
        markets=markets, config_json=plan.config_json,
    )


# ----------------------------------------------------------------------------- the table
def dollars(value: Decimal | None) -> str:
    """Exact: cents when the amount is whole cents, every digit otherwise."""
    if value is None:
        return "?"
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    text = f"{magnitude.quantize(_CENT)}" if magnitude == magnitude.quantize(_CENT) else f"{magnitude.normalize():f}"
    return f"{sign}${text}"


def _count(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral_value() else str(value)


def _percent(value: Decimal | None) -> str:
    return "-" if value is None else f"{value * 100:.3f}%"


def _ratio(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:.3f}"


@dataclass(frozen=True)
class TableRow:
    name: str
    fill_model: str
    metrics: RunMetrics
    wall_s: float
    reused: bool


COLUMNS = ("run", "fill model", "result", "P&L settled", "P&L marked", "realized", "fees", "fills", "contracts",
           "vol share", "max inv", "max DD", "sessions", "writes/upd", "wall s")


def _cells(row: TableRow) -> list[str]:
    m = row.metrics
    return [row.name, row.fill_model, m.settled_as, dollars(m.pnl_settled), dollars(m.pnl_marked), dollars(m.realized),
            dollars(m.fees), str(m.fills), _count(m.contracts), _percent(m.volume_share), _count(m.max_inventory),
            dollars(m.max_drawdown), str(m.sessions), _ratio(m.writes_per_update),
            f"{row.wall_s:.1f}" + ("*" if row.reused else "")]


def _total_cells(fill_model: str, rows: list[TableRow]) -> list[str]:
    ms = [r.metrics for r in rows]
    settled = [m.pnl_settled for m in ms]
    contracts = sum((m.contracts for m in ms), Decimal(0))
    volume = sum((m.market_volume for m in ms), Decimal(0))
    writes = sum(m.writes for m in ms)
    updates = sum(m.book_updates for m in ms)
    return [f"total, {len(rows)} run{'' if len(rows) == 1 else 's'}", fill_model, "",
            "?" if None in settled else dollars(sum(settled, Decimal(0))),
            dollars(sum((m.pnl_marked for m in ms), Decimal(0))), dollars(sum((m.realized for m in ms), Decimal(0))),
            dollars(sum((m.fees for m in ms), Decimal(0))), str(sum(m.fills for m in ms)), _count(contracts),
            _percent(contracts / volume if volume else None), _count(max(m.max_inventory for m in ms)),
            dollars(max(m.max_drawdown for m in ms)), str(sum(m.sessions for m in ms)),
            _ratio(Decimal(writes) / Decimal(updates) if updates else None), f"{sum(r.wall_s for r in rows):.1f}"]


def format_table(rows: list[TableRow]) -> str:
    """One line per run, then a total per fill model; then each run's session end reasons."""
    lines = [_cells(r) for r in rows]
    models = list(dict.fromkeys(r.fill_model for r in rows))
    totals = [_total_cells(model, [r for r in rows if r.fill_model == model]) for model in models]
    widths = [max(len(c) for c in column) for column in zip(COLUMNS, *lines, *totals)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [line(list(COLUMNS)), rule, *(line(c) for c in lines), rule, *(line(c) for c in totals), ""]
    out.append("session end reasons:")
    for r in rows:
        reasons = ", ".join(f"{kind} x{n}" for kind, n in r.metrics.end_reasons.items()) or "no sessions"
        out.append(f"  {r.name} [{r.fill_model}]: {reasons}")
    return "\n".join(out)


NOTES = """\
P&L settled: after fees and settlement ($1 a YES contract if the market settled YES); result: how each market still
held at the end settled (a tape's last prints >= 95c: yes, <= 5c: no; scenarios: the simulator; --result/--results
override), "flat" when nothing was held, "?" unknown. P&L marked: at each market's last print. realized: FIFO round
trips less all fees. vol share: our contracts / contracts traded in the markets made. max inv: largest |position|.
max DD: largest fall of equity (fills and marks) from its peak. writes/upd: order writes the exchange saw (orders rows
accepted, amended, cancelled, exchange rejections) per book update (tape rows; scenario exchange events).
wall s: * = finished by an earlier command, reused."""


# ----------------------------------------------------------------------------- the command
def cmd_backtest(args: argparse.Namespace) -> int:
    try:
        plan = build_plan(args)
    except _Refused as exc:
        print(f"mmd: backtest: {exc}", file=sys.stderr)
        return 1
    from tqdm import tqdm

    from mmd.backtest_store import ResultsStore, write_csv

    runs_dir = plan.out_dir / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    store = ResultsStore(plan.out_dir / "backtest.sqlite")
    try:
        records, to_do = {}, []
        for run in plan.runs:
            record = store.finished(run.run_key)
            if record is not None and (plan.out_dir / record.run_dir / "replay.sqlite").is_file():
                records[run.run_key] = record
            else:
                to_do.append(run)
        if records:
            print(f"{len(records)} of {len(plan.runs)} runs finished before, reused", file=sys.stderr)
        reused = set(records)
        with tqdm(total=len(to_do), desc="backtest", unit="run", file=sys.stderr, disable=args.no_progress or not to_do,
                  dynamic_ncols=True) as bar:
            for run in to_do:
                bar.set_postfix_str(f"{run.label}{'' if run.seed is None else f' seed {run.seed}'} {run.fill_label}")
                record = execute_run(run, plan, runs_dir)
                store.record(record, _metrics(record, plan))
                records[run.run_key] = record
                bar.update(1)
        table = []
        for run in plan.runs:
            record = records[run.run_key]
            metrics = _metrics(record, plan)
            store.record(record, metrics)  # a --result given now changes the settled P&L
            name = run.label if run.seed is None else f"{run.label} seed {run.seed}"
            table.append(TableRow(name, run.fill_label, metrics, record.wall_s, run.run_key in reused))
        print(format_table(table))
        print()
        print(NOTES)
        print(f"\nresults: {store.path} (table backtest_runs); runs: {runs_dir}/")
        if args.csv:
            written = write_csv(store.rows([run.run_key for run in plan.runs]), Path(args.csv))
            print(f"csv: {args.csv} ({written} runs)")
    finally:
        store.close()
    return 0


def _metrics(record: RunRecord, plan: Plan) -> RunMetrics:
    """From the run's database, with the results known now (a --result may be new)."""
    from mmd.backtest_metrics import read_run_rows, summarise

    rows = read_run_rows(plan.out_dir / record.run_dir / "replay.sqlite")
    return summarise(rows, record.markets, record.book_updates, plan.results)


def add_backtest_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The `backtest` subcommand on an argparse subparsers object; sets func=cmd_backtest."""
    p = subparsers.add_parser(
        "backtest", help="replay tapes and scenario seeds under fill models and compare the results",
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=NOTES,
    )
    p.add_argument("tapes", nargs="*", metavar="TAPE",
                   help="trade tape CSV, ticker JSONL, a folder of them (TRADES_*.csv, *.jsonl) or a glob")
    p.add_argument("--scenario", action="append", metavar="NAME",
                   help="scenario name (simex/scenarios/NAME.yaml) or YAML path; repeatable")
    p.add_argument("--seeds", metavar="SPEC", help="scenario seeds: 1-5, 1,2,3 or 1-3,7 (default: the scenario's own)")
    p.add_argument("--duration", type=float, metavar="S", help="scenario seconds to replay (default: the scenario's)")
    p.add_argument("--config", help="YAML config file over the defaults (config/default.yaml)")
    p.add_argument("--profile", metavar="NAME",
                   help="a named strategy (config/profiles.yaml), e.g. nhl_hybrid, nhl_hybrid_conservative, "
                        "nhl_hybrid_aggressive; the same as --set maker.profile=NAME")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="config override by dotted key, e.g. maker.model.name=glft; repeatable")
    p.add_argument("--fill-model", "--fill-models", dest="fill_model", action="append", metavar="MODEL",
                   help="pessimistic (default: the floor), calibrated, optimistic (the ceiling), or all; "
                        "repeatable or comma-separated. Tapes only: scenarios fill by the simulator's matching")
    p.add_argument("--queue-share", default="0.5", metavar="SHARE",
                   help="calibrated model: share of the displayed size ahead of our order that stays ahead "
                        "(the rest cancels first); 1 = pessimistic, 0 = front of the queue (default 0.5)")
    p.add_argument("--result", action="append", metavar="TICKER=yes|no", help="a market's settlement; repeatable")
    p.add_argument("--results", metavar="FILE", help="settlements: CSV (ticker,result) or JSON {ticker: result}")
    p.add_argument("--name", default=DEFAULT_NAME, help="the backtest's name (default: %(default)s)")
    p.add_argument("--out", help="results folder (default: var/backtests/NAME)")
    p.add_argument("--csv", metavar="FILE", help="also write the runs' results as CSV")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_backtest)
    return p


def main(argv: list[str] | None = None) -> int:
    """`python -m mmd.backtest ...`: the subcommand on its own."""
    parser = argparse.ArgumentParser(prog="mmd")
    add_backtest_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["backtest", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
