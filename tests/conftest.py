"""Shared fixtures: no actor outlives its test; the path to the recorded Kalshi data.

Paths are relative to the repository root, never to a development machine: the recorded
Kalshi tapes live outside the repository (they may not be redistributed) in the folder the
environment variable MMD_DATA_DIR names, by default `../shared/data` beside the repository.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pykka
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR_VARIABLE = "MMD_DATA_DIR"
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"


def recorded_data_dir() -> Path:
    """The recorded data folder: $MMD_DATA_DIR if set, else ../shared/data beside the repository."""
    configured = os.environ.get(DATA_DIR_VARIABLE, "").strip()
    return Path(configured).expanduser().resolve() if configured else DEFAULT_DATA_DIR


@pytest.fixture(autouse=True)
def _stop_all_actors():
    yield
    pykka.ActorRegistry.stop_all(timeout=10)


@pytest.fixture(autouse=True)
def _signal_mask_left_as_found():
    """A test that leaves SIGTERM/SIGINT blocked in the pytest process (e.g. an in-process
    `mmd start` that returned early) makes every process spawned later deaf to SIGTERM: that
    test fails here, by name, instead of a later stop test timing out."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    yield
    after = signal.pthread_sigmask(signal.SIG_SETMASK, before)
    assert after == before, f"the test left the signal mask changed: {sorted(before)} -> {sorted(after)}"


@pytest.fixture
def shared_data() -> Path:
    """The folder of recorded Kalshi tapes (`<data folder>/kalshi`); a test needing it fails with
    one line saying how to provide it when it is missing."""
    folder = recorded_data_dir() / "kalshi"
    if not folder.is_dir():
        pytest.fail(
            f"recorded Kalshi data not found at {folder}: set {DATA_DIR_VARIABLE} to the folder "
            f"that holds kalshi/ (default: ../shared/data beside the repository)",
            pytrace=False,
        )
    return folder
