"""`mmd doctor [--env paper|demo|prod] [--exchange-url URL]`: is this machine ready to trade?

One line per check, `ok`, `warn` or `fail`, and exit 1 on any fail: config valid, database
writable, key found and owner-only, REST reachable, exchange status and schedule, key
accepted (a signed read of the balance), balance, the account's rate-limit tier against our
configured budget, clock skew against the exchange's clock, WebSocket reachable with a signed
upgrade. Only reads: no order is placed, none is cancelled.

It connects where `mmd start` would: paper starts the embedded simulated exchange (and stops
it), `--exchange-url` points it at a running `mmd sim` (same --data-dir: the sim authorizes
the paper keys found there), demo and prod use the config's URLs and KALSHI_* credentials.

Never printed: key material, the full key id, the control token.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

__all__ = [
    "OK",
    "WARN",
    "FAIL",
    "Finding",
    "ClockSample",
    "add_doctor_parser",
    "cmd_doctor",
    "run_doctor",
    "skew_bounds",
    "judge_clock",
    "judge_rate_limits",
    "judge_exchange_status",
    "judge_schedule",
    "judge_balance",
    "judge_environment",
    "check_database",
]

OK, WARN, FAIL = "ok", "warn", "fail"
CLOCK_WARN_S = 1.0  # Kalshi signs with a millisecond timestamp; a drifting clock is the first suspect
CLOCK_FAIL_S = 5.0  # well inside what an exchange accepts before it rejects stale signatures
MAINTENANCE_LOOKAHEAD_S = 24 * 3600
DOCTOR_TIMEOUT_S = 10.0
NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class Finding:
    verdict: str  # ok | warn | fail
    check: str
    detail: str

    def line(self) -> str:
        return f"{self.verdict:<5} {self.check:<12} {self.detail}"


# ----- judgements: plain functions of what the exchange said -----
@dataclass(frozen=True)
class ClockSample:
    """One response: local wall time when the request left and when the answer came back,
    and the server's Date header (whole seconds: the server's time lay in [date, date + 1))."""

    sent_ns: int
    received_ns: int
    server_date_s: int


def skew_bounds(samples: Iterable[ClockSample]) -> tuple[float, float] | None:
    """The exchange's clock minus ours, in seconds, as the tightest interval every sample
    allows; None without samples. Samples that contradict each other (a clock stepped during
    the run) fall back to the single tightest sample."""
    intervals = [
        (s.server_date_s - s.received_ns / NS_PER_S, s.server_date_s + 1 - s.sent_ns / NS_PER_S) for s in samples
    ]
    if not intervals:
        return None
    low, high = max(lo for lo, _ in intervals), min(hi for _, hi in intervals)
    if low > high:
        return min(intervals, key=lambda bounds: bounds[1] - bounds[0])
    return low, high


def judge_clock(bounds: tuple[float, float] | None, responses: int) -> Finding:
    if bounds is None:
        return Finding(WARN, "clock", "not measured: the exchange sent no Date header")
    low, high = bounds
    least = 0.0 if low <= 0 <= high else min(abs(low), abs(high))  # the smallest skew consistent
    ahead = "ahead of" if low > 0 else "behind"
    detail = f"exchange clock minus ours within {low:+.2f}..{high:+.2f} s (Date headers of {responses} responses)"
    if least > CLOCK_FAIL_S:
        return Finding(FAIL, "clock", f"our clock is at least {least:.1f} s off (the exchange is {ahead} us): "
                                      f"signed requests will be refused; sync the clock (chrony/NTP). {detail}")
    if least > CLOCK_WARN_S:
        return Finding(WARN, "clock", f"our clock is at least {least:.1f} s off (the exchange is {ahead} us); "
                                      f"check NTP. {detail}")
    return Finding(OK, "clock", detail)


def _bucket(limits: Mapping[str, Any], kind: str) -> tuple[float, float] | None:
    bucket = limits.get(kind)
    try:
        return float(bucket["refill_rate"]), float(bucket["bucket_capacity"])
    except (TypeError, KeyError, ValueError):
        return None


def judge_rate_limits(limits: Mapping[str, Any], rest: Any) -> Finding:
    """The account's token buckets (GET /account/limits) against config rest.*: a budget
    above the tier's draws 429s at the worst moments."""
    tier = limits.get("usage_tier", "unknown")
    ours = {
        "read": (rest.read_tokens_per_s, rest.read_tokens_per_s * rest.read_bucket_s, "rest.read_tokens_per_s",
                 "rest.read_bucket_s"),
        "write": (rest.write_tokens_per_s, rest.write_tokens_per_s * rest.write_bucket_s, "rest.write_tokens_per_s",
                  "rest.write_bucket_s"),
    }
    described, problems = [], []
    for kind, (rate, capacity, rate_key, bucket_key) in ours.items():
        theirs = _bucket(limits, kind)
        if theirs is None:
            return Finding(WARN, "rate limits", f"tier {tier}: the answer has no {kind} bucket; cannot compare")
        their_rate, their_capacity = theirs
        described.append(f"{kind} {their_rate:g}/s (bucket {their_capacity:g})")
        if rate > their_rate:
            problems.append(f"{rate_key} {rate:g} exceeds the account's {their_rate:g}/s")
        if capacity > their_capacity:
            problems.append(f"{bucket_key} gives a {capacity:g}-token bucket, the account's holds {their_capacity:g}")
    detail = f"tier {tier}: {', '.join(described)}"
    if problems:
        return Finding(WARN, "rate limits", f"{detail}; {'; '.join(problems)}: expect 429s, lower the config")
    return Finding(OK, "rate limits", f"{detail}; configured budget fits")


def judge_exchange_status(status: Mapping[str, Any]) -> Finding:
    exchange_active, trading_active = status.get("exchange_active"), status.get("trading_active")
    if exchange_active is True and trading_active is True:
        return Finding(OK, "exchange", "exchange active, trading active")
    resume = status.get("exchange_estimated_resume_time")
    when = f"; expected back {resume}" if resume else ""
    if exchange_active is False:
        return Finding(WARN, "exchange", f"the exchange is not active (maintenance?){when}: makers will not quote")
    if trading_active is False:
        return Finding(WARN, "exchange", f"trading is paused (outside trading hours?){when}: makers will not quote")
    return Finding(WARN, "exchange", f"unexpected status answer: {dict(status)}")


def _instant(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def judge_schedule(body: Mapping[str, Any], now_ns: int) -> Finding:
    schedule = body.get("schedule")
    if not isinstance(schedule, Mapping):
        return Finding(WARN, "schedule", "the answer has no schedule")
    now = datetime.fromtimestamp(now_ns / NS_PER_S, timezone.utc)
    windows = []
    for window in schedule.get("maintenance_windows") or []:
        start, end = _instant(window.get("start_datetime")), _instant(window.get("end_datetime"))
        if start is not None and end is not None and end > now:
            windows.append((start, end))
    hours = len(schedule.get("standard_hours") or [])
    if not windows:
        return Finding(OK, "schedule", f"{hours} standard-hours block(s), no maintenance window ahead")
    start, end = min(windows)
    if start <= now:
        return Finding(WARN, "schedule", f"in a maintenance window until {end.isoformat()}")
    ahead_s = (start - now).total_seconds()
    soon = f" (in {ahead_s / 3600:.1f} h)" if ahead_s < MAINTENANCE_LOOKAHEAD_S else ""
    return Finding(OK, "schedule", f"{hours} standard-hours block(s); next maintenance window "
                                   f"{start.isoformat()} to {end.isoformat()}{soon}")


def judge_balance(body: Mapping[str, Any]) -> Finding:
    from kalshi.shapes import parse_balance
    from kalshi.wire import WireFormatError

    try:
        balance = parse_balance(body)
    except (WireFormatError, ValueError, TypeError) as exc:
        return Finding(WARN, "balance", f"unreadable balance answer: {exc}")
    portfolio = "" if balance.portfolio_value is None else f", portfolio value ${balance.portfolio_value:.2f}"
    if balance.balance <= Decimal(0):
        return Finding(WARN, "balance", f"${balance.balance:.2f} available{portfolio}: makers cannot quote")
    return Finding(OK, "balance", f"${balance.balance:.2f} available{portfolio}")


# ----- local checks -----
def check_database(data_dir: Path, database: str) -> Finding:
    path = data_dir / database
    if data_dir.exists() and not data_dir.is_dir():
        return Finding(FAIL, "database", f"data dir {data_dir} is not a directory")
    if not data_dir.exists():
        parent = next((p for p in data_dir.absolute().parents if p.exists()), None)
        if parent is not None and parent.is_dir() and os.access(parent, os.W_OK | os.X_OK):
            return Finding(OK, "database", f"{path} will be created (data dir {data_dir} does not exist yet)")
        return Finding(FAIL, "database", f"data dir {data_dir} does not exist and cannot be created under {parent}")
    try:
        with tempfile.TemporaryFile(dir=data_dir):
            pass
    except OSError as exc:
        return Finding(FAIL, "database", f"data dir {data_dir} is not writable: {exc.strerror}")
    if not path.exists():
        return Finding(OK, "database", f"{path} will be created (data dir writable)")
    if not path.is_file():
        return Finding(FAIL, "database", f"{path} is not a regular file")
    try:
        conn = sqlite3.connect(path, timeout=2)
        try:
            conn.execute("BEGIN IMMEDIATE")  # takes the write lock, writes nothing
            conn.rollback()
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return Finding(WARN, "database", f"{path} is busy (a running daemon writing?): {exc}")
        return Finding(FAIL, "database", f"{path} is not writable: {exc}")
    except sqlite3.DatabaseError as exc:
        return Finding(FAIL, "database", f"{path} is not a SQLite database: {exc}")
    return Finding(OK, "database", f"{path} writable")


def _shown_key_id(key_id: str) -> str:
    return key_id if len(key_id) <= 12 else f"{key_id[:8]}... ({len(key_id)} chars)"


def _key_source(env: str, data_dir: Path) -> str:
    """Where the key was read from, with its mode when it is a file (never the value)."""
    from mmd.runner import CREDENTIAL_NAME, PAPER_KEY_ID

    if env == "paper":
        path = data_dir / "paper-keys" / f"{PAPER_KEY_ID}.pem"
    else:
        pem = os.environ.get("KALSHI_PRIVATE_KEY", "").strip()
        if "-----BEGIN" in pem:
            return "PEM text in KALSHI_PRIVATE_KEY"
        if not pem:
            return f"systemd credential {CREDENTIAL_NAME}"
        path = Path(pem).expanduser()
    try:
        return f"{path} (mode {path.stat().st_mode & 0o777:04o})"
    except OSError:
        return str(path)


# ----- the exchange, read only -----
@dataclass(frozen=True)
class Reply:
    status: int
    body: dict
    elapsed_ms: float


class ExchangeProbe:
    """GETs against the exchange, signed when a signer is given, each remembered as a clock
    sample (its Date header between our send and receive times)."""

    def __init__(self, rest_url: str, signer: Any, timeout_s: float, wall_ns: Callable[[], int]) -> None:
        import requests

        self.rest_url = rest_url.rstrip("/")
        self._signer = signer
        self._timeout_s = timeout_s
        self._wall_ns = wall_ns
        self._session = requests.Session()
        self._session.headers["Accept"] = "application/json"
        self.samples: list[ClockSample] = []

    def get(self, path: str, *, signed: bool) -> Reply:
        from urllib.parse import urlsplit

        url = self.rest_url + path
        headers = {}
        if signed and self._signer is not None:
            headers = self._signer.headers(self._wall_ns() // 1_000_000, "GET", urlsplit(url).path)
        sent = self._wall_ns()
        started = time.monotonic()
        response = self._session.get(url, headers=headers, timeout=self._timeout_s)
        elapsed_ms = (time.monotonic() - started) * 1000
        received = self._wall_ns()
        date = response.headers.get("Date")
        if date:
            try:
                self.samples.append(ClockSample(sent, received, int(parsedate_to_datetime(date).timestamp())))
            except (TypeError, ValueError):
                pass
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text[:200]}
        return Reply(response.status_code, body if isinstance(body, dict) else {"value": body}, elapsed_ms)

    def close(self) -> None:
        self._session.close()


def _error_text(reply: Reply) -> str:
    error = reply.body.get("error")
    if isinstance(error, Mapping):
        return str(error.get("message") or error.get("code") or error)
    return str(error or reply.body)[:200]


def check_websocket(ws_url: str, signer: Any, timeout_s: float, wall_ns: Callable[[], int]) -> Finding:
    import websocket
    from urllib.parse import urlsplit

    headers = signer.headers(wall_ns() // 1_000_000, "GET", urlsplit(ws_url).path)
    try:
        connection = websocket.create_connection(ws_url, header=headers, timeout=timeout_s)
    except websocket.WebSocketBadStatusException as exc:
        return Finding(FAIL, "websocket", f"{ws_url} refused the signed upgrade (HTTP {exc.status_code})")
    except (websocket.WebSocketException, OSError) as exc:
        return Finding(FAIL, "websocket", f"cannot open {ws_url}: {type(exc).__name__}: {exc}")
    connection.close()
    return Finding(OK, "websocket", f"{ws_url} accepted a signed upgrade; closed")


# ----- the run -----
def _urls(cfg: Any, env: str, exchange_url: str | None) -> tuple[str, str] | None:
    from mmd.runner import ws_url_for

    if exchange_url:
        return exchange_url, ws_url_for(exchange_url)
    if env == "demo":
        return cfg.exchange.demo_rest_url, cfg.exchange.demo_ws_url
    if env == "prod":
        return cfg.exchange.prod_rest_url, cfg.exchange.prod_ws_url
    return None  # paper: the embedded exchange says where it listens


def judge_environment(env: str, rest_url: str, ws_url: str, embedded: bool) -> Finding:
    from mmd.guards import REAL_MONEY_FLAG, is_production_url

    where = "embedded simulated exchange" if embedded else "exchange"
    detail = f"{env}: {where} REST {rest_url}, WS {ws_url}"
    if env != "prod" and (is_production_url(rest_url) or is_production_url(ws_url)):
        return Finding(WARN, "environment", f"{detail}: this is Kalshi production (real money); "
                                            f"`mmd start` will need {REAL_MONEY_FLAG}")
    return Finding(OK, "environment", detail + (" (real money)" if env == "prod" else ""))


def _config_finding(config_path: str | None, env: str) -> tuple[Finding, Any]:
    from config import ConfigError, load_config
    from mmd.guards import status_host_problem

    shown = config_path or "config/default.yaml"
    try:
        cfg = load_config(config_path, overrides={"mode": env})
    except ConfigError as exc:
        more = f" (and {len(exc.errors) - 1} more; see `mmd config check`)" if len(exc.errors) > 1 else ""
        return Finding(FAIL, "config", f"{shown}: {exc.errors[0]}{more}"), None
    except OSError as exc:
        return Finding(FAIL, "config", f"{shown}: {exc.strerror or exc}"), None
    problem = status_host_problem(cfg.status.host, getattr(cfg.status, "allow_remote", False))
    if problem is not None:
        return Finding(FAIL, "config", f"{shown}: {problem}"), cfg
    return Finding(OK, "config", f"{shown} valid (mode {env})"), cfg


def run_doctor(
    *,
    env: str,
    exchange_url: str | None,
    config_path: str | None,
    data_dir: Path | None,
    wall_ns: Callable[[], int] = time.time_ns,
    timeout_s: float = DOCTOR_TIMEOUT_S,
) -> list[Finding]:
    """Every check, in order; a check that needs what failed before it is left out (the
    failed line says so)."""
    from mmd.runner import StartupError, resolve_endpoint

    findings: list[Finding] = []
    config_finding, cfg = _config_finding(config_path, env)
    findings.append(config_finding)
    if cfg is None:
        return findings
    data_dir = data_dir if data_dir is not None else Path(cfg.paths.data_dir)
    findings.append(check_database(data_dir, cfg.paths.database))

    endpoint, signer = None, None
    try:
        endpoint = resolve_endpoint(cfg, env, exchange_url, data_dir)  # paper: starts the embedded exchange
    except StartupError as exc:  # never holds key material (kalshi.auth.PrivateKeyError)
        findings.append(Finding(FAIL, "key", f"{exc} (signed checks skipped)"))
    except OSError as exc:
        findings.append(Finding(FAIL, "rest", f"the embedded simulated exchange cannot start: {exc}"))
        return findings
    try:
        if endpoint is not None:
            from kalshi.auth import Signer

            signer = Signer(endpoint.key_id, endpoint.private_key)
            findings.append(Finding(OK, "key", f"{_key_source(env, data_dir)}: readable, owner-only, "
                                               f"RSA {endpoint.private_key.key_size} bits; key id "
                                               f"{_shown_key_id(endpoint.key_id)}"))
            rest_url, ws_url = endpoint.rest_url, endpoint.ws_url
        else:
            urls = _urls(cfg, env, exchange_url)
            if urls is None:  # paper without its key: no embedded exchange to ask
                return findings
            rest_url, ws_url = urls
        findings.append(judge_environment(env, rest_url, ws_url, endpoint is not None and endpoint.embedded is not None))
        findings.extend(_exchange_checks(cfg, rest_url, ws_url, signer, wall_ns, timeout_s))
    finally:
        if endpoint is not None and endpoint.embedded is not None:
            endpoint.embedded.stop()
    return findings


def _exchange_checks(
    cfg: Any, rest_url: str, ws_url: str, signer: Any, wall_ns: Callable[[], int], timeout_s: float
) -> list[Finding]:
    from requests import RequestException

    probe = ExchangeProbe(rest_url, signer, timeout_s, wall_ns)
    findings: list[Finding] = []
    try:
        try:
            status = probe.get("/exchange/status", signed=False)
        except RequestException as exc:
            return [Finding(FAIL, "rest", f"cannot reach {rest_url}: {type(exc).__name__}: {exc} "
                                          "(exchange, key, balance, limits, clock and WebSocket not checked)")]
        if status.status != 200:
            return [Finding(FAIL, "rest", f"GET /exchange/status answered HTTP {status.status}: {_error_text(status)} "
                                          f"(is {rest_url} a Kalshi trade API base URL?)")]
        findings.append(Finding(OK, "rest", f"{rest_url} reachable (GET /exchange/status {status.elapsed_ms:.0f} ms)"))
        findings.append(judge_exchange_status(status.body))
        schedule = probe.get("/exchange/schedule", signed=False)
        findings.append(judge_schedule(schedule.body, wall_ns()) if schedule.status == 200 else
                        Finding(WARN, "schedule", f"GET /exchange/schedule answered HTTP {schedule.status}"))
        if signer is not None:
            findings.extend(_signed_checks(cfg, probe))
        findings.append(judge_clock(skew_bounds(probe.samples), len(probe.samples)))
        if signer is not None:
            findings.append(check_websocket(ws_url, signer, timeout_s, wall_ns))
    except RequestException as exc:
        findings.append(Finding(FAIL, "rest", f"{rest_url} stopped answering: {type(exc).__name__}: {exc}"))
    finally:
        probe.close()
    return findings


def _signed_checks(cfg: Any, probe: ExchangeProbe) -> list[Finding]:
    """Reads that need the key: the balance (is the key accepted?) and the account's limits."""
    balance = probe.get("/portfolio/balance", signed=True)
    if balance.status != 200:
        hint = " (mmd sim accepts the paper keys of its own --data-dir)" if balance.status == 401 else ""
        return [Finding(FAIL, "auth", f"key refused by the exchange: signed GET /portfolio/balance answered "
                                      f"HTTP {balance.status}: {_error_text(balance)}{hint}")]
    findings = [Finding(OK, "auth", "key accepted (signed GET /portfolio/balance)"), judge_balance(balance.body)]
    limits = probe.get("/account/limits", signed=True)
    findings.append(judge_rate_limits(limits.body, cfg.rest) if limits.status == 200 else
                    Finding(WARN, "rate limits", f"GET /account/limits answered HTTP {limits.status}: "
                                                 f"{_error_text(limits)}"))
    return findings


# ----- command line -----
def add_doctor_parser(subparsers: Any) -> argparse.ArgumentParser:
    doctor = subparsers.add_parser(
        "doctor", help="check key, clock skew, connectivity, account limits and balance (read only)"
    )
    doctor.add_argument("--config", help="YAML config file (defaults: config/default.yaml)")
    doctor.add_argument("--data-dir", help="where SQLite, paper keys and run state live")
    doctor.add_argument("--env", choices=["paper", "demo", "prod"], default="paper")
    doctor.add_argument("--exchange-url", help="REST base URL, e.g. http://127.0.0.1:8080/trade-api/v2 (mmd sim)")
    doctor.add_argument("--timeout", type=float, default=DOCTOR_TIMEOUT_S, help="seconds per request")
    doctor.set_defaults(func=cmd_doctor)
    return doctor


def cmd_doctor(args: argparse.Namespace) -> int:
    findings = run_doctor(
        env=args.env,
        exchange_url=args.exchange_url,
        config_path=args.config,
        data_dir=Path(args.data_dir) if args.data_dir else None,
        timeout_s=args.timeout,
    )
    for finding in findings:
        print(finding.line())
    counts = {verdict: sum(f.verdict == verdict for f in findings) for verdict in (OK, WARN, FAIL)}
    print(f"doctor: {counts[OK]} ok, {counts[WARN]} warn, {counts[FAIL]} fail")
    return 1 if counts[FAIL] else 0
