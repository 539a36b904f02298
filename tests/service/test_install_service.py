"""`mmd install-service`: writes the unit running this installation's `mmd` and an
environment file, prints the credential and systemctl steps; `--dry-run` writes nothing."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from mmd.service import (
    UNIT_NAME,
    InstallError,
    env_file_template,
    install_service,
    installation_problems,
    render_unit,
)

EXECUTABLE = Path("/opt/mmd/bin/mmd")


def run(tmp_path: Path, *, dry_run: bool, executable: Path = EXECUTABLE) -> str:
    out = io.StringIO()
    status = install_service(
        executable=executable, unit_dir=tmp_path / "system", env_file=tmp_path / "etc" / "mmd.env",
        dry_run=dry_run, out=out,
    )
    assert status == 0
    return out.getvalue()


def test_dry_run_prints_the_unit_and_the_environment_file_and_writes_nothing(tmp_path):
    printed = run(tmp_path, dry_run=True)

    assert f"--- {tmp_path / 'system' / UNIT_NAME} (mode 0644)" in printed
    assert "ExecStart=/opt/mmd/bin/mmd start --env ${MMD_ENV} --data-dir %S/mmd $MMD_START_ARGS" in printed
    assert f"--- {tmp_path / 'etc' / 'mmd.env'} (mode 0640) (kept if it exists)" in printed
    assert "MMD_ENV=paper" in printed
    assert "nothing written" in printed
    assert list(tmp_path.iterdir()) == []


def test_install_writes_the_unit_and_the_environment_file_it_reads(tmp_path):
    run(tmp_path, dry_run=False)

    unit = (tmp_path / "system" / UNIT_NAME).read_text()
    env_file = tmp_path / "etc" / "mmd.env"
    assert unit.count("ExecStart=/opt/mmd/bin/mmd start ") == 1
    assert f"EnvironmentFile=-{env_file}" in unit
    assert env_file.read_text() == env_file_template()
    assert oct(os.stat(tmp_path / "system" / UNIT_NAME).st_mode & 0o777) == "0o644"
    assert oct(os.stat(env_file).st_mode & 0o777) == "0o640"


def test_install_replaces_the_unit_but_keeps_the_operators_environment_file(tmp_path):
    run(tmp_path, dry_run=False)
    env_file = tmp_path / "etc" / "mmd.env"
    env_file.write_text("MMD_ENV=demo\n")

    printed = run(tmp_path, dry_run=False, executable=Path("/srv/mmd/bin/mmd"))

    assert env_file.read_text() == "MMD_ENV=demo\n"
    assert f"kept {env_file}" in printed
    assert "ExecStart=/srv/mmd/bin/mmd start" in (tmp_path / "system" / UNIT_NAME).read_text()


def test_steps_encrypt_both_credentials_where_the_unit_loads_them(tmp_path):
    printed = run(tmp_path, dry_run=True)

    assert (
        "systemd-ask-password -n 'Kalshi access key id:' | systemd-creds encrypt --name=kalshi-access-key - "
        "/etc/credstore.encrypted/mmd-kalshi-access-key" in printed
    )
    assert (
        "systemd-creds encrypt --name=kalshi-private-key /path/to/kalshi-private-key.pem "
        "/etc/credstore.encrypted/mmd-kalshi-private-key" in printed
    )
    assert "install -d -m 0700 /etc/credstore.encrypted" in printed


def test_steps_reload_and_enable_the_unit(tmp_path):
    printed = run(tmp_path, dry_run=True)

    steps = [line.strip() for line in printed.splitlines()]
    assert steps.index("systemctl daemon-reload") < steps.index(f"systemctl enable --now {UNIT_NAME}")
    assert f"systemd-analyze verify {tmp_path / 'system' / UNIT_NAME}" in steps


def test_unwritable_destination_is_one_line_error(tmp_path):
    blocker = tmp_path / "system"
    blocker.write_text("a file where the unit directory should be")

    with pytest.raises(InstallError, match=f"cannot write {blocker / UNIT_NAME}"):
        run(tmp_path, dry_run=False)


def test_executable_must_be_absolute():
    with pytest.raises(InstallError, match="absolute path"):
        render_unit(Path("venv/bin/mmd"))


def test_installation_in_a_home_directory_is_named_as_a_problem(tmp_path):
    problems = installation_problems(Path("/home/alice/venv/bin/mmd"), package_dir=tmp_path)

    assert "/home/alice/venv/bin/mmd is under /home, which ProtectHome=yes hides from the service" in problems


def test_installation_other_users_cannot_reach_is_named_as_a_problem(tmp_path):
    private = tmp_path / "private"
    (private / "bin").mkdir(parents=True)
    executable = private / "bin" / "mmd"
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    private.chmod(0o700)
    try:
        problems = installation_problems(executable, package_dir=Path("/usr/lib"))
    finally:
        private.chmod(0o755)

    assert f"{private} is not searchable by other users (mode 0700)" in problems


def test_a_reachable_installation_has_no_problem():
    assert installation_problems(Path("/bin/sh"), package_dir=Path("/usr/lib")) == []


def test_problems_are_printed_as_warnings_before_the_files(tmp_path):
    printed = run(tmp_path, dry_run=True, executable=Path("/home/alice/venv/bin/mmd"))

    assert printed.startswith("warning: the service's user cannot run this installation")
    assert "python3 -m venv /opt/mmd" in printed
