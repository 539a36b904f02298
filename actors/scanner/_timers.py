"""The scanner's timers: one typed message per thing that comes due (armed through the
shell's KeyedTimers; `ts` is when each was armed).

Hazard, tie order: timers due at the same instant are delivered by message type name
(kernel.clock). These names sort as the scanner's timers always did (discovery retry,
queued reads, rediscovery, regime heartbeat, sweep), after the maker's Requote* timers;
renaming one can reorder a replay.
"""

from __future__ import annotations

from messages import Message, message

__all__ = [
    "ScannerDiscoveryRetryDue",
    "ScannerQueuedReadsDue",
    "ScannerRediscoverDue",
    "ScannerRegimeHeartbeatDue",
    "ScannerSweepDue",
]


@message
class ScannerDiscoveryRetryDue(Message):
    """A discovery failed retry_after_s ago: discover again. Each failure has its own
    timer (`retry` counts them), so one retry never replaces another."""

    retry: int
    ts: int


@message
class ScannerQueuedReadsDue(Message):
    """Reads the per-second budget held back may go out now."""

    ts: int


@message
class ScannerRediscoverDue(Message):
    """volatility.rediscover_interval_s has passed: list the markets again."""

    ts: int


@message
class ScannerRegimeHeartbeatDue(Message):
    """Publish the regimes someone depends on (a session, a waiting event), and poll
    quiet markets so their regime data stays fresh."""

    ts: int


@message
class ScannerSweepDue(Message):
    """volatility.sweep_tick_s has passed: read the next markets of the tracked set."""

    ts: int
