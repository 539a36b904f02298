"""The wheel is the whole package: built from the sources, installed into a fresh virtualenv
outside the repository, it runs `mmd sim` and a short paper `mmd start` with nothing of the
repository on its path.

Offline and fast: the wheel is built without an isolated build environment (setuptools and
wheel come from the lock), and the fresh virtualenv gets its dependencies as links to the
distributions of the running environment, each checked to be at its version in
requirements/runtime.txt, so nothing is downloaded. `pip check` in the fresh virtualenv then
proves the wheel's own requirements are met by exactly the locked runtime set (and by nothing
of the test tools, which it does not see).
"""

from __future__ import annotations

import configparser
import importlib.metadata
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = REPO / "requirements" / "runtime.txt"
PACKAGING_FILES = ("setup.cfg", "pyproject.toml", "README.md")
BUILD_TOOLS = ("setuptools", "wheel")  # locked for the editable build; not needed to run
SOURCE_NOISE = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")  # caches, editor files
START_TIMEOUT_S = 60


def locked_versions(lock: Path) -> dict[str, str]:
    """`name==version` lines of a pip-compile lock, by normalised name."""
    pins = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", lock.read_text(), flags=re.MULTILINE)
    return {normalised(name): version for name, version in pins}


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_as_locked(name: str, version: str) -> importlib.metadata.Distribution:
    """The running environment's distribution of `name`, which must be the locked version."""
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is None or dist.version != version:
        found = "missing" if dist is None else dist.version
        pytest.fail(
            f"{name} is {found} in the test environment, {version} in {RUNTIME_LOCK.relative_to(REPO)}: "
            f"run bin/test (it installs the lock) or pip install --require-hashes -r requirements/test.txt",
            pytrace=False,
        )
    return dist


def top_level_entries(dist: importlib.metadata.Distribution) -> set[str]:
    """What a distribution put directly in site-packages (packages, modules, .libs folders,
    its dist-info); not its scripts, which RECORD lists outside (`../../../bin/...`)."""
    entries = set()
    for file in dist.files or ():
        first = file.parts[0]
        if first not in ("..", "__pycache__"):
            entries.add(first)
    if not entries:
        pytest.fail(f"{dist.metadata['Name']} has no RECORD to link it by", pytrace=False)
    return entries


def package_dirs() -> list[str]:
    """The top-level packages setup.cfg ships (`mmd`, `simex`, ...)."""
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    patterns = cfg["options.packages.find"]["include"].split()
    return sorted({pattern.split(".")[0] for pattern in patterns})


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run to completion; a failure shows the command's output."""
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, **kwargs)
    assert done.returncode == 0, f"{cmd[:4]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


def outside_env() -> dict[str, str]:
    """The environment for the installed `mmd`: nothing that points back into the repository."""
    return {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}


class InstalledWheel:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.wheel = self._build()
        self.venv = root / "venv"
        self.bin = self.venv / "bin"
        self._install()

    def _build(self) -> Path:
        # a copy of the sources: building in the repository would leave build/ and egg-info there
        source = self.root / "source"
        source.mkdir()
        for name in PACKAGING_FILES:
            shutil.copy2(REPO / name, source / name)
        for name in package_dirs():
            shutil.copytree(REPO / name, source / name, ignore=SOURCE_NOISE)
        locked = locked_versions(RUNTIME_LOCK)
        for tool in BUILD_TOOLS:
            installed_as_locked(tool, locked[tool])
        dist = self.root / "dist"
        run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
             "--wheel-dir", str(dist), str(source)])
        (wheel,) = dist.glob("mmd-*.whl")
        return wheel

    def _install(self) -> None:
        run([sys.executable, "-m", "venv", "--without-pip", str(self.venv)])
        run([sys.executable, "-m", "pip", "--python", str(self.bin / "python"), "install", "--quiet",
             "--no-deps", "--no-index", str(self.wheel)], cwd=self.root, env=outside_env())
        site = Path(run([str(self.bin / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        cwd=self.root, env=outside_env()).stdout.strip())
        for name, version in locked_versions(RUNTIME_LOCK).items():
            if name in BUILD_TOOLS:
                continue
            dist = installed_as_locked(name, version)
            for entry in top_level_entries(dist):
                link = site / entry
                if not link.exists():  # two distributions may share a folder: the first link serves both
                    link.symlink_to(Path(dist.locate_file(entry)))

    def mmd(self, *args: str) -> list[str]:
        return [str(self.bin / "mmd"), *args]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> InstalledWheel:
    return InstalledWheel(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_holds_every_file_of_its_packages(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    source = installed.root / "source"
    missing = [
        str(path.relative_to(source))
        for name in package_dirs()
        for path in sorted((source / name).rglob("*"))
        if path.is_file() and str(path.relative_to(source)) not in names
    ]
    assert missing == []
    for data in ("simex/scenarios/default.yaml", "mmd/dashboard/index.html", "config/mmd.service",
                 "config/default.yaml", "schema/001_initial.sql"):
        assert data in names


def test_installed_outside_the_repository_it_imports_from_the_venv_and_its_requirements_are_met(installed):
    probe = (
        "import mmd, simex, config, schema; from simex._scenario import available_scenarios; "
        "print(mmd.__file__); print(' '.join(sorted(available_scenarios())))"
    )
    done = run([str(installed.bin / "python"), "-c", probe], cwd=installed.root, env=outside_env())
    module_file, scenarios = done.stdout.splitlines()
    assert Path(module_file).is_relative_to(installed.venv)
    assert "default" in scenarios.split()
    checked = run([str(installed.bin / "python"), "-m", "pip", "check"], cwd=installed.root, env=outside_env())
    assert "No broken requirements found" in checked.stdout


def test_mmd_sim_from_the_wheel_serves_the_exchange_and_exits_0_on_sigterm(installed):
    data_dir = installed.root / "sim-data"
    proc = subprocess.Popen(installed.mmd("sim", "--port", "0", "--data-dir", str(data_dir)), cwd=installed.root,
                            env=outside_env(), stderr=subprocess.PIPE, text=True)
    try:
        base_url = _rest_url_announced(proc)
        answer = requests.get(base_url + "/exchange/status", timeout=10)
        assert answer.status_code == 200
        assert answer.json()["trading_active"] is True
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            returncode = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert returncode == 0


def test_a_short_paper_run_from_the_wheel_exits_0(installed):
    config = installed.root / "paper.yaml"
    # metrics off: the default port may be taken by another run; the main loop wakes for the
    # duration only at a status line (every print_interval_s), so lines come often
    config.write_text("metrics:\n  port: 0\nstatus:\n  print_interval_s: 0.5\n")
    done = subprocess.run(
        installed.mmd("start", "--config", str(config), "--data-dir", str(installed.root / "paper-data"),
                      "--status-port", "0", "--duration", "2"),
        cwd=installed.root, env=outside_env(), capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "mmd paper running" in done.stderr
    assert "Traceback" not in done.stderr


def _rest_url_announced(proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        found = re.search(r"REST (\S+)", line)
        if found:
            return found.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"mmd sim did not start: {proc.stderr.read()}")
