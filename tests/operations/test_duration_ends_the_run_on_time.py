"""`mmd start --duration N` ends the run N seconds after it started, not at the next status
line after that: the main loop wakes for whichever comes first (the line, the watchdog, the
end of the duration)."""

from __future__ import annotations

import time

from mmd.runner import wait_for_stop


class NoActors:
    refs: dict = {}


def test_the_run_ends_when_the_duration_ends_even_with_no_status_line_due():
    started = time.monotonic()
    reason = wait_for_stop(NoActors(), print_interval_s=600.0, duration_s=0.05, watchdog=None)
    assert reason == "duration elapsed"
    assert time.monotonic() - started < 30.0  # before: it waited for the line, 600 s later
