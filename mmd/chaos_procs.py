"""The processes and endpoints a fault campaign drives: a real `mmd sim`, a real daemon
(`mmd start`), the exchange's fault admin, the paper account's own REST records, the
daemon's status and its SQLite. Loopback only; every wait is bounded.
"""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Mapping

from actors.rest import HttpTransport, KalshiRestClient
from kalshi.auth import Signer, load_private_key
from kalshi.shapes import ExchangeFill, ExchangeOrder

__all__ = ["ROOT", "free_port", "listening", "spawn_mmd", "end_process", "FaultAdmin", "Account", "DaemonView",
           "first_order_ns", "stored_fill_ids", "wait_until"]

ROOT = Path(__file__).resolve().parents[1]
PAPER_KEY_ID = "paper-key"
HTTP_TIMEOUT_S = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def spawn_mmd(args: list[str], log_path: Path) -> subprocess.Popen:
    """`python -m mmd ARGS` with its output in `log_path` (appended: a restart keeps the history)."""
    log = open(log_path, "a")
    try:
        return subprocess.Popen([sys.executable, "-m", "mmd", *args], cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    finally:
        log.close()  # the child holds its own descriptor


def end_process(proc: subprocess.Popen | None, grace_s: float = 20.0) -> int | None:
    """SIGTERM, then SIGKILL after `grace_s`: only the process we started, by its pid."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.returncode


def wait_until(predicate: Callable[[], Any], timeout_s: float, interval_s: float = 0.1,
               between: Callable[[], None] | None = None) -> Any:
    """The first truthy value of `predicate` within `timeout_s`, else None; `between` runs
    while waiting (the campaign samples resting orders there)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        if between is not None:
            between()
        time.sleep(interval_s)


def _json_request(url: str, method: str = "GET", body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
        return json.load(response)


class FaultAdmin:
    """The simulated exchange's /_admin/faults (never faulted or rate limited itself)."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/_admin/faults"

    def apply(self, specs: tuple[dict, ...]) -> Any:
        return _json_request(self.url, "POST", list(specs))

    def active(self) -> list[dict]:
        return _json_request(self.url)["active"]

    def clear(self) -> list[dict]:
        return _json_request(self.url, "DELETE")["active"]

    def rate_limited(self) -> int:
        """429s the exchange's own rate limiter gave, every account (injected ones not included)."""
        return sum(n for kinds in _json_request(self.url)["rate_limited"].values() for n in kinds.values())


class _CountingTransport:
    """The harness's own REST calls, with their answers counted by status."""

    def __init__(self, inner: HttpTransport) -> None:
        self.inner = inner
        self.statuses: Counter[int] = Counter()

    def request(self, method: str, path: str, query: Mapping[str, Any] | None = None,
                body: Mapping[str, Any] | None = None) -> tuple[int, dict]:
        status, payload = self.inner.request(method, path, query, body)
        self.statuses[status] += 1
        return status, payload


class Account:
    """The paper account as the exchange records it, read with the paper key (straight to
    the exchange, not through the daemon's relay)."""

    def __init__(self, data_dir: Path, port: int) -> None:
        key = load_private_key(str(data_dir / "paper-keys" / f"{PAPER_KEY_ID}.pem"))
        self.transport = _CountingTransport(HttpTransport(
            f"http://127.0.0.1:{port}/trade-api/v2", Signer(PAPER_KEY_ID, key), HTTP_TIMEOUT_S,
            now_ms=lambda: time.time_ns() // 1_000_000))
        self.client = KalshiRestClient(self.transport, max_attempts=4, backoff_base_s=0.2, backoff_cap_s=1.0,
                                       sleep=time.sleep)

    def resting(self) -> list[ExchangeOrder]:
        return self.client.get_orders(status="resting")

    def fills(self) -> list[ExchangeFill]:
        return self.client.get_fills()

    @property
    def too_many_requests(self) -> int:
        return self.transport.statuses[429]


class DaemonView:
    """What a running daemon shows: its status (via daemon.json) and its SQLite."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.db = data_dir / "mmd.sqlite"

    def info(self) -> dict | None:
        try:
            return json.loads((self.data_dir / "daemon.json").read_text())
        except (OSError, ValueError):
            return None

    def status(self, pid: int | None = None) -> dict | None:
        """The daemon's /status, only from the daemon with `pid` when given (a killed one
        leaves its daemon.json behind)."""
        info = self.info()
        if info is None or (pid is not None and info.get("pid") != pid):
            return None
        try:
            with urllib.request.urlopen(info["status_url"], timeout=HTTP_TIMEOUT_S) as response:
                return json.load(response)
        except (OSError, ValueError, KeyError, urllib.error.URLError):
            return None

    def stop(self) -> subprocess.CompletedProcess:
        """`mmd stop --data-dir DIR`: the operator's way, which signals only the daemon it finds."""
        return subprocess.run([sys.executable, "-m", "mmd", "stop", "--data-dir", str(self.data_dir)], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)


def _read_only(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)


def first_order_ns(db: Path, since_ns: int, ticker: str | None = None, not_ticker: str | None = None) -> int | None:
    """ts_ns of the first order the daemon placed or amended (exchange-acknowledged) at or
    after `since_ns`, on `ticker` / off `not_ticker` if given."""
    if not db.exists():
        return None
    sql = "SELECT MIN(ts_ns) FROM orders WHERE event IN ('accepted', 'amended') AND ts_ns >= ?"
    params: list[Any] = [since_ns]
    if ticker is not None:
        sql += " AND ticker = ?"
        params.append(ticker)
    if not_ticker is not None:
        sql += " AND ticker != ?"
        params.append(not_ticker)
    try:
        with _read_only(db) as conn:
            (value,) = conn.execute(sql, params).fetchone()
    except sqlite3.Error:
        return None
    return value


def stored_fill_ids(db: Path) -> list[str]:
    """Every fill id in order_fills, of every run, repeats kept."""
    with _read_only(db) as conn:
        return [row[0] for row in conn.execute("SELECT fill_id FROM order_fills")]

