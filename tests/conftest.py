"""Shared fixtures: no actor outlives its test; paths to the shared recorded data."""

from __future__ import annotations

from pathlib import Path

import pykka
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "kalshi"


@pytest.fixture(autouse=True)
def _stop_all_actors():
    yield
    pykka.ActorRegistry.stop_all(timeout=10)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"recorded Kalshi data not found at {SHARED_DATA} (../shared beside the project)")
    return SHARED_DATA
