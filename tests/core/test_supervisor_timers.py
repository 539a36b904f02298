"""The supervisor's typed timers. Timers due at the same instant are delivered in (message
type name, ticker, arming order) (kernel.clock): the names keep the order the supervisor's
timers always had, so replays hand them out as before; each is keyed by what it is for."""

from __future__ import annotations

from actors.scanner._timers import ScannerRegimeHeartbeatDue, ScannerSweepDue
from actors.supervisor import (
    SupervisorAdmissionDue,
    SupervisorCloseReadRetryDue,
    SupervisorCloseWindowDue,
    SupervisorExitDeadlineDue,
    SupervisorMonitorDue,
    SupervisorRestartDue,
    SupervisorSessionTtlDue,
)
from actors.supervisor._timers import SUPERVISOR_TIMERS
from actors.ws._core import WsReconnectDue
from kernel.clock import ReplayClock
from test_supervisor_factories import T0


def test_timers_due_together_come_in_the_supervisors_historical_order_then_by_ticker():
    clock = ReplayClock(T0)
    delivered = []

    class Target:
        def tell(self, message):
            delivered.append(message)

    due = [
        SupervisorSessionTtlDue(ticker="KX-A", session_id="s1", ts=0),
        SupervisorRestartDue(ticker="KX-A", session_id="s1", ts=0),
        SupervisorMonitorDue(ts=0),
        SupervisorExitDeadlineDue(ticker="KX-B", session_id="s2", ts=0),
        SupervisorExitDeadlineDue(ticker="KX-A", session_id="s1", ts=0),
        SupervisorCloseWindowDue(ticker="KX-A", session_id="s1", ts=0),
        SupervisorCloseReadRetryDue(ticker="KX-A", session_id="s1", ts=0),
        SupervisorAdmissionDue(ticker="KX-A", event_id="e1", ts=0),
    ]
    for message in due:
        clock.call_at(T0 + 1, Target(), message)
    while clock.fire_next_due(T0 + 1):
        pass
    assert [(type(m).__name__, getattr(m, "ticker", "")) for m in delivered] == [
        ("SupervisorAdmissionDue", "KX-A"),
        ("SupervisorCloseReadRetryDue", "KX-A"),
        ("SupervisorCloseWindowDue", "KX-A"),
        ("SupervisorExitDeadlineDue", "KX-A"),
        ("SupervisorExitDeadlineDue", "KX-B"),
        ("SupervisorMonitorDue", ""),
        ("SupervisorRestartDue", "KX-A"),
        ("SupervisorSessionTtlDue", "KX-A"),
    ]


def test_at_the_same_instant_the_supervisors_timers_come_after_the_scanners_and_before_the_ws_connections():
    """As the old TimerFired "scanner_..." < "supervisor-..." < "ws_..." did (the monitor
    reads the regime views the scanner's heartbeat publishes in the same instant)."""
    for timer in SUPERVISOR_TIMERS:
        assert ScannerRegimeHeartbeatDue.__name__ < timer.__name__ < WsReconnectDue.__name__
        assert ScannerSweepDue.__name__ < timer.__name__


def test_a_sessions_timers_are_keyed_by_its_session_id_and_events_by_their_id():
    ttl, later_ttl = (SupervisorSessionTtlDue(ticker="KX-A", session_id=s, ts=0) for s in ("s1", "s2"))
    assert ttl.key != later_ttl.key
    close, moved = (SupervisorCloseWindowDue(ticker="KX-A", session_id="s1", ts=t) for t in (5, 9))
    assert close.key == moved.key  # a moved close replaces the earlier timer
    assert SupervisorAdmissionDue(ticker="KX-A", event_id="e1", ts=0).key != SupervisorAdmissionDue(
        ticker="KX-A", event_id="e2", ts=0
    ).key
    assert SupervisorMonitorDue(ts=0).key == SupervisorMonitorDue(ts=1).key
