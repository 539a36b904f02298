"""The REST core's own effects, beside kernel.effects' Publish / ArmTimer / CancelTimer.

They name what only the REST shell can do: run an HTTP call, answer a reader, log a
failure with its traceback. The core never holds the client, an executor or a logger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from messages import RestReadCompleted, RestReadRequested

__all__ = ["StartCall", "ReplyToReader", "ReportFailure"]


@dataclass(frozen=True, slots=True)
class StartCall:
    """Run the HTTP call `command` stands for (budget already taken); its result comes back
    to the core as job `job_id`. `command`: a PlaceOrder, AmendOrder, CancelOrder,
    CancelAllOrders, RestReadRequested or BatchCall."""

    job_id: int
    command: Any


@dataclass(frozen=True, slots=True)
class ReplyToReader:
    """Tell `reply` to the actor that asked for the read (`request.reply_to`)."""

    request: RestReadRequested
    reply: RestReadCompleted


@dataclass(frozen=True, slots=True)
class ReportFailure:
    """A call failed in a way the client does not raise on purpose (a bug): log it."""

    what: str
    error: BaseException
