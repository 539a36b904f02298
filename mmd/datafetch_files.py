"""Where `mmd data fetch` keeps a market's files, and how it writes them without ever leaving
a half-written one.

In the output folder, for market T:
- `TRADES_T.csv`: the trade tape (mmd/datafetch_tape.py). Replaced whole (temp file, fsync,
  rename), so a reader or a Ctrl-C sees the old tape or the new one, never a mix.
- `TRADES_T.csv.partial`: an unfinished download, JSON lines: a header naming the request,
  then one line per page fetched (`{"trades": [...raw...], "cursor": next}`), appended and
  fsynced page by page. A truncated last line (killed mid-write) is dropped on reading:
  that page is fetched again, and de-duplication by trade id absorbs any overlap.
- `TRADES_T.fetch.json`: written when a download is complete: what the tape holds (rows,
  last sequence id) and its newest second with every trade id seen at it, so a refresh
  starts at that second without duplicating it.
- `MARKET_T.json`: `{"ticker", "status", "result", "close_time", "settlement_ts"}` from
  `GET /markets/T` at the last fetch (`result` is "" until the market is determined).
- `results.csv`: `ticker,result,status,close_time`, one row per market of the folder whose
  result is yes or no, rebuilt from the MARKET_*.json files: `mmd backtest --results` reads it.
None of these but the tape matches the backtest's folder patterns (TRADES_*.csv, *.jsonl).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "MarketFiles",
    "PartialDownload",
    "write_atomically",
    "valid_ticker",
    "market_record",
    "rebuild_results",
    "RESULTS_FILE",
]

RESULTS_FILE = "results.csv"
RESULT_COLUMNS = ("ticker", "result", "status", "close_time")
_TICKER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # also a safe file name: no '/', no leading '.'
_SETTLED_RESULTS = ("yes", "no")


def valid_ticker(ticker: str) -> bool:
    return bool(_TICKER.fullmatch(ticker))


@dataclass(frozen=True)
class MarketFiles:
    out_dir: Path
    ticker: str

    @property
    def tape(self) -> Path:
        return self.out_dir / f"TRADES_{self.ticker}.csv"

    @property
    def partial(self) -> Path:
        return self.out_dir / f"TRADES_{self.ticker}.csv.partial"

    @property
    def state(self) -> Path:
        return self.out_dir / f"TRADES_{self.ticker}.fetch.json"

    @property
    def market(self) -> Path:
        return self.out_dir / f"MARKET_{self.ticker}.json"

    def read_state(self) -> dict | None:
        """The completed download's record; None when absent or unreadable (then re-derived)."""
        try:
            state = json.loads(self.state.read_text())
        except (OSError, ValueError):
            return None
        return state if isinstance(state, dict) and state.get("ticker") == self.ticker else None


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not every platform opens folders; the rename is still atomic
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: temp file beside it, fsync, rename. An interruption leaves
    the old file (and at worst a stale `.name.tmp`, overwritten next time)."""
    temp = path.with_name(f".{path.name}.tmp")
    try:
        with open(temp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


class PartialDownload:
    """The pages an unfinished download has fetched (see the module doc)."""

    def __init__(self, path: Path, header: dict, pages: list[tuple[list, str]]) -> None:
        self.path = path
        self.header = header
        self.pages = pages  # (raw trades, cursor of the next page)

    @classmethod
    def recover(cls, path: Path) -> "PartialDownload | None":
        """The download recorded at `path`, its last line dropped if an interruption cut it
        short (the file is then rewritten without it, so later pages append cleanly); None
        when there is none or it is unreadable."""
        try:
            lines = path.read_text().split("\n")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError):
            return None
        records = []
        for number, line in enumerate(lines):
            try:
                records.append(json.loads(line))
            except ValueError:
                if number < len(lines) - 1:
                    return None  # damage before the end is not an interruption: start over
        if not records or not isinstance(records[0], dict) or not isinstance(records[0].get("header"), dict):
            return None
        pages = [(r["trades"], r["cursor"]) for r in records[1:]
                 if isinstance(r, dict) and isinstance(r.get("trades"), list) and isinstance(r.get("cursor"), str)]
        if len(pages) != len(records) - 1:
            return None
        partial = cls(path, records[0]["header"], pages)
        if lines[-1] != "":  # a cut-short last line: rewrite the file without it
            partial._rewrite()
        return partial

    def _rewrite(self) -> None:
        lines = [json.dumps({"header": self.header}, sort_keys=True)]
        lines += [json.dumps({"trades": trades, "cursor": cursor}, sort_keys=True) for trades, cursor in self.pages]
        write_atomically(self.path, ("\n".join(lines) + "\n").encode())

    @classmethod
    def start(cls, path: Path, header: dict) -> "PartialDownload":
        write_atomically(path, (json.dumps({"header": header}, sort_keys=True) + "\n").encode())
        return cls(path, header, [])

    @property
    def next_cursor(self) -> str | None:
        """Cursor of the next page to fetch: None before the first page, "" when done."""
        return self.pages[-1][1] if self.pages else None

    @property
    def finished(self) -> bool:
        return self.next_cursor == ""

    @property
    def cursors(self) -> set[str]:
        return {cursor for _, cursor in self.pages if cursor}

    @property
    def trades(self) -> int:
        return sum(len(trades) for trades, _ in self.pages)

    def append_page(self, trades: list, next_cursor: str) -> None:
        line = json.dumps({"trades": trades, "cursor": next_cursor}, sort_keys=True) + "\n"
        with open(self.path, "a") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())  # the page survives a crash before the next request
        self.pages.append((trades, next_cursor))

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def market_record(market: dict) -> dict:
    """What the backtest needs of a market: its status, result and close time."""
    return {
        "ticker": market.get("ticker"),
        "status": market.get("status"),
        "result": market.get("result") or "",
        "close_time": market.get("close_time"),
        "settlement_ts": market.get("settlement_ts"),
    }


def rebuild_results(out_dir: Path) -> int:
    """Rewrite results.csv from every MARKET_*.json of the folder; returns its row count."""
    rows = []
    for path in sorted(out_dir.glob("MARKET_*.json")):
        try:
            record: Any = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # not ours, or being replaced: the next fetch rebuilds it
        if isinstance(record, dict) and record.get("result") in _SETTLED_RESULTS and record.get("ticker"):
            rows.append([record["ticker"], record["result"], record.get("status") or "", record.get("close_time") or ""])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(RESULT_COLUMNS)
    writer.writerows(rows)
    write_atomically(out_dir / RESULTS_FILE, buffer.getvalue().encode())
    return len(rows)
