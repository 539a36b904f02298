"""What `mmd backtest` reads from its command line (mmd/backtest_inputs.py): tapes from
files, folders and globs, seeds, typed config overrides, market results."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from config import load_config
from mmd.backtest_inputs import (
    BacktestInputError,
    parse_overrides,
    parse_results,
    parse_seeds,
    read_tape_input,
    result_from_final_prints,
    select_tapes,
)

HEADER = "Sequence id,Time sec,Datetime,Yes px,No px,Side taken,Size\n"


def write_tape(folder, ticker: str, prices: list[int]) -> str:
    path = folder / f"TRADES_{ticker}.csv"
    path.write_text(HEADER + "".join(f"{i + 1},{1_775_300_000 + i},x,{p},{100 - p},no,{i + 1}\n"
                                     for i, p in enumerate(prices)))
    return str(path)


def test_folders_give_their_tapes_and_ticker_files_and_each_file_counts_once(tmp_path):
    a = write_tape(tmp_path, "KXA-1", [50])
    b = write_tape(tmp_path, "KXB-1", [50])
    (tmp_path / "KXC-1.jsonl").write_text("")
    (tmp_path / "README.md").write_text("notes")
    chosen = select_tapes([str(tmp_path), a, str(tmp_path / "TRADES_*.csv")])
    assert [p.name for p in chosen] == ["KXC-1.jsonl", "TRADES_KXA-1.csv", "TRADES_KXB-1.csv"]  # folder: by name
    assert str(chosen[2]) == b


@pytest.mark.parametrize(("spec", "message"), [
    ("missing.csv", "missing.csv: no such file or folder"),
    ("nothing-*.csv", "no file matches 'nothing-*.csv'"),
    (".", "holds no trade tapes (TRADES_*.csv) or ticker files (*.jsonl)"),
])
def test_a_selection_that_finds_nothing_is_named(tmp_path, monkeypatch, spec, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BacktestInputError, match=re.escape(message)):
        select_tapes([spec])


def test_a_tape_is_read_whole_for_its_ticker_volume_and_final_prints(tmp_path):
    tape = read_tape_input(Path(write_tape(tmp_path, "KXNHLGAME-26APR04FLAPIT-PIT", [60, 70, 96, 97, 98, 99, 99])))
    assert tape.ticker == "KXNHLGAME-26APR04FLAPIT-PIT"
    assert tape.volume == Decimal(28)  # 1 + 2 + ... + 7
    assert tape.final_prices_cents == (96, 97, 98, 99, 99)
    assert len(tape.digest) == 64


def test_files_that_are_not_tapes_are_refused_with_the_reason(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    with pytest.raises(BacktestInputError, match=r"notes.txt is not a Kalshi trade tape \(.csv\) or ticker file"):
        read_tape_input(notes)
    other_csv = tmp_path / "prices.csv"
    other_csv.write_text("a,b\n1,2\n")
    with pytest.raises(BacktestInputError, match=r"prices.csv is not a Kalshi trade tape: missing columns"):
        read_tape_input(other_csv)
    empty = tmp_path / "TRADES_KXE-1.csv"
    empty.write_text(HEADER)
    with pytest.raises(BacktestInputError, match="holds no rows"):
        read_tape_input(empty)
    bad_jsonl = tmp_path / "KXJ-1.jsonl"
    bad_jsonl.write_text("not json\n")
    with pytest.raises(BacktestInputError, match=r"KXJ-1.jsonl is not a Kalshi ticker file: 1: bad line"):
        read_tape_input(bad_jsonl)


def test_a_tapes_result_is_read_from_its_last_prints():
    assert result_from_final_prints((96, 99, 95, 99, 99)) == "yes"
    assert result_from_final_prints((1, 2, 5, 1, 1)) == "no"
    assert result_from_final_prints((1, 2, 50, 1, 1)) is None
    assert result_from_final_prints(()) is None


def test_seeds_are_spans_lists_or_both():
    assert parse_seeds("1-5") == (1, 2, 3, 4, 5)
    assert parse_seeds("1,2,3") == (1, 2, 3)
    assert parse_seeds("1-3,7,2") == (1, 2, 3, 7)
    for bad in ("5-1", "a", "1,,2", ""):
        with pytest.raises(BacktestInputError, match="--seeds"):
            parse_seeds(bad)


def test_overrides_are_typed_by_the_config_schema_so_money_stays_exact():
    overrides = parse_overrides(["maker.model.name=glft", "maker.min_spread=0.03", "maker.gamma=0.5",
                                 "maker.model.dynamic_gamma=false", "scanner.tickers=[KXA-1, KXB-1]"])
    assert overrides == {"maker": {"model": {"name": "glft", "dynamic_gamma": False}, "min_spread": "0.03",
                                   "gamma": 0.5}, "scanner": {"tickers": ["KXA-1", "KXB-1"]}}
    config = load_config(overrides=overrides)
    assert config.maker.min_spread == Decimal("0.03")
    assert config.maker.model.name == "glft"


def test_an_override_without_a_value_is_refused():
    with pytest.raises(BacktestInputError, match="--set 'maker.gamma': write KEY.PATH=VALUE"):
        parse_overrides(["maker.gamma"])


def test_results_come_from_a_file_then_the_command_line(tmp_path):
    as_csv = tmp_path / "results.csv"
    as_csv.write_text("ticker,result\nKXA-1,yes\nKXB-1,NO\n")
    assert parse_results(["KXB-1=yes"], str(as_csv)) == {"KXA-1": "yes", "KXB-1": "yes"}
    as_json = tmp_path / "results.json"
    as_json.write_text(json.dumps({"KXA-1": "no"}))
    assert parse_results([], str(as_json)) == {"KXA-1": "no"}
    as_list = tmp_path / "list.json"
    as_list.write_text(json.dumps([{"ticker": "KXA-1", "result": "yes"}]))
    assert parse_results([], str(as_list)) == {"KXA-1": "yes"}


@pytest.mark.parametrize(("pairs", "contents", "message"), [
    (["KXA-1=maybe"], None, "a result is TICKER=yes or TICKER=no"),
    (["KXA-1"], None, "write TICKER=yes or TICKER=no"),
    ([], "ticker,outcome\nKXA-1,yes\n", "a CSV needs the columns ticker,result"),
])
def test_bad_results_are_named(tmp_path, pairs, contents, message):
    path = None
    if contents is not None:
        path = tmp_path / "results.csv"
        path.write_text(contents)
    with pytest.raises(BacktestInputError, match=message):
        parse_results(pairs, None if path is None else str(path))
