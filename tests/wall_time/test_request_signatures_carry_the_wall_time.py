"""Kalshi signs `timestamp_ms + METHOD + path`, and refuses a timestamp far from its own clock:
every signed request (REST from the daemon's wiring and from `mmd cancel-all`'s own client,
and the WebSocket handshake) carries the wall time of the moment it is sent, in milliseconds,
and the signature covers exactly that timestamp. Time is frozen, so the values are exact."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from freezegun import freeze_time

from config import load_config
from kalshi.auth import HEADER_KEY, HEADER_SIGNATURE, HEADER_TIMESTAMP, verify_signature
from mmd.runner import Endpoint, live_wiring, rest_client_for, ws_url_for

FROZEN = "2026-12-07 18:00:00.123456+00:00"
FROZEN_MS = 1_796_666_400_123  # the frozen instant in whole milliseconds (microseconds dropped)
KEY_ID = "edge-key"
REST_REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
WS_REFUSAL = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
WAIT_S = 30  # a safety bound for the capture, never what the test waits for


@dataclass
class Captured:
    request_line: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)


class CapturingServer:
    """A loopback listener that reads one request head, records it and answers `reply`."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.captured = Captured()
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._serve_one, daemon=True)
        self._thread.start()

    def _serve_one(self) -> None:
        connection, _ = self._socket.accept()
        with connection:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = connection.recv(4096)
                if not chunk:
                    break
                head += chunk
            lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            self.captured.request_line = lines[0]
            self.captured.headers = {
                name.strip().upper(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])
            }
            connection.sendall(self.reply)
        self.captured.done.set()

    def close(self) -> None:
        self._socket.close()


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def endpoint_at(private_key):
    servers = []

    def endpoint(reply: bytes) -> tuple[Endpoint, CapturingServer]:
        server = CapturingServer(reply)
        servers.append(server)
        rest_url = f"http://127.0.0.1:{server.port}/trade-api/v2"
        return Endpoint(rest_url, ws_url_for(rest_url), KEY_ID, private_key), server

    yield endpoint
    for server in servers:
        server.close()


@pytest.fixture
def wiring_for():
    made = []

    def wiring(endpoint: Endpoint):
        made.append(live_wiring(load_config(), "paper", endpoint, "run-edge"))
        return made[-1]

    yield wiring
    for wiring in made:
        wiring.executor.shutdown(wait=True)
        wiring.clock.stop()


def assert_signed_at_frozen_ms(captured: Captured, private_key, method: str, path: str) -> None:
    assert captured.done.wait(WAIT_S), "no request reached the listener"
    assert captured.request_line.startswith(f"{method} {path}")
    assert captured.headers[HEADER_KEY] == KEY_ID
    assert captured.headers[HEADER_TIMESTAMP] == str(FROZEN_MS)
    assert verify_signature(
        private_key.public_key(), str(FROZEN_MS), method, path, captured.headers[HEADER_SIGNATURE]
    )


def test_a_rest_request_of_the_daemon_is_signed_at_the_wall_time_it_is_sent(endpoint_at, wiring_for, private_key):
    endpoint, server = endpoint_at(REST_REPLY)
    with freeze_time(FROZEN):
        wiring = wiring_for(endpoint)
        assert wiring.client.get("/exchange/status") == {}
    assert_signed_at_frozen_ms(server.captured, private_key, "GET", "/trade-api/v2/exchange/status")


def test_a_rest_request_of_cancel_all_without_a_daemon_is_signed_at_the_wall_time_it_is_sent(
    endpoint_at, private_key
):
    endpoint, server = endpoint_at(REST_REPLY)
    with freeze_time(FROZEN):
        client = rest_client_for(load_config(), endpoint)
        assert client.get("/portfolio/orders", {"status": "resting"}) == {}
    # the query string is not signed
    assert_signed_at_frozen_ms(server.captured, private_key, "GET", "/trade-api/v2/portfolio/orders")


class _Inbox:
    """Stands in for the WS actor: the connector tells it how the connection went."""

    def __init__(self) -> None:
        self.messages: list = []

    def tell(self, message) -> None:
        self.messages.append(message)


def test_the_websocket_handshake_is_signed_at_the_wall_time_of_the_connect(endpoint_at, wiring_for, private_key):
    endpoint, server = endpoint_at(WS_REFUSAL)
    with freeze_time(FROZEN):
        wiring = wiring_for(endpoint)
        connector = wiring.connector_factory(_Inbox())
        try:
            connector.connect()
            assert server.captured.done.wait(WAIT_S), "no handshake reached the listener"
        finally:
            connector.close()
    assert server.captured.headers["UPGRADE"].lower() == "websocket"
    assert_signed_at_frozen_ms(server.captured, private_key, "GET", "/trade-api/ws/v2")
