"""A periodic tick skipped while it has nothing to do lands, when it runs again, exactly
where the tick it replaces would have: on its grid, and in its turn among the timers due at
that instant (kernel.timers.KeyedTimers.arm_on_grid, kernel.clock.ReplayClock.turn_passed)."""

from __future__ import annotations

from kernel.clock import ReplayClock, seconds
from kernel.timers import KeyedTimers
from messages import RequoteDue
from actors.supervisor import SupervisorMonitorDue

T0 = seconds(1_000)


class Inbox:
    """A timer target that only records: the test delivers by hand."""

    def __init__(self) -> None:
        self.got: list = []

    def tell(self, message) -> None:
        self.got.append(message)


def test_a_tick_skipped_to_a_later_instant_stays_on_its_grid():
    clock = ReplayClock(T0)
    timers = KeyedTimers(clock, Inbox())
    due = RequoteDue(ticker="KX", ts=T0)
    deadline = timers.arm_on_grid("tick", anchor_ns=T0, interval_ns=seconds(1), not_before_ns=T0 + seconds(7.5), message=due)
    assert deadline == T0 + seconds(8)  # the first tick of the grid at or after 7.5 s


def test_a_change_pulls_the_tick_back_but_never_pushes_it_later():
    clock = ReplayClock(T0)
    timers = KeyedTimers(clock, Inbox())
    due = RequoteDue(ticker="KX", ts=T0)
    timers.arm_on_grid("tick", anchor_ns=T0, interval_ns=seconds(1), not_before_ns=T0 + seconds(30), message=due)
    clock.advance_to(T0 + seconds(4.2))
    assert timers.arm_on_grid("tick", anchor_ns=T0, interval_ns=seconds(1), not_before_ns=T0, message=due) == T0 + seconds(5)
    assert timers.arm_on_grid("tick", anchor_ns=T0, interval_ns=seconds(1), not_before_ns=T0 + seconds(60), message=due) == T0 + seconds(5)


def test_the_tick_due_now_is_kept_unless_a_timer_that_sorts_after_it_is_already_being_delivered():
    clock = ReplayClock(T0)
    target = Inbox()
    timers = KeyedTimers(clock, target)
    tick = RequoteDue(ticker="KX", ts=T0)
    # data at an instant of the grid goes before its timers: the tick due now has not had its turn
    clock.advance_to(T0 + seconds(3))
    assert timers.arm_on_grid("tick", anchor_ns=T0, interval_ns=seconds(1), not_before_ns=T0, message=tick) == T0 + seconds(3)
    timers.cancel("tick")
    # a timer that sorts after RequoteDue is being delivered at that instant: the tick's turn has passed
    clock.call_at(T0 + seconds(4), target, SupervisorMonitorDue(ts=T0))
    assert clock.fire_next_due(T0 + seconds(4))
    assert timers.arm_on_grid("tick", anchor_ns=T0, interval_ns=seconds(1), not_before_ns=T0, message=tick) == T0 + seconds(5)
