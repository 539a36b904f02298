"""`mmd sim`: the simulator standalone, with a scenario, a rate-limit tier and the fault endpoint."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]


def start_sim(tmp_path, *extra) -> tuple[subprocess.Popen, str]:
    """Start `python -m mmd sim --port 0 ...`; returns the process and its REST base URL."""
    cmd = [sys.executable, "-m", "mmd", "sim", "--port", "0", "--data-dir", str(tmp_path), *extra]
    proc = subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        line = proc.stderr.readline()
        found = re.search(r"REST (\S+)", line)
        if found:
            return proc, found.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"mmd sim did not start: {proc.stderr.read()}")


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sim_serves_a_named_scenario_with_faults_and_exits_0_on_sigterm(tmp_path):
    proc, base_url = start_sim(tmp_path, "--scenario", "quiet_low_sigma", "--tier", "basic")
    try:
        markets = requests.get(base_url + "/markets", timeout=5).json()["markets"]
        assert [m["ticker"] for m in markets] == ["KXTBILL3M-26DEC-T4.10"]
        assert (tmp_path / "paper-keys" / "paper-key.pub.pem").exists()
        admin_url = base_url.replace("/trade-api/v2", "/_admin/faults")
        assert requests.post(admin_url, json={"fault": "burst_429", "count": 1}, timeout=5).status_code == 200
        refused = requests.get(base_url + "/markets", timeout=5)
        assert refused.status_code == 429 and refused.json() == {"error": "too many requests"}
    finally:
        assert stop(proc) == 0


def test_sim_without_admin_has_no_fault_endpoint(tmp_path):
    proc, base_url = start_sim(tmp_path, "--no-admin", "--seed", "3")
    try:
        admin_url = base_url.replace("/trade-api/v2", "/_admin/faults")
        assert requests.get(admin_url, timeout=5).status_code == 404
        assert requests.get(base_url + "/exchange/status", timeout=5).status_code == 200
    finally:
        assert stop(proc) == 0


@pytest.mark.parametrize("args, complaint", [
    (["--scenario", "no_such_scenario"], "no such scenario"),
    (["--tier", "platinum"], "unknown rate-limit tier 'platinum'"),
])
def test_sim_refuses_bad_options_with_one_clear_line(tmp_path, args, complaint):
    cmd = [sys.executable, "-m", "mmd", "sim", "--port", "0", "--data-dir", str(tmp_path), *args]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert complaint in done.stderr and "Traceback" not in done.stderr
