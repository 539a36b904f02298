"""Logging set-up: for a human on a terminal, for journald under systemd, or JSON lines.

Under journald (`$JOURNAL_STREAM` names the device and inode of our stderr) journald stamps
the time itself, and reads a `<N>` syslog priority at the start of each line: every line of
a record carries it, so a traceback's lines keep the error priority (`journalctl -p err`).
JSON: one object per record on one line, its traceback a field of that object.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import IO

__all__ = [
    "LOG_FORMATS",
    "configure_logging",
    "under_journald",
    "JournaldFormatter",
    "JsonFormatter",
    "log_uncaught_exceptions",
]

LOG_FORMATS = ("auto", "human", "journald", "json")
HUMAN_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
JOURNALD_FORMAT = "%(levelname)s %(name)s: %(message)s"  # no time stamp: journald adds one
NOISY_LOGGERS = ("urllib3", "websocket", "aiohttp.access")

log = logging.getLogger(__name__)


def under_journald(stream: IO | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether `stream` (stderr by default) is the journal: `$JOURNAL_STREAM` is "dev:inode"
    of it. A child whose stderr was redirected keeps the variable, hence the comparison."""
    environ = os.environ if environ is None else environ
    stream = sys.stderr if stream is None else stream
    device, _, inode = environ.get("JOURNAL_STREAM", "").partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        status = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # no file descriptor (a StringIO, closed)
        return False
    return (status.st_dev, status.st_ino) == (int(device), int(inode))


def syslog_priority(levelno: int) -> int:
    """sd-daemon(3) priorities: 2 crit, 3 err, 4 warning, 6 info, 7 debug."""
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    if levelno >= logging.INFO:
        return 6
    return 7


def _prefix_lines(text: str, priority: int) -> str:
    prefix = f"<{priority}>"
    return "\n".join(prefix + line for line in text.split("\n"))


class JournaldFormatter(logging.Formatter):
    """`<N>LEVEL logger: message`, the priority on every line of the record."""

    def __init__(self) -> None:
        super().__init__(JOURNALD_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return _prefix_lines(super().format(record), syslog_priority(record.levelno))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts (UTC, ISO 8601), level, logger, thread, message, exc."""

    def __init__(self, *, syslog_prefix: bool = False) -> None:
        super().__init__()
        self.syslog_prefix = syslog_prefix

    def format(self, record: logging.LogRecord) -> str:
        exc = None
        if record.exc_info and record.exc_info[0] is not None:
            exc = self.formatException(record.exc_info)
        elif record.exc_text:
            exc = record.exc_text
        if record.stack_info:
            exc = "\n".join(part for part in (exc, self.formatStack(record.stack_info)) if part)
        line = json.dumps(
            {
                "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="microseconds"),
                "level": record.levelname,
                "logger": record.name,
                "thread": record.threadName,
                "message": record.getMessage(),
                "exc": exc,
            },
            ensure_ascii=False,
            default=str,
        )  # json.dumps escapes new lines: the record stays on one line
        return f"<{syslog_priority(record.levelno)}>{line}" if self.syslog_prefix else line


class _MmdHandler(logging.StreamHandler):
    """Marks the handler configure_logging installed, so a second call replaces it."""


def configure_logging(
    level: int | str = logging.INFO,
    fmt: str = "auto",
    *,
    stream: IO | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Log to `stream` (stderr) in `fmt`: "auto" is "journald" when stderr is the journal,
    else "human". Returns the format chosen. Handlers others installed (pytest's) are kept."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format {fmt!r}: expected one of {', '.join(LOG_FORMATS)}")
    stream = sys.stderr if stream is None else stream
    journal = under_journald(stream, environ)
    chosen = ("journald" if journal else "human") if fmt == "auto" else fmt
    if chosen == "journald":
        formatter: logging.Formatter = JournaldFormatter()
    elif chosen == "json":
        formatter = JsonFormatter(syslog_prefix=journal)  # journald strips the prefix
    else:
        formatter = logging.Formatter(HUMAN_FORMAT)
    handler = _MmdHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _MmdHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return chosen


def log_uncaught_exceptions() -> None:
    """Uncaught exceptions (main thread and other threads) become one log record each, so
    their tracebacks get the record's format (priority on every line, or one JSON object)."""

    def main_thread_hook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        logging.getLogger("mmd").critical("uncaught exception", exc_info=(exc_type, exc, tb))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "unknown"
        logging.getLogger("mmd").error(
            "uncaught exception in thread %s", name, exc_info=(args.exc_type, args.exc_value, args.exc_traceback)
        )

    sys.excepthook = main_thread_hook
    threading.excepthook = thread_hook
