"""The P&L split: spread capture + inventory - fees is the total after fees, exactly."""

from __future__ import annotations

from decimal import Decimal

from _hand_built import TICKER, HandBuiltRun, two_fill_run

from mmd.report_data import load_run, open_database
from mmd.report_metrics import Marks, build_report, pnl_split


def records_of(path, run_id=None):
    conn = open_database(path)
    try:
        return load_run(conn, path, run_id)
    finally:
        conn.close()


def test_split_of_the_worked_example_matches_the_hand_computation(tmp_path):
    records = records_of(two_fill_run(tmp_path / "run.sqlite"))

    split = pnl_split(records.fills, Marks(records.prints, records.books))

    assert split.spread == Decimal("0.24")  # 10 x (0.50 - 0.48) + 4 x (0.53 - 0.52)
    assert split.inventory == Decimal("0.38")  # 10 x (0.55 - 0.50) - 4 x (0.55 - 0.52)
    assert split.fees == Decimal("0.03")
    assert split.total == Decimal("0.59")
    assert split.spread + split.inventory - split.fees == split.total
    assert (split.end_position, split.end_mark) == (Decimal(6), Decimal("0.55"))


def test_total_is_cash_plus_position_at_the_last_print(tmp_path):
    records = records_of(two_fill_run(tmp_path / "run.sqlite"))

    report = build_report(records)

    cash = -Decimal("10") * Decimal("0.48") + Decimal("4") * Decimal("0.53") - Decimal("0.03")
    assert report.split.total == cash + 6 * Decimal("0.55")
    assert report.split.cash == cash


def test_the_parts_add_up_exactly_with_prices_that_floats_cannot_hold(tmp_path):
    run = HandBuiltRun(tmp_path / "run.sqlite")
    run.trade(1, "0.1")
    for i in range(30):  # 0.1, 0.2, 0.3 and friends: a float sum would drift
        run.fill(2 + i, "bid" if i % 3 else "ask", f"0.{(i % 9) + 1}", "3.33", "0.007", session=None)
        run.trade(2.5 + i, f"0.{((i + 4) % 9) + 1}")
    records = records_of(run.done())

    report = build_report(records)

    split = report.split
    assert split.spread + split.inventory - split.fees == split.total
    assert all(isinstance(v, Decimal) for v in (split.spread, split.inventory, split.fees, split.total))
    assert report.equity[-1].equity == split.total


def test_a_fill_before_any_market_observation_is_its_own_reference(tmp_path):
    run = HandBuiltRun(tmp_path / "run.sqlite")
    run.fill(5, "bid", "0.40", "2", "0.01")
    records = records_of(run.done())

    split = pnl_split(records.fills, Marks(records.prints, records.books))

    assert (split.spread, split.inventory, split.fees) == (Decimal(0), Decimal(0), Decimal("0.01"))
    assert split.total == Decimal("-0.01")
    assert split.end_mark == Decimal("0.40")  # no print, no book: our own last price


def test_several_markets_add_up_market_by_market(tmp_path):
    run = HandBuiltRun(tmp_path / "run.sqlite")
    other = "KXOTHER-26APR30"
    run.trade(1, "0.50").trade(1, "0.30", ticker=other)
    run.fill(2, "bid", "0.49", "1").fill(3, "ask", "0.31", "2", "0.01", ticker=other)
    run.trade(9, "0.52").trade(9, "0.20", ticker=other)
    report = build_report(records_of(run.done()))

    assert report.split_by_ticker[TICKER].total == Decimal("0.03")  # -0.49 + 0.52
    assert report.split_by_ticker[other].total == Decimal("0.21")  # 0.62 - 0.01 - 0.40
    assert report.split.total == Decimal("0.24")
    assert report.split.spread == Decimal("0.01") + Decimal("0.02")
