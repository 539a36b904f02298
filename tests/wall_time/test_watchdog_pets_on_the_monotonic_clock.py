"""Under systemd's watchdog, the daemon's main loop runs a health pass at once and then every
half `WatchdogSec`, on the monotonic clock, and pets after each pass that succeeded; the run
ends when `--duration` has passed on that clock. Time is frozen and moved only by the pets,
so the pet times are exact and the loop never waits on the real clock."""

from __future__ import annotations

import time

from freezegun import freeze_time

from mmd import systemd
from mmd.runner import wait_for_stop

WATCHDOG_USEC = "10000000"  # WatchdogSec=10s: a health pass every 5 s


class NoActors:
    """A daemon whose health pass has no actor to ping: it always passes."""

    refs: dict = {}


def test_pets_come_at_once_then_every_half_interval_until_the_duration_ends():
    with freeze_time("2026-12-07 18:00:00+00:00") as frozen:
        started = time.monotonic()
        pets: list[float] = []

        def pet() -> None:
            pets.append(time.monotonic() - started)
            frozen.tick(5)  # the next pass is due now: the loop goes on without waiting

        watchdog = systemd.Watchdog(systemd.watchdog_interval_s({"WATCHDOG_USEC": WATCHDOG_USEC}), started, pet=pet)
        reason = wait_for_stop(NoActors(), print_interval_s=3600, duration_s=15, watchdog=watchdog)
    assert reason == "duration elapsed"
    assert pets == [0.0, 5.0, 10.0]
