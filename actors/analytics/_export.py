"""CSV export of fills, realizations and triggers (SPEC section 10; seed 000's logs)."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

__all__ = ["export_csv", "export_run_csvs", "EXPORTABLE_TABLES", "RUN_EXPORTS"]

EXPORTABLE_TABLES = {
    "fills": "order_fills",
    "order_fills": "order_fills",
    "realizations": "realizations",
    "triggers": "triggers",
}
"""Name accepted by export_csv -> table exported ("fills" is order_fills)."""

RUN_EXPORTS = ("fills", "realizations", "triggers")
"""What export_run_csvs writes, one <name>.csv each."""


def export_csv(db_path: Path | str, table: str, out_path: Path | str, run_id: str | None = None) -> int:
    """Write `table` (optionally one run's rows) to `out_path` as CSV; returns rows written.

    Every column, in schema order, rows in insertion order. Decimal TEXT is written
    verbatim ("0.4200" stays "0.4200"), NULL as an empty field. Opens the database read
    only, so it is safe beside a running daemon (WAL) and never creates a file.
    """
    name = EXPORTABLE_TABLES.get(table)
    if name is None:
        raise ValueError(f"cannot export {table!r}: choose one of {', '.join(sorted(EXPORTABLE_TABLES))}")
    path = Path(db_path)
    if not path.is_file():
        raise FileNotFoundError(f"no analytics database at {path}")
    db_uri = path.resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(db_uri, uri=True)
    try:
        where, params = ("WHERE run_id = ?", [run_id]) if run_id is not None else ("", [])
        cursor = conn.execute(f"SELECT * FROM [{name}] {where} ORDER BY rowid", params)
        out = Path(out_path)
        out.parent.mkdir(parents=True, exist_ok=True)
        count = 0
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([description[0] for description in cursor.description])
            for row in cursor:
                writer.writerow(["" if value is None else value for value in row])
                count += 1
        return count
    finally:
        conn.close()


def export_run_csvs(db_path: Path | str, out_dir: Path | str, run_id: str | None = None) -> dict[str, int]:
    """fills.csv, realizations.csv and triggers.csv of one database (optionally one run)
    into `out_dir`; returns rows written per file name."""
    out = Path(out_dir)
    return {name: export_csv(db_path, name, out / f"{name}.csv", run_id) for name in RUN_EXPORTS}
