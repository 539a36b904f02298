import sqlite3

import pytest

from schema import MigrationError, available_migrations, migrate

TABLES = {
    "strategy_runs", "market_snapshots", "orders", "order_fills", "trades", "position_history",
    "discovery_sessions", "discovered_markets", "volatility_events", "volatility_sessions",
    "realizations", "triggers", "risk_events", "schema_migrations",
}


def _tables(db_path) -> set[str]:
    with sqlite3.connect(db_path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _schema_sql(db_path) -> list[str]:
    with sqlite3.connect(db_path) as conn:
        return [r[0] for r in conn.execute("SELECT sql FROM sqlite_master ORDER BY name")]


def test_migrate_creates_the_file_and_every_table_and_returns_the_latest_version(tmp_path):
    db_path = tmp_path / "new" / "analytics.db"

    version = migrate(db_path)

    assert version == available_migrations()[-1].version
    assert _tables(db_path) == TABLES


def test_migrate_twice_changes_nothing(db_path):
    first = migrate(db_path)
    schema_before = _schema_sql(db_path)

    second = migrate(db_path)

    assert second == first
    assert _schema_sql(db_path) == schema_before
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == len(available_migrations())


def test_migrate_turns_on_write_ahead_logging(db_path):
    migrate(db_path)

    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrate_applies_only_pending_migrations_in_version_order(tmp_path, db_path):
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "001_first.sql").write_text("CREATE TABLE a (x INTEGER);\n")
    assert migrate(db_path, migrations_dir=migrations) == 1
    (migrations / "010_tenth.sql").write_text("INSERT INTO b (x) VALUES (2);\n")
    (migrations / "002_second.sql").write_text("-- b follows a; it has a comment\nCREATE TABLE b (x INTEGER);\nINSERT INTO a (x) VALUES (1);\n")

    assert migrate(db_path, migrations_dir=migrations) == 10

    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall() == [
            (1, "001_first"), (2, "002_second"), (10, "010_tenth"),
        ]
        assert conn.execute("SELECT x FROM a").fetchall() == [(1,)]  # 001 not re-run
        assert conn.execute("SELECT x FROM b").fetchall() == [(2,)]


def test_a_failing_migration_leaves_no_partial_schema(tmp_path, db_path):
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "001_first.sql").write_text("CREATE TABLE a (x INTEGER);\n")
    (migrations / "002_broken.sql").write_text("CREATE TABLE b (x INTEGER);\nINSERT INTO missing VALUES (1);\n")

    with pytest.raises(MigrationError, match="002_broken"):
        migrate(db_path, migrations_dir=migrations)

    assert _tables(db_path) == {"schema_migrations", "a"}


def test_an_applied_migration_that_was_edited_is_refused(tmp_path, db_path):
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "001_first.sql").write_text("CREATE TABLE a (x INTEGER);\n")
    migrate(db_path, migrations_dir=migrations)
    (migrations / "001_first.sql").write_text("CREATE TABLE a (x INTEGER, y TEXT);\n")

    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(db_path, migrations_dir=migrations)


def test_money_columns_are_never_real(db_path):
    migrate(db_path)
    money = {"price", "count", "fee", "filled", "remaining", "position", "pnl", "realized_pnl", "vwap",
             "best_bid", "best_ask", "mid", "microprice", "depth", "entry_price", "exit_price"}

    with sqlite3.connect(db_path) as conn:
        found = {
            (table, name, kind)
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            for _, name, kind, *_ in conn.execute(f"PRAGMA table_info([{table}])")
            if name in money
        }
    assert found and all(kind == "TEXT" for _, _, kind in found)
