"""`mmd sweep` end to end (mmd/sweep.py): settings x scenario seeds run once each as
backtest runs on a process pool or on Ray, ranked per setting; a repeated or interrupted
sweep resumes without redoing finished runs; a bad spec is one line, nothing written."""

from __future__ import annotations

import argparse
import csv
import sqlite3

import pytest

import mmd.backtest as backtest
from mmd.sweep import INTERRUPTED, add_sweep_parser

SMALL_SWEEP = """\
name: small
grid: {maker.gamma: [0.1, 1.0]}
scenarios: [mr_jump]
seeds: 1-2
duration: 20
"""


def run_sweep(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mmd")
    add_sweep_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sweep", "--no-progress", *argv])
    return args.func(args)


def stored_runs(out) -> list[tuple]:
    with sqlite3.connect(out / "backtest.sqlite") as db:
        return sorted(db.execute("SELECT config_hash, seed FROM backtest_runs"))


@pytest.fixture
def small_spec(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_SWEEP)
    return path


def test_a_small_sweep_runs_every_setting_on_every_seed_and_ranks_the_settings(tmp_path, small_spec, capsys):
    out = tmp_path / "sweep"
    assert run_sweep([str(small_spec), "--workers", "2", "--out", str(out)]) == 0
    runs = stored_runs(out)
    assert len(runs) == 4 and len({h for h, _ in runs}) == 2 and sorted({s for _, s in runs}) == [1, 2]
    with (out / "ranking.csv").open() as handle:
        ranking = list(csv.DictReader(handle))
    assert sorted(r["setting"] for r in ranking) == ["maker.gamma=0.1", "maker.gamma=1.0"]
    assert all(r["games"] == "2" and r["fill_model"] == "simulator" for r in ranking)
    assert [r["rank"] for r in ranking] == ["1", "2"]
    assert float(ranking[0]["mean_pnl"]) >= float(ranking[1]["mean_pnl"])
    with (out / "runs.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 4
    printed = capsys.readouterr().out
    assert "maker.gamma=0.1" in printed and "mean/std" in printed


def test_a_repeated_sweep_runs_nothing(tmp_path, small_spec, monkeypatch, capsys):
    out = tmp_path / "sweep"
    assert run_sweep([str(small_spec), "--workers", "1", "--out", str(out)]) == 0
    first = (out / "ranking.csv").read_text()

    def must_not_run(*args, **kwargs):
        raise AssertionError("a finished run was run again")

    monkeypatch.setattr(backtest, "execute_run", must_not_run)
    capsys.readouterr()
    assert run_sweep([str(small_spec), "--workers", "1", "--out", str(out)]) == 0
    assert "4 finished before, 0 to run" in capsys.readouterr().err
    assert (out / "ranking.csv").read_text() == first


def test_an_interrupted_sweep_keeps_the_finished_runs_and_the_next_one_resumes(tmp_path, small_spec, monkeypatch,
                                                                              capsys):
    out = tmp_path / "sweep"
    real_execute_run = backtest.execute_run
    calls = []

    def interrupted_on_the_third_run(run, plan, runs_dir):
        calls.append(run.run_key)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C in the middle of a run
        return real_execute_run(run, plan, runs_dir)

    monkeypatch.setattr(backtest, "execute_run", interrupted_on_the_third_run)
    assert run_sweep([str(small_spec), "--workers", "1", "--out", str(out)]) == INTERRUPTED
    assert len(stored_runs(out)) == 2
    assert "2 of 4 runs finished and stored" in capsys.readouterr().err
    assert not list((out / "runs").glob(".partial-*"))

    monkeypatch.setattr(backtest, "execute_run", real_execute_run)
    assert run_sweep([str(small_spec), "--workers", "1", "--out", str(out)]) == 0
    assert "2 finished before, 2 to run" in capsys.readouterr().err
    assert len(stored_runs(out)) == 4


@pytest.mark.parametrize(("spec", "message"), [
    ("grid: {maker.gamme: [0.1, 1.0]}\nscenarios: [mr_jump]\n",
     "setting maker.gamme=0.1: config: maker.gamme: unknown key"),
    ("grid: {}\nscenarios: [mr_jump]\n", "grid: give at least one config key"),
    ("grid: {maker.gamma: []}\nscenarios: [mr_jump]\n", "grid: maker.gamma: give a non-empty list of values"),
    ("grid: {maker.gamma: [0.1]}\n", "nothing to run: give tape files, folders or globs, or --scenario NAME"),
    ("grid: {maker.gamma: [0.1]}\nscenarios: [no_such_scenario]\n", "scenario no_such_scenario: no such scenario"),
])
def test_a_bad_spec_is_one_line_and_exit_1_with_nothing_written(tmp_path, capsys, spec, message):
    path = tmp_path / "bad.yaml"
    path.write_text(spec)
    out = tmp_path / "sweep"
    assert run_sweep([str(path), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("mmd: sweep: ")
    assert message in err[0]
    assert not out.exists()


def test_a_missing_spec_file_is_one_line(tmp_path, capsys):
    assert run_sweep([str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "sweep")]) == 1
    assert capsys.readouterr().err.startswith("mmd: sweep: ")
