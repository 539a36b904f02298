"""`mmd report RUN|DB`: one self-contained HTML report of a run, and a summary on the terminal.

RUN|DB is a run database (any mmd run: paper, live, replay, backtest), a backtest run's
folder (holding replay.sqlite), or a backtest folder / its backtest.sqlite: then one
section per run and a summary table first. The computations and their definitions are in
mmd/report_metrics.py, the reading in mmd/report_data.py, the page in mmd/report_html.py
and the figures in mmd/report_plots.py.

Bad input (a missing file, a file that is not an mmd database, an unknown run id) is one
line on stderr and exit status 1. The page is written to a temporary file beside the
target and renamed into place, so a failure never leaves half a report.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from mmd.report_data import (
    RUN_DB_IN_BACKTEST,
    ReportError,
    RunRecords,
    Source,
    load_run,
    open_database,
    resolve_source,
)
from mmd.report_format import cents, count, duration, money, when
from mmd.report_html import BacktestLine, render_page
from mmd.report_metrics import RunReport, build_report, parse_result

__all__ = ["add_report_parser", "cmd_report", "write_report", "summary_lines", "write_atomically"]


def add_report_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The `report` subcommand on `mmd`'s subparsers (sets `func`)."""
    p = subparsers.add_parser(
        "report", help="HTML report of a run database or a backtest folder (P&L split, markouts, sessions)"
    )
    p.add_argument("source", metavar="RUN|DB",
                   help="a run database, a backtest run folder (with replay.sqlite), or a backtest folder")
    p.add_argument("--run", dest="run_id", help="run id in the database (default: its newest run)")
    p.add_argument("--out", help="HTML file to write (default: DB's name with .report.html beside it; "
                                 "report.html in a backtest folder)")
    p.add_argument("--result", action="append", default=[], metavar="TICKER=yes|no",
                   help="a market's result: its end position is paid out at $1 / $0 (repeatable)")
    p.set_defaults(func=cmd_report)
    return p


def cmd_report(args: argparse.Namespace) -> int:
    try:
        results = dict(parse_result(r) for r in args.result)
    except ValueError as exc:
        return _fail(f"--result: {exc}")
    try:
        write_report(Path(args.source), run_id=args.run_id, out=None if args.out is None else Path(args.out),
                     results=results, terminal=sys.stdout)
    except ReportError as exc:
        return _fail(str(exc))
    return 0


def _fail(message: str) -> int:
    print(f"mmd: report: {message}", file=sys.stderr)
    return 1


# ----------------------------------------------------------------------------- composition
def write_report(source_path: Path, *, run_id: str | None = None, out: Path | None = None,
                 results: dict[str, str] | None = None, terminal: TextIO | None = None) -> Path:
    """Read, compute, render and write the report; print the summary to `terminal`.
    Returns the page's path; ReportError on bad input (nothing written then)."""
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    if source_path.is_dir() and (source_path / RUN_DB_IN_BACKTEST).is_file():
        source_path = source_path / RUN_DB_IN_BACKTEST  # one backtest run's folder
    source = resolve_source(source_path)
    from mmd.report_plots import run_figures  # matplotlib only once the input is known to be good

    if source.kind == "run":
        report = _load_report(source.path, run_id, results or {})
        target = out or source.path.with_name(source.path.stem + ".report.html")
        run = report.records.run
        page = render_page(
            f"mmd report: run {run.run_id}", f"{source.path} · generated from the database alone",
            [(report, run_figures(report), f"Run {run.run_id} ({run.mode})")],
        )
        lines = summary_lines(report)
    else:
        if run_id is not None:
            raise ReportError("--run picks a run of one database; a backtest folder is reported whole")
        lines_of_runs = _load_backtest(source, results or {})
        target = out or source.path / "report.html"
        page = render_page(
            f"mmd report: backtest {source.path.name}", f"{source.path} · {len(lines_of_runs)} runs",
            [(line.report, run_figures(line.report), _backtest_title(line)) for line in lines_of_runs],
            backtest=lines_of_runs,
        )
        lines = backtest_summary_lines(lines_of_runs)
    write_atomically(target, page)
    if terminal is not None:
        size_kb = (target.stat().st_size + 1023) // 1024
        for line in lines + [f"  wrote {target} ({size_kb} KB)"]:
            print(line, file=terminal)
    return target


def _load_report(database: Path, run_id: str | None, results: dict[str, str]) -> RunReport:
    conn = open_database(database)
    try:
        records: RunRecords = load_run(conn, database, run_id)
    finally:
        conn.close()
    return build_report(records, results)


def _load_backtest(source: Source, results: dict[str, str]) -> list[BacktestLine]:
    lines = []
    for index, entry in enumerate(source.entries, start=1):
        try:
            report = _load_report(entry.database, None, {**entry.results, **results})
        except ReportError as exc:
            raise ReportError(f"backtest run {entry.label}: {exc}") from None
        lines.append(BacktestLine(f"run-{index}", entry.label, entry.fill_model, entry.seed, report))
    return lines


def _backtest_title(line: BacktestLine) -> str:
    seed = "" if line.seed is None else f", seed {line.seed}"
    model = f", fill model {line.fill_model}" if line.fill_model else ""
    return f"{line.label}{model}{seed}"


def write_atomically(target: Path, text: str) -> None:
    """Write `text` to a temporary file beside `target`, then rename it into place."""
    folder = target.parent
    if not folder.is_dir():
        raise ReportError(f"cannot write {target}: folder {folder} does not exist")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ReportError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a report is for reading
        os.replace(temporary, target)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ReportError(f"cannot write {target}: {exc.strerror or exc}") from None
        raise


# ----------------------------------------------------------------------------- terminal
def summary_lines(report: RunReport) -> list[str]:
    records = report.records
    run = records.run
    split = report.split
    fills = records.fills
    makers = sum(1 for f in fills if not f.is_taker)
    lines = [
        f"mmd report: run {run.run_id} ({run.mode}), {when(run.started_ns)} to {when(records.end_ns)} "
        f"({duration(records.end_ns - run.started_ns)})",
        f"  markets     {', '.join(report.tickers) or 'none'}",
        f"  fills       {len(fills)} ({count(report.contracts)} contracts; {makers} maker, "
        f"{len(fills) - makers} taker), "
        f"{_plural(len(records.sessions), 'session')}",
    ]
    if fills:
        lines.append(
            f"  P&L         {money(split.total)} after fees = spread capture {money(split.spread)} + inventory "
            f"{money(split.inventory)} - fees {money(split.fees)}; max drawdown {money(report.drawdown)}"
        )
        marks = ", ".join(
            f"{s.horizon.replace(' (spread)', '')} {cents(s.per_contract)}" for s in report.markout_summary
        )
        lines.append(f"  markouts    per contract: {marks}")
        lines.append(f"  settlement  {_settlement_text(report)}")
    else:
        lines.append("  P&L         no fills in this run")
    if report.end_reasons:
        reasons = "; ".join(f"{reason}: {n}" for reason, n in report.end_reasons[:4])
        more = f" (+{len(report.end_reasons) - 4} more)" if len(report.end_reasons) > 4 else ""
        lines.append(f"  sessions    {reasons}{more}")
    for note in report.notes:
        lines.append(f"  note        {note}")
    return lines


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _settlement_text(report: RunReport) -> str:
    parts = []
    for s in report.settlements:
        if s.end_position == 0:
            parts.append(f"{s.ticker} flat at the end")
        elif s.result is None:
            parts.append(f"{s.ticker} holds {count(s.end_position)}, result unknown "
                         f"(if YES {money(s.if_yes)}, if NO {money(s.if_no)})")
        else:
            parts.append(f"{s.ticker} settled {s.result.upper()}: {money(s.settled_pnl)}")
    return "; ".join(parts)


def backtest_summary_lines(lines: list[BacktestLine]) -> list[str]:
    out = [f"mmd report: backtest, {len(lines)} runs"]
    width = max(len(line.label) for line in lines)
    for line in lines:
        r = line.report
        seed = "" if line.seed is None else f" seed {line.seed}"
        if r.settled_total is None:
            settled = ", a position held at the end: result unknown"
        elif r.settled_total != r.split.total:
            settled = f", settled {money(r.settled_total)}"
        else:
            settled = ""
        out.append(
            f"  {line.label:<{width}} {line.fill_model or ''}{seed}: {len(r.records.fills)} fills, "
            f"P&L {money(r.split.total)} (spread {money(r.split.spread)}, inventory {money(r.split.inventory)}, "
            f"fees {money(r.split.fees)}){settled}"
        )
    return out
