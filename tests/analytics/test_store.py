import sqlite3

import pytest

from actors.analytics import AnalyticsStore

from . import _harness as h


@pytest.fixture
def store(db_path):
    s = AnalyticsStore(db_path, h.RUN_ID)
    yield s
    s.close()


def test_rows_wait_in_the_buffer_until_flush(store, db_path):
    store.record(h.trade())

    assert h.table_rows(db_path, "trades") == []
    assert store.pending == {"trades": 1}

    assert store.flush(h.START_NS + 5) == 1
    assert len(h.table_rows(db_path, "trades")) == 1
    assert store.stats()["pending_total"] == 0
    assert store.stats()["last_flush_ns"] == h.START_NS + 5


def test_duplicate_fill_is_stored_once_with_one_position_row(store, db_path):
    store.record(h.filled())
    store.record(h.filled())  # same flush
    store.flush()
    store.record(h.filled(ts_recv=h.START_NS + 99))  # reported again later (REST reconciliation)
    store.flush()

    assert [r["fill_id"] for r in h.table_rows(db_path, "order_fills")] == ["fill-1"]
    assert len(h.table_rows(db_path, "position_history")) == 1
    assert store.stats()["rows_written"]["order_fills"] == 1
    assert store.stats()["duplicates_ignored"]["order_fills"] == 2


def test_the_same_fill_id_in_another_run_is_a_different_fill(db_path):
    for run_id in ("run-1", "run-2"):
        s = AnalyticsStore(db_path, run_id)
        s.record(h.filled())
        s.close()

    assert [r["run_id"] for r in h.table_rows(db_path, "order_fills")] == ["run-1", "run-2"]


def test_trades_without_an_id_are_all_kept(store, db_path):
    store.record(h.trade(trade_id=""))
    store.record(h.trade(trade_id=""))
    store.record(h.trade())
    store.record(h.trade())
    store.flush()

    assert [r["trade_id"] for r in h.table_rows(db_path, "trades")] == [None, None, "tr-1"]


def test_session_stop_completes_the_row_its_start_created(store, db_path):
    store.record(h.session_started())
    store.flush()
    store.record(h.session_stopped())
    store.flush()

    (row,) = h.table_rows(db_path, "volatility_sessions")
    assert (row["started_ns"], row["start_reason"]) == (h.START_NS + 16, "volatility")
    assert (row["ended_ns"], row["end_reason"]) == (h.START_NS + 17, "ttl_expired")


def test_a_refused_row_is_set_aside_without_blocking_the_rest_of_its_batch(store, db_path, caplog):
    _, good = store.row_from(h.accepted())
    store.add("orders", good)
    store.add("orders", {**good, "client_order_id": None})  # NOT NULL
    store.add("orders", {**good, "event": "exploded"})  # CHECK
    store.add("orders", {**good, "client_order_id": "run-1-9"})

    store.flush()

    assert [r["client_order_id"] for r in h.table_rows(db_path, "orders")] == ["run-1-1", "run-1-9"]
    assert store.stats()["rejected_rows"] == {"orders": 2}
    assert store.pending == {}
    assert "exploded" in caplog.text  # the refused row is logged in full, not silently lost


def test_rows_are_kept_for_the_next_flush_while_the_database_is_locked(store, db_path):
    store.db.execute("PRAGMA busy_timeout = 0")
    store.record(h.trade())
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock

    store.flush()
    assert store.pending == {"trades": 1}
    assert store.stats()["write_errors"] == {"trades": 1}

    other.execute("ROLLBACK")
    other.close()
    store.flush()
    assert store.pending == {}
    assert len(h.table_rows(db_path, "trades")) == 1


def test_unknown_tables_and_columns_are_refused_when_added(store):
    with pytest.raises(KeyError, match="no table"):
        store.add("nope", {"run_id": "run-1"})
    with pytest.raises(KeyError, match="colour"):
        store.add("trades", {"run_id": "run-1", "colour": "red"})


def test_a_run_is_recorded_from_start_to_end_with_pending_rows_flushed(store, db_path):
    store.start_run("backtest", {"analytics": {"batch_size": 500}}, h.START_NS)
    store.record(h.trade())

    store.end_run(h.START_NS + 60, "operator stop")

    assert h.table_rows(db_path, "strategy_runs") == [{
        "run_id": "run-1", "mode": "backtest", "started_ns": h.START_NS, "ended_ns": h.START_NS + 60,
        "config_json": '{"analytics": {"batch_size": 500}}', "exit_reason": "operator stop",
    }]
    assert len(h.table_rows(db_path, "trades")) == 1


def test_ending_a_run_that_never_started_is_an_error(store):
    with pytest.raises(LookupError, match="start_run"):
        store.end_run(h.START_NS, "stop")


def test_close_flushes_what_is_pending(db_path):
    s = AnalyticsStore(db_path, h.RUN_ID)
    s.record(h.position())

    s.close()

    assert len(h.table_rows(db_path, "position_history")) == 1


def _listing(ticker, **more):
    return {"run_id": h.RUN_ID, "session_id": "disc-1", "ts_ns": h.START_NS, "ticker": ticker, **more}


def test_rows_that_leave_a_column_out_get_its_default_whether_or_not_the_batch_agrees_on_keys(store, db_path):
    store.add("discovered_markets", _listing("KX-A"))
    store.add("discovered_markets", _listing("KX-B"))
    store.flush()
    store.add("discovered_markets", _listing("KX-C", title="C", selected_for_trading=1))
    store.add("discovered_markets", _listing("KX-D"))
    store.flush()

    rows = h.table_rows(db_path, "discovered_markets")
    assert [(r["ticker"], r["title"], r["selected_for_trading"]) for r in rows] == [
        ("KX-A", None, 0), ("KX-B", None, 0), ("KX-C", "C", 1), ("KX-D", None, 0),
    ]  # fmt: skip
    assert store.stats()["rows_written"]["discovered_markets"] == 4
