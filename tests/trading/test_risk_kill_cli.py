"""`mmd kill` / `mmd resume` against a running loopback status server wired to a real
risk governor actor (the daemon's wiring of the two endpoints, without the exchange). The
daemon's control token lives in its data dir; the CLI reads it from there."""

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from actors.risk import RiskGovernorActor, TradingState
from messages import CancelAllOrders, PlaceOrder
from mmd.cli import main
from mmd.control import issue_token
from mmd.status_server import StatusServer

from .factories import place

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def risk(harness, gateway, risk_config):
    ref = RiskGovernorActor.start(**harness.wiring, config=risk_config, order_gateway=gateway)
    harness.quiet()
    return ref


@pytest.fixture
def token(tmp_path):
    return issue_token(tmp_path)


@pytest.fixture
def server(risk, token):
    proxy = risk.proxy()
    server = StatusServer(
        "127.0.0.1",
        0,
        lambda: {"risk": proxy.get_status().get(timeout=5)},
        kill=lambda reason: proxy.engage_kill_switch(reason).get(timeout=5),
        resume=lambda reason: proxy.release_kill_switch(reason).get(timeout=5),
        control_token=token,
    ).start()
    yield server
    server.stop()


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "mmd", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_mmd_kill_halts_the_daemon_and_mmd_resume_releases_it(harness, gateway, risk, server, tmp_path):
    killed = run_cli("kill", "--url", server.url, "--data-dir", str(tmp_path), "--reason", "desk says stop")
    harness.quiet()

    assert killed.returncode == 0, killed.stderr
    assert json.loads(killed.stdout)["engaged"] is True
    status = risk.proxy().get_status().get()
    assert (status["state"], status["kill_switch"]["reason"]) == (TradingState.HALTED, "desk says stop")
    assert [type(c) for c in gateway.proxy().commands().get()] == [CancelAllOrders]
    harness.tell(risk, place("during", "bid", "0.40", 1))
    assert [type(c) for c in gateway.proxy().commands().get()] == [CancelAllOrders]  # refused

    resumed = run_cli("resume", "--url", server.url, "--data-dir", str(tmp_path))
    harness.quiet()

    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["state"] == TradingState.ACTIVE
    harness.tell(risk, place("after", "bid", "0.40", 1))
    assert [type(c) for c in gateway.proxy().commands().get()] == [CancelAllOrders, PlaceOrder]


def test_kill_finds_the_daemon_through_its_data_dir(harness, risk, server, tmp_path, capsys):
    (tmp_path / "daemon.json").write_text(json.dumps({"pid": 1, "status_url": server.url}))

    assert main(["kill", "--data-dir", str(tmp_path)]) == 0
    harness.quiet()

    assert risk.proxy().get_status().get()["kill_switch"]["reason"] == "operator kill switch"
    assert json.loads(capsys.readouterr().out)["engaged"] is True


def test_kill_without_a_running_daemon_is_one_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["kill", "--data-dir", str(tmp_path)])

    assert exited.value.code == 1
    assert "no running daemon found" in capsys.readouterr().err


def test_kill_is_post_only_and_a_bad_body_is_refused(server, token):
    with pytest.raises(urllib.error.HTTPError) as got:
        urllib.request.urlopen(server.base_url + "/kill", timeout=5)  # a GET
    assert got.value.code == 404

    bad = urllib.request.Request(
        server.base_url + "/kill",
        data=b"{not json",
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with pytest.raises(urllib.error.HTTPError) as got:
        urllib.request.urlopen(bad, timeout=5)
    assert got.value.code == 400


def test_a_daemon_without_the_kill_endpoints_answers_503(capsys, tmp_path):
    server = StatusServer("127.0.0.1", 0, dict, control_token=issue_token(tmp_path)).start()
    try:
        assert main(["kill", "--url", server.url, "--data-dir", str(tmp_path)]) == 1
    finally:
        server.stop()

    assert "HTTP 503" in capsys.readouterr().err


def test_a_daemons_status_method_brings_its_kill_switch_along(capsys, tmp_path):
    class Daemon:
        def __init__(self):
            self.kills = []

        def status(self):
            return {}

        def engage_kill_switch(self, reason):
            self.kills.append(reason)
            return {"engaged": True}

        def release_kill_switch(self, reason):
            return {"engaged": False}

    daemon = Daemon()
    # as mmd.runner builds it
    server = StatusServer("127.0.0.1", 0, daemon.status, control_token=issue_token(tmp_path)).start()
    try:
        assert main(["kill", "--url", server.url, "--data-dir", str(tmp_path), "--reason", "wired"]) == 0
        assert main(["resume", "--url", server.url, "--data-dir", str(tmp_path)]) == 0
    finally:
        server.stop()

    assert daemon.kills == ["wired"]
