"""`mmd backtest` end to end through its argparse subcommand (mmd/backtest.py): runs over
tapes x fill models and scenario x seeds, results stored and exported, finished runs reused,
and bad input refused in one line with nothing written."""

from __future__ import annotations

import csv
import re

import pytest

import mmd.backtest as backtest
from tests.backtest.tape_command import TICKER, run_command, stored_runs, write_swinging_tape

@pytest.fixture
def small_tape(tmp_path):
    return write_swinging_tape(tmp_path)


def test_a_tape_under_every_fill_model_is_one_stored_run_each_with_its_exports(tmp_path, small_tape, capsys):
    out = tmp_path / "bt"
    csv_path = tmp_path / "runs.csv"
    assert run_command([str(small_tape), "--fill-model", "all", "--out", str(out), "--csv", str(csv_path)]) == 0
    runs = stored_runs(out)
    assert [r["fill_model"] for r in runs] == ["pessimistic", "calibrated(0.5)", "optimistic"]
    assert {r["label"] for r in runs} == {TICKER}
    for run in runs:
        folder = out / run["run_dir"]
        assert {p.name for p in folder.iterdir()} == {"replay.sqlite", "daemon.log", "fills.csv", "realizations.csv",
                                                      "triggers.csv"}
        assert run["book_updates"] == 65
        assert run["market_volume"] == str(sum(5 + i % 7 for i in range(65)))
    printed = capsys.readouterr().out
    for model in ("pessimistic", "calibrated(0.5)", "optimistic"):
        assert re.search(rf"total, 1 run +{re.escape(model)} ", printed)
    with csv_path.open() as handle:
        exported = list(csv.DictReader(handle))
    assert [r["fill_model"] for r in exported] == ["pessimistic", "calibrated(0.5)", "optimistic"]


def test_a_repeated_command_reuses_the_finished_runs(tmp_path, small_tape, monkeypatch, capsys):
    out = tmp_path / "bt"
    assert run_command([str(small_tape), "--out", str(out)]) == 0
    first = stored_runs(out)

    def no_second_replay(*_args, **_kwargs):
        raise AssertionError("a finished run was replayed again")

    monkeypatch.setattr(backtest, "execute_run", no_second_replay)
    capsys.readouterr()
    assert run_command([str(small_tape), "--out", str(out), "--result", f"{TICKER}=no"]) == 0
    captured = capsys.readouterr()
    assert "1 of 1 runs finished before, reused" in captured.err
    again = stored_runs(out)
    assert [r["run_key"] for r in again] == [r["run_key"] for r in first]
    assert again[0]["wall_s"] == first[0]["wall_s"]


def test_a_changed_config_or_fill_model_is_a_new_run(tmp_path, small_tape):
    out = tmp_path / "bt"
    assert run_command([str(small_tape), "--out", str(out)]) == 0
    assert run_command([str(small_tape), "--out", str(out), "--set", "maker.base_size=3"]) == 0
    assert run_command([str(small_tape), "--out", str(out), "--fill-model", "calibrated", "--queue-share", "0.25"]) == 0
    runs = stored_runs(out)
    assert len(runs) == 3
    assert len({r["config_hash"] for r in runs}) == 2
    assert [r["fill_model"] for r in runs] == ["pessimistic", "pessimistic", "calibrated(0.25)"]


def test_scenario_seeds_run_once_each_with_the_simulators_fills(tmp_path, capsys):
    out = tmp_path / "bt"
    assert run_command(["--scenario", "mr_jump", "--seeds", "1-2", "--duration", "30", "--fill-model", "all",
                        "--out", str(out)]) == 0
    runs = stored_runs(out)
    assert [(r["label"], r["seed"], r["fill_model"], r["duration_s"]) for r in runs] == [
        ("mr_jump", 1, "simulator", 30.0), ("mr_jump", 2, "simulator", 30.0)]
    assert "mr_jump seed 2" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    ([], "nothing to run: give tape files, folders or globs, or --scenario NAME"),
    (["{tmp}/notes.txt"], "notes.txt is not a Kalshi trade tape (.csv) or ticker file (.jsonl)"),
    (["{tmp}/prices.csv"], "prices.csv is not a Kalshi trade tape: missing columns"),
    (["--scenario", "no_such_scenario"], "scenario no_such_scenario: no such scenario (known: "),
    (["--scenario", "mr_jump", "--set", "maker.modle.name=glft"],
     "config: maker.modle: unknown key (did you mean 'model'?)"),
    (["{tmp}/empty"], "empty holds no trade tapes (TRADES_*.csv) or ticker files (*.jsonl)"),
    (["{tmp}/TRADES_*.csv"], "no file matches"),
    (["--scenario", "mr_jump", "--seeds", "3-1"], "--seeds '3-1': write seeds as 1-5, 1,2,3 or 1-3,7"),
    (["--scenario", "mr_jump", "--fill-model", "generous"], "--fill-model: unknown fill model 'generous'"),
    (["--scenario", "mr_jump", "--queue-share", "2"], "--queue-share '2': a share of the queue ahead, within 0..1"),
])
def test_bad_input_is_one_line_and_exit_1_with_nothing_written(tmp_path, capsys, argv, message):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "prices.csv").write_text("a,b\n1,2\n")
    (tmp_path / "empty").mkdir()
    out = tmp_path / "bt"
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert run_command([*argv, "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("mmd: backtest: ")
    assert message in err[0]
    assert not out.exists()


def test_the_module_runs_as_the_subcommand_on_its_own(capsys):
    assert backtest.main(["--no-progress"]) == 1
    assert "nothing to run" in capsys.readouterr().err
