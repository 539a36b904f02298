"""The supervisor's monitor ticks on its grid (monitor_interval_s apart) only where a tick
may do something: every tick while an event waits or a volatility session runs; with pinned
sessions alone, only when the balance is due for a read. SupervisorCore, no actors."""

from __future__ import annotations

from actors.supervisor import MakerStartFailed, SupervisorMonitorDue
from kernel.clock import seconds
from messages import MarketSelected
from test_supervisor_factories import T0, CoreHarness


def monitor_ticks(h: CoreHarness) -> list[int]:
    ticks: list[int] = []
    on_due = h.core.on_due

    def recording(due, now_ns, **kwargs):
        if isinstance(due, SupervisorMonitorDue):
            ticks.append((now_ns - T0) // seconds(1))
        return on_due(due, now_ns, **kwargs)

    h.core.on_due = recording
    return ticks


def test_with_pinned_sessions_alone_the_monitor_ticks_only_when_the_balance_is_due():
    h = CoreHarness()
    ticks = monitor_ticks(h)
    h.feed(MarketSelected(ticker="KX-P", reason="configured", ts=h.now))
    h.run_until(T0 + seconds(45))
    poll = int(h.config.balance_poll_interval_s)
    assert ticks == [1, 1 + poll, 1 + 2 * poll, 1 + 3 * poll, 1 + 4 * poll]  # on the 1 s grid from the start
    assert h.reads().count("/portfolio/balance") == len(ticks)


def test_a_waiting_event_makes_the_monitor_tick_every_second_on_the_same_grid():
    h = CoreHarness()
    ticks = monitor_ticks(h)
    h.feed(MarketSelected(ticker="KX-P", reason="configured", ts=h.now))
    h.run_until(T0 + seconds(2.5))
    h.start_one("KX-A")  # an event waits out its regime wait (5 s), then its session runs
    assert ticks == [1, 3, 4, 5, 6, 7]  # none at 2 s: nothing waited yet


def test_a_maker_that_died_starting_is_found_at_the_next_tick():
    h = CoreHarness()
    ticks = monitor_ticks(h)
    h.feed(MarketSelected(ticker="KX-P", reason="configured", ts=h.now))
    h.run_until(T0 + seconds(3.5))
    sid = h.session_id("KX-P")
    h.gone.add(sid)  # its on_start raised: Pykka stopped it
    h.feed(MakerStartFailed(session_id=sid, ticker="KX-P", error="boom", ts=h.now))
    h.run_until(T0 + seconds(5))
    assert ticks == [1, 4]
    assert h.stopped() == [("KX-P", "crashed", None)]
