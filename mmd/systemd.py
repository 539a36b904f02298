"""systemd without a dependency: readiness, status and watchdog notifications, credentials.

`sd_notify` is one datagram to the AF_UNIX socket named by `$NOTIFY_SOCKET` (a leading `@`
names the abstract namespace). Outside systemd the variable is unset and every call here is
a no-op, so the daemon runs the same from a terminal. A notification that cannot be sent
is logged once and never raised: a status line must not take the daemon down.

Credentials: with `LoadCredential[Encrypted]=`, systemd decrypts the Kalshi key into a
private directory named by `$CREDENTIALS_DIRECTORY`, readable by the service alone. Their
content is never logged or put in an error message.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = [
    "notify",
    "ready",
    "status",
    "stopping",
    "pet_watchdog",
    "watchdog_interval_s",
    "Watchdog",
    "ACCESS_KEY_CREDENTIAL",
    "PRIVATE_KEY_CREDENTIAL",
    "CREDENTIAL_FORBIDDEN_MODE",
    "CredentialError",
    "ServiceCredentials",
    "service_credentials",
]

ACCESS_KEY_CREDENTIAL = "kalshi-access-key"
PRIVATE_KEY_CREDENTIAL = "kalshi-private-key"
# systemd writes a credential 0400 and grants a dynamic user read through an ACL, which stat
# shows as group-readable (0440); the directory is the service's alone. World access is wrong.
CREDENTIAL_FORBIDDEN_MODE = 0o007
MAX_ACCESS_KEY_BYTES = 4096
# after a failed health pass, retry this fraction of a pet period later: several tries fit
# before systemd's deadline (two periods after the last pet)
RETRY_FRACTION = 0.2

_failure_logged = threading.Event()


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send `state` ("READY=1", "STATUS=...", newline-separated assignments) to the service
    manager. Returns whether it was sent; False without `$NOTIFY_SOCKET` or on any failure."""
    environ = os.environ if environ is None else environ
    address = environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace: the kernel name starts with a NUL byte
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8", "replace"))
        return True
    except OSError as exc:
        # once: the watchdog would otherwise log this every few seconds
        if not _failure_logged.is_set():
            _failure_logged.set()
            log.warning("cannot notify systemd at %s: %s (further failures not logged)",
                        environ.get("NOTIFY_SOCKET"), exc)
        return False


def _one_line(text: str) -> str:
    # a newline would start a new assignment: a status text could otherwise send READY=1
    return " ".join(text.split())


def ready(status_text: str | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """Startup (reconciliation included) is done: systemd marks the unit started."""
    state = "READY=1" if status_text is None else f"READY=1\nSTATUS={_one_line(status_text)}"
    return notify(state, environ)


def status(text: str, environ: Mapping[str, str] | None = None) -> bool:
    """A one-line status shown by `systemctl status mmd`."""
    return notify(f"STATUS={_one_line(text)}", environ)


def stopping(status_text: str | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """The graceful stop has begun (cancelling orders may take a while)."""
    state = "STOPPING=1" if status_text is None else f"STOPPING=1\nSTATUS={_one_line(status_text)}"
    return notify(state, environ)


def pet_watchdog(environ: Mapping[str, str] | None = None) -> bool:
    return notify("WATCHDOG=1", environ)


def watchdog_interval_s(environ: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """The watchdog timeout systemd expects us to beat, in seconds, or None when there is none
    (no `WatchdogSec=`, or `$WATCHDOG_PID` names another process: a child must not pet it)."""
    environ = os.environ if environ is None else environ
    usec_text = environ.get("WATCHDOG_USEC", "").strip()
    if not usec_text:
        return None
    pid_text = environ.get("WATCHDOG_PID", "").strip()
    if pid_text:
        if not pid_text.isdigit() or int(pid_text) != (os.getpid() if pid is None else pid):
            return None
    if not usec_text.isdigit() or int(usec_text) == 0:
        log.warning("ignoring WATCHDOG_USEC=%r: not a positive number of microseconds", usec_text)
        return None
    return int(usec_text) / 1_000_000


class Watchdog:
    """When the main loop should run a health pass, and a pet after each pass that succeeded.

    systemd restarts the service when no WATCHDOG=1 arrives within the interval; we pet every
    half interval, and only after a health pass succeeded, so an actor that stopped serving
    its inbox gets the daemon restarted (the next start cancels our orders left resting).
    Time comes in as `now_s` (a monotonic clock, in seconds): the class never reads a clock.
    """

    def __init__(self, interval_s: float | None, now_s: float, *, pet=pet_watchdog) -> None:
        self.interval_s = interval_s
        self.period_s = None if interval_s is None else interval_s / 2
        self._pet = pet
        self._due_s = now_s  # the first health pass pets at once: systemd counts from READY=1

    @classmethod
    def from_environment(cls, now_s: float, environ: Mapping[str, str] | None = None) -> "Watchdog":
        return cls(watchdog_interval_s(environ), now_s, pet=lambda: pet_watchdog(environ))

    @property
    def enabled(self) -> bool:
        return self.period_s is not None

    def due(self, now_s: float) -> bool:
        """A health pass is due (never, without a watchdog)."""
        return self.enabled and now_s >= self._due_s

    def wait_s(self, now_s: float, longest_s: float) -> float:
        """How long the main loop may wait for a signal before the next pass is due."""
        if not self.enabled:
            return longest_s
        return max(0.0, min(longest_s, self._due_s - now_s))

    def health_passed(self, now_s: float) -> bool:
        """Told that a health pass succeeded: pet if due. Returns whether a pet was sent."""
        if not self.due(now_s):
            return False
        self._due_s = now_s + self.period_s
        self._pet()
        return True

    def health_failed(self, now_s: float) -> None:
        """Told that a health pass failed: no pet, and the next pass a fraction of a period
        later (not at once: a dead actor fails instantly, and the loop would spin)."""
        if self.enabled:
            self._due_s = now_s + self.period_s * RETRY_FRACTION


class CredentialError(Exception):
    """A credential systemd passed is unusable. The message names the credential and what was
    expected, never its content."""


@dataclass(frozen=True)
class ServiceCredentials:
    """The Kalshi credentials systemd passed, each None when not passed. The private key is
    given as its path, for `kalshi.auth.load_private_key` to check and parse."""

    access_key: str | None = field(default=None, repr=False)
    private_key_path: Path | None = None

    def __repr__(self) -> str:  # the access key id stays out of logs and tracebacks
        access = "<missing>" if self.access_key is None else "<set>"
        return f"ServiceCredentials(access_key={access}, private_key_path={self.private_key_path})"


def service_credentials(environ: Mapping[str, str] | None = None) -> ServiceCredentials:
    """Read `kalshi-access-key` and `kalshi-private-key` from `$CREDENTIALS_DIRECTORY`, when
    systemd set it. Raises CredentialError for a credential that is there but unusable."""
    environ = os.environ if environ is None else environ
    directory_text = environ.get("CREDENTIALS_DIRECTORY", "")
    if not directory_text:
        return ServiceCredentials()
    directory = Path(directory_text)
    private_key_path = directory / PRIVATE_KEY_CREDENTIAL
    return ServiceCredentials(
        access_key=_read_access_key(directory / ACCESS_KEY_CREDENTIAL),
        private_key_path=private_key_path if os.path.lexists(private_key_path) else None,
    )


def _read_access_key(path: Path) -> str | None:
    source = f"credential {ACCESS_KEY_CREDENTIAL} (CREDENTIALS_DIRECTORY)"
    reason = ""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_ACCESS_KEY_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:  # its text names the file only: keep the reason
        reason = exc.strerror or type(exc).__name__
    if reason:
        raise CredentialError(f"{source}: cannot read {path}: {reason}")
    if len(data) > MAX_ACCESS_KEY_BYTES:
        raise CredentialError(f"{source} is too large to be an access key id: expected the key id alone")
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        text = None
    # raised outside the except: no chained exception may carry the bytes
    if text is None:
        raise CredentialError(f"{source} is not UTF-8 text: expected the access key id alone")
    if not text:
        raise CredentialError(f"{source} is empty: expected the access key id")
    if len(text.split()) > 1:
        raise CredentialError(
            f"{source} holds several words or lines: expected the access key id alone "
            f"(were {ACCESS_KEY_CREDENTIAL} and {PRIVATE_KEY_CREDENTIAL} swapped?)"
        )
    return text
