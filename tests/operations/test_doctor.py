"""`mmd doctor`: one line per check (ok / warn / fail), exit 1 on any fail, read only, never a
secret. Against `mmd sim` (simex's server in-process, authorizing the paper keys of its data
dir as `mmd sim` does) and on paper (the embedded exchange) every check is ok. Demo and prod
are not reachable from the tests (no network)."""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from config import load_config
from kalshi.auth import generate_key_pair
from mmd.doctor import (
    FAIL,
    OK,
    WARN,
    ClockSample,
    add_doctor_parser,
    check_database,
    judge_balance,
    judge_clock,
    judge_environment,
    judge_exchange_status,
    judge_rate_limits,
    judge_schedule,
    run_doctor,
    skew_bounds,
)
from simex import SimServer, build_sim_exchange

ALL_CHECKS = ["config", "database", "key", "environment", "rest", "exchange", "schedule", "auth", "balance",
              "rate limits", "clock", "websocket"]
NS = 1_000_000_000


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "var"


@pytest.fixture
def sim(data_dir):
    """`mmd sim --data-dir <data_dir>` in-process: basic tier, the paper key of the data dir."""
    _, public_path = generate_key_pair(data_dir / "paper-keys", "paper-key")
    server = SimServer(build_sim_exchange(seed=0, tier="basic"), port=0).start_in_thread()
    server.authorize_key("paper-key", public_path.read_bytes(), "paper-key", balance_cents=100_000)
    yield server
    server.stop()


def doctor(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="mmd")
    add_doctor_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["doctor", *argv])
    return args.func(args)


def lines_of(out: str) -> dict[str, str]:
    """check name -> verdict, from doctor's output (the summary line left out)."""
    result = {}
    for line in out.strip().splitlines()[:-1]:
        verdict, rest = line.split(None, 1)
        check = next(name for name in sorted(ALL_CHECKS, key=len, reverse=True) if rest.startswith(name))
        result[check] = verdict
    return result


def test_doctor_against_mmd_sim_is_all_ok(sim, data_dir, capsys):
    code = doctor("--data-dir", str(data_dir), "--exchange-url", sim.base_url)

    out = capsys.readouterr().out
    assert code == 0, out
    assert lines_of(out) == {check: OK for check in ALL_CHECKS}
    assert out.strip().splitlines()[-1] == f"doctor: {len(ALL_CHECKS)} ok, 0 warn, 0 fail"
    assert "$1000.00 available" in out
    assert "tier basic: read 200/s (bucket 400), write 100/s (bucket 100)" in out


def test_doctor_on_paper_runs_the_embedded_exchange_and_stops_it(data_dir, capsys):
    code = doctor("--data-dir", str(data_dir))

    out = capsys.readouterr().out
    assert code == 0, out
    assert lines_of(out) == {check: OK for check in ALL_CHECKS}
    assert "paper: embedded simulated exchange REST http://127.0.0.1:" in out
    assert not [t for t in threading.enumerate() if t.name == "simex-server"]


def test_doctor_places_no_order(sim, data_dir, capsys):
    doctor("--data-dir", str(data_dir), "--exchange-url", sim.base_url)

    account = sim.call(lambda: sim.exchange.accounts["paper-key"])
    assert sim.call(lambda: [o for o in sim.exchange.orders.values() if o.account_id == account.account_id]) == []


def demo_credentials(monkeypatch, key_id: str, private_key: str) -> None:
    monkeypatch.setenv("KALSHI_ACCESS_KEY", key_id)
    monkeypatch.setenv("KALSHI_PRIVATE_KEY", private_key)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


def test_a_key_file_readable_by_others_fails_and_says_how_to_fix_it(sim, data_dir, tmp_path, monkeypatch, capsys):
    key = tmp_path / "kalshi.pem"
    shutil.copy(data_dir / "paper-keys" / "paper-key.pem", key)
    os.chmod(key, 0o644)
    demo_credentials(monkeypatch, "paper-key", str(key))

    code = doctor("--env", "demo", "--data-dir", str(data_dir), "--exchange-url", sim.base_url)

    out = capsys.readouterr().out
    assert code == 1
    verdicts = lines_of(out)
    assert verdicts["key"] == FAIL and f"chmod 600 {key}" in out and "signed checks skipped" in out
    assert verdicts["rest"] == verdicts["exchange"] == verdicts["clock"] == OK  # what needs no key still runs
    assert "auth" not in verdicts and "websocket" not in verdicts


def test_demo_credentials_the_exchange_accepts_are_ok(sim, data_dir, monkeypatch, capsys):
    demo_credentials(monkeypatch, "paper-key", str(data_dir / "paper-keys" / "paper-key.pem"))

    code = doctor("--env", "demo", "--data-dir", str(data_dir), "--exchange-url", sim.base_url)

    out = capsys.readouterr().out
    assert code == 0, out
    assert f"{data_dir / 'paper-keys' / 'paper-key.pem'} (mode 0600): readable, owner-only, RSA 2048 bits" in out


def test_missing_credentials_fail_the_key_line(sim, data_dir, monkeypatch, capsys):
    monkeypatch.delenv("KALSHI_ACCESS_KEY", raising=False)
    monkeypatch.delenv("KALSHI_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)

    assert doctor("--env", "demo", "--data-dir", str(data_dir), "--exchange-url", sim.base_url) == 1
    assert "fail  key          --env demo needs credentials" in capsys.readouterr().out


def test_a_key_the_exchange_does_not_know_fails_auth(sim, tmp_path, capsys):
    other = tmp_path / "other"  # its own paper key, which this sim never authorized

    code = doctor("--data-dir", str(other), "--exchange-url", sim.base_url)

    out = capsys.readouterr().out
    assert code == 1
    assert lines_of(out)["auth"] == FAIL
    assert "signed GET /portfolio/balance answered HTTP 401" in out


def test_doctor_never_prints_the_key_or_the_whole_key_id(sim, data_dir, monkeypatch, capsys):
    pem = (data_dir / "paper-keys" / "paper-key.pem").read_text()
    key_id = str(uuid.uuid4())
    sim.authorize_key(key_id, (data_dir / "paper-keys" / "paper-key.pub.pem").read_bytes(), "paper-key")
    demo_credentials(monkeypatch, key_id, pem)  # the PEM text itself in the environment

    code = doctor("--env", "demo", "--data-dir", str(data_dir), "--exchange-url", sim.base_url)

    captured = capsys.readouterr()
    assert code == 0, captured.out
    body_lines = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    for text in (captured.out, captured.err):
        assert key_id not in text
        assert not any(line in text for line in body_lines)
    assert f"PEM text in KALSHI_PRIVATE_KEY: readable, owner-only, RSA 2048 bits; key id {key_id[:8]}..." in captured.out


def test_an_unreachable_exchange_fails_once_and_exits_1(data_dir, capsys):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    code = doctor("--data-dir", str(data_dir), "--exchange-url", f"http://127.0.0.1:{port}/trade-api/v2")

    out = capsys.readouterr().out
    assert code == 1
    assert lines_of(out) == {"config": OK, "database": OK, "key": OK, "environment": OK, "rest": FAIL}
    assert "cannot reach http://127.0.0.1:" in out


@pytest.mark.parametrize("offset_s, verdict", [(0, OK), (2.5, WARN), (10, FAIL)])
def test_clock_skew_against_the_exchange(sim, data_dir, offset_s, verdict):
    findings = run_doctor(
        env="paper", exchange_url=sim.base_url, config_path=None, data_dir=data_dir,
        wall_ns=lambda: time.time_ns() + int(offset_s * NS),
    )

    clock = next(f for f in findings if f.check == "clock")
    assert clock.verdict == verdict, clock.detail
    if verdict != OK:
        assert "the exchange is behind us" in clock.detail


def test_a_budget_above_the_account_tier_warns(sim, data_dir, tmp_path, capsys):
    config = tmp_path / "fast.yaml"
    config.write_text("rest:\n  read_tokens_per_s: 300\n")

    code = doctor("--config", str(config), "--data-dir", str(data_dir), "--exchange-url", sim.base_url)

    out = capsys.readouterr().out
    assert code == 0  # a warning, not a failure
    assert lines_of(out)["rate limits"] == WARN
    assert "rest.read_tokens_per_s 300 exceeds the account's 200/s" in out


def test_a_bad_config_fails_and_nothing_else_runs(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("rest:\n  read_tokens_per_s: -1\n")

    assert doctor("--config", str(config), "--data-dir", str(tmp_path / "var")) == 1

    out = capsys.readouterr().out
    assert lines_of(out) == {"config": FAIL}
    assert "rest.read_tokens_per_s" in out


def test_a_non_loopback_status_host_fails_the_config_line(tmp_path, capsys):
    config = tmp_path / "open.yaml"
    config.write_text("status:\n  host: 0.0.0.0\n")

    doctor("--config", str(config), "--data-dir", str(tmp_path / "var"))

    assert "fail  config" in capsys.readouterr().out


# ----- the judgements, on their own -----
def test_skew_bounds_intersect_what_every_response_allows():
    # server Date 100 s; our clock read 100.2 s when sending and 100.3 s on receipt
    one = ClockSample(sent_ns=int(100.2 * NS), received_ns=int(100.3 * NS), server_date_s=100)
    # next second: the Date says 101 while we read 100.9..101.0
    two = ClockSample(sent_ns=int(100.9 * NS), received_ns=int(101.0 * NS), server_date_s=101)

    low, high = skew_bounds([one, two])

    assert (round(low, 3), round(high, 3)) == (0.0, 0.8)
    assert skew_bounds([]) is None


def test_contradicting_samples_fall_back_to_the_tightest_one():
    tight = ClockSample(sent_ns=10 * NS, received_ns=10 * NS + 1000, server_date_s=10)
    stepped = ClockSample(sent_ns=50 * NS, received_ns=50 * NS + 5_000_000, server_date_s=10)
    assert skew_bounds([tight, stepped]) == pytest.approx((-0.000001, 1.0))


def test_clock_verdicts_use_the_smallest_skew_the_bounds_allow():
    assert judge_clock((-0.3, 0.7), 3).verdict == OK
    assert judge_clock((1.2, 2.2), 3).verdict == WARN
    assert judge_clock((-6.5, -5.5), 3).verdict == FAIL
    assert judge_clock(None, 0).verdict == WARN


def test_rate_limits_compare_rate_and_bucket():
    rest = load_config().rest
    basic = {"usage_tier": "basic", "read": {"refill_rate": 200, "bucket_capacity": 400},
             "write": {"refill_rate": 100, "bucket_capacity": 100}}
    assert judge_rate_limits(basic, rest).verdict == OK

    smaller = {**basic, "write": {"refill_rate": 100, "bucket_capacity": 50}}
    finding = judge_rate_limits(smaller, rest)
    assert finding.verdict == WARN and "rest.write_bucket_s gives a 100-token bucket" in finding.detail

    assert judge_rate_limits({"usage_tier": "basic"}, rest).verdict == WARN


def test_exchange_status_paused_or_closed_warns():
    assert judge_exchange_status({"exchange_active": True, "trading_active": True}).verdict == OK
    paused = judge_exchange_status(
        {"exchange_active": True, "trading_active": False, "exchange_estimated_resume_time": "2026-11-26T13:00:00Z"}
    )
    assert paused.verdict == WARN and "2026-11-26T13:00:00Z" in paused.detail
    assert judge_exchange_status({"exchange_active": False, "trading_active": False}).verdict == WARN


def test_schedule_warns_inside_a_maintenance_window():
    now_ns = 1_790_000_000 * NS
    window = {"start_datetime": "2026-09-21T07:00:00Z", "end_datetime": "2026-09-21T09:00:00Z"}
    inside = 1_790_000_000 - (1_790_000_000 % 86400) + 8 * 3600  # 08:00 UTC that day

    assert judge_schedule({"schedule": {"standard_hours": [], "maintenance_windows": [window]}},
                          inside * NS).verdict == WARN
    ahead = judge_schedule({"schedule": {"standard_hours": [{}], "maintenance_windows": [window]}},
                           (inside - 4 * 3600) * NS)
    assert ahead.verdict == OK and "(in 3.0 h)" in ahead.detail
    assert judge_schedule({}, now_ns).verdict == WARN


def test_an_empty_balance_warns():
    assert judge_balance({"balance": 0, "portfolio_value": 0}).verdict == WARN
    finding = judge_balance({"balance": 12345, "portfolio_value": 0})
    assert finding.verdict == OK and finding.detail.startswith(f"${Decimal('123.45')} available")
    assert judge_balance({}).verdict == WARN


def test_a_production_url_under_another_env_warns():
    finding = judge_environment("demo", "https://external-api.kalshi.com/trade-api/v2", "wss://x/ws", False)
    assert finding.verdict == WARN and "--i-understand-this-trades-real-money" in finding.detail
    assert judge_environment("prod", "https://external-api.kalshi.com/trade-api/v2", "wss://x", False).verdict == OK


def test_database_checks(tmp_path):
    assert check_database(tmp_path / "new", "mmd.sqlite").verdict == OK

    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    assert check_database(not_a_dir, "mmd.sqlite").verdict == FAIL

    (tmp_path / "dir.sqlite").mkdir()
    assert check_database(tmp_path, "dir.sqlite").verdict == FAIL

    (tmp_path / "junk.sqlite").write_bytes(b"not a database at all" * 100)
    assert check_database(tmp_path, "junk.sqlite").verdict == FAIL

    sqlite3.connect(tmp_path / "good.sqlite").execute("CREATE TABLE t (x)").connection.close()
    assert check_database(tmp_path, "good.sqlite").verdict == OK
