"""What a backtest runs over, read from the command line: tape files, folders and globs,
scenario seeds, config overrides (`--set key.path=value`) and known market results.

Every problem is a `BacktestInputError` whose message is one line naming it; nothing here
writes anything.
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import hashlib
import json
import re
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "BacktestInputError",
    "TapeInput",
    "select_tapes",
    "read_tape_input",
    "parse_seeds",
    "parse_overrides",
    "parse_results",
    "RESULTS",
]

RESULTS = ("yes", "no")
TAPE_SUFFIXES = {".csv": "trade tape", ".jsonl": "ticker file"}
_GLOB_CHARS = set("*?[")


class BacktestInputError(ValueError):
    """Bad input to a backtest: one line, naming the problem."""


@dataclass(frozen=True)
class TapeInput:
    path: Path
    ticker: str
    digest: str  # sha256 of the file's bytes: a run is keyed by what it replayed, not where it lay
    volume: Decimal  # contracts the tape trades
    final_prices_cents: tuple[int, ...]  # the last prints, oldest first (for its result)


def _folder_tapes(folder: Path) -> list[Path]:
    return sorted([*folder.glob("TRADES_*.csv"), *folder.glob("*.jsonl")])


def select_tapes(specs: list[str]) -> list[Path]:
    """Files, folders (their TRADES_*.csv and *.jsonl) and globs, in the order given, each
    file once."""
    chosen: list[Path] = []
    for spec in specs:
        if _GLOB_CHARS & set(spec):
            matches = [Path(m) for m in sorted(glob.glob(spec)) if Path(m).is_file()]
            if not matches:
                raise BacktestInputError(f"no file matches {spec!r}")
        else:
            path = Path(spec)
            if path.is_dir():
                matches = _folder_tapes(path)
                if not matches:
                    raise BacktestInputError(f"{spec} holds no trade tapes (TRADES_*.csv) or ticker files (*.jsonl)")
            elif path.is_file():
                matches = [path]
            else:
                raise BacktestInputError(f"{spec}: no such file or folder")
        chosen.extend(matches)
    unique: dict[Path, Path] = {}
    for path in chosen:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def read_tape_input(path: Path) -> TapeInput:
    """Parse the whole file as the replay will; a file that is not a Kalshi trade tape or
    ticker file is refused with the reason."""
    from mmd.replay import ticker_from_tape_path
    from simex._tape import TapeRow, read_tape, read_ticker_file

    kind = TAPE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise BacktestInputError(f"{path} is not a Kalshi trade tape (.csv) or ticker file (.jsonl)")
    try:
        rows = read_ticker_file(path) if kind == "ticker file" else read_tape(path)
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        reason = str(exc).removeprefix(f"{path}:").strip()
        raise BacktestInputError(f"{path} is not a Kalshi {kind}: {reason}") from None
    trades = [row if isinstance(row, TapeRow) else row.trade for row in rows]
    trades = [t for t in trades if t is not None]
    if not rows or (kind == "trade tape" and not trades):
        raise BacktestInputError(f"{path} is not a Kalshi {kind}: it holds no rows")
    if kind == "ticker file":
        finals = [row.last_cents for row in rows if row.last_cents is not None]
    else:
        finals = [t.yes_price_cents for t in trades]
    return TapeInput(
        path=path,
        ticker=ticker_from_tape_path(path),
        digest=hashlib.sha256(path.read_bytes()).hexdigest(),
        volume=sum((t.size for t in trades), Decimal(0)),
        final_prices_cents=tuple(finals[-FINAL_PRINTS:]),
    )


FINAL_PRINTS = 5  # a tape's result is read from its last five prints


def result_from_final_prints(prices_cents: tuple[int, ...]) -> str | None:
    """YES when the last prints are all at or above 95 cents, NO at or below 5, else unknown."""
    if not prices_cents:
        return None
    if all(p >= 95 for p in prices_cents):
        return "yes"
    if all(p <= 5 for p in prices_cents):
        return "no"
    return None


def parse_seeds(spec: str) -> tuple[int, ...]:
    """"1-5", "1,2,3" or both ("1-3,7"): each seed once, in order."""
    seeds: list[int] = []
    for part in spec.split(","):
        single = re.fullmatch(r"\s*(\d+)\s*", part)
        span = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", part)
        if single:
            seeds.append(int(single[1]))
        elif span and int(span[1]) <= int(span[2]):
            seeds.extend(range(int(span[1]), int(span[2]) + 1))
        else:
            raise BacktestInputError(f"--seeds {spec!r}: write seeds as 1-5, 1,2,3 or 1-3,7")
    return tuple(dict.fromkeys(seeds))


def _field_kind(path: list[str]) -> Any:
    """The schema type at a dotted config path (None when the path is not in the schema:
    the config loader then names the unknown key)."""
    from config import Config

    kind: Any = Config
    for part in path:
        inner = _optional_of(kind)
        kind = inner if inner is not None else kind
        if dataclasses.is_dataclass(kind):
            hints = typing.get_type_hints(kind)
            if part not in hints:
                return None
            kind = hints[part]
        elif typing.get_origin(kind) is dict:
            kind = typing.get_args(kind)[1]
        else:
            return None
    inner = _optional_of(kind)
    return inner if inner is not None else kind


def _optional_of(kind: Any) -> Any:
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return None


def parse_overrides(assignments: list[str]) -> dict:
    """["maker.model.name=glft", "maker.min_spread=0.03"] -> nested override mapping.

    A value is read as YAML (numbers, true/false, [lists]) except where the schema wants a
    string or a Decimal: there it is kept as written, so money stays exact ("0.03")."""
    overrides: dict = {}
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise BacktestInputError(f"--set {assignment!r}: write KEY.PATH=VALUE, e.g. maker.model.name=glft")
        kind = _field_kind(parts)
        if kind in (str, Decimal):
            value: Any = raw
        else:
            try:
                value = yaml.safe_load(raw) if raw.strip() else raw
            except yaml.YAMLError:
                value = raw
        node = overrides
        for part in parts[:-1]:
            existing = node.get(part)
            if not isinstance(existing, dict):
                existing = node[part] = {}
            node = existing
        node[parts[-1]] = value
    return overrides


def _result(ticker: str, value: Any, where: str) -> tuple[str, str]:
    text = str(value).strip().lower()
    if not ticker or text not in RESULTS:
        raise BacktestInputError(f"{where}: a result is TICKER=yes or TICKER=no, got {ticker}={value}")
    return ticker, text


def parse_results(pairs: list[str], results_file: str | None) -> dict[str, str]:
    """--results FILE (CSV with columns ticker,result; or JSON {ticker: result} or a list
    of {ticker, result}), then each --result TICKER=yes|no over it."""
    results: dict[str, str] = {}
    if results_file is not None:
        path = Path(results_file)
        try:
            text = path.read_text()
        except OSError as exc:
            raise BacktestInputError(f"--results {path}: {exc.strerror or exc}") from None
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise BacktestInputError(f"--results {path}: not valid JSON ({exc})") from None
            if isinstance(data, dict):
                items = list(data.items())
            elif isinstance(data, list) and all(isinstance(d, dict) for d in data):
                items = [(d.get("ticker"), d.get("result")) for d in data]
            else:
                raise BacktestInputError(f"--results {path}: expected {{ticker: result}} or a list of {{ticker, result}}")
            results.update(_result(str(t or ""), r, f"--results {path}") for t, r in items)
        else:
            reader = csv.DictReader(text.splitlines())
            if not {"ticker", "result"} <= set(reader.fieldnames or ()):
                raise BacktestInputError(f"--results {path}: a CSV needs the columns ticker,result")
            results.update(_result((row["ticker"] or "").strip(), row["result"], f"--results {path}")
                           for row in reader)
    for pair in pairs:
        ticker, sep, value = pair.partition("=")
        if not sep:
            raise BacktestInputError(f"--result {pair!r}: write TICKER=yes or TICKER=no")
        ticker, result = _result(ticker.strip(), value, f"--result {pair}")
        results[ticker] = result
    return results
