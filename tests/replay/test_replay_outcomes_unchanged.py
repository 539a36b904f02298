"""Refactoring the actors, their shells or the runtime changes no outcome: the three NHL
tapes and two scenarios, replayed whole in the deterministic runtime, write exactly the
rows the threaded runtime wrote before (tests/replay/golden_digests.json)."""

from __future__ import annotations

import json

import pytest

from replay_cases import CASES, GOLDEN, outcome_digest, run_case


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_whole_replay_writes_the_recorded_rows(case, shared_data, tmp_path):
    golden = json.loads(GOLDEN.read_text())[case.name]
    db = tmp_path / "replay.sqlite"
    run_case(case, shared_data, db, runtime="deterministic")
    assert outcome_digest(db) == golden
