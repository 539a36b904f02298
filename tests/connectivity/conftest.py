from __future__ import annotations

import pykka
import pytest

from kernel.bus import Bus, InFlightTracker
from kernel.clock import ReplayClock

START_NS = 1_790_000_000_000_000_000  # 2026-09 in ns; any fixed instant will do


@pytest.fixture(autouse=True)
def stop_all_actors():
    yield
    pykka.ActorRegistry.stop_all()


@pytest.fixture
def tracker() -> InFlightTracker:
    return InFlightTracker()


@pytest.fixture
def clock(tracker) -> ReplayClock:
    return ReplayClock(START_NS, tracker=tracker)


@pytest.fixture
def bus(tracker) -> Bus:
    return Bus(tracker)
