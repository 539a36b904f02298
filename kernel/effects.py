"""What a plain core returns: the effects its actor shell carries out.

A core (ScannerCore, SupervisorCore, RiskCore, ...) is a plain object: given a message and
the time it decides, and returns a list of effects. It never touches an actor ref, a clock,
a bus or a socket; the shell does, so a core's test needs no threads.

Generic effects live here; a core may add its own (start a maker, a REST read) where the
shell has something specific to do. Every effect is frozen: once returned it is a fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Publish", "Send", "ArmTimer", "ArmOnGrid", "CancelTimer", "Effect"]


@dataclass(frozen=True, slots=True)
class Publish:
    """Publish `message` on the bus (events go up the graph)."""

    message: Any


@dataclass(frozen=True, slots=True)
class Send:
    """Tell `message` to the collaborator the shell knows by `to` (a role name such as
    "rest", "risk", "feed", or a session id): requests go down the graph."""

    to: str
    message: Any


@dataclass(frozen=True, slots=True)
class ArmTimer:
    """(Re)arm the keyed timer `key`: `message` comes back to this actor at `deadline_ns`.
    Arming a key that is armed replaces the earlier deadline (one timer per key)."""

    key: str
    deadline_ns: int
    message: Any


@dataclass(frozen=True, slots=True)
class ArmOnGrid:
    """Keep the periodic timer `key` armed no later than its first tick at or after
    `not_before_ns` on the grid anchor_ns + k * interval_ns (k >= 1) whose turn has not
    passed (kernel.timers.KeyedTimers.arm_on_grid; an earlier tick armed stays). Only the
    shell's clock can tell whether an instant's turn has passed, so the shell hands the
    deadline it settled on back to the core (MmdActor.on_grid_armed)."""

    key: str
    anchor_ns: int
    interval_ns: int
    not_before_ns: int
    message: Any


@dataclass(frozen=True, slots=True)
class CancelTimer:
    key: str


Effect = Publish | Send | ArmTimer | ArmOnGrid | CancelTimer
