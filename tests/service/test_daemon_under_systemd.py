"""The daemon under systemd: credentials from $CREDENTIALS_DIRECTORY, READY=1 after startup
reconciliation, the watchdog petted only after every actor answered, STOPPING=1 and a
graceful stop on SIGTERM, logs in journald's format, and `mmd install-service` on the
command line.

The end-to-end test plays systemd for a paper daemon (a notify socket, WATCHDOG_USEC and
JOURNAL_STREAM) and sends SIGTERM right after a watchdog pet, when the main thread is busy
and not waiting for signals: a thread that does not block SIGTERM (numpy's BLAS threads,
started on import) would take it and the process would die with its orders resting.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pykka
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mmd import systemd
from mmd.cli import main
from mmd.runner import StartupError, _credentials_from_env, wait_for_stop

ROOT = Path(__file__).resolve().parents[2]
KEY_ID = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"


# ----- the watchdog in the main loop -----
class Answer:
    def __init__(self, answers: bool, on_ask) -> None:
        self.answers, self.on_ask = answers, on_ask

    def get(self, timeout=None):
        self.on_ask()
        if not self.answers:
            raise pykka.Timeout("no answer")
        return True


class FakeRef:
    def __init__(self, answers: bool, on_ask=lambda: None) -> None:
        self.answers, self.on_ask = answers, on_ask

    def proxy(self):
        return self

    def ping(self):
        return Answer(self.answers, self.on_ask)


class FakeDaemon:
    def __init__(self, refs: dict) -> None:
        self.refs = refs


def stop_main_loop() -> None:
    # thread-directed: stays pending for the main thread's sigtimedwait, whatever other
    # threads of the test process block
    signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)


@pytest.fixture
def termination_blocked():
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGTERM, signal.SIGINT))
    yield
    signal.sigtimedwait((signal.SIGTERM,), 0)  # nothing left pending
    signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def test_watchdog_is_petted_after_every_actor_answered(termination_blocked):
    pets = []
    watchdog = systemd.Watchdog(30.0, time.monotonic(), pet=lambda: (pets.append(1), stop_main_loop()))
    daemon = FakeDaemon({"risk": FakeRef(True), "ws": FakeRef(True)})

    reason = wait_for_stop(daemon, print_interval_s=60.0, duration_s=None, watchdog=watchdog)

    assert pets == [1]
    assert reason == "signal SIGTERM"


def test_watchdog_is_not_petted_when_an_actor_does_not_answer(termination_blocked):
    pets = []
    watchdog = systemd.Watchdog(30.0, time.monotonic(), pet=lambda: pets.append(1))
    daemon = FakeDaemon({"risk": FakeRef(True), "ws": FakeRef(False, on_ask=stop_main_loop)})

    reason = wait_for_stop(daemon, print_interval_s=60.0, duration_s=None, watchdog=watchdog)

    assert pets == []
    assert reason == "signal SIGTERM"
    assert not watchdog.due(time.monotonic())  # retried later, not in a busy loop


# ----- credentials -----
@pytest.fixture
def credentials_dir(tmp_path: Path, monkeypatch) -> Path:
    directory = tmp_path / "credentials"
    directory.mkdir(mode=0o700)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    (directory / "kalshi-private-key").write_bytes(pem)
    (directory / "kalshi-private-key").chmod(0o400)
    (directory / "kalshi-access-key").write_text(KEY_ID + "\n")
    monkeypatch.delenv("KALSHI_ACCESS_KEY", raising=False)
    monkeypatch.delenv("KALSHI_PRIVATE_KEY", raising=False)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(directory))
    return directory


def test_both_credentials_come_from_systemd(credentials_dir):
    key_id, private_key = _credentials_from_env("demo")

    assert key_id == KEY_ID
    assert private_key.key_size == 2048


def test_environment_access_key_wins_over_the_credential(credentials_dir, monkeypatch):
    monkeypatch.setenv("KALSHI_ACCESS_KEY", "from-the-environment")

    assert _credentials_from_env("demo")[0] == "from-the-environment"


def test_swapped_credentials_are_one_startup_error(credentials_dir):
    (credentials_dir / "kalshi-access-key").write_bytes((credentials_dir / "kalshi-private-key").read_bytes())

    with pytest.raises(StartupError, match="were kalshi-access-key and kalshi-private-key swapped"):
        _credentials_from_env("demo")


# ----- the command line -----
def test_install_service_dry_run_from_the_command_line(tmp_path, capsys):
    status = main(["install-service", "--dry-run", "--unit-dir", str(tmp_path / "units"),
                   "--env-file", str(tmp_path / "mmd.env")])

    assert status == 0
    assert "ExecStart=" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_log_format_comes_from_mmd_log_format(monkeypatch, capsys):
    monkeypatch.setenv("MMD_LOG_FORMAT", "xml")

    assert main(["config", "check", str(ROOT / "config" / "default.yaml")]) == 1
    assert "MMD_LOG_FORMAT='xml'" in capsys.readouterr().err


# ----- end to end: a paper daemon under a fake systemd -----
def threads_not_blocking_sigterm(pid: int) -> list[int]:
    """Threads other than the main one (which unblocks it while in sigtimedwait)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        if int(task.name) == pid:
            continue
        blocked = next(line for line in (task / "status").read_text().splitlines() if line.startswith("SigBlk"))
        if not int(blocked.split()[1], 16) & (1 << (signal.SIGTERM - 1)):
            found.append(int(task.name))
    return found


@pytest.mark.e2e
def test_paper_daemon_under_systemd_notifies_and_stops_gracefully(tmp_path):
    notify_path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify_path))
    listener.settimeout(60)
    journal = open(tmp_path / "journal.log", "w+")
    status = os.fstat(journal.fileno())
    env = dict(os.environ, NOTIFY_SOCKET=str(notify_path), WATCHDOG_USEC="2000000",
               JOURNAL_STREAM=f"{status.st_dev}:{status.st_ino}")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "mmd", "start", "--env", "paper", "--data-dir", str(tmp_path / "var"),
         "--status-port", "0"], cwd=ROOT, env=env, stdout=journal, stderr=journal,
    )
    received = []
    try:
        while received.count("WATCHDOG=1") < 3:
            received.append(listener.recv(4096).decode())
        unblocked = threads_not_blocking_sigterm(daemon.pid)
        daemon.send_signal(signal.SIGTERM)  # just after a pet: the main thread may be busy
        while not received[-1].startswith("STOPPING=1"):
            received.append(listener.recv(4096).decode())
        assert daemon.wait(120) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
        listener.close()

    assert unblocked == []
    assert received[0].startswith("STATUS=reconciling with the exchange")
    assert received[1].startswith("READY=1\nSTATUS=mmd paper running")
    assert received[-1] == "STOPPING=1\nSTATUS=stopping (signal SIGTERM): cancelling orders"
    journal.seek(0)
    lines = journal.read().splitlines()
    assert lines and all(line.startswith("<") for line in lines), lines
    assert any(line.startswith("<6>INFO mmd: stopped:") for line in lines)
