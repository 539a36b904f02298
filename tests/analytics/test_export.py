import csv

import pytest

from actors.analytics import AnalyticsStore, export_csv

from . import _harness as h


def _read_csv(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _as_csv_text(rows: list[dict]) -> list[dict]:
    return [{k: "" if v is None else str(v) for k, v in row.items()} for row in rows]


def test_fills_csv_round_trips_every_value_exactly(db_path, tmp_path):
    store = AnalyticsStore(db_path, h.RUN_ID)
    store.record(h.filled())
    store.record(h.filled(fill_id="fill-2", price=h.D("0.0100"), fee=h.D("0"), is_taker=True, post_position=None))
    store.close()
    out = tmp_path / "out" / "fills.csv"

    written = export_csv(db_path, "fills", out)

    assert written == 2
    exported = _read_csv(out)
    assert exported == _as_csv_text(h.table_rows(db_path, "order_fills"))
    assert [(r["price"], r["fee"], r["post_position"]) for r in exported] == [("0.4300", "0.0035", "2.00"), ("0.0100", "0", "")]


def test_export_of_one_run_leaves_out_the_other_runs(db_path, tmp_path):
    for run_id in ("run-1", "run-2"):
        store = AnalyticsStore(db_path, run_id)
        store.add("triggers", {"run_id": run_id, "ticker": "KXT-A", "ts_ns": h.START_NS, "reason": "mae_persisted",
                               "position_before": "-20.00", "vwap": "0.5234", "exit_price": "0.6100",
                               "pnl_before": "1.2000", "pnl_from_flatten": "-1.7320"})
        store.close()

    written = export_csv(db_path, "triggers", tmp_path / "triggers.csv", run_id="run-2")

    assert written == 1
    (row,) = _read_csv(tmp_path / "triggers.csv")
    assert (row["run_id"], row["position_before"], row["pnl_from_flatten"]) == ("run-2", "-20.00", "-1.7320")


def test_realizations_export_includes_hold_seconds(db_path, tmp_path):
    store = AnalyticsStore(db_path, h.RUN_ID)
    store.add("realizations", {"run_id": h.RUN_ID, "ticker": "KXT-A", "side": "long", "count": "5.00",
                               "entry_price": "0.4200", "exit_price": "0.4500", "entry_ns": h.START_NS,
                               "exit_ns": h.START_NS + 90_500_000_000, "pnl": "0.1500", "exit_reason": "take_profit"})
    store.close()

    export_csv(db_path, "realizations", tmp_path / "realizations.csv")

    (row,) = _read_csv(tmp_path / "realizations.csv")
    assert (row["hold_seconds"], row["entry_price"], row["pnl"]) == ("90.5", "0.4200", "0.1500")


def test_only_fills_realizations_and_triggers_are_exported(db_path, tmp_path):
    AnalyticsStore(db_path, h.RUN_ID).close()

    with pytest.raises(ValueError, match="cannot export 'orders'"):
        export_csv(db_path, "orders", tmp_path / "orders.csv")
    assert not (tmp_path / "orders.csv").exists()


def test_exporting_from_a_missing_database_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no analytics database"):
        export_csv(tmp_path / "missing.db", "fills", tmp_path / "fills.csv")
    assert not (tmp_path / "missing.db").exists()
