"""A sweep's comparison: per setting (x fill model), the P&L across its games (tapes and
scenario seeds) — mean, sample std, worst, mean/std — with fills and the worst drawdown;
ranked best first. Plain functions over the runs' metrics (mmd/backtest_metrics.py)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from mmd.backtest import dollars
from mmd.backtest_metrics import RunMetrics

__all__ = ["SettingSummary", "summarise_setting", "rank", "format_ranking", "write_ranking_csv", "RANK_KEYS"]

_RATIO_STEP = Decimal("0.001")
_MONEY_STEP = Decimal("0.0001")  # a hundredth of a cent: means and stds are not whole cents
RANK_KEYS = ("mean", "sharpe", "worst")


@dataclass(frozen=True)
class SettingSummary:
    setting: str  # its overrides, `key=value ...`
    fill_model: str
    config_hash: str
    games: int
    mean: Decimal
    std: Decimal | None  # sample std; None for one game
    worst: Decimal
    sharpe: Decimal | None  # mean / std across games; None when std is None or 0
    fills: int
    max_drawdown: Decimal
    marked_games: int  # games whose settlement was unknown: P&L marked at the last print instead


def game_pnl(metrics: RunMetrics) -> Decimal:
    """After fees and settlement; marked at the last print when a held market's result is unknown."""
    return metrics.pnl_settled if metrics.pnl_settled is not None else metrics.pnl_marked


def summarise_setting(setting: str, fill_model: str, config_hash: str, games: list[RunMetrics]) -> SettingSummary:
    pnls = [game_pnl(m) for m in games]
    n = len(pnls)
    exact_mean = sum(pnls, Decimal(0)) / n
    std = (sum(((p - exact_mean) ** 2 for p in pnls), Decimal(0)) / (n - 1)).sqrt() if n > 1 else None
    sharpe = (exact_mean / std).quantize(_RATIO_STEP) if std else None
    mean = exact_mean.quantize(_MONEY_STEP)
    std = None if std is None else std.quantize(_MONEY_STEP)
    return SettingSummary(setting, fill_model, config_hash, n, mean, std, min(pnls), sharpe,
                          sum(m.fills for m in games), max(m.max_drawdown for m in games),
                          sum(1 for m in games if m.pnl_settled is None))


def rank(summaries: list[SettingSummary], by: str = "mean") -> list[SettingSummary]:
    """Best first by `by` (mean | sharpe | worst), then by the others; a missing ratio ranks last."""
    def key(s: SettingSummary) -> tuple:
        sharpe = s.sharpe if s.sharpe is not None else Decimal("-Infinity")
        order = {"mean": (s.mean, sharpe, s.worst), "sharpe": (sharpe, s.mean, s.worst),
                 "worst": (s.worst, s.mean, sharpe)}[by]
        return tuple(-v for v in order)
    return sorted(summaries, key=key)


def _money(value: Decimal | None) -> str:
    return "-" if value is None else dollars(value)


COLUMNS = ("#", "setting", "fill model", "games", "mean P&L", "std", "worst", "mean/std", "fills", "max DD")


def _cells(i: int, s: SettingSummary) -> list[str]:
    return [str(i), s.setting, s.fill_model, str(s.games) + ("~" if s.marked_games else ""), _money(s.mean),
            _money(s.std), _money(s.worst), "-" if s.sharpe is None else f"{s.sharpe:.3f}", str(s.fills),
            _money(s.max_drawdown)]


def format_ranking(ranked: list[SettingSummary]) -> str:
    rows = [_cells(i, s) for i, s in enumerate(ranked, 1)]
    widths = [max(len(c) for c in column) for column in zip(COLUMNS, *rows)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i in (1, 2) else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(list(COLUMNS)), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


NOTES = """\
P&L per game (tape or scenario seed): after fees and settlement (mmd backtest's "P&L settled"); games~ = some games
held a market whose result is unknown, their P&L marked at the last print. std: sample std across games. mean/std:
a Sharpe-like ratio across games. fills: all games. max DD: the worst game's largest fall of equity from its peak."""

CSV_COLUMNS = ("rank", "setting", "fill_model", "config_hash", "games", "marked_games", "mean_pnl", "std_pnl",
               "worst_pnl", "mean_over_std", "fills", "max_drawdown")


def write_ranking_csv(ranked: list[SettingSummary], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for i, s in enumerate(ranked, 1):
            writer.writerow([i, s.setting, s.fill_model, s.config_hash, s.games, s.marked_games, s.mean,
                             "" if s.std is None else s.std, s.worst, "" if s.sharpe is None else s.sharpe,
                             s.fills, s.max_drawdown])
