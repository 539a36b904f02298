"""The one seam through which actors read time and schedule timers.

Two implementations, chosen in exactly one place (mmd.app) and injected everywhere:

- LiveClock: wall time plus one timer thread that tells due messages to actors.
- ReplayClock: virtual time that moves only when the replay driver advances it; due
  timers are popped by the driver one at a time, in (deadline, what is due, scheduling order).

No actor reads time.time(), datetime.now() or sleeps: they call clock.now_ns() and
clock.call_later(...), and the timer arrives as an ordinary message.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from kernel.bus import post

NS_PER_SECOND = 1_000_000_000
NS_PER_MS = 1_000_000

__all__ = ["Clock", "LiveClock", "ReplayClock", "TimerHandle", "NS_PER_SECOND", "NS_PER_MS", "seconds", "timer_tie"]


# float config values recur on every tick: converted once each. Floats only: a Decimal or
# an int equal to a cached float is a different product (and so possibly a different round).
_SECONDS: dict[float, int] = {}


def seconds(value: float) -> int:
    """Seconds (config values) to integer nanoseconds."""
    if type(value) is not float:
        return int(round(value * NS_PER_SECOND))
    ns = _SECONDS.get(value)
    if ns is None:
        ns = int(round(value * NS_PER_SECOND))
        if len(_SECONDS) < 4_096:  # bounded: a computed delay is not a config value
            _SECONDS[value] = ns
    return ns


@dataclass(order=True, slots=True)
class TimerHandle:
    due_key: int  # heap order: virtual time (replay) or the monotonic clock (live)
    tie: tuple[str, str]  # equal deadlines: by message kind and ticker, not by thread timing
    order: int
    deadline_ns: int = field(compare=False)  # in the clock's now_ns() time base
    target: Any = field(compare=False)
    message: Any = field(compare=False)
    cancelled: bool = field(default=False, compare=False)
    fired: bool = field(default=False, compare=False)  # popped for delivery: cancelling it is too late


def timer_tie(message: Any) -> tuple[str, str]:
    """How timers due at the same instant are ordered: by what is due (message type name),
    then its ticker (or `what`), then scheduling order."""
    return (type(message).__name__, str(getattr(message, "ticker", "") or getattr(message, "what", "")))


class Clock(Protocol):
    def now_ns(self) -> int: ...

    def call_at(self, deadline_ns: int, target: Any, message: Any) -> TimerHandle: ...

    def call_later(self, delay_ns: int, target: Any, message: Any) -> TimerHandle: ...

    def cancel(self, handle: TimerHandle | None) -> None: ...


class _TimerHeap:
    """Pending timers in (deadline, what is due, scheduling order) order.

    Entries are plain tuples (due_key, tie, order, handle): the heap compares them in C.
    Hazard: a cancelled timer is only marked; one armed for a market's close, weeks away,
    would wait in memory until its deadline. Cancellations are counted, and once half the
    heap is cancelled it is rebuilt without them (the order of the rest is unchanged: the
    keys are unique)."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, tuple[str, str], int, TimerHandle]] = []
        self._order = itertools.count()
        self._cancelled = 0  # marked cancelled, still in the heap

    def push(self, due_key: int, deadline_ns: int, target: Any, message: Any) -> TimerHandle:
        # Hazard: two actors scheduling in the same replay step race for the counter, so
        # ties break on what the timer is for first; the counter only orders one actor's.
        tie = timer_tie(message)
        order = next(self._order)
        handle = TimerHandle(due_key, tie, order, deadline_ns, target, message)
        heapq.heappush(self._heap, (due_key, tie, order, handle))
        return handle

    def cancel(self, handle: TimerHandle) -> None:
        if handle.cancelled or handle.fired:
            return
        handle.cancelled = True
        self._cancelled += 1
        if self._cancelled * 2 > len(self._heap):
            self._heap = [entry for entry in self._heap if not entry[3].cancelled]
            heapq.heapify(self._heap)
            self._cancelled = 0

    def _drop_cancelled_head(self) -> None:
        heap = self._heap
        while heap and heap[0][3].cancelled:
            heapq.heappop(heap)
            self._cancelled -= 1

    def peek_due_key(self) -> int | None:
        self._drop_cancelled_head()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now_key: int) -> TimerHandle | None:
        self._drop_cancelled_head()
        heap = self._heap
        if not heap or heap[0][0] > now_key:
            return None
        handle = heapq.heappop(heap)[3]
        handle.fired = True
        return handle

    def __len__(self) -> int:
        return len(self._heap) - self._cancelled


def _deliver(handle: TimerHandle, tracker: Any) -> None:
    post(handle.target, handle.message, tracker)


class ReplayClock:
    """Virtual time. Only the replay driver moves it (advance_to / fire_next_due)."""

    def __init__(self, start_ns: int, tracker: Any = None) -> None:
        self._now = start_ns
        self._timers = _TimerHeap()
        self._lock = threading.Lock()  # actors schedule from their own threads
        self.tracker = tracker
        self._firing: tuple[int, tuple[str, str]] | None = None  # (deadline, tie) of the last timer fired

    def now_ns(self) -> int:
        return self._now

    def call_at(self, deadline_ns: int, target: Any, message: Any) -> TimerHandle:
        with self._lock:
            deadline = max(deadline_ns, self._now)
            return self._timers.push(deadline, deadline, target, message)

    def call_later(self, delay_ns: int, target: Any, message: Any) -> TimerHandle:
        return self.call_at(self._now + delay_ns, target, message)

    def cancel(self, handle: TimerHandle | None) -> None:
        if handle is not None:
            with self._lock:
                self._timers.cancel(handle)

    def next_deadline(self) -> int | None:
        with self._lock:
            return self._timers.peek_due_key()

    def advance_to(self, t_ns: int) -> None:
        if t_ns < self._now:
            raise ValueError(f"replay clock cannot move backwards ({t_ns} < {self._now})")
        self._now = t_ns

    def fire_next_due(self, up_to_ns: int) -> bool:
        """Fire the earliest timer due at or before up_to_ns (moving time to it). One only:
        its handler may schedule an earlier one."""
        with self._lock:
            handle = self._timers.pop_due(up_to_ns)
        if handle is None:
            return False
        self._now = max(self._now, handle.deadline_ns)
        self._firing = (handle.due_key, handle.tie)
        _deliver(handle, self.tracker)
        return True

    def turn_passed(self, deadline_ns: int, message: Any) -> bool:
        """Whether a timer for `message` due at `deadline_ns` would have been delivered by
        now: its deadline is past, or it is now and a timer that sorts after it (or it
        itself) is already being delivered. A lazily armed tick (kernel.timers.arm_on_grid)
        uses it to land where the tick it skipped to would have been."""
        now = self._now
        if deadline_ns != now:
            return deadline_ns < now
        firing = self._firing
        return firing is not None and firing[0] == now and firing[1] >= timer_tie(message)


class LiveClock:
    """Wall time; one daemon thread delivers due timers as messages.

    Deadlines are given in wall time (comparable with now_ns()) but kept on the monotonic
    clock, so a wall-clock step (NTP) neither fires timers early nor holds them back.
    """

    def __init__(self, tracker: Any = None) -> None:
        self._timers = _TimerHeap()
        self._cond = threading.Condition()
        self._stopped = False
        self.tracker = tracker
        self._thread = threading.Thread(target=self._run, name="mmd-clock", daemon=True)
        self._thread.start()

    def now_ns(self) -> int:
        return time.time_ns()

    def turn_passed(self, deadline_ns: int, message: Any) -> bool:
        return deadline_ns < time.time_ns()

    def call_at(self, deadline_ns: int, target: Any, message: Any) -> TimerHandle:
        return self.call_later(deadline_ns - time.time_ns(), target, message)

    def call_later(self, delay_ns: int, target: Any, message: Any) -> TimerHandle:
        delay = max(0, delay_ns)
        with self._cond:
            handle = self._timers.push(time.monotonic_ns() + delay, time.time_ns() + delay, target, message)
            self._cond.notify()
        return handle

    def cancel(self, handle: TimerHandle | None) -> None:
        if handle is not None:
            with self._cond:
                self._timers.cancel(handle)
                self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopped:
                    return
                now = time.monotonic_ns()
                handle = self._timers.pop_due(now)
                if handle is None:
                    due = self._timers.peek_due_key()
                    wait_s = None if due is None else max(0.0, (due - now) / NS_PER_SECOND)
                    self._cond.wait(timeout=wait_s)
                    continue
            _deliver(handle, self.tracker)
