"""What a fuzz campaign checks, and how it reports: shared by the CI runs and the bench.

- `LogWatch`: every WARNING+ record of the `mmd` loggers, counted; an ERROR carrying an
  exception is an unhandled exception (MmdActor swallows handler exceptions into
  `errors["handler:..."]` and logs them; the REST actor logs a call that failed in a way
  the client does not raise on purpose). Each is tagged with the input being handled.
- `contract_violations`: a published message whose fields do not match their declared
  types (a str that is an int, a Decimal that is NaN): a consumer would crash on it later.
- `Findings`: failures grouped by signature (exception type and where it was raised,
  never the line number, so a signature survives edits), each with its first example.
- `KNOWN_DEFECTS`: findings already reported, each pinned by a strict xfail test. A
  campaign fails on any finding NOT listed here. Fixing one: delete its entry here and
  the xfail marker of its test.
"""

from __future__ import annotations

import logging
import traceback
import types
from collections import Counter
from dataclasses import dataclass, field, fields, is_dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

__all__ = [
    "LogWatch",
    "Finding",
    "Findings",
    "KNOWN_DEFECTS",
    "is_known",
    "contract_violations",
    "mistyped_signature",
    "raised_at",
    "table",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
LONE_SURROGATE = "lone surrogate in str"

# signature (a trailing "*" matches any function of the file) -> the strict xfail test that
# pins it, in tests/fuzz (its reason names the cause, the line and the fix)
KNOWN_DEFECTS: dict[str, str] = {
    # WS frames (test_ws_frame_fuzzing.py): none left
    # REST replies (test_rest_reply_fuzzing.py): none left
}


def is_known(signature: str) -> bool:
    return signature in KNOWN_DEFECTS or any(
        key.endswith("*") and signature.startswith(key[:-1]) for key in KNOWN_DEFECTS
    )


_PROJECT_FILES: dict[str, str | None] = {}  # file name -> path in the repository (None: not ours)


def _project_path(filename: str) -> str | None:
    if filename not in _PROJECT_FILES:
        path = Path(filename).resolve()  # "<frozen abc>" would resolve inside the working directory
        ours = not filename.startswith("<") and REPO_ROOT in path.parents and ".venv" not in path.parts
        _PROJECT_FILES[filename] = path.relative_to(REPO_ROOT).as_posix() if ours else None
    return _PROJECT_FILES[filename]


def raised_at(exc_info: Any) -> tuple[str, str]:
    """(signature, location) of an exception: its type and the innermost project frame
    (`actors/ws/_decoder.py:decode`), and the same with the line number for reports."""
    _type, exc, tb = exc_info
    where = where_line = "?"
    for frame in traceback.extract_tb(tb):
        rel = _project_path(frame.filename)
        if rel is not None:
            where, where_line = f"{rel}:{frame.name}", f"{rel}:{frame.lineno} in {frame.name}"
    name = type(exc).__name__
    return f"{name} in {where}", f"{name} at {where_line}: {str(exc)[:160]}"


class LogWatch(logging.Handler):
    """Counts `mmd` WARNING+ records while installed; ERRORs with an exception are kept,
    tagged with `self.tag` (the input being handled). Use as a context manager: the `mmd`
    logger is set to WARNING and stops propagating meanwhile (a million frames would
    otherwise flood pytest's log capture), then restored."""

    def __init__(self, logger_name: str = "mmd") -> None:
        super().__init__(level=logging.WARNING)
        self.logger = logging.getLogger(logger_name)
        self.counts: Counter[tuple[str, str]] = Counter()  # (logger, level) -> records
        self.exceptions: list[tuple[Any, Any, str]] = []  # (tag, exc_info, message)
        self.errors_without_exception: list[tuple[Any, str]] = []
        self.tag: Any = None
        self._saved: tuple[int, bool] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[(record.name, record.levelname)] += 1
        if record.levelno >= logging.ERROR:
            if record.exc_info and record.exc_info[1] is not None:
                self.exceptions.append((self.tag, record.exc_info, record.getMessage()))
            else:
                self.errors_without_exception.append((self.tag, record.getMessage()))

    def __enter__(self) -> "LogWatch":
        self._saved = (self.logger.level, self.logger.propagate)
        self.logger.setLevel(logging.WARNING)
        self.logger.propagate = False
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.logger.removeHandler(self)
        assert self._saved is not None
        self.logger.setLevel(self._saved[0])
        self.logger.propagate = self._saved[1]

    def take_exceptions(self) -> list[tuple[Any, Any, str]]:
        taken, self.exceptions = self.exceptions, []
        return taken


# -- the declared types of messages and results --------------------------------------
_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = get_type_hints(cls)
    return hints


def _encodable(text: str) -> bool:
    """Text is Unicode characters: a lone surrogate (from a JSON "\\ud800" escape) cannot be
    written as UTF-8 (a log line, an SQLite row, the next request's URL)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _conforms(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    origin = get_origin(hint)
    if origin is Literal:
        return value in get_args(hint)
    if origin is Union or origin is types.UnionType:
        return any(_conforms(value, arg) for arg in get_args(hint))
    if hint is type(None) or hint is None:
        return value is None
    if origin is tuple:
        args = get_args(hint)
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_conforms(v, args[0]) for v in value)
        return len(value) == len(args) and all(_conforms(v, a) for v, a in zip(value, args))
    if hint is str:
        return isinstance(value, str) and _encodable(value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is Decimal:
        return isinstance(value, Decimal) and value.is_finite()
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # a generic we do not check (dict[str, Any], Callable...)


def contract_violations(obj: Any) -> list[tuple[str, str]]:
    """(`Type.field`, what it holds) for every field of a dataclass (a message or a client
    result) whose value does not match its declared type."""
    if not is_dataclass(obj):
        return []
    hints = _hints(type(obj))
    out = []
    for f in fields(obj):
        value = getattr(obj, f.name)
        if not _conforms(value, hints.get(f.name, Any)):
            if isinstance(value, str) and not _encodable(value):
                held = f"{LONE_SURROGATE} {repr(value)[:40]}"
            elif isinstance(value, Decimal):
                held = f"Decimal {value}"
            else:
                held = f"{type(value).__name__} {repr(value)[:40]}"
            out.append((f"{type(obj).__name__}.{f.name}", held))
    return out


def mistyped_signature(where: str, held: str) -> str:
    """One signature for every text field with a lone surrogate (one cause, one fix);
    otherwise the field itself."""
    return f"text with a {LONE_SURROGATE}" if held.startswith(LONE_SURROGATE) else where


# -- findings -------------------------------------------------------------------------
@dataclass
class Finding:
    category: str  # "unhandled exception", "mistyped message", "frames not counted", ...
    signature: str
    count: int = 0
    location: str = ""
    example: str = ""  # the first input that showed it: kind, note, text
    fields: Counter = field(default_factory=Counter)  # mistyped: Type.field -> times (one signature may span several)

    @property
    def known(self) -> bool:
        return is_known(self.signature)


@dataclass
class Findings:
    by_signature: dict[str, Finding] = field(default_factory=dict)

    def add(self, category: str, signature: str, *, location: str = "", example: str = "", count: int = 1) -> None:
        finding = self.by_signature.get(signature)
        if finding is None:
            finding = self.by_signature[signature] = Finding(category, signature, location=location, example=example)
        finding.count += count

    def add_mistyped(self, category: str, obj: Any, example: str) -> None:
        """One finding per field of `obj` (a message, a client result) not of its declared type."""
        for where, held in contract_violations(obj):
            signature = mistyped_signature(where, held)
            self.add(category, signature, location=f"{where} holds {held}", example=example)
            self.by_signature[signature].fields[where] += 1

    def all(self) -> list[Finding]:
        return sorted(self.by_signature.values(), key=lambda f: (f.category, f.signature))

    def unknown(self) -> list[Finding]:
        return [f for f in self.all() if not f.known]

    def describe(self) -> str:
        if not self.by_signature:
            return "no findings"
        lines = []
        for f in self.all():
            lines.append(f"[{'known' if f.known else 'NEW'}] {f.category}: {f.signature} x{f.count}")
            if f.location:
                lines.append(f"    at {f.location}")
            if len(f.fields) > 1:
                lines.append("    in " + ", ".join(f"{where} x{n:,}" for where, n in f.fields.most_common()))
            if f.example:
                lines.append(f"    e.g. {f.example}")
        return "\n".join(lines)


def example(kind: str, note: str, text: str | bytes, limit: int = 240) -> str:
    shown = repr(text[:limit]) + ("..." if len(text) > limit else "")
    return f"{kind} ({note}): {shown}" if note else f"{kind}: {shown}"


def table(counts: Counter, rows: list[str], columns: list[str], *, row_title: str = "") -> str:
    """A fixed-width table of counts[(row, column)], with row and column totals."""
    widths = [max(len(row_title), *(len(r) for r in rows), 5)] + [max(len(c), 7) for c in columns] + [9]
    head = [row_title.ljust(widths[0])] + [c.rjust(w) for c, w in zip(columns, widths[1:])] + ["total".rjust(widths[-1])]
    lines = ["  ".join(head)]
    for r in rows:
        values = [counts[(r, c)] for c in columns]
        if not any(values):
            continue
        cells = [r.ljust(widths[0])] + [f"{v:,}".rjust(w) for v, w in zip(values, widths[1:])]
        lines.append("  ".join(cells + [f"{sum(values):,}".rjust(widths[-1])]))
    totals = [sum(counts[(r, c)] for r in rows) for c in columns]
    lines.append("  ".join(["total".ljust(widths[0])] + [f"{v:,}".rjust(w) for v, w in zip(totals, widths[1:])]
                           + [f"{sum(totals):,}".rjust(widths[-1])]))  # fmt: skip
    return "\n".join(lines)
