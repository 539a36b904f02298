"""bench/bench_strategies.py: strategies backtested side by side on the same tapes, one line
per strategy x fill model summed over the tapes; a repeated command reuses finished runs."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from tests.backtest.tape_command import HEADER, T0

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_strategies", ROOT / "bench" / "bench_strategies.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


@pytest.fixture
def tapes(tmp_path):
    folder = tmp_path / "tapes"
    folder.mkdir()
    for ticker, swing in (("KXTAPE-26APR04-A", 5), ("KXTAPE-26APR04-B", 3)):
        prices = [50 + (swing if i % 2 else -swing) * (i % 3 > 0) for i in range(40)] + [98] * 5
        rows = [f"{i + 1},{T0 + 2 * i},x,{p},{100 - p},{'no' if i % 2 else 'yes'},{5 + i % 7}\n"
                for i, p in enumerate(prices)]
        (folder / f"TRADES_{ticker}.csv").write_text(HEADER + "".join(rows))
    return folder


def test_each_strategy_gets_one_line_per_fill_model_summed_over_the_tapes(bench, tapes, tmp_path, capsys):
    out = tmp_path / "cmp"
    argv = [str(tapes), "--strategies", "nhl_hybrid,fixed_spread", "--fill-models", "pessimistic", "--out", str(out)]

    assert bench.main(argv) == 0

    printed = capsys.readouterr().out
    assert re.search(r"^nhl_hybrid +pessimistic +2 ", printed, re.M)
    assert re.search(r"^fixed_spread +pessimistic +2 ", printed, re.M)
    assert "4 runs replayed, 0 reused" in printed
    assert bench.main(argv) == 0
    assert "0 runs replayed, 4 reused" in capsys.readouterr().out


def test_an_unknown_strategy_is_refused_naming_the_known_ones(bench, tapes, tmp_path, capsys):
    assert bench.main([str(tapes), "--strategies", "as", "--out", str(tmp_path / "cmp")]) == 1

    assert "unknown strategy 'as'; one of nhl_hybrid, avellaneda_stoikov, glft, fixed_spread" in capsys.readouterr().err
