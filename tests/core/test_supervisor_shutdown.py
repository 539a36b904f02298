"""Shutdown waits for makers to finish their exits before the actors stop (mmd.runner)."""

from types import SimpleNamespace

import pykka

from mmd.runner import wait_for_sessions_to_finish


class CountingSupervisor(pykka.ThreadingActor):
    """Reports `open_sessions[0]` open sessions, one fewer on each ask."""

    def __init__(self, open_sessions):
        super().__init__()
        self.open_sessions = open_sessions

    def open_session_count(self):
        current = self.open_sessions[0]
        self.open_sessions[0] = max(0, current - 1)
        return current


def test_shutdown_waits_until_every_session_has_finished():
    remaining = [3]
    daemon = SimpleNamespace(refs={"supervisor": CountingSupervisor.start(remaining)})
    assert wait_for_sessions_to_finish(daemon, timeout_s=10) == 0
    assert remaining == [0]


def test_shutdown_stops_waiting_at_the_timeout_and_says_how_many_are_still_open():
    class Stuck(CountingSupervisor):
        def open_session_count(self):
            return 2

    daemon = SimpleNamespace(refs={"supervisor": Stuck.start([2])})
    assert wait_for_sessions_to_finish(daemon, timeout_s=0.3) == 2


def test_no_supervisor_nothing_to_wait_for():
    assert wait_for_sessions_to_finish(SimpleNamespace(refs={}), timeout_s=1) == 0
