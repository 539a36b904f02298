"""A real replay's database (four_events through every actor) rendered whole, and a
backtest folder rendered as one section per run with a summary."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from decimal import Decimal

from mmd.report import write_report
from mmd.report_data import load_run, open_database
from mmd.report_metrics import build_report


def test_a_replay_renders_every_section_and_its_split_adds_up(four_events_db, tmp_path):
    terminal = io.StringIO()

    page_path = write_report(four_events_db, out=tmp_path / "report.html", terminal=terminal)

    page = page_path.read_text()
    for heading in ("P&amp;L split", "Equity", "Inventory", "Quotes and fills", "Fill markouts", "Settlement",
                    "Sessions", "Fills", "Risk"):
        assert f"<h3>{heading}</h3>" in page
    assert page.count("data:image/png;base64,") >= 4
    conn = open_database(four_events_db)
    try:
        report = build_report(load_run(conn, four_events_db, None))
    finally:
        conn.close()
    assert len(report.records.fills) > 10
    split = report.split
    assert split.spread + split.inventory - split.fees == split.total
    assert sum((s.total for s in report.split_by_ticker.values()), Decimal(0)) == split.total
    assert report.equity[-1].equity == split.total
    lines = terminal.getvalue().splitlines()
    assert lines[0].startswith("mmd report: run four-events (backtest), ")
    assert any(line.startswith("  markouts    per contract: at fill ") for line in lines)


def test_a_backtest_folder_gets_a_summary_and_a_section_per_run(four_events_db, tmp_path):
    folder = tmp_path / "bt"
    for name in ("a", "b"):
        (folder / "runs" / name).mkdir(parents=True)
        shutil.copy(four_events_db, folder / "runs" / name / "replay.sqlite")
    results = sqlite3.connect(folder / "backtest.sqlite")
    # only the columns the report reads: it must not depend on the backtest's full schema
    results.execute("CREATE TABLE backtest_runs (label TEXT, fill_model TEXT, seed INTEGER, run_dir TEXT, "
                    "markets_json TEXT)")
    results.executemany("INSERT INTO backtest_runs VALUES (?, ?, ?, ?, ?)", [
        ("four_events", "simulator", 15, "runs/a", json.dumps({"KXFED-26DEC-T4.00": {"result": "no"}})),
        ("four_events", "simulator", 16, "runs/b", "{}"),
    ])
    results.commit()
    results.close()
    terminal = io.StringIO()

    page_path = write_report(folder, terminal=terminal)

    assert page_path == folder / "report.html"
    page = page_path.read_text()
    assert "<h2 id='summary'>Summary</h2>" in page
    assert '<section id="run-1">' in page and '<section id="run-2">' in page
    assert "four_events, fill model simulator, seed 16" in page
    lines = terminal.getvalue().splitlines()
    assert lines[0] == "mmd report: backtest, 2 runs"
    assert lines[1].startswith("  four_events simulator seed 15: ")


def test_a_backtest_run_folder_is_reported_as_its_database(four_events_db, tmp_path):
    run_folder = tmp_path / "runs" / "one"
    run_folder.mkdir(parents=True)
    shutil.copy(four_events_db, run_folder / "replay.sqlite")

    page_path = write_report(run_folder, out=tmp_path / "one.html")

    assert "Run four-events (backtest)" in page_path.read_text()
