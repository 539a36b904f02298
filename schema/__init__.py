"""Versioned SQLite migrations for mmd's analytics database.

Migrations are the files `NNN_name.sql` beside this module, applied in version order,
each inside its own transaction together with its row in `schema_migrations`
(version, name, sha256 of the file). Applied migrations are never edited: a changed
checksum is an error, not a silent re-run. Conventions for the tables (TEXT decimals
for money, integer-nanosecond clock times) are written at the top of 001_initial.sql.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

__all__ = ["migrate", "Migration", "MigrationError", "available_migrations", "MIGRATIONS_DIR"]

MIGRATIONS_DIR = Path(__file__).resolve().parent
_FILE_NAME = re.compile(r"^(\d+)_([a-z0-9_]+)\.sql$")


class MigrationError(Exception):
    """The database and the migration files disagree, or a migration failed."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available_migrations(directory: Path | str = MIGRATIONS_DIR) -> list[Migration]:
    found: dict[int, Migration] = {}
    for path in sorted(Path(directory).iterdir()):
        match = _FILE_NAME.match(path.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations claim version {version}: {found[version].name}, {path.stem}")
        found[version] = Migration(version, path.stem, path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def _statements(sql: str) -> list[str]:
    """Split a script into complete statements (sqlite3.executescript would commit our
    transaction first, so each statement is executed on its own inside it)."""
    statements, pending = [], ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    leftover = [ln for ln in pending.splitlines() if ln.strip() and not ln.strip().startswith("--")]
    if leftover:
        raise MigrationError(f"incomplete SQL statement at end of migration: {leftover[0].strip()!r}")
    return statements


def migrate(db_path: Path | str, *, migrations_dir: Path | str = MIGRATIONS_DIR) -> int:
    """Create the database file if needed, switch it to WAL and apply pending migrations.

    Idempotent; safe against a second process migrating at the same moment (each
    migration takes the write lock and re-checks). Returns the schema version.
    """
    path = Path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    migrations = available_migrations(migrations_dir)
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)  # explicit transactions
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise MigrationError(f"{path}: could not switch to WAL journal mode (got {mode})")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL)"
        )
        for migration in migrations:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT name, checksum FROM schema_migrations WHERE version = ?", (migration.version,)
                ).fetchone()
                if row is None:
                    for statement in _statements(migration.sql):
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
                        (migration.version, migration.name, migration.checksum),
                    )
                elif row[1] != migration.checksum:
                    raise MigrationError(
                        f"{path}: migration {migration.version} ({row[0]}) was changed after it was applied"
                    )
                conn.execute("COMMIT")
            except Exception as exc:
                conn.execute("ROLLBACK")
                if isinstance(exc, MigrationError):
                    raise
                raise MigrationError(f"{path}: migration {migration.name} failed: {exc}") from exc
        (version,) = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
        return version
    finally:
        conn.close()
