"""Logs for a human on a terminal, for journald under systemd, or as JSON lines.

journald is detected by $JOURNAL_STREAM ("device:inode") naming the log stream itself; then
no time stamp (journald adds one) and a `<N>` syslog priority on every line of a record.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
from pathlib import Path

import pytest

from mmd.logs import configure_logging, log_uncaught_exceptions, under_journald

HUMAN_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")
ANY_TIME = re.compile(r"\d\d:\d\d:\d\d")


@pytest.fixture(autouse=True)
def _restore_root_logger():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def log_file(tmp_path: Path):
    with open(tmp_path / "stderr.log", "w+", encoding="utf-8") as stream:
        yield stream


def journal_environ(stream) -> dict[str, str]:
    status = os.fstat(stream.fileno())
    return {"JOURNAL_STREAM": f"{status.st_dev}:{status.st_ino}"}


def written(stream) -> list[str]:
    stream.flush()
    stream.seek(0)
    return stream.read().splitlines()


def log_a_failure() -> None:
    try:
        raise RuntimeError("exchange said no")
    except RuntimeError:
        logging.getLogger("mmd.runner").exception("cancel failed")


def test_journal_stream_matching_the_stream_means_journald(log_file):
    assert under_journald(log_file, journal_environ(log_file))


def test_journal_stream_of_another_file_is_not_ours(log_file, tmp_path):
    with open(tmp_path / "other.log", "w") as other:
        assert not under_journald(log_file, journal_environ(other))


def test_no_or_malformed_journal_stream_means_no_journald(log_file):
    assert not under_journald(log_file, {})
    assert not under_journald(log_file, {"JOURNAL_STREAM": "journal"})
    assert not under_journald(io.StringIO(), {"JOURNAL_STREAM": "1:2"})  # no file descriptor


def test_auto_under_journald_logs_priority_and_no_time_stamp(log_file):
    chosen = configure_logging(logging.INFO, "auto", stream=log_file, environ=journal_environ(log_file))

    logging.getLogger("mmd").info("mmd paper running")
    logging.getLogger("mmd.risk").warning("loss limit near")

    assert chosen == "journald"
    assert written(log_file) == ["<6>INFO mmd: mmd paper running", "<4>WARNING mmd.risk: loss limit near"]


def test_journald_traceback_lines_keep_the_error_priority(log_file):
    configure_logging(logging.INFO, "journald", stream=log_file, environ={})

    log_a_failure()

    lines = written(log_file)
    assert lines[0] == "<3>ERROR mmd.runner: cancel failed"
    assert lines[1] == "<3>Traceback (most recent call last):"
    assert lines[-1] == "<3>RuntimeError: exchange said no"
    assert all(line.startswith("<3>") for line in lines)
    assert not any(ANY_TIME.search(line) for line in lines)


def test_auto_off_journald_logs_for_humans_with_time_stamps(log_file):
    chosen = configure_logging(logging.INFO, "auto", stream=log_file, environ={})

    logging.getLogger("mmd").info("mmd paper running")

    assert chosen == "human"
    [line] = written(log_file)
    assert HUMAN_TIME.match(line)
    assert line.endswith("INFO    mmd: mmd paper running")
    assert not line.startswith("<")


def test_json_is_one_parsable_object_per_record_traceback_included(log_file):
    configure_logging(logging.DEBUG, "json", stream=log_file, environ={})

    logging.getLogger("mmd.scanner").debug("picked %d market(s)", 3)
    log_a_failure()

    first, second = [json.loads(line) for line in written(log_file)]
    assert set(first) == {"ts", "level", "logger", "thread", "message", "exc"}
    assert (first["level"], first["logger"], first["message"], first["exc"]) == (
        "DEBUG", "mmd.scanner", "picked 3 market(s)", None)
    assert first["ts"].endswith("+00:00")
    assert second["message"] == "cancel failed"
    assert second["exc"].startswith("Traceback") and second["exc"].endswith("RuntimeError: exchange said no")


def test_json_under_journald_carries_the_priority_journald_strips(log_file):
    configure_logging(logging.INFO, "json", stream=log_file, environ=journal_environ(log_file))

    logging.getLogger("mmd").error("feed stale")

    [line] = written(log_file)
    assert line.startswith("<3>{")
    assert json.loads(line[3:])["message"] == "feed stale"


def test_configuring_again_replaces_the_handler_and_keeps_others(log_file):
    root = logging.getLogger()
    others = list(root.handlers)

    configure_logging(logging.INFO, "human", stream=log_file, environ={})
    configure_logging(logging.INFO, "journald", stream=log_file, environ={})
    logging.getLogger("mmd").info("once")

    assert written(log_file) == ["<6>INFO mmd: once"]
    assert all(handler in root.handlers for handler in others)


def test_level_filters_records(log_file):
    configure_logging("WARNING", "journald", stream=log_file, environ={})

    logging.getLogger("mmd").info("hidden")
    logging.getLogger("mmd").warning("shown")

    assert written(log_file) == ["<4>WARNING mmd: shown"]


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="log format 'xml'"):
        configure_logging(logging.INFO, "xml", stream=io.StringIO(), environ={})


def test_uncaught_thread_exception_becomes_one_record(log_file, monkeypatch):
    import sys
    import threading

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    configure_logging(logging.INFO, "json", stream=log_file, environ={})
    log_uncaught_exceptions()

    def fail() -> None:
        raise ValueError("bad frame")

    worker = threading.Thread(target=fail, name="ws-reader")
    worker.start()
    worker.join()

    [record] = [json.loads(line) for line in written(log_file)]
    assert record["message"] == "uncaught exception in thread ws-reader"
    assert record["exc"].endswith("ValueError: bad frame")
