"""status.host: the status server (plain HTTP, status readable without a token) listens on
loopback only unless the config explicitly allows more; a bad value is a clear error at
start, before anything runs."""

from __future__ import annotations

import dataclasses

import pytest

from config import ConfigError, load_config
from mmd.guards import status_host_problem
from mmd.runner import StartupError, check_start_guards, run_daemon
from mmd.status_server import StatusServer


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "::1", "[::1]", "localhost", "LOCALHOST", "localhost."])
def test_loopback_hosts_are_accepted(host):
    assert status_host_problem(host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com", "localhost.example.com", "10.0.0.1"])
def test_other_hosts_are_refused_unless_allowed(host):
    problem = status_host_problem(host)
    assert problem is not None and problem.startswith(f"status.host: {host!r} is not a loopback address")
    assert "status.allow_remote: true" in problem
    assert status_host_problem(host, allow_remote=True) is None


@pytest.mark.parametrize("host", ["", "  ", None, 8765])
def test_an_empty_or_non_text_host_is_refused_even_when_remote_is_allowed(host):
    assert status_host_problem(host, allow_remote=True) == "status.host: must be a host name or IP address, e.g. 127.0.0.1"


def test_config_check_refuses_a_non_loopback_status_host():
    with pytest.raises(ConfigError, match=r"status.host: '0.0.0.0' is not a loopback address"):
        load_config(overrides={"status": {"host": "0.0.0.0"}})
    assert load_config(overrides={"status": {"host": "0.0.0.0", "allow_remote": True}}).status.host == "0.0.0.0"


def test_start_refuses_a_non_loopback_status_host_before_anything_runs(tmp_path):
    shipped = load_config()  # a config built in code skips the loader's check: start checks again
    cfg = dataclasses.replace(shipped, status=dataclasses.replace(shipped.status, host="0.0.0.0"))

    with pytest.raises(StartupError, match=r"status.host: '0.0.0.0' is not a loopback address"):
        run_daemon(cfg, env="paper", exchange_url=None, data_dir=tmp_path / "var", duration_s=0)

    assert not (tmp_path / "var").exists()


def test_the_shipped_config_passes_the_start_guards():
    check_start_guards(load_config(), "paper", None, real_money=False)


def test_the_server_itself_refuses_a_non_loopback_host():
    with pytest.raises(ValueError, match="not a loopback address"):
        StatusServer("0.0.0.0", 0, dict)


def test_the_server_listens_on_ipv6_loopback():
    try:
        server = StatusServer("::1", 0, dict).start()
    except OSError as exc:  # a machine without IPv6
        pytest.skip(f"no IPv6 loopback here: {exc}")
    try:
        assert server.url.startswith("http://[::1]:") and server.url.endswith("/status")
    finally:
        server.stop()
