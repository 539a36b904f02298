"""The maker's states (SPEC 8, seed 003) and the holds that pause it.

INIT -> WAIT_DATA -> QUOTING <-> PAUSED -> FLATTENING -> DONE
and, for a risk flatten only, FLATTENING -> PAUSED / QUOTING (the session goes on).

- WAIT_DATA: warming up (5 s) or no book yet;
- QUOTING: two-sided (or one-sided by design) quotes are worked;
- PAUSED: something keeps us from quoting: a hold (kill switch, risk pause, volume spike
  cooldown, shock), a bad book, a guardrail freeze or a throttle freeze. It resumes by
  itself when the reason clears (a hold with a deadline lapses then: the cooldown).
  An outside feed the fair value needs and the run lacks never clears: such a session
  stays PAUSED (from its start) until it ends;
- FLATTENING: the session is ending and its exit (cancel / passive / immediate) runs; or
  a risk flatten runs (immediate): once flat the session goes back to PAUSED (held until
  the risk governor lifts the flatten) or straight to QUOTING when it already has;
- DONE: orders gone and the exit over; MakerFinished is published once.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MakerState", "Hold", "Holds"]


class MakerState:
    INIT = "INIT"
    WAIT_DATA = "WAIT_DATA"
    QUOTING = "QUOTING"
    PAUSED = "PAUSED"
    FLATTENING = "FLATTENING"
    DONE = "DONE"


@dataclass(frozen=True, slots=True)
class Hold:
    why: str
    until_ns: int | None  # None: until released


class Holds:
    """Named reasons to pause, each until a time or until released.

    Several may hold at once; status names the first in `ORDER` (most serious first), so
    the reason shown does not depend on the order they were set in."""

    ORDER = ("kill_switch", "risk_pause", "risk_flatten", "volume_spike")

    def __init__(self) -> None:
        self._holds: dict[str, Hold] = {}

    def set(self, key: str, why: str, until_ns: int | None = None) -> None:
        self._holds[key] = Hold(why, until_ns)

    def release(self, key: str) -> None:
        self._holds.pop(key, None)

    def active(self, now_ns: int) -> str:
        """Why we are held now ("" when not); holds past their deadline are dropped."""
        if not self._holds:  # the usual case, asked on every requote
            return ""
        for key in [k for k, h in self._holds.items() if h.until_ns is not None and now_ns >= h.until_ns]:
            del self._holds[key]
        for key in (*self.ORDER, *sorted(k for k in self._holds if k not in self.ORDER)):
            if key in self._holds:
                return self._holds[key].why
        return ""

    def next_deadline_ns(self) -> int | None:
        deadlines = [h.until_ns for h in self._holds.values() if h.until_ns is not None]
        return min(deadlines) if deadlines else None

    def __contains__(self, key: str) -> bool:
        return key in self._holds
