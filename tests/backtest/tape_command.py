"""What the backtest command tests share: a small tape written like Kalshi's, and the
command run through its argparse subcommand as `mmd backtest` runs it."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

from mmd.backtest import add_backtest_parser

TICKER = "KXTAPE-26APR04-T"
HEADER = "Sequence id,Time sec,Datetime,Yes px,No px,Side taken,Size\n"
T0 = 1_775_300_000


def run_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mmd")
    add_backtest_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["backtest", "--no-progress", *argv])
    return args.func(args)


def write_swinging_tape(folder: Path) -> Path:
    """Two minutes of a market swinging between 45 and 55 cents, ending at 98 (settles YES)."""
    path = folder / f"TRADES_{TICKER}.csv"
    prices = [50, 49, 51, 48, 52, 47, 53, 46, 54, 45, 55, 50] * 5 + [98] * 5
    rows = [f"{i + 1},{T0 + 2 * i},x,{p},{100 - p},{'no' if i % 2 else 'yes'},{5 + i % 7}\n"
            for i, p in enumerate(prices)]
    path.write_text(HEADER + "".join(rows))
    return path


def stored_runs(out: Path) -> list[dict]:
    with sqlite3.connect(out / "backtest.sqlite") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM backtest_runs ORDER BY rowid")]
