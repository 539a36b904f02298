"""sd_notify without a dependency: one datagram to $NOTIFY_SOCKET, a no-op without it.

Each test binds its own AF_UNIX datagram socket (a path in tmp, or a name in the abstract
namespace) and points NOTIFY_SOCKET at it, as systemd would.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path

import pytest

from mmd import systemd


@pytest.fixture
def path_socket(tmp_path: Path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    address = str(tmp_path / "notify.sock")
    sock.bind(address)
    sock.settimeout(5)
    yield sock, {"NOTIFY_SOCKET": address}
    sock.close()


@pytest.fixture
def abstract_socket():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"mmd-test-notify-{os.getpid()}-{threading.get_ident()}"
    sock.bind("\0" + name)
    sock.settimeout(5)
    yield sock, {"NOTIFY_SOCKET": "@" + name}
    sock.close()


@pytest.fixture(autouse=True)
def _fresh_failure_flag(monkeypatch):
    monkeypatch.setattr(systemd, "_failure_logged", threading.Event())


def received(sock: socket.socket) -> str:
    return sock.recv(4096).decode()


def test_ready_sends_ready_and_its_status_in_one_datagram(path_socket):
    sock, environ = path_socket

    assert systemd.ready("paper trading, run run-1", environ)

    assert received(sock) == "READY=1\nSTATUS=paper trading, run run-1"


def test_status_watchdog_and_stopping_arrive_in_order(path_socket):
    sock, environ = path_socket

    systemd.status("reconciling with the exchange", environ)
    systemd.pet_watchdog(environ)
    systemd.stopping("cancelling orders", environ)

    assert received(sock) == "STATUS=reconciling with the exchange"
    assert received(sock) == "WATCHDOG=1"
    assert received(sock) == "STOPPING=1\nSTATUS=cancelling orders"


def test_leading_at_sign_means_the_abstract_namespace(abstract_socket):
    sock, environ = abstract_socket

    assert systemd.ready(environ=environ)

    assert received(sock) == "READY=1"


def test_a_status_text_cannot_smuggle_another_assignment(path_socket):
    sock, environ = path_socket

    systemd.status("market X\nREADY=1", environ)

    assert received(sock) == "STATUS=market X READY=1"


def test_without_notify_socket_nothing_is_sent_and_nothing_fails(caplog):
    with caplog.at_level(logging.DEBUG):
        assert systemd.notify("READY=1", {}) is False

    assert caplog.records == []


def test_the_process_environment_is_read_when_none_is_given(path_socket, monkeypatch):
    sock, environ = path_socket
    monkeypatch.setenv("NOTIFY_SOCKET", environ["NOTIFY_SOCKET"])

    assert systemd.pet_watchdog()

    assert received(sock) == "WATCHDOG=1"


def test_an_unreachable_socket_is_logged_once_and_never_raises(tmp_path, caplog):
    environ = {"NOTIFY_SOCKET": str(tmp_path / "nobody-listens.sock")}

    with caplog.at_level(logging.WARNING, logger="mmd.systemd"):
        results = [systemd.pet_watchdog(environ) for _ in range(3)]

    assert results == [False, False, False]
    assert len(caplog.records) == 1
    assert "cannot notify systemd" in caplog.records[0].getMessage()
