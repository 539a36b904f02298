"""The locks in requirements/ are what installs use (bin/_bootstrap.sh, with --require-hashes):
they must pin every direct dependency of setup.cfg at a version it allows, give every pin its
hashes, and agree with each other, so bin/mmd's runtime set is never changed by bin/test's.
A failure here means setup.cfg changed without `bin/lock`."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
LOCKS = {name: REPO / "requirements" / f"{name}.txt" for name in ("runtime", "test", "ray")}
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})*)", re.MULTILINE)


def pins(lock: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes)."""
    return {
        canonicalize_name(name): (version, hashes.count("--hash="))
        for name, version, hashes in PIN.findall(lock.read_text())
    }


def declared(*extras: str) -> list[Requirement]:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    lines = cfg["options"]["install_requires"].splitlines()
    for extra in extras:
        lines += cfg["options.extras_require"][extra].splitlines()
    return [Requirement(line) for line in (raw.strip() for raw in lines) if line and not line.startswith("#")]


@pytest.mark.parametrize("lock, extras", [("runtime", ()), ("test", ("test",)), ("ray", ("ray",))])
def test_every_direct_dependency_is_pinned_at_a_version_setup_cfg_allows(lock, extras):
    pinned = pins(LOCKS[lock])
    for requirement in declared(*extras):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement} is not in requirements/{lock}.txt: run bin/lock"
        assert requirement.specifier.contains(pinned[name][0], prereleases=True), (
            f"requirements/{lock}.txt pins {name}=={pinned[name][0]}, setup.cfg wants {requirement}: run bin/lock"
        )


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_pin_carries_its_hashes_and_the_build_tools_are_pinned(lock):
    pinned = pins(LOCKS[lock])
    assert {name for name, (_, hashes) in pinned.items() if hashes == 0} == set()
    assert {"setuptools", "wheel"} <= set(pinned)  # the bootstrap builds mmd without isolation


@pytest.mark.parametrize("lock", ["runtime", "ray"])
def test_the_locks_agree_with_the_test_lock(lock):
    test_pins = pins(LOCKS["test"])
    differing = {
        name: (version, test_pins[name][0])
        for name, (version, _) in pins(LOCKS[lock]).items()
        if name in test_pins and test_pins[name][0] != version
    }
    assert differing == {}
    if lock == "runtime":
        assert set(pins(LOCKS["runtime"])) <= set(test_pins)
