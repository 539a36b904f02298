"""The shipped unit is one systemd accepts without a word, and is hardened.

`systemd-analyze verify` exits 0 even on an unknown key (it only prints a warning), so any
output on stderr fails the unit. The unit is checked as `mmd install-service` writes it,
ExecStart= pointing at this installation's `mmd` (verify checks the command exists).
These tests need `systemd-analyze` (Debian/Ubuntu package `systemd`); without it they fail,
saying so, rather than skip.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmd.service import UNIT_NAME, install_service, packaged_unit, render_unit

MAX_EXPOSURE = 2.0


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.fail(
            "systemd-analyze not found: the unit tests need it; install the `systemd` package "
            "(apt-get install -y systemd)",
            pytrace=False,
        )
    return path


@pytest.fixture
def installed_unit(tmp_path: Path) -> Path:
    """The unit as `mmd install-service` writes it, running an executable that exists."""
    executable = Path(sys.executable).parent / "mmd"
    if not executable.is_file():  # the package is not installed as a command: any real program
        executable = Path(sys.executable)
    install_service(
        executable=executable.absolute(), unit_dir=tmp_path / "units", env_file=tmp_path / "mmd.env",
        out=io.StringIO(),
    )
    return tmp_path / "units" / UNIT_NAME


def verify(systemd_analyze: str, unit: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [systemd_analyze, "verify", "--man=no", str(unit)],
        capture_output=True, text=True, timeout=120, cwd=unit.parent,
    )


def unit_settings(text: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_installed_unit_passes_systemd_analyze_verify_without_a_word(systemd_analyze, installed_unit):
    result = verify(systemd_analyze, installed_unit)

    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr


def test_verify_warns_of_an_unknown_key_only_on_stderr_so_stderr_is_what_fails(systemd_analyze, installed_unit):
    misspelt = installed_unit.with_name("misspelt.service")
    misspelt.write_text(installed_unit.read_text().replace("WatchdogSec=", "WatchDogSec="))

    result = verify(systemd_analyze, misspelt)

    assert result.returncode == 0  # why the test above reads stderr
    assert "Unknown key" in result.stderr and "WatchDogSec" in result.stderr


def test_unit_exposure_is_at_most_two(systemd_analyze, installed_unit):
    result = subprocess.run(
        [systemd_analyze, "security", "--offline=yes", "--no-pager", str(installed_unit)],
        capture_output=True, text=True, timeout=120, cwd=installed_unit.parent,
    )

    found = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout


def test_unit_notifies_readiness_and_is_watched():
    settings = unit_settings(packaged_unit())

    assert settings["Type"] == ["notify"]
    assert settings["NotifyAccess"] == ["main"]
    assert settings["WatchdogSec"] == ["30s"]


def test_unit_restarts_on_failure_within_a_start_limit():
    settings = unit_settings(packaged_unit())

    assert settings["Restart"] == ["on-failure"]
    assert settings["RestartSec"] == ["10s"]
    assert settings["StartLimitIntervalSec"] == ["600"] and settings["StartLimitBurst"] == ["5"]


def test_unit_stops_with_sigterm_and_time_for_the_graceful_stop():
    settings = unit_settings(packaged_unit())

    assert settings["KillSignal"] == ["SIGTERM"]
    assert settings["TimeoutStopSec"] == ["180s"]


def test_unit_loads_both_kalshi_credentials_encrypted():
    settings = unit_settings(packaged_unit())

    names = [value.split(":", 1)[0] for value in settings["LoadCredentialEncrypted"]]
    assert names == ["kalshi-access-key", "kalshi-private-key"]
    assert not any("KALSHI" in value for value in settings["Environment"])


def test_unit_runs_as_a_dynamic_user_with_its_state_directory_as_data_dir():
    settings = unit_settings(packaged_unit())

    assert settings["DynamicUser"] == ["yes"]
    assert settings["StateDirectory"] == ["mmd"]
    assert "--data-dir %S/mmd" in settings["ExecStart"][0]


def test_unit_takes_the_exchange_from_an_optional_environment_file():
    settings = unit_settings(packaged_unit())

    assert settings["EnvironmentFile"] == ["-/etc/mmd/mmd.env"]
    assert settings["ExecStart"][0].split()[1:4] == ["start", "--env", "${MMD_ENV}"]
    assert "MMD_ENV=paper" in settings["Environment"]  # no environment file: paper, never money


def test_unit_never_dumps_core_holding_the_private_key():
    assert unit_settings(packaged_unit())["LimitCORE"] == ["0"]


def test_rendered_unit_runs_the_given_executable_and_nothing_else_changes():
    template = packaged_unit()

    rendered = render_unit(Path("/srv/mmd env/bin/mmd"), template)

    assert 'ExecStart="/srv/mmd env/bin/mmd" start --env' in rendered
    assert rendered.replace('"/srv/mmd env/bin/mmd"', "/opt/mmd/bin/mmd") == template


def test_rendered_unit_escapes_specifier_and_variable_characters_in_the_path():
    rendered = render_unit(Path("/opt/100%/$x/mmd"))

    assert "ExecStart=/opt/100%%/$$x/mmd start" in rendered
