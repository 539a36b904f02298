"""The REST core's own effects, beside kernel.effects' Publish / Send / ArmTimer / CancelTimer.

They name what only the REST shell can do: run an HTTP call, log a failure with its
traceback. The core never holds the client, an executor or a logger. (A read's reply is
a plain Send to the reader's role name, resolved by the shell's directory.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["StartCall", "GrantAttempt", "ReportFailure"]


@dataclass(frozen=True, slots=True)
class StartCall:
    """Run the HTTP call `command` stands for (budget already taken); its result comes back
    to the core as job `job_id`. `command`: a PlaceOrder, AmendOrder, CancelOrder,
    CancelAllOrders, RestReadRequested or BatchCall."""

    job_id: int
    command: Any


@dataclass(frozen=True, slots=True)
class GrantAttempt:
    """Job `job_id`'s call may send the request it asked the budget for (budget taken)."""

    job_id: int


@dataclass(frozen=True, slots=True)
class ReportFailure:
    """A call failed in a way the client does not raise on purpose (a bug): log it."""

    what: str
    error: BaseException
