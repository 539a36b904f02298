"""Controlling a running daemon: the control token, `mmd kill | resume` over the status server,
and `mmd stop`, which signals the daemon's pid only once it is sure the pid is the daemon.

- The control token is random (secrets), made at each start and written to a new 0600 file
  `<data dir>/control.token`; the status server refuses a state-changing request without it.
- daemon.json records the daemon's pid with the start time the kernel gives that process
  (/proc/<pid>/stat) and the boot id: a pid reused after the daemon died (or after a reboot)
  by an unrelated process is never signalled, and the stale file is removed.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "TOKEN_FILE",
    "DAEMON_FILE",
    "ControlError",
    "issue_token",
    "read_token",
    "write_daemon_file",
    "read_daemon_file",
    "process_start_time",
    "boot_id",
    "this_process_identity",
    "DaemonProcess",
    "identify_daemon",
    "send_control",
    "stop_daemon",
]

TOKEN_FILE = "control.token"
DAEMON_FILE = "daemon.json"
TOKEN_BYTES = 32
CONTROL_TIMEOUT_S = 15
_PROC = Path("/proc")


class ControlError(Exception):
    """A control request could not be made or was refused: one line for the operator."""


# ----- files in the data directory -----
def _write_private(path: Path, text: str) -> None:
    """Write a whole new 0600 file, then rename it over `path`: an existing file would keep
    its old (maybe wider) mode, and a reader must never see half a file."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def issue_token(data_dir: Path) -> str:
    """A new random control token, written to <data dir>/control.token (0600)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    data_dir.mkdir(parents=True, exist_ok=True)
    _write_private(data_dir / TOKEN_FILE, token + "\n")
    return token


def read_token(path: Path) -> str:
    """The control token in `path`; ControlError naming the file (never its content)."""
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        raise ControlError(f"no control token at {path}: is the daemon running with this data dir?") from None
    except OSError as exc:
        raise ControlError(f"cannot read the control token {path}: {exc.strerror}") from None
    if not token:
        raise ControlError(f"the control token file {path} is empty")
    return token


def write_daemon_file(data_dir: Path, record: dict) -> Path:
    path = data_dir / DAEMON_FILE
    _write_private(path, json.dumps(record))
    return path


def read_daemon_file(data_dir: Path) -> dict:
    path = data_dir / DAEMON_FILE
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise ControlError(f"no running daemon found ({path} does not exist)") from None
    except (OSError, ValueError) as exc:
        raise ControlError(f"cannot read {path}: {exc}") from None
    if not isinstance(record, dict):
        raise ControlError(f"{path} is not a daemon record")
    return record


# ----- process identity (Linux /proc) -----
def process_start_time(pid: int, proc: Path = _PROC) -> int | None:
    """Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot.
    None when there is no such process. The name (field 2) may hold spaces and parentheses:
    the fields are counted after its last ')'."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])  # fields[0] is field 3 (state)


def boot_id(proc: Path = _PROC) -> str | None:
    try:
        return (proc / "sys" / "kernel" / "random" / "boot_id").read_text().strip()
    except OSError:
        return None


def this_process_identity() -> dict:
    """What daemon.json records so `mmd stop` can tell this process from a later one."""
    pid = os.getpid()
    return {"pid": pid, "start_time": process_start_time(pid), "boot_id": boot_id()}


def _command_line(pid: int, proc: Path) -> list[str] | None:
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


_OPTIONS_WITH_VALUE = ("-X", "-W")  # interpreter options whose value is the next argument


def is_mmd_daemon_command(argv: list[str]) -> bool:
    """`python -m mmd start ...`, `/opt/mmd/bin/mmd start ...`, or a console script as the
    kernel runs it, `python /opt/mmd/bin/mmd start ...`: the program mmd whose command (its
    first argument that is not an option such as -v) is start."""
    after_program: list[str] | None = None
    if argv and Path(argv[0]).name == "mmd":
        after_program = argv[1:]
    elif argv and Path(argv[0]).name.startswith("python"):
        i = 1
        while i < len(argv):  # interpreter options, then `-m mmd` or the script
            if argv[i] == "-m":
                after_program = argv[i + 2 :] if argv[i + 1 : i + 2] == ["mmd"] else None
                break
            if argv[i] in _OPTIONS_WITH_VALUE:
                i += 2
            elif argv[i].startswith("-"):
                if argv[i] == "-c":  # a program given as text is not mmd
                    break
                i += 1
            else:
                after_program = argv[i + 1 :] if Path(argv[i]).name == "mmd" else None
                break
    if after_program is None:
        return False
    command = next((arg for arg in after_program if not arg.startswith("-")), None)
    return command == "start"


@dataclass(frozen=True)
class DaemonProcess:
    """Whether daemon.json's pid is the daemon that wrote it: `ours`, else why not; `stale`
    means the file describes a process that no longer runs (safe to remove)."""

    pid: int | None
    ours: bool
    stale: bool
    reason: str


def identify_daemon(record: dict, proc: Path = _PROC) -> DaemonProcess:
    pid = record.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1:
        return DaemonProcess(None, False, True, f"daemon.json holds no usable pid ({pid!r})")
    if not proc.is_dir():
        return DaemonProcess(pid, False, False, f"cannot verify pid {pid} without /proc")
    recorded_boot = record.get("boot_id")
    if recorded_boot and boot_id(proc) and recorded_boot != boot_id(proc):
        return DaemonProcess(pid, False, True, f"pid {pid} was recorded before the machine rebooted")
    started = process_start_time(pid, proc)
    if started is None:
        return DaemonProcess(pid, False, True, f"pid {pid} is not running")
    argv = _command_line(pid, proc)
    if argv is None:  # exited between the two reads
        return DaemonProcess(pid, False, True, f"pid {pid} is not running")
    if not is_mmd_daemon_command(argv):
        return DaemonProcess(pid, False, True, f"pid {pid} is another program ({' '.join(argv)[:80] or 'no command line'})")
    recorded_start = record.get("start_time")
    if not isinstance(recorded_start, int):
        # an older daemon.json: the process may well be the daemon, but nothing proves it
        return DaemonProcess(pid, False, False, f"daemon.json records no start time for pid {pid}: "
                                                f"cannot verify it is the daemon that wrote it")
    if recorded_start != started:
        return DaemonProcess(pid, False, True, f"pid {pid} is a later mmd process, not the one that wrote daemon.json")
    return DaemonProcess(pid, True, False, f"pid {pid} is the mmd daemon")


def _open_pidfd(pid: int) -> int | None:
    """A handle on the process itself (Linux 5.3+): a signal through it can never reach a
    process that reused the pid after our check."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return opener(pid)
    except ProcessLookupError:
        raise
    except OSError:  # an older kernel
        return None


def stop_daemon(data_dir: Path, proc: Path = _PROC) -> str:
    """SIGTERM the daemon of `data_dir` once its pid is proven to be it; returns what was done.
    A stale daemon.json (and its control token) is removed and ControlError says so."""
    record = read_daemon_file(data_dir)
    pidfd = None
    pid = record.get("pid")
    try:
        if isinstance(pid, int) and pid > 1:
            try:
                pidfd = _open_pidfd(pid)  # before the checks: they then hold for this very process
            except ProcessLookupError:
                pidfd = None
        found = identify_daemon(record, proc)
        if not found.ours:
            if found.stale:
                (data_dir / DAEMON_FILE).unlink(missing_ok=True)
                (data_dir / TOKEN_FILE).unlink(missing_ok=True)
                raise ControlError(f"stale {data_dir / DAEMON_FILE}: {found.reason}; removed it, signalled nothing")
            raise ControlError(f"{found.reason}; signalled nothing (stop it yourself if it is mmd: kill {found.pid})")
        if pidfd is not None:
            signal.pidfd_send_signal(pidfd, signal.SIGTERM)
        else:
            os.kill(found.pid, signal.SIGTERM)
    except ProcessLookupError:
        raise ControlError(f"daemon pid {pid} exited before it could be signalled") from None
    finally:
        if pidfd is not None:
            os.close(pidfd)
    return f"sent SIGTERM to mmd (pid {pid})"


# ----- kill / resume over the status server -----
def control_url(status_url: str, action: str) -> str:
    return status_url.rstrip("/").removesuffix("/status") + f"/{action}"


def _refusal_text(exc: urllib.error.HTTPError) -> str:
    """The daemon's {"error": ...} on one line, else its body as text."""
    text = exc.read().decode(errors="replace").strip()
    try:
        body = json.loads(text)
    except ValueError:
        return " ".join(text.split())
    return str(body.get("error", text)) if isinstance(body, dict) else " ".join(text.split())


def send_control(status_url: str, action: str, reason: str, token: str) -> dict:
    """POST /kill or /resume with the bearer token; the daemon's answer (the kill switch's
    state) or ControlError with the daemon's refusal."""
    url = control_url(status_url, action)
    request = urllib.request.Request(
        url,
        data=json.dumps({"reason": reason}).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=CONTROL_TIMEOUT_S) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        raise ControlError(f"{action} refused by the daemon at {url} (HTTP {exc.code}): {_refusal_text(exc)}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ControlError(f"daemon did not answer at {url}: {exc}") from None
