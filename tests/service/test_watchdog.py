"""The systemd watchdog: its interval from the environment, and a pet every half interval,
only after a health pass succeeded. Time is given in seconds of a monotonic clock."""

from __future__ import annotations

import os

from mmd.systemd import Watchdog, watchdog_interval_s


def test_interval_comes_from_watchdog_usec():
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000"}) == 30.0


def test_no_watchdog_usec_means_no_watchdog():
    assert watchdog_interval_s({}) is None


def test_watchdog_pid_of_this_process_keeps_the_watchdog():
    environ = {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}

    assert watchdog_interval_s(environ) == 30.0


def test_watchdog_pid_of_another_process_is_not_ours_to_pet():
    environ = {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}

    assert watchdog_interval_s(environ, pid=4242) is None


def test_zero_or_garbage_watchdog_usec_means_no_watchdog():
    assert watchdog_interval_s({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "thirty"}) is None


class Pets:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def test_first_health_pass_pets_at_once():
    pets = Pets()
    watchdog = Watchdog(30.0, now_s=100.0, pet=pets)

    assert watchdog.due(100.0)
    assert watchdog.health_passed(100.0)
    assert pets.count == 1


def test_next_pet_is_due_half_an_interval_later():
    pets = Pets()
    watchdog = Watchdog(30.0, now_s=100.0, pet=pets)
    watchdog.health_passed(100.0)

    assert not watchdog.due(114.9)
    assert not watchdog.health_passed(110.0)  # a pass before it is due sends nothing
    assert watchdog.due(115.0)
    assert watchdog.health_passed(115.0)
    assert pets.count == 2


def test_no_pet_without_a_health_pass_however_late():
    pets = Pets()
    watchdog = Watchdog(30.0, now_s=100.0, pet=pets)

    assert watchdog.due(1000.0)
    assert pets.count == 0


def test_failed_health_pass_is_retried_soon_not_at_once():
    pets = Pets()
    watchdog = Watchdog(30.0, now_s=100.0, pet=pets)

    watchdog.health_failed(100.0)

    assert pets.count == 0
    assert not watchdog.due(100.0)  # a dead actor fails at once: no busy loop
    assert watchdog.wait_s(100.0, longest_s=60.0) == 3.0  # a fifth of the 15 s period
    assert watchdog.health_passed(103.0) and pets.count == 1


def test_signal_wait_is_cut_short_when_a_pass_falls_due():
    watchdog = Watchdog(30.0, now_s=100.0, pet=Pets())
    watchdog.health_passed(100.0)

    assert watchdog.wait_s(101.0, longest_s=60.0) == 14.0
    assert watchdog.wait_s(101.0, longest_s=5.0) == 5.0
    assert watchdog.wait_s(120.0, longest_s=60.0) == 0.0  # overdue: no wait


def test_without_a_watchdog_nothing_is_ever_due():
    pets = Pets()
    watchdog = Watchdog(None, now_s=100.0, pet=pets)

    assert not watchdog.enabled
    assert not watchdog.due(1000.0)
    assert watchdog.wait_s(1000.0, longest_s=60.0) == 60.0
    assert not watchdog.health_passed(1000.0)
    assert pets.count == 0


def test_from_environment_pets_through_the_notify_socket(tmp_path):
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(tmp_path / "notify.sock"))
        sock.settimeout(5)
        environ = {"WATCHDOG_USEC": "10000000", "NOTIFY_SOCKET": str(tmp_path / "notify.sock")}
        watchdog = Watchdog.from_environment(50.0, environ)

        watchdog.health_passed(50.0)

        assert watchdog.period_s == 5.0
        assert sock.recv(64) == b"WATCHDOG=1"
