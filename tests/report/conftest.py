"""Fixtures of the report's specifications: one real replay's database, made once."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def four_events_db(tmp_path_factory) -> Path:
    """The four_events scenario replayed through every actor (deterministic runtime, ~10 s):
    three markets made, a few dozen fills."""
    from config import load_config
    from mmd.replay import run_replay

    db = tmp_path_factory.mktemp("replay") / "four_events.sqlite"
    run_replay(load_config(), scenario="four_events", db_path=db, run_id="four-events")
    return db
