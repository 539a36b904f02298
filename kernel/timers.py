"""Keyed timers: the one timer style of every actor.

An actor arms a timer under a key ("requote", "ttl:KXFOO", ...); arming the key again
replaces the earlier one, cancelling it on the clock. The timer's message comes back as
an ordinary message; the shell calls `fired(key, message)` first, which is False for a
message that is no longer the key's current timer.

Hazard: cancelling a timer on the clock cannot recall a message already delivered to the
inbox (live: the clock thread may have told it a moment before). `fired` compares the
message with the one armed under its key, so such a stale timer is recognised and ignored.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KeyedTimers"]


class KeyedTimers:
    def __init__(self, clock: Any, target: Any) -> None:
        self._clock = clock
        self._target = target  # the actor ref the messages come back to
        self._armed: dict[str, tuple[int, Any, Any]] = {}  # key -> (deadline, message, handle)

    def arm_at(self, key: str, deadline_ns: int, message: Any) -> None:
        self.cancel(key)
        handle = self._clock.call_at(deadline_ns, self._target, message)
        self._armed[key] = (deadline_ns, message, handle)

    def arm_in(self, key: str, delay_ns: int, message: Any) -> None:
        self.arm_at(key, self._clock.now_ns() + max(0, delay_ns), message)

    def arm_on_grid(self, key: str, *, anchor_ns: int, interval_ns: int, not_before_ns: int, message: Any) -> int:
        """Keep `key` armed no later than the first instant anchor + k * interval (k >= 1) at
        or after `not_before_ns` whose turn has not passed (the clock's `turn_passed`); an
        earlier deadline already armed stays. Returns the deadline armed.

        A periodic tick that would find nothing to do skips to the tick where something may
        change, and a change that needs it sooner pulls it back, always onto the same grid:
        the instant, and among timers due at that instant the turn, of the tick it replaces.
        Hazard: an instant on the grid equal to now may already have had its turn (a timer
        that sorts after this one is being delivered): the tick then is the next one. The
        tick armed under `key`, if any, must be one of this grid's."""
        current = self.deadline(key)
        if current is not None and not_before_ns > current - interval_ns:
            return current  # the tick armed is already the first one at or after not_before
        not_before_ns = max(not_before_ns, self._clock.now_ns())
        k = max(1, -((anchor_ns - not_before_ns) // interval_ns))  # ceil((not_before - anchor) / interval)
        deadline = anchor_ns + k * interval_ns
        passed = getattr(self._clock, "turn_passed", None)
        while passed(deadline, message) if passed is not None else deadline < self._clock.now_ns():
            deadline += interval_ns
        if current is None or deadline < current:
            self.arm_at(key, deadline, message)
            return deadline
        return current

    def cancel(self, key: str) -> None:
        armed = self._armed.pop(key, None)
        if armed is not None:
            self._clock.cancel(armed[2])

    def cancel_all(self) -> None:
        for key in list(self._armed):
            self.cancel(key)

    def deadline(self, key: str) -> int | None:
        armed = self._armed.get(key)
        return None if armed is None else armed[0]

    def armed(self, key: str) -> bool:
        return key in self._armed

    def keys(self) -> list[str]:
        return sorted(self._armed)

    def fired(self, key: str, message: Any) -> bool:
        """True (and the key disarmed) when `message` is the timer armed under `key`."""
        armed = self._armed.get(key)
        if armed is None or armed[1] is not message:
            return False
        del self._armed[key]
        return True
