"""End to end on loopback: the simulated exchange and the daemon as real processes.

The daemon quotes, gets filled, records the fills in SQLite, and on SIGTERM cancels every
resting order, confirms with the exchange, flushes and exits 0.

The shipped scanner style (volatility) waits for a volatility event before it starts a
session: `mmd sim` serves one quiet synthetic market that never gives one, and the default
scenario's first event comes ~90 s in. These tests are about the process, its orders and
its shutdown, not the scanner (tests/e2e/test_paper_sessions.py covers that), so each run
pins `scanner.tickers` to a market of its exchange and quotes within seconds.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from actors.rest import HttpTransport, KalshiRestClient
from kalshi.auth import Signer, load_private_key
from simex import DEFAULT_MARKET, load_scenario

ROOT = Path(__file__).resolve().parents[2]
FILL_TIMEOUT_S = 150
QUOTING_TIMEOUT_S = 60
PAPER_SCENARIO = "default"  # what `mmd start` trades in paper mode (mmd/runner.py)
pytestmark = pytest.mark.e2e


def pinned_config(tmp_path: Path, ticker: str) -> Path:
    """A config making `ticker` an explicit market: its session starts as soon as the daemon runs."""
    path = tmp_path / "pinned.yaml"
    path.write_text(f"scanner:\n  tickers: [{ticker}]\n")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(*args: str, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "w")
    return subprocess.Popen(
        [sys.executable, "-m", "mmd", *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True
    )


def wait_for(predicate, timeout_s: float, what: str, procs=()):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise AssertionError(f"process exited early with {proc.returncode} while waiting for {what}")
        value = predicate()
        if value:
            return value
        time.sleep(0.2)  # a poll interval, not a timeout
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def fills_in_db(db: Path) -> set[str]:
    if not db.exists():
        return set()
    try:
        with sqlite3.connect(db) as conn:
            return {row[0] for row in conn.execute("SELECT fill_id FROM order_fills")}
    except sqlite3.OperationalError:
        return set()


def status(data_dir: Path) -> dict | None:
    try:
        info = json.loads((data_dir / "daemon.json").read_text())
        with urllib.request.urlopen(info["status_url"], timeout=3) as response:
            return json.load(response)
    except (OSError, ValueError, KeyError):
        return None


def exchange_client(data_dir: Path, port: int) -> KalshiRestClient:
    key = load_private_key(str(data_dir / "paper-keys" / "paper-key.pem"))
    transport = HttpTransport(
        f"http://127.0.0.1:{port}/trade-api/v2", Signer("paper-key", key), 5.0, now_ms=lambda: time.time_ns() // 1_000_000
    )
    return KalshiRestClient(transport, max_attempts=3, backoff_base_s=0.1, backoff_cap_s=1.0, sleep=time.sleep)


def stop_all(*procs: subprocess.Popen) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_daemon_against_sim_gets_filled_and_sigterm_leaves_nothing_resting(tmp_path):
    data_dir = tmp_path / "var"
    port = free_port()
    sim = spawn("sim", "--port", str(port), "--data-dir", str(data_dir), log_path=tmp_path / "sim.log")
    daemon = None
    try:
        wait_for(lambda: (data_dir / "paper-keys" / "paper-key.pub.pem").exists(), 30, "sim keys", [sim])
        wait_for(lambda: _listening(port), 30, "sim port", [sim])
        daemon = spawn(
            "start", "--config", str(pinned_config(tmp_path, DEFAULT_MARKET.ticker)),
            "--data-dir", str(data_dir), "--status-port", "0",
            "--exchange-url", f"http://127.0.0.1:{port}/trade-api/v2",
            log_path=tmp_path / "daemon.log",
        )
        db = data_dir / "mmd.sqlite"
        wait_for(lambda: fills_in_db(db), FILL_TIMEOUT_S, "a fill recorded in SQLite", [sim, daemon])
        current = status(data_dir)
        assert current is not None and current["mode"] == "paper"
        assert current["feed"]["ws_healthy"] is True
        assert current["sessions"], current

        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(60) == 0, (tmp_path / "daemon.log").read_text()[-4000:]

        client = exchange_client(data_dir, port)
        assert client.get_orders(status="resting") == []
        exchange_fills = {f.fill_id for f in client.get_fills()}
        assert exchange_fills, "the exchange reports no fills"
        assert exchange_fills <= fills_in_db(db)
        assert not (data_dir / "daemon.json").exists()
    finally:
        stop_all(*(p for p in (daemon, sim) if p is not None))


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_paper_start_with_embedded_exchange_quotes_and_stops_cleanly(tmp_path):
    data_dir = tmp_path / "var"
    ticker = load_scenario(PAPER_SCENARIO).markets[0].ticker
    daemon = spawn(
        "start", "--config", str(pinned_config(tmp_path, ticker)), "--data-dir", str(data_dir), "--status-port", "0",
        log_path=tmp_path / "daemon.log",
    )
    try:
        def quoting():
            current = status(data_dir)
            makers = (current or {}).get("makers", [])
            return current if any(m.get("state") == "QUOTING" for m in makers) else None

        current = wait_for(quoting, QUOTING_TIMEOUT_S, "a maker in QUOTING", [daemon])
        assert current["open_orders"], current
        result = subprocess.run(
            [sys.executable, "-m", "mmd", "status", "--data-dir", str(data_dir)],
            cwd=ROOT, capture_output=True, text=True, timeout=30,
        )
        assert result.returncode == 0
        assert json.loads(result.stdout)["mode"] == "paper"
        daemon.send_signal(signal.SIGINT)
        assert daemon.wait(60) == 0, (tmp_path / "daemon.log").read_text()[-4000:]
    finally:
        stop_all(daemon)


def test_sigterm_with_the_exchange_gone_still_exits_and_closes_the_run(tmp_path):
    """Shutdown must never hang: every step is guarded, and an unconfirmed cancel exits 1."""
    data_dir = tmp_path / "var"
    port = free_port()
    sim = spawn("sim", "--port", str(port), "--data-dir", str(data_dir), log_path=tmp_path / "sim.log")
    daemon = None
    try:
        wait_for(lambda: _listening(port), 30, "sim port", [sim])
        daemon = spawn(
            "start", "--config", str(pinned_config(tmp_path, DEFAULT_MARKET.ticker)),
            "--data-dir", str(data_dir), "--status-port", "0",
            "--exchange-url", f"http://127.0.0.1:{port}/trade-api/v2",
            log_path=tmp_path / "daemon.log",
        )
        wait_for(lambda: (status(data_dir) or {}).get("open_orders"), QUOTING_TIMEOUT_S, "resting quotes", [sim, daemon])
        sim.kill()
        sim.wait(10)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(90) == 1, (tmp_path / "daemon.log").read_text()[-4000:]
        with sqlite3.connect(data_dir / "mmd.sqlite") as conn:
            (reason,) = conn.execute("SELECT exit_reason FROM strategy_runs").fetchone()
        assert reason == "signal SIGTERM"
        assert not (data_dir / "daemon.json").exists()
        assert "left resting" in (tmp_path / "daemon.log").read_text()
    finally:
        stop_all(*(p for p in (daemon, sim) if p is not None))
