"""The replays whose results must not change when the runtime or the shells change.

Each case is a tape or a scenario with a config; `outcome_digest` hashes every analytics
table row by row (SQLite's own order), so two runs agree only if they wrote the same rows.
`tests/replay/golden_digests.json` holds the digests the threaded runtime produced before
the deterministic runtime existed (regenerate with `python -m tests.replay.replay_cases`
only when a change of behaviour is intended, and say so in the commit).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden_digests.json")
# every table the daemon writes, in a fixed order (schema/*.sql)
TABLES = (
    "strategy_runs", "orders", "order_fills", "trades", "position_history", "market_snapshots",
    "discovery_sessions", "discovered_markets", "volatility_events", "volatility_sessions",
    "realizations", "triggers", "risk_events",
)
NHL_TAPES = (
    "TRADES_KXNHLGAME-26APR02BOSFLA-BOS.csv",
    "TRADES_KXNHLGAME-26APR04FLAPIT-PIT.csv",
    "TRADES_KXNHLGAME-26APR04VGKEDM-EDM.csv",
)
SCENARIOS = (("four_events", 600.0), ("mr_jump", 600.0))


@dataclass(frozen=True)
class ReplayCase:
    name: str
    tape: str | None = None  # file name under the data folder
    scenario: str | None = None
    duration_s: float | None = None


CASES = tuple(ReplayCase(name=t.removeprefix("TRADES_").removesuffix(".csv"), tape=t) for t in NHL_TAPES) + tuple(
    ReplayCase(name=f"scenario-{s}", scenario=s, duration_s=d) for s, d in SCENARIOS
)


def table_rows(db_path: Path, table: str) -> list[tuple]:
    with sqlite3.connect(db_path) as db:
        exists = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone()
        if not exists:
            return []
        # the run's config is left out: a renamed or retired setting is not a change of outcome
        columns = "run_id, mode, started_ns, ended_ns, exit_reason" if table == "strategy_runs" else "*"
        return db.execute(f"SELECT {columns} FROM {table} ORDER BY rowid").fetchall()  # noqa: S608 (our table names)


def outcome_digest(db_path: Path) -> dict[str, str]:
    """table -> 'rows:sha256' over the repr of every row."""
    digests = {}
    for table in TABLES:
        rows = table_rows(db_path, table)
        digests[table] = f"{len(rows)}:{hashlib.sha256(repr(rows).encode()).hexdigest()[:16]}"
    return digests


def run_case(case: ReplayCase, data_dir: Path, db_path: Path, **runtime_options) -> dict:
    from config import load_config
    from mmd.replay import run_replay

    config = load_config()
    if case.tape is not None:
        return run_replay(config, tape=data_dir / case.tape, db_path=db_path, run_id="golden", **runtime_options)
    return run_replay(config, scenario=case.scenario, duration_s=case.duration_s, db_path=db_path, run_id="golden",
                      **runtime_options)


def main() -> None:  # regenerate the golden digests
    import tempfile

    sys.path.insert(0, str(ROOT))
    data_dir = Path(os.environ.get("MMD_DATA_DIR") or ROOT.parent / "shared" / "data") / "kalshi"
    golden = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            db = Path(tmp) / f"{case.name}.sqlite"
            run_case(case, data_dir, db, runtime="threading")
            golden[case.name] = outcome_digest(db)
            print(case.name, golden[case.name], flush=True)
    GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
