"""`mmd stop` signals the pid in daemon.json only when that process is the daemon that wrote
the file: alive, running `mmd ... start`, with the kernel start time daemon.json recorded.
A stale file says so and is removed; an unrelated process is never signalled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mmd.cli import main
from mmd.control import (
    DAEMON_FILE,
    TOKEN_FILE,
    identify_daemon,
    is_mmd_daemon_command,
    process_start_time,
    this_process_identity,
)

FAKE_DAEMON = """\
import pathlib, signal, sys
def stop(*_):
    pathlib.Path(sys.argv[2]).write_text("stopped by SIGTERM")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
while True:
    signal.pause()
"""


class Signals(list):
    """(pid, signal) pairs sent, and the pids a test allows to be signalled for real."""

    def __init__(self) -> None:
        super().__init__()
        self.allowed: set[int] = set()

    def allow(self, pid: int) -> None:
        self.allowed.add(pid)


@pytest.fixture
def signalled(monkeypatch):
    """Every signal the code under test sends, as (pid, signal). Hazard: a regression here would
    signal whatever pid a test wrote (0 = our own process group, 1 = init): only the processes
    a test spawned and declared signallable are really signalled; any other signal fails the
    test without being sent."""
    sent = Signals()
    allowed = sent.allowed
    pidfds: dict[int, int] = {}
    real_kill, real_pidfd_open, real_pidfd_send = os.kill, os.pidfd_open, signal.pidfd_send_signal

    def kill(pid, signum):
        sent.append((pid, signum))
        if pid not in allowed:
            raise AssertionError(f"signal {signum} to pid {pid}, which the test did not allow")
        real_kill(pid, signum)

    def pidfd_open(pid, flags=0):
        fd = real_pidfd_open(pid, flags)
        pidfds[fd] = pid
        return fd

    def pidfd_send_signal(fd, signum, *args):
        sent.append((pidfds.get(fd, -1), signum))
        if pidfds.get(fd) not in allowed:
            raise AssertionError(f"signal {signum} through a pidfd of pid {pidfds.get(fd)}, not allowed")
        real_pidfd_send(fd, signum, *args)

    monkeypatch.setattr(os, "kill", kill)
    monkeypatch.setattr(os, "pidfd_open", pidfd_open)
    monkeypatch.setattr(signal, "pidfd_send_signal", pidfd_send_signal)
    return sent


@pytest.fixture
def spawn(tmp_path, signalled):
    started: list[subprocess.Popen] = []

    def run(argv: list[str]) -> subprocess.Popen:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        started.append(proc)
        assert proc.stdout.readline().strip() == "ready"
        return proc

    yield run
    for proc in started:
        if proc.poll() is None:
            signalled.allow(proc.pid)  # the test's own clean-up
            proc.kill()
        proc.wait(10)


def fake_mmd_daemon(tmp_path: Path, spawn) -> tuple[subprocess.Popen, Path]:
    """A process whose command line is `python .../bin/mmd start <marker>`, as a console script's is."""
    program = tmp_path / "bin" / "mmd"
    program.parent.mkdir(exist_ok=True)
    program.write_text(FAKE_DAEMON)
    marker = tmp_path / "stopped"
    return spawn([sys.executable, str(program), "start", str(marker)]), marker


def record(data_dir: Path, pid: int, **fields) -> None:
    identity = {"pid": pid, "start_time": process_start_time(pid), "boot_id": this_process_identity()["boot_id"]}
    (data_dir / DAEMON_FILE).write_text(json.dumps({**identity, "status_url": "http://127.0.0.1:1/status", **fields}))
    (data_dir / TOKEN_FILE).write_text("token\n")


def test_stop_signals_the_daemon_that_wrote_daemon_json(tmp_path, spawn, signalled, capsys):
    daemon, marker = fake_mmd_daemon(tmp_path, spawn)
    record(tmp_path, daemon.pid)
    signalled.allow(daemon.pid)

    assert main(["stop", "--data-dir", str(tmp_path)]) == 0

    assert signalled == [(daemon.pid, signal.SIGTERM)]

    assert daemon.wait(30) == 0
    assert marker.read_text() == "stopped by SIGTERM"
    assert capsys.readouterr().out.strip() == f"sent SIGTERM to mmd (pid {daemon.pid})"


def test_an_unrelated_process_holding_the_pid_is_never_signalled(tmp_path, spawn, signalled, capsys):
    other = spawn([sys.executable, "-c", FAKE_DAEMON, "not-mmd", str(tmp_path / "stopped")])
    record(tmp_path, other.pid)  # even its true start time: the command line is not mmd's

    assert main(["stop", "--data-dir", str(tmp_path)]) == 1

    assert signalled == [] and other.poll() is None and not (tmp_path / "stopped").exists()
    error = capsys.readouterr().err
    assert f"stale {tmp_path / DAEMON_FILE}: pid {other.pid} is another program" in error
    assert "removed it, signalled nothing" in error
    assert not (tmp_path / DAEMON_FILE).exists() and not (tmp_path / TOKEN_FILE).exists()


def test_a_later_mmd_process_that_reused_the_pid_is_never_signalled(tmp_path, spawn, signalled, capsys):
    daemon, marker = fake_mmd_daemon(tmp_path, spawn)
    record(tmp_path, daemon.pid, start_time=process_start_time(daemon.pid) - 1)

    assert main(["stop", "--data-dir", str(tmp_path)]) == 1

    assert signalled == [] and daemon.poll() is None and not marker.exists()
    assert "is a later mmd process, not the one that wrote daemon.json" in capsys.readouterr().err
    assert not (tmp_path / DAEMON_FILE).exists()


def test_a_daemon_that_is_gone_leaves_a_stale_file_that_is_removed(tmp_path, signalled, capsys):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(10)
    (tmp_path / DAEMON_FILE).write_text(json.dumps({"pid": gone.pid, "start_time": 1}))

    assert main(["stop", "--data-dir", str(tmp_path)]) == 1

    assert signalled == []
    assert f"pid {gone.pid} is not running; removed it" in capsys.readouterr().err
    assert not (tmp_path / DAEMON_FILE).exists()


def test_an_older_daemon_json_without_a_start_time_is_not_trusted_nor_removed(tmp_path, spawn, signalled, capsys):
    daemon, marker = fake_mmd_daemon(tmp_path, spawn)
    (tmp_path / DAEMON_FILE).write_text(json.dumps({"pid": daemon.pid, "status_url": "http://127.0.0.1:1/status"}))

    assert main(["stop", "--data-dir", str(tmp_path)]) == 1

    assert signalled == [] and daemon.poll() is None and not marker.exists()
    error = capsys.readouterr().err
    assert "records no start time" in error and f"kill {daemon.pid}" in error
    assert (tmp_path / DAEMON_FILE).exists()


@pytest.mark.parametrize("pid", [None, "123", 0, 1, -5, True])
def test_a_daemon_json_without_a_usable_pid_is_stale(tmp_path, pid, signalled, capsys):
    (tmp_path / DAEMON_FILE).write_text(json.dumps({"pid": pid, "start_time": 1}))

    assert main(["stop", "--data-dir", str(tmp_path)]) == 1

    assert signalled == []
    assert "no usable pid" in capsys.readouterr().err
    assert not (tmp_path / DAEMON_FILE).exists()


def test_no_daemon_json_is_one_clear_error(tmp_path, capsys):
    assert main(["stop", "--data-dir", str(tmp_path)]) == 1
    assert "no running daemon found" in capsys.readouterr().err


# ----- what daemon.json records, and how /proc is read -----
def test_the_recorded_start_time_is_this_process_s_own_from_proc_self_stat():
    identity = this_process_identity()
    own = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]

    assert identity["pid"] == os.getpid()
    assert identity["start_time"] == int(own)
    assert identity["boot_id"] == Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def fake_proc(tmp_path: Path, pid: int, comm: str, start: int, argv: list[str]) -> Path:
    proc = tmp_path / "proc"
    (proc / str(pid)).mkdir(parents=True)
    fields = ["S"] + ["0"] * 18 + [str(start)] + ["0"] * 30
    (proc / str(pid) / "stat").write_text(f"{pid} ({comm}) {' '.join(fields)}\n")
    (proc / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    return proc


def test_a_process_name_with_spaces_and_parentheses_does_not_shift_the_fields(tmp_path):
    proc = fake_proc(tmp_path, 4242, "x) (y 1 2 3", 987654, ["/usr/bin/python3", "-m", "mmd", "start"])

    assert process_start_time(4242, proc) == 987654
    assert identify_daemon({"pid": 4242, "start_time": 987654}, proc).ours is True
    assert identify_daemon({"pid": 4242, "start_time": 987655}, proc).stale is True


def test_a_reboot_since_the_record_makes_it_stale(tmp_path):
    proc = fake_proc(tmp_path, 77, "python3", 5, ["python3", "-m", "mmd", "start"])
    (proc / "sys" / "kernel" / "random").mkdir(parents=True)
    (proc / "sys" / "kernel" / "random" / "boot_id").write_text("now\n")

    found = identify_daemon({"pid": 77, "start_time": 5, "boot_id": "before"}, proc)

    assert (found.ours, found.stale) == (False, True)
    assert "rebooted" in found.reason


@pytest.mark.parametrize(
    "argv, is_daemon",
    [
        (["/work/.venv/bin/python", "-m", "mmd", "start", "--env", "demo"], True),
        (["/opt/mmd/venv/bin/python", "/opt/mmd/bin/mmd", "start", "--env", "prod"], True),
        (["/opt/mmd/bin/mmd", "start"], True),
        (["python", "-m", "mmd", "sim", "--port", "8080"], False),
        (["python", "-m", "mmd", "status"], False),
        (["python", "-m", "pytest", "mmd", "start"], False),
        (["/usr/bin/bash", "-c", "mmd start"], False),
        (["python", "-m", "mmd", "kill", "start"], False),
        (["python", "-c", "pass", "-m", "mmd", "start"], False),
        (["vim", "mmd/start.py"], False),
        ([], False),
    ],
)
def test_what_counts_as_an_mmd_daemon_command_line(argv, is_daemon):
    assert is_mmd_daemon_command(argv) is is_daemon


@pytest.mark.parametrize(
    "argv",
    [
        ["python3", "-I", "-m", "mmd", "-v", "start"],
        ["/usr/bin/python3.11", "-X", "faulthandler", "-I", "/srv/bin/mmd", "start", "--env", "prod"],
    ],
)
def test_interpreter_options_and_global_flags_still_name_the_daemon(argv):
    assert is_mmd_daemon_command(argv) is True
