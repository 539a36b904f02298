"""Strategies side by side: the nhl_hybrid profile, Avellaneda-Stoikov, GLFT and the fixed
spread model, each backtested (`mmd backtest`'s runs, store and metrics) on the same tapes
under each fill model, then one line per strategy x fill model, summed over the tapes.

    .venv/bin/python bench/bench_strategies.py [TAPE ...] [--fill-models all] [--presets]
        [--strategies nhl_hybrid,glft] [--out var/backtests/strategies]

Tapes default to the NHL games in ../shared/data/kalshi (TRADES_KXNHL*.csv). Runs are
serial (one core) and kept in the out folder: a repeated command reuses finished runs.
`--presets` adds the profile's conservative and aggressive variants. Prints the per-run
table, then the comparison, and the wall time. CPU-heavy: run it alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mmd import backtest  # noqa: E402
from mmd.backtest import TableRow, dollars, format_table  # noqa: E402
from mmd.backtest_metrics import RunMetrics  # noqa: E402
from mmd.backtest_store import ResultsStore  # noqa: E402

DEFAULT_TAPES = str(ROOT.parent / "shared" / "data" / "kalshi" / "TRADES_KXNHL*.csv")
# strategy -> the `--set` overrides that select it over the shipped defaults
STRATEGIES = {
    "nhl_hybrid": ("maker.profile=nhl_hybrid",),
    "avellaneda_stoikov": ("maker.model.name=avellaneda_stoikov",),
    "glft": ("maker.model.name=glft",),
    "fixed_spread": ("maker.model.name=fixed_spread",),
}
PRESETS = {
    "nhl_hybrid_conservative": ("maker.profile=nhl_hybrid_conservative",),
    "nhl_hybrid_aggressive": ("maker.profile=nhl_hybrid_aggressive",),
}


@dataclass(frozen=True)
class StrategyLine:
    strategy: str
    fill_model: str
    runs: int
    pnl: Decimal  # after fees and settlement (marked at the last print where the result is unknown)
    unknown_results: int
    fills: int
    contracts: Decimal
    max_inventory: Decimal
    max_drawdown: Decimal
    sessions: int
    wall_s: float


def summarise(strategy: str, fill_model: str, games: list[tuple[RunMetrics, float]]) -> StrategyLine:
    metrics = [m for m, _ in games]
    return StrategyLine(
        strategy=strategy, fill_model=fill_model, runs=len(games),
        pnl=sum((m.pnl_settled if m.pnl_settled is not None else m.pnl_marked for m in metrics), Decimal(0)),
        unknown_results=sum(1 for m in metrics if m.pnl_settled is None),
        fills=sum(m.fills for m in metrics), contracts=sum((m.contracts for m in metrics), Decimal(0)),
        max_inventory=max(m.max_inventory for m in metrics), max_drawdown=max(m.max_drawdown for m in metrics),
        sessions=sum(m.sessions for m in metrics), wall_s=sum(w for _, w in games),
    )


COLUMNS = ("strategy", "fill model", "tapes", "P&L settled", "fills", "contracts", "max inv", "max DD", "sessions",
           "wall s")


def format_comparison(lines: list[StrategyLine]) -> str:
    cells = [[s.strategy, s.fill_model, str(s.runs) + ("~" if s.unknown_results else ""), dollars(s.pnl),
              str(s.fills), f"{s.contracts.normalize():f}", f"{s.max_inventory.normalize():f}",
              dollars(s.max_drawdown), str(s.sessions), f"{s.wall_s:.1f}"] for s in lines]
    widths = [max(len(c) for c in column) for column in zip(COLUMNS, *cells)]

    def line(row: list[str] | tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    return "\n".join([line(COLUMNS), "  ".join("-" * w for w in widths), *(line(r) for r in cells)])


NOTES = """\
P&L settled: summed over the tapes, after fees and settlement (tapes~: a result unknown, marked at the last print).
fills, contracts, sessions: summed; max inv (largest |position|) and max DD (largest fall of equity from its peak):
the worst tape. wall s: replay time of the runs (reused runs: the time they took when first run)."""


def _args(tapes: list[str], fill_models: list[str], assignments: tuple[str, ...], out: Path) -> argparse.Namespace:
    return argparse.Namespace(tapes=tapes, scenario=None, seeds=None, duration=None, config=None, profile=None,
                              set=list(assignments), fill_model=fill_models, queue_share="0.5", result=None,
                              results=None, name="strategies", out=str(out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tapes", nargs="*", default=[DEFAULT_TAPES], help=f"default: {DEFAULT_TAPES}")
    parser.add_argument("--fill-models", default="all", help="comma-separated, or all (default)")
    parser.add_argument("--strategies", help=f"comma-separated subset of {', '.join([*STRATEGIES, *PRESETS])}")
    parser.add_argument("--presets", action="store_true", help="add the nhl_hybrid preset variants")
    parser.add_argument("--out", default="var/backtests/strategies")
    args = parser.parse_args(argv)
    known = {**STRATEGIES, **PRESETS}
    chosen = {**STRATEGIES, **(PRESETS if args.presets else {})}
    if args.strategies:
        names = [n.strip() for n in args.strategies.split(",") if n.strip()]
        unknown = [n for n in names if n not in known]
        if unknown:
            print(f"bench_strategies: unknown strategy {unknown[0]!r}; one of {', '.join(known)}", file=sys.stderr)
            return 1
        chosen = {n: known[n] for n in names}
    out = Path(args.out)
    plans = {}
    for name, assignments in chosen.items():
        try:
            plans[name] = backtest.build_plan(_args(args.tapes, [args.fill_models], assignments, out))
        except backtest._Refused as exc:  # noqa: SLF001 - the backtest's own one-line refusal
            print(f"bench_strategies: {name}: {exc}", file=sys.stderr)
            return 1
    (out / "runs").mkdir(parents=True, exist_ok=True)
    store = ResultsStore(out / "backtest.sqlite")
    started = time.perf_counter()
    replayed = 0
    rows: list[TableRow] = []
    groups: dict[tuple[str, str], list[tuple[RunMetrics, float]]] = {}
    try:
        for name, plan in plans.items():
            for run in plan.runs:
                record = store.finished(run.run_key)
                reused = record is not None and (out / record.run_dir / "replay.sqlite").is_file()
                if not reused:
                    print(f"{name}: {run.label} {run.fill_label} ...", file=sys.stderr, flush=True)
                    record = backtest.execute_run(run, plan, out / "runs")
                    replayed += 1
                metrics = backtest._metrics(record, plan)  # noqa: SLF001 - the backtest's metrics, reused
                store.record(record, metrics)
                rows.append(TableRow(f"{name} {run.label}", run.fill_label, metrics, record.wall_s, reused))
                groups.setdefault((name, run.fill_label), []).append((metrics, record.wall_s))
    finally:
        store.close()
    wall = time.perf_counter() - started
    print(format_table(rows))
    print()
    print(format_comparison([summarise(name, fill, games) for (name, fill), games in groups.items()]))
    print()
    print(NOTES)
    print(f"\n{replayed} runs replayed, {len(rows) - replayed} reused; {wall:.1f} s wall; results: {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
