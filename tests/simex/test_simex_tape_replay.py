"""A top-of-book ticker file (JSONL) replays through the real actors, deterministically."""

from __future__ import annotations

from config import load_config
from mmd.replay import run_replay, table_dump

TICKER_FILE = "KXNBAGAME-25NOV22LACCHA-CHA.jsonl"


def test_ticker_file_replay_is_repeatable_and_prints_the_volume_it_reads(shared_data, tmp_path):
    runs = [run_replay(load_config(), tape=shared_data / TICKER_FILE, db_path=tmp_path / f"{n}.sqlite", run_id="tk",
                       first_event=3, max_events=60) for n in ("a", "b")]
    assert runs[0]["tape_events"] == 60
    trades = table_dump(tmp_path / "a.sqlite", "trades")
    assert trades, "the volume between ticker lines prints as trades"
    for table in ("orders", "order_fills", "trades", "market_snapshots"):
        assert table_dump(tmp_path / "a.sqlite", table) == table_dump(tmp_path / "b.sqlite", table), table
    summaries = [{k: v for k, v in run.items() if k != "database"} for run in runs]
    assert summaries[0] == summaries[1]
