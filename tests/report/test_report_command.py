"""`mmd report`: the page and the terminal summary, and one clear line for bad input."""

from __future__ import annotations

import argparse
import sqlite3

import pytest
from _hand_built import HandBuiltRun, two_fill_run

import mmd.report as report_module
from mmd.report import add_report_parser


def mmd_report(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="mmd")
    add_report_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["report", *argv])
    return args.func(args)


def test_writes_one_self_contained_page_and_a_terminal_summary(tmp_path, capsys):
    db = two_fill_run(tmp_path / "run.sqlite")

    assert mmd_report(str(db), "--out", str(tmp_path / "out.html")) == 0

    page = (tmp_path / "out.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert page.count('src="data:image/png;base64,') == 4  # equity, inventory, quotes, markouts
    assert "$0.24 + $0.38 − $0.03 = $0.59 (exact)" in page
    out = capsys.readouterr().out
    assert "P&L         $0.59 after fees = spread capture $0.24 + inventory $0.38 - fees $0.03" in out
    assert "if YES $3.29, if NO -$2.71" in out
    assert f"wrote {tmp_path / 'out.html'}" in out


def test_the_default_page_sits_beside_the_database(tmp_path):
    db = two_fill_run(tmp_path / "run.sqlite")

    assert mmd_report(str(db)) == 0

    assert (tmp_path / "run.report.html").is_file()


def test_a_result_on_the_command_line_settles_the_market(tmp_path, capsys):
    db = two_fill_run(tmp_path / "run.sqlite")

    assert mmd_report(str(db), "--result", "KXTEST-26APR30-T50=no") == 0

    assert "settled NO: -$2.71" in capsys.readouterr().out


def test_a_run_without_fills_still_renders_and_says_so(tmp_path, capsys):
    run = HandBuiltRun(tmp_path / "run.sqlite")
    run.session("s1", 0, 100, "ttl", "0").trade(5, "0.50")
    run.order(2, "accepted", "o1", side="bid", price="0.45", remaining="5")
    db = run.done()

    assert mmd_report(str(db), "--out", str(tmp_path / "out.html")) == 0

    page = (tmp_path / "out.html").read_text()
    assert "No fills in this run" in page
    assert page.count("data:image/png;base64,") == 1  # our quotes over the prints; nothing else to draw
    assert "no fills in this run" in capsys.readouterr().out


def test_picks_a_run_by_id_and_names_the_others(tmp_path, capsys):
    db = two_fill_run(tmp_path / "run.sqlite")
    HandBuiltRun(db, run_id="later").done()  # the same database, a second (empty) run

    assert mmd_report(str(db), "--run", "hand") == 0

    out = capsys.readouterr().out
    assert "run hand" in out and "other runs too (later)" in out


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda p: p / "missing.sqlite", "no such database: "),
        (lambda p: (p / "notes.txt").write_text("not a database at all " * 100) and p / "notes.txt",
         "is not an mmd database"),
        (lambda p: _other_sqlite(p / "other.sqlite"), "is not an mmd database (missing tables: strategy_runs"),
        (lambda p: p, "is a folder without backtest.sqlite"),
    ],
    ids=["missing", "text file", "another application's database", "a plain folder"],
)
def test_bad_input_is_one_clear_line_and_exit_1(tmp_path, capsys, make, expected):
    target = make(tmp_path)

    assert mmd_report(str(target), "--out", str(tmp_path / "out.html")) == 1

    err = capsys.readouterr().err
    assert err.startswith("mmd: report: ") and expected in err and err.count("\n") == 1
    assert not (tmp_path / "out.html").exists()


def _other_sqlite(path):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()
    return path


def test_an_unknown_run_id_lists_the_runs(tmp_path, capsys):
    db = two_fill_run(tmp_path / "run.sqlite")

    assert mmd_report(str(db), "--run", "nope", "--out", str(tmp_path / "out.html")) == 1

    assert capsys.readouterr().err == f"mmd: report: no run 'nope' in {db} (runs: hand)\n"
    assert not (tmp_path / "out.html").exists()


def test_a_bad_result_is_refused(tmp_path, capsys):
    db = two_fill_run(tmp_path / "run.sqlite")

    assert mmd_report(str(db), "--result", "KXTEST=maybe") == 1

    assert "--result: a result is TICKER=yes or TICKER=no" in capsys.readouterr().err


def test_a_missing_output_folder_is_refused_before_anything_is_written(tmp_path, capsys):
    db = two_fill_run(tmp_path / "run.sqlite")

    assert mmd_report(str(db), "--out", str(tmp_path / "nowhere" / "out.html")) == 1

    assert "folder" in capsys.readouterr().err and not (tmp_path / "nowhere").exists()


def test_a_failure_while_writing_leaves_the_previous_page_and_no_temporary_file(tmp_path, monkeypatch):
    db = two_fill_run(tmp_path / "run.sqlite")
    out = tmp_path / "out.html"
    out.write_text("previous report")

    class DiskFull(OSError):
        pass

    def failing_write(*args, **kwargs):
        raise DiskFull(28, "No space left on device")

    monkeypatch.setattr(report_module.os, "fsync", failing_write)

    assert mmd_report(str(db), "--out", str(out)) == 1

    assert out.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir() if "out.html" in p.name] == ["out.html"]  # no temporary left


def test_the_database_is_only_read(tmp_path):
    db = two_fill_run(tmp_path / "run.sqlite")
    before = db.read_bytes()

    assert mmd_report(str(db), "--out", str(tmp_path / "out.html")) == 0

    assert db.read_bytes() == before
