"""`mmd backtest --profile NAME` selects a named strategy (config/profiles.yaml) for the runs:
the nhl_hybrid profile trades a tape with its own quotes (10 a side, a cent from fair) and
is a config of its own (a run of its own, reused like any other)."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal

import pytest

from tests.backtest.tape_command import run_command, stored_runs, write_swinging_tape

@pytest.fixture
def swinging_tape(tmp_path):
    return write_swinging_tape(tmp_path)


def placed_orders(out, run) -> list[tuple[str, Decimal, Decimal]]:
    with sqlite3.connect(out / run["run_dir"] / "replay.sqlite") as db:
        rows = db.execute("SELECT side, price, count FROM orders WHERE event = 'accepted' ORDER BY rowid").fetchall()
    return [(side, Decimal(price), Decimal(count)) for side, price, count in rows]


def fills(out, run) -> int:
    with sqlite3.connect(out / run["run_dir"] / "replay.sqlite") as db:
        return db.execute("SELECT COUNT(*) FROM order_fills").fetchone()[0]


def test_the_nhl_profile_selected_for_a_backtest_trades_the_tape_with_its_own_quotes(tmp_path, swinging_tape, capsys):
    out = tmp_path / "bt"

    assert run_command([str(swinging_tape), "--profile", "nhl_hybrid", "--fill-model", "optimistic",
                        "--out", str(out)]) == 0

    (run,) = stored_runs(out)
    config = json.loads(run["config_json"])
    assert config["maker"]["profile"] == "nhl_hybrid"
    assert config["maker"]["model"]["name"] == "nhl_hybrid"
    assert config["risk"]["hybrid"]["preset"] == "default"
    orders = placed_orders(out, run)
    assert orders, "the profile placed no order"
    # quotes are sized from the profile's 10 a side (the default is 5), cut to the budgets'
    # room; an exit at the settling price may be larger (it buys back the whole position)
    quote_sizes = [count for _, price, count in orders if Decimal("0.05") < price < Decimal("0.95")]
    assert Decimal(5) < max(quote_sizes) <= Decimal(10)
    assert fills(out, run) > 0
    assert "total, 1 run" in capsys.readouterr().out


def test_each_preset_variant_is_a_run_of_its_own(tmp_path, swinging_tape):
    out = tmp_path / "bt"

    for profile in ("nhl_hybrid", "nhl_hybrid_conservative"):
        assert run_command([str(swinging_tape), "--profile", profile, "--out", str(out)]) == 0

    runs = stored_runs(out)
    assert [json.loads(r["config_json"])["risk"]["hybrid"]["preset"] for r in runs] == ["default", "conservative"]
    assert len({r["config_hash"] for r in runs}) == 2


def test_an_explicit_set_wins_over_the_profile(tmp_path, swinging_tape):
    out = tmp_path / "bt"

    assert run_command([str(swinging_tape), "--profile", "nhl_hybrid", "--set", "maker.base_size=3",
                        "--out", str(out)]) == 0

    (run,) = stored_runs(out)
    assert json.loads(run["config_json"])["maker"]["base_size"] == 3


def test_an_unknown_profile_is_one_line_and_exit_1_with_nothing_written(tmp_path, swinging_tape, capsys):
    out = tmp_path / "bt"

    assert run_command([str(swinging_tape), "--profile", "nhl", "--out", str(out)]) == 1

    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["mmd: backtest: config: maker.profile: unknown profile 'nhl'; one of none, nhl_hybrid, "
                   "nhl_hybrid_conservative, nhl_hybrid_aggressive"]
    assert not out.exists()
