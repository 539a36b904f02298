"""The times a running daemon's status server shows: `now_ns` in the status JSON is the daemon's
clock (the wall time, in whole nanoseconds: an integer in the JSON, never a rounded float),
and the HTTP `Date` header is the same instant. Time is frozen, so the values are exact."""

from __future__ import annotations

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from freezegun import freeze_time

from config import load_config
from mmd.app import Daemon
from mmd.runner import Endpoint, live_wiring
from mmd.status_server import StatusServer

FROZEN = "2026-12-07 18:00:00.123456+00:00"
FROZEN_NS = 1_796_666_400_123_456_000


@pytest.fixture
def daemon(tmp_path):
    """A daemon wired as `mmd start` wires it, not started: its status needs no actor."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    endpoint = Endpoint("http://127.0.0.1:9/trade-api/v2", "ws://127.0.0.1:9/trade-api/ws/v2", "edge-key", key)
    wiring = live_wiring(load_config(), "paper", endpoint, "run-20261207T180000")
    yield Daemon(load_config(), wiring, tmp_path / "mmd.sqlite")
    wiring.executor.shutdown(wait=True)
    wiring.clock.stop()


def test_status_shows_the_wall_time_in_whole_nanoseconds_and_dates_its_reply(daemon):
    with freeze_time(FROZEN):
        server = StatusServer("127.0.0.1", 0, daemon.status, control_token="edge-token").start()
        try:
            reply = requests.get(server.url, timeout=10)
        finally:
            server.stop()
    assert reply.status_code == 200
    assert reply.json()["now_ns"] == FROZEN_NS
    assert reply.json()["run_id"] == "run-20261207T180000"
    assert reply.headers["Date"] == "Mon, 07 Dec 2026 18:00:00 GMT"
