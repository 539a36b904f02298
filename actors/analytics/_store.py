"""AnalyticsStore: buffered, batched writes of analytics rows to SQLite (sqlite-utils).

One store per run and one writer: the analytics actor owns it while running; the app may
call start_run before starting the actor and end_run/close after stopping it. A lock
makes misuse from two threads safe rather than corrupting the buffers.

Write rules per table:
- order_fills, position_history, trades: INSERT OR IGNORE on (run_id, fill_id) /
  (run_id, trade_id), so a fill or print reported twice (WS and REST reconciliation,
  reconnect replay) is stored once, with one position row;
- volatility_sessions: upsert on (run_id, session_id), each row setting only its columns;
- everything else: plain insert, in arrival order.
A flush writes each table's buffer in one transaction. A row the schema refuses
(constraint) is logged in full and counted, never allowed to block the rows after it;
an operational failure (locked, disk full) keeps the rows for the next flush.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.db import jsonify_if_needed, quote_identifier

from schema import migrate

from ._rows import Row, rows_from

__all__ = ["AnalyticsStore"]

log = logging.getLogger(__name__)

_IGNORE_DUPLICATES = frozenset({"order_fills", "position_history", "trades"})
_UPSERT_KEYS = {"volatility_sessions": ("run_id", "session_id")}


_STORED_AS_IS = frozenset((str, int, float, type(None)))


def _db_value(value: Any) -> Any:
    """What sqlite-utils would store for a value (it turns a Decimal into a float, a
    container into JSON text); the common scalars pass straight through."""
    return value if type(value) in _STORED_AS_IS else jsonify_if_needed(value)


class AnalyticsStore:
    def __init__(self, db_path: Path | str, run_id: str) -> None:
        self.db_path = Path(db_path)
        self.run_id = run_id
        self.schema_version = migrate(self.db_path)
        conn = sqlite3.connect(self.db_path, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA synchronous=NORMAL")  # durable across a process crash in WAL mode
        self.db = sqlite_utils.Database(conn)
        self._columns = {name: frozenset(self.db[name].columns_dict) for name in self.db.table_names()}
        self._buffers: dict[str, list[Row]] = {}
        self._insert_sql: dict[tuple[str, tuple[str, ...]], str] = {}
        self._lock = threading.RLock()
        self._closed = False
        self.rows_written: Counter[str] = Counter()
        self.duplicates_ignored: Counter[str] = Counter()
        self.rejected_rows: Counter[str] = Counter()
        self.write_errors: Counter[str] = Counter()
        self.flushes = 0
        self.last_flush_ns: int | None = None

    # -- the run ------------------------------------------------------------------------
    def start_run(self, mode: str, config_json: str | dict, started_ns: int) -> None:
        if not isinstance(config_json, str):
            config_json = json.dumps(config_json, sort_keys=True, default=str)
        with self._lock, self.db.atomic():
            self.db["strategy_runs"].insert(
                {
                    "run_id": self.run_id,
                    "mode": mode,
                    "started_ns": started_ns,
                    "ended_ns": None,
                    "config_json": config_json,
                    "exit_reason": None,
                }
            )

    def end_run(self, ended_ns: int, exit_reason: str) -> None:
        """Flush what is pending, then close the run's row."""
        with self._lock:
            self.flush(ended_ns)
            with self.db.atomic():
                cursor = self.db.execute(
                    "UPDATE strategy_runs SET ended_ns = ?, exit_reason = ? WHERE run_id = ?",
                    [ended_ns, exit_reason, self.run_id],
                )
            if cursor.rowcount != 1:
                raise LookupError(f"no strategy_runs row for run {self.run_id!r}: call start_run first")

    # -- buffering ----------------------------------------------------------------------
    def row_from(self, message: Any) -> tuple[str, Row]:
        """The message's primary (table, row); see rows_from for all of them."""
        return rows_from(self.run_id, message)[0]

    def add(self, table: str, row: Row) -> int:
        """Buffer one row; returns how many rows that table now has pending."""
        columns = self._columns.get(table)
        if columns is None:
            raise KeyError(f"analytics has no table {table!r}")
        unknown = row.keys() - columns
        if unknown:
            raise KeyError(f"table {table} has no column(s) {sorted(unknown)}")
        with self._lock:
            buffer = self._buffers.setdefault(table, [])
            buffer.append(row)
            return len(buffer)

    def record(self, message: Any) -> int:
        """Buffer every row a message maps to; returns the fullest touched buffer's size."""
        return max(self.add(table, row) for table, row in rows_from(self.run_id, message))

    @property
    def pending(self) -> dict[str, int]:
        with self._lock:
            return {table: len(rows) for table, rows in self._buffers.items() if rows}

    # -- writing ------------------------------------------------------------------------
    def flush(self, ts_ns: int | None = None) -> int:
        """Write every pending buffer, one transaction per table. Returns rows written.

        ts_ns (from the caller's clock) is remembered as the last flush time."""
        with self._lock:
            before = sum(self.rows_written.values())
            for table in [t for t, rows in self._buffers.items() if rows]:
                try:
                    self._flush_table(table)
                except sqlite3.Error as exc:
                    self.write_errors[table] += 1
                    log.error(
                        "analytics write to %s failed (%s); %d rows kept for the next flush",
                        table, exc, len(self._buffers[table]),
                    )
            self.flushes += 1
            if ts_ns is not None:
                self.last_flush_ns = ts_ns
            return sum(self.rows_written.values()) - before

    def _flush_table(self, table: str) -> None:
        rows = self._buffers[table]
        try:
            self._write(table, rows)
            self._buffers[table] = []
            return
        except sqlite3.IntegrityError:
            pass  # one refused row spoils the batch: write row by row, setting bad ones aside
        for index, row in enumerate(rows):
            try:
                self._write(table, [row])
            except sqlite3.IntegrityError as exc:
                self.rejected_rows[table] += 1
                log.error("analytics row refused by %s (%s), not stored: %r", table, exc, row)
            except sqlite3.Error:
                self._buffers[table] = rows[index:]
                raise
        self._buffers[table] = []

    def _write(self, table: str, rows: list[Row]) -> None:
        conn = self.db.conn
        before = conn.total_changes
        with self.db.atomic():
            if table in _UPSERT_KEYS:
                for row in rows:  # rows differ in their columns: one upsert each
                    self.db[table].upsert(row, pk=_UPSERT_KEYS[table])
            elif not self._insert_uniform(table, rows):
                self.db[table].insert_all(rows, ignore=table in _IGNORE_DUPLICATES)
        # an upsert may take two statements (insert-or-ignore, then update): count rows
        changed = len(rows) if table in _UPSERT_KEYS else conn.total_changes - before
        self.rows_written[table] += changed
        if table in _IGNORE_DUPLICATES:
            self.duplicates_ignored[table] += len(rows) - changed

    def _insert_uniform(self, table: str, rows: list[Row]) -> bool:
        """Insert rows that all have the same keys with one prepared statement (what
        sqlite-utils' insert_all writes for them, without its per-call table inspection
        and SQL building); False, writing nothing, when their keys differ (a row missing a
        column must get what insert_all gives it: NULL or the default, by chunk)."""
        keys = rows[0].keys()
        if not keys or any(row.keys() != keys for row in rows):  # an empty row is DEFAULT VALUES there
            return False
        columns = tuple(sorted(keys))
        statement = self._insert_sql.get((table, columns))
        if statement is None:
            verb = "INSERT OR IGNORE" if table in _IGNORE_DUPLICATES else "INSERT"
            names = ", ".join(quote_identifier(c) for c in columns)
            marks = ", ".join("?" for _ in columns)
            statement = f"{verb} INTO {quote_identifier(table)} ({names}) VALUES ({marks})"
            self._insert_sql[(table, columns)] = statement
        self.db.conn.executemany(statement, [[_db_value(row[c]) for c in columns] for row in rows])
        return True

    # -- fill read-back queries ---------------------------------------------------------
    def last_fill_of_earlier_runs(self, mode: str) -> tuple[int, str] | None:
        """(ts_event_ns, fill_id) of the newest fill an earlier run of `mode` recorded
        (where that account's last run stopped knowing its fills); None if there is none."""
        with self._lock:
            row = self.db.execute(
                "SELECT f.ts_event_ns, f.fill_id FROM order_fills f JOIN strategy_runs r ON r.run_id = f.run_id"
                " WHERE r.mode = ? AND f.run_id != ? AND f.fill_id IS NOT NULL"
                " ORDER BY f.ts_event_ns DESC, f.id DESC LIMIT 1",
                [mode, self.run_id],
            ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def earliest_unfinished_run_start(self, mode: str) -> int | None:
        """started_ns of the earliest earlier run of `mode` that began after the last one
        that ended cleanly (ended_ns set) and after the last one that recorded a fill: runs
        killed before they stored any fill. None if there is none."""
        with self._lock:
            row = self.db.execute(
                "SELECT MIN(r.started_ns) FROM strategy_runs r WHERE r.mode = ? AND r.run_id != ?"
                " AND r.ended_ns IS NULL AND r.started_ns > MAX("
                "  COALESCE((SELECT MAX(c.ended_ns) FROM strategy_runs c"
                "            WHERE c.mode = r.mode AND c.run_id != ? AND c.ended_ns IS NOT NULL), 0),"
                "  COALESCE((SELECT MAX(w.started_ns) FROM strategy_runs w"
                "            WHERE w.mode = r.mode AND w.run_id != ?"
                "            AND EXISTS (SELECT 1 FROM order_fills f WHERE f.run_id = w.run_id)), 0))",
                [mode, self.run_id, self.run_id, self.run_id],
            ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def fill_ids_since(self, mode: str, since_ns: int) -> set[str]:
        """Fill ids runs of `mode` (this one included) have written with ts_event_ns >= since_ns."""
        with self._lock:
            rows = self.db.execute(
                "SELECT DISTINCT f.fill_id FROM order_fills f JOIN strategy_runs r ON r.run_id = f.run_id"
                " WHERE r.mode = ? AND f.ts_event_ns >= ? AND f.fill_id IS NOT NULL",
                [mode, since_ns],
            ).fetchall()
        return {str(fill_id) for (fill_id,) in rows}

    # -- status and shutdown ------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """A snapshot (fresh containers, safe to hand to another thread)."""
        with self._lock:
            pending = self.pending
            return {
                "run_id": self.run_id,
                "schema_version": self.schema_version,
                "rows_written": dict(sorted(self.rows_written.items())),
                "pending": pending,
                "pending_total": sum(pending.values()),
                "flushes": self.flushes,
                "last_flush_ns": self.last_flush_ns,
                "duplicates_ignored": dict(sorted(self.duplicates_ignored.items())),
                "rejected_rows": dict(sorted(self.rejected_rows.items())),
                "write_errors": dict(sorted(self.write_errors.items())),
            }

    def close(self) -> None:
        """Flush and close. Rows that still cannot be written are reported, by count."""
        with self._lock:
            if self._closed:
                return
            self.flush()
            lost = self.pending
            if lost:
                log.error("analytics closing with unwritten rows: %s", lost)
            self.db.close()
            self._closed = True
