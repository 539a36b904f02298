"""Replays are deterministic: one tape, one config, twice -> identical orders and fills."""

from __future__ import annotations

from config import load_config
from mmd.replay import run_replay, table_dump

TAPE = "TRADES_KXNHLGAME-26APR04FLAPIT-PIT.csv"
FIRST_EVENT, EVENTS = 200, 200  # the puck drop and first goal (21:00-21:31 UTC): quotes, amends, fills
# The maker's protections rightly sit out this tape's goal (volume spike, price shock) and
# its flat pre-game (sigma, no trades); switched off so the replay has fills to compare.
MAKER_UNGUARDED = {
    "maker": {
        "volume_spike_factor": 1_000_000,
        "shock": {"threshold": 1_000_000},
        "guardrails": {"min_sigma": "0", "no_trade_freeze_s": 100_000},
    }
}


def replay(shared_data, db_path):
    return run_replay(
        load_config(overrides=MAKER_UNGUARDED),
        tape=shared_data / TAPE,
        db_path=db_path,
        run_id="det",
        first_event=FIRST_EVENT,
        max_events=EVENTS,
    )


def test_same_tape_twice_gives_identical_order_and_fill_streams(shared_data, tmp_path):
    first = replay(shared_data, tmp_path / "a.sqlite")
    second = replay(shared_data, tmp_path / "b.sqlite")
    assert first["tape_events"] == EVENTS
    assert first["orders"] > 0, first
    assert first["fills"] > 0, first
    for table in ("orders", "order_fills", "position_history", "market_snapshots"):
        assert table_dump(tmp_path / "a.sqlite", table) == table_dump(tmp_path / "b.sqlite", table), table
    assert {k: v for k, v in first.items() if k != "database"} == {
        k: v for k, v in second.items() if k != "database"
    }
