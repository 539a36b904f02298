"""The injected clock: virtual time moves only when the driver says; timers are messages."""

import threading

import pykka

from actors._base import MmdActor, handles
from messages import Message, message
from kernel.bus import Bus, InFlightTracker
from kernel.clock import LiveClock, ReplayClock, seconds


@message
class Due(Message):
    """A test timer: `what` names it."""

    what: str
    ts: int


class Recorder(MmdActor):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    @handles(Due)
    def on_timer(self, message):
        self.seen.append((message.what, self.clock.now_ns()))

    def get_seen(self):
        return list(self.seen)


def start_recorder(clock, tracker):
    return Recorder.start(clock=clock, bus=Bus(tracker), tracker=tracker)


def test_replay_clock_does_not_move_by_itself():
    clock = ReplayClock(1_000)
    assert clock.now_ns() == 1_000
    assert clock.now_ns() == 1_000


def test_replay_clock_fires_timers_in_deadline_order_one_at_a_time():
    tracker = InFlightTracker()
    clock = ReplayClock(0, tracker)
    ref = start_recorder(clock, tracker)
    clock.call_at(seconds(2), ref, Due(what="second", ts=0))
    clock.call_at(seconds(1), ref, Due(what="first", ts=0))

    assert clock.fire_next_due(seconds(5))
    tracker.wait_quiet()
    assert ref.proxy().get_seen().get() == [("first", seconds(1))]

    assert clock.fire_next_due(seconds(5))
    assert not clock.fire_next_due(seconds(5))
    tracker.wait_quiet()
    assert ref.proxy().get_seen().get() == [("first", seconds(1)), ("second", seconds(2))]


def test_equal_deadlines_break_ties_by_what_is_due_not_by_who_scheduled_first():
    tracker = InFlightTracker()
    clock = ReplayClock(0, tracker)
    ref = start_recorder(clock, tracker)
    for name in ("c", "a", "b"):  # in replay, actors on other threads may schedule in any order
        clock.call_at(10, ref, Due(what=name, ts=0))
    while clock.fire_next_due(10):
        pass
    tracker.wait_quiet()
    assert [w for w, _ in ref.proxy().get_seen().get()] == ["a", "b", "c"]


def test_identical_timers_with_equal_deadlines_keep_scheduling_order():
    tracker = InFlightTracker()
    clock = ReplayClock(0, tracker)
    ref = start_recorder(clock, tracker)
    handles = [clock.call_at(10, ref, Due(what="same", ts=i)) for i in range(3)]
    assert sorted(handles) == handles


def test_cancelled_timer_never_fires():
    tracker = InFlightTracker()
    clock = ReplayClock(0, tracker)
    ref = start_recorder(clock, tracker)
    handle = clock.call_at(10, ref, Due(what="x", ts=0))
    clock.cancel(handle)
    assert not clock.fire_next_due(100)
    assert clock.next_deadline() is None


def test_replay_clock_refuses_to_go_backwards():
    clock = ReplayClock(100)
    try:
        clock.advance_to(50)
    except ValueError as exc:
        assert "backwards" in str(exc)
    else:
        raise AssertionError("moving backwards must fail")


def test_live_clock_delivers_a_timer_as_a_message():
    tracker = InFlightTracker()
    clock = LiveClock(tracker)
    try:
        ref = start_recorder(clock, tracker)
        clock.call_later(seconds(0.05), ref, Due(what="due", ts=0))
        deadline = threading.Event()
        for _ in range(100):
            if ref.proxy().get_seen().get():
                break
            deadline.wait(0.02)
        assert [w for w, _ in ref.proxy().get_seen().get()] == ["due"]
    finally:
        clock.stop()


def test_timer_to_a_stopped_actor_is_dropped_without_leaking_in_flight_count():
    tracker = InFlightTracker()
    clock = ReplayClock(0, tracker)
    ref = start_recorder(clock, tracker)
    clock.call_at(5, ref, Due(what="late", ts=0))
    ref.stop()
    assert clock.fire_next_due(5)
    assert tracker.in_flight == 0
    assert pykka.ActorRegistry.get_all() == []


def test_a_live_timer_handle_reports_its_deadline_in_the_clocks_own_time_base():
    clock = LiveClock()
    try:
        before = clock.now_ns()
        handle = clock.call_later(seconds(30), None, Due(what="x", ts=0))
        # callers compare deadlines with now_ns() (e.g. "is the pending refill earlier?")
        assert before + seconds(30) <= handle.deadline_ns <= clock.now_ns() + seconds(30)
        clock.cancel(handle)
    finally:
        clock.stop()


def test_timers_left_after_most_were_cancelled_fire_in_their_order():
    # the heap is rebuilt without cancelled timers once half are cancelled: the rest keep
    # their (deadline, what is due, scheduling order) order
    tracker = InFlightTracker()
    clock = ReplayClock(0, tracker)
    ref = start_recorder(clock, tracker)
    handles = [clock.call_at(10 * (i % 7), ref, Due(what=f"t{i % 3}", ts=i)) for i in range(60)]
    for i, handle in enumerate(handles):
        if i % 4:
            clock.cancel(handle)
    clock.cancel(handles[1])  # cancelling twice counts once
    kept = sorted(h for i, h in enumerate(handles) if i % 4 == 0)
    while clock.fire_next_due(10**9):
        tracker.wait_quiet()  # each handled at its own virtual time
    assert ref.proxy().get_seen().get() == [(h.message.what, h.deadline_ns) for h in kept]
    assert clock.next_deadline() is None
