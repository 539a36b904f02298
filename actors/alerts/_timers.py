"""The alerts actor's timer messages (keyed timers: kernel.timers)."""

from __future__ import annotations

from messages import Message, message

__all__ = ["FeedDownDue", "NoFillsDue", "AlertFlushDue"]


@message
class FeedDownDue(Message):
    """The feed has been down for the alert's threshold (unless it came back meanwhile)."""

    since_ts: int  # when it went down
    ts: int  # the deadline


@message
class NoFillsDue(Message):
    """No fill for the alert's window while at least one maker quoted."""

    ts: int  # the deadline


@message
class AlertFlushDue(Message):
    """An alert kind's rate-limit window is over: send what it held back."""

    what: str  # the alert key
    ts: int
