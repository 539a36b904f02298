"""LiveClock, the one clock of live and paper runs: `now_ns()` is the wall time, and a timer's
deadline is the wall time it was armed plus its delay (a deadline already past is due at
once), kept on the monotonic clock for its delivery. Time is frozen, so values are exact."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import freezegun
from freezegun import freeze_time

from kernel.clock import NS_PER_SECOND, LiveClock

FROZEN = "2026-12-07 18:00:00.123456+00:00"
FROZEN_NS = 1_796_666_400_123_456_000
WAIT_S = 30  # a safety bound for a delivery, never what the test waits for


class Inbox:
    """Stands in for an actor ref: records what the clock's thread tells it."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._lock = threading.Lock()
        self._arrivals: dict[str, threading.Event] = {}

    def _arrival(self, message: str) -> threading.Event:
        with self._lock:
            return self._arrivals.setdefault(message, threading.Event())

    def tell(self, message: str) -> None:
        self.messages.append(message)
        self._arrival(message).set()

    def wait_for(self, message: str) -> None:
        assert self._arrival(message).wait(WAIT_S), f"{message} never came"


@contextmanager
def frozen_live_clock():
    """Frozen time seen by the clock's own thread too: freezegun gives code called from a
    `threading` frame the real time unless `threading` is taken off its ignore list."""
    previous = list(freezegun.config.settings.default_ignore_list)
    freezegun.configure(default_ignore_list=[name for name in previous if name != "threading"])
    try:
        freezer = freeze_time(FROZEN)  # takes the ignore list now
    finally:
        freezegun.configure(default_ignore_list=previous)
    with freezer as frozen:
        clock = LiveClock()
        try:
            yield frozen, clock
        finally:
            clock.stop()


def wake(clock: LiveClock) -> None:
    """The clock's thread sleeps until its next deadline on the real clock: moving the frozen
    time does not wake it, a change to its timers does."""
    clock.cancel(clock.call_later(3600 * NS_PER_SECOND, Inbox(), "never"))


def test_now_is_the_wall_time_in_nanoseconds():
    with frozen_live_clock() as (_, clock):
        assert clock.now_ns() == FROZEN_NS == time.time_ns()


def test_a_deadline_is_the_wall_time_it_was_armed_plus_its_delay():
    inbox = Inbox()
    with frozen_live_clock() as (_, clock):
        assert clock.call_later(2 * NS_PER_SECOND, inbox, "in 2 s").deadline_ns == FROZEN_NS + 2 * NS_PER_SECOND
        at = clock.call_at(FROZEN_NS + 5 * NS_PER_SECOND, inbox, "at +5 s")
        assert at.deadline_ns == FROZEN_NS + 5 * NS_PER_SECOND
        assert at.due_key == time.monotonic_ns() + 5 * NS_PER_SECOND  # delivered by the monotonic clock


def test_a_deadline_already_past_is_due_now():
    inbox = Inbox()
    with frozen_live_clock() as (_, clock):
        late = clock.call_at(FROZEN_NS - 7 * NS_PER_SECOND, inbox, "late")
        assert late.deadline_ns == FROZEN_NS
        inbox.wait_for("late")


def test_timers_are_delivered_when_their_deadline_comes_and_not_before():
    inbox = Inbox()
    with frozen_live_clock() as (frozen, clock):
        clock.call_at(FROZEN_NS + 5 * NS_PER_SECOND, inbox, "at +5 s")
        clock.call_at(FROZEN_NS + 1 * NS_PER_SECOND, inbox, "at +1 s")
        frozen.tick(1)
        wake(clock)
        inbox.wait_for("at +1 s")
        assert inbox.messages == ["at +1 s"]  # the +5 s timer is 4 s away on the frozen clock
        frozen.tick(4)
        wake(clock)
        inbox.wait_for("at +5 s")
    assert inbox.messages == ["at +1 s", "at +5 s"]
