"""The backtest results database: one `backtest_runs` row per finished run, keyed by what
was replayed (tape bytes or scenario), the seed, the config hash and the fill model.

A row is written only after its run's folder is complete (the folder is renamed into place
first), so a row always names a finished run, and a repeated command finds it and skips
the run. Money is TEXT holding the exact Decimal (schema/001_initial.sql's convention).
"""

from __future__ import annotations

import csv
import json
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from mmd.backtest_metrics import MarketFacts, RunMetrics

__all__ = ["RunRecord", "ResultsStore", "CSV_COLUMNS", "write_csv"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS backtest_runs (
    run_key           TEXT PRIMARY KEY,     -- source | seed | config hash | fill model
    source_kind       TEXT NOT NULL CHECK (source_kind IN ('tape', 'scenario')),
    source            TEXT NOT NULL,        -- tape path as given, or scenario name
    label             TEXT NOT NULL,        -- market ticker or scenario name
    seed              INTEGER,              -- scenarios only
    duration_s        REAL,                 -- scenarios only
    fill_model        TEXT NOT NULL,        -- pessimistic | calibrated(share) | optimistic | simulator
    config_hash       TEXT NOT NULL,
    run_dir           TEXT NOT NULL,        -- replay.sqlite, daemon.log, fills/realizations/triggers CSV
    wall_s            REAL NOT NULL,
    book_updates      INTEGER NOT NULL,     -- tape rows applied, or scenario exchange events
    markets_json      TEXT NOT NULL,        -- ticker -> {volume, result, result_from}
    config_json       TEXT NOT NULL,
    -- metrics: recomputed from run_dir's database on every command (a --result can change them)
    settled_as        TEXT,
    pnl_settled       TEXT,                 -- dollars; NULL when a held market's result is unknown
    pnl_marked        TEXT NOT NULL,
    realized          TEXT NOT NULL,
    fees              TEXT NOT NULL,
    fills             INTEGER NOT NULL,
    contracts         TEXT NOT NULL,
    market_volume     TEXT NOT NULL,
    volume_share      TEXT,
    max_inventory     TEXT NOT NULL,
    max_drawdown      TEXT NOT NULL,
    sessions          INTEGER NOT NULL,
    end_reasons_json  TEXT NOT NULL,
    writes            INTEGER NOT NULL,
    writes_per_update TEXT
)
"""

CSV_COLUMNS = (
    "label", "source_kind", "source", "seed", "fill_model", "config_hash", "settled_as", "pnl_settled", "pnl_marked",
    "realized", "fees", "fills", "contracts", "market_volume", "volume_share", "max_inventory", "max_drawdown",
    "sessions", "end_reasons_json", "writes", "book_updates", "writes_per_update", "wall_s", "run_dir", "run_key",
)


@dataclass(frozen=True)
class RunRecord:
    run_key: str
    source_kind: str
    source: str
    label: str
    seed: int | None
    duration_s: float | None
    fill_model: str
    config_hash: str
    run_dir: str
    wall_s: float
    book_updates: int
    markets: dict[str, MarketFacts]
    config_json: str


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _metric_values(metrics: RunMetrics) -> dict:
    return {
        "settled_as": metrics.settled_as,
        "pnl_settled": _text(metrics.pnl_settled),
        "pnl_marked": str(metrics.pnl_marked),
        "realized": str(metrics.realized),
        "fees": str(metrics.fees),
        "fills": metrics.fills,
        "contracts": str(metrics.contracts),
        "market_volume": str(metrics.market_volume),
        "volume_share": _text(metrics.volume_share),
        "max_inventory": str(metrics.max_inventory),
        "max_drawdown": str(metrics.max_drawdown),
        "sessions": metrics.sessions,
        "end_reasons_json": json.dumps(metrics.end_reasons, sort_keys=True),
        "writes": metrics.writes,
        "writes_per_update": _text(metrics.writes_per_update),
    }


def markets_to_json(markets: dict[str, MarketFacts]) -> str:
    return json.dumps({t: {"volume": str(f.volume), "result": f.result, "result_from": f.result_from}
                       for t, f in sorted(markets.items())}, sort_keys=True)


def markets_from_json(text: str) -> dict[str, MarketFacts]:
    return {t: MarketFacts(Decimal(f["volume"]), f["result"], f["result_from"]) for t, f in json.loads(text).items()}


class ResultsStore:
    """The summary database (`backtest.sqlite` in the backtest's folder)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path)
        self.db.execute(_SCHEMA)
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def finished(self, run_key: str) -> RunRecord | None:
        row = self.db.execute(
            "SELECT run_key, source_kind, source, label, seed, duration_s, fill_model, config_hash, run_dir, wall_s, "
            "book_updates, markets_json, config_json FROM backtest_runs WHERE run_key = ?", (run_key,)).fetchone()
        if row is None:
            return None
        *head, markets_json, config_json = row
        return RunRecord(*head, markets=markets_from_json(markets_json), config_json=config_json)

    def record(self, run: RunRecord, metrics: RunMetrics) -> None:
        values = {
            "run_key": run.run_key, "source_kind": run.source_kind, "source": run.source, "label": run.label,
            "seed": run.seed, "duration_s": run.duration_s, "fill_model": run.fill_model,
            "config_hash": run.config_hash, "run_dir": run.run_dir, "wall_s": run.wall_s,
            "book_updates": run.book_updates, "markets_json": markets_to_json(run.markets),
            "config_json": run.config_json, **_metric_values(metrics),
        }
        columns = ", ".join(values)
        marks = ", ".join("?" * len(values))
        with self.db:
            self.db.execute(f"INSERT OR REPLACE INTO backtest_runs ({columns}) VALUES ({marks})",  # noqa: S608
                            tuple(values.values()))

    def rows(self, run_keys: list[str]) -> list[dict]:
        """The stored rows of these runs, in the order given."""
        self.db.row_factory = sqlite3.Row
        try:
            found = {}
            for key in run_keys:
                row = self.db.execute("SELECT * FROM backtest_runs WHERE run_key = ?", (key,)).fetchone()
                if row is not None:
                    found[key] = dict(row)
        finally:
            self.db.row_factory = None
        return [found[k] for k in run_keys if k in found]


def write_csv(rows: list[dict], out_path: Path) -> int:
    """The runs' rows (CSV_COLUMNS, money as exact decimal text); returns rows written."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row[c] for c in CSV_COLUMNS])
    return len(rows)
