"""Paper mode on the default scenario: `mmd start` (the embedded simulated exchange, the
scanner, the supervisor, makers) starts volatility sessions and ends them for their
recorded reasons within ten minutes.

Time compression: the live clock cannot run faster than the wall, so the session TTL is
shortened to 60 s; the scenario's first jumps come 60-150 s in. Takes about 7 minutes.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN_S = 420
pytestmark = pytest.mark.e2e


def session_rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT ticker, started_ns, ended_ns, start_reason, end_reason, pnl FROM volatility_sessions"
        ).fetchall()


def test_paper_daemon_starts_and_ends_volatility_sessions_for_recorded_reasons(tmp_path):
    config = tmp_path / "paper.yaml"
    config.write_text("supervisor:\n  session_ttl_s: 60\n")
    data_dir = tmp_path / "var"
    log_path = tmp_path / "daemon.log"
    with open(log_path, "w") as log:
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "mmd", "start", "--config", str(config), "--data-dir", str(data_dir),
             "--status-port", "0", "--duration", str(RUN_S)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True, timeout=RUN_S + 120,
        )
    assert proc.returncode == 0, log_path.read_text()[-3000:]
    assert time.monotonic() - started < 600
    rows = session_rows(data_dir / "mmd.sqlite")
    assert rows, log_path.read_text()[-3000:]
    assert all(r[3].startswith("volatility:") for r in rows)
    assert all(r[2] is not None and r[4] for r in rows), rows  # every session ended, with a reason
    ended_in_run = [r for r in rows if r[4] != "shutdown"]
    assert ended_in_run, rows  # at least one ended on its own rule (ttl, regime, sigma, ...)
