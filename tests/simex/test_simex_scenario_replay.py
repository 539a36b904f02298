"""Scenarios through the real actors: the replay driver accepts a scenario and stays deterministic."""

from __future__ import annotations

import pytest

from config import load_config
from mmd.replay import SCENARIO_START_NS, ReplayHarness, run_replay, table_dump

TICKER = "KXFED-26DEC-T4.00"
TABLES = ("orders", "order_fills", "trades", "position_history", "market_snapshots")


def replay(tmp_path, name: str, seed: int | None = None, duration_s: float = 150):
    return run_replay(load_config(), scenario="mr_jump", seed=seed, duration_s=duration_s, tickers=(TICKER,),
                      db_path=tmp_path / f"{name}.sqlite", run_id="scn")


def test_same_scenario_and_seed_twice_gives_identical_tables(tmp_path):
    first = replay(tmp_path, "a")
    second = replay(tmp_path, "b")
    assert first["scenario"] == "mr_jump" and first["seed"] == 11
    assert first["scenario_events"] > 100
    assert first["orders"] > 0, first
    for table in TABLES:
        assert table_dump(tmp_path / "a.sqlite", table) == table_dump(tmp_path / "b.sqlite", table), table
    assert {k: v for k, v in first.items() if k != "database"} == {k: v for k, v in second.items() if k != "database"}


def test_another_seed_gives_another_market_tape(tmp_path):
    replay(tmp_path, "a", seed=1, duration_s=60)
    replay(tmp_path, "b", seed=2, duration_s=60)
    assert table_dump(tmp_path / "a.sqlite", "trades") != table_dump(tmp_path / "b.sqlite", "trades")


def test_scenario_replay_runs_on_virtual_time_for_exactly_the_asked_duration(tmp_path):
    harness = ReplayHarness(load_config(), db_path=tmp_path / "c.sqlite", scenario="mr_jump", duration_s=30,
                            tickers=(TICKER,))
    summary = harness.run()
    assert summary.virtual_seconds == 30.0
    assert harness.rig.clock.now_ns() == SCENARIO_START_NS + 30 * 1_000_000_000
    assert harness.scenario_run.fair_cents(TICKER) > 0


def test_harness_needs_exactly_one_source(tmp_path, shared_data):
    with pytest.raises(ValueError, match="exactly one of tape= or scenario="):
        ReplayHarness(load_config(), db_path=tmp_path / "d.sqlite")
    with pytest.raises(ValueError, match="exactly one"):
        ReplayHarness(load_config(), shared_data / "TRADES_KXNHLGAME-26APR04FLAPIT-PIT.csv", tmp_path / "d.sqlite",
                      scenario="mr_jump")
