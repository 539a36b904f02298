"""The two runtimes give identical results: the same tape or scenario replayed with one
thread per actor and with every actor in one deterministic thread writes the same rows.

Slices keep this quick (the threaded runtime is the slow one); whole replays of the same
tapes and scenarios are held to the threaded runtime's recorded rows by
test_replay_outcomes_unchanged.py."""

from __future__ import annotations

import pytest

from config import load_config
from mmd.replay import run_replay
from replay_cases import NHL_TAPES, outcome_digest

# the maker's protections switched off so the slices trade (see test_replay_determinism.py)
MAKER_UNGUARDED = {
    "maker": {
        "volume_spike_factor": 1_000_000,
        "shock": {"threshold": 1_000_000},
        "guardrails": {"min_sigma": "0", "no_trade_freeze_s": 100_000},
    }
}
TAPE_SLICE = {  # tape -> (first row, rows): stretches with quotes, amends and fills
    "TRADES_KXNHLGAME-26APR02BOSFLA-BOS.csv": (1200, 150),
    "TRADES_KXNHLGAME-26APR04FLAPIT-PIT.csv": (200, 150),
    "TRADES_KXNHLGAME-26APR04VGKEDM-EDM.csv": (1200, 150),
}
SCENARIOS = (("four_events", 240.0), ("mr_jump", 240.0))


def both_runtimes(tmp_path, **replay) -> tuple[dict, dict, dict, dict]:
    results = {}
    for runtime in ("threading", "deterministic"):
        db = tmp_path / f"{runtime}.sqlite"
        summary = run_replay(load_config(overrides=MAKER_UNGUARDED), db_path=db, run_id="parity", runtime=runtime,
                             **replay)
        results[runtime] = ({k: v for k, v in summary.items() if k not in ("database", "runtime", "messages_handled")},
                            outcome_digest(db))
    (threaded, threaded_rows), (deterministic, deterministic_rows) = results["threading"], results["deterministic"]
    return threaded, deterministic, threaded_rows, deterministic_rows


@pytest.mark.parametrize("tape", NHL_TAPES)
def test_a_tape_replays_identically_under_both_runtimes(tape, shared_data, tmp_path):
    first, rows = TAPE_SLICE[tape]
    threaded, deterministic, threaded_rows, deterministic_rows = both_runtimes(
        tmp_path, tape=shared_data / tape, first_event=first, max_events=rows
    )
    assert threaded["orders"] > 0 and threaded["fills"] > 0
    assert deterministic == threaded
    assert deterministic_rows == threaded_rows


@pytest.mark.parametrize(("scenario", "duration_s"), SCENARIOS)
def test_a_scenario_replays_identically_under_both_runtimes(scenario, duration_s, tmp_path):
    threaded, deterministic, threaded_rows, deterministic_rows = both_runtimes(
        tmp_path, scenario=scenario, duration_s=duration_s
    )
    assert threaded["orders"] > 0
    assert deterministic == threaded
    assert deterministic_rows == threaded_rows
