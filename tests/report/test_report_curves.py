"""Equity curve, drawdown, inventory and our quotes over time."""

from __future__ import annotations

from decimal import Decimal

from _hand_built import HandBuiltRun, T0, at, two_fill_run

from mmd.report_data import load_run, open_database
from mmd.report_metrics import Marks, build_report, equity_curve, max_drawdown, quote_paths


def records_of(path):
    conn = open_database(path)
    try:
        return load_run(conn, path, None)
    finally:
        conn.close()


def test_equity_is_cash_plus_position_at_the_mark_after_every_fill_and_print(tmp_path):
    records = records_of(two_fill_run(tmp_path / "run.sqlite"))

    curve = equity_curve(records.fills, Marks(records.prints, records.books), records.run.started_ns)

    assert [(p.ts_ns, p.equity) for p in curve] == [
        (T0, Decimal(0)),
        (at(1), Decimal(0)),
        (at(10), Decimal(0)),
        (at(20), Decimal("0.18")),  # -4.80 - 0.02 + 10 x 0.50
        (at(21), Decimal("-0.12")),  # 10 x 0.47
        (at(30), Decimal("-0.22")),
        (at(80), Decimal("0.38")),
        (at(100), Decimal("0.41")),  # sold 4 @ 0.53 (fee 0.01): -2.71 + 6 x 0.52
        (at(320), Decimal("0.59")),
    ]
    assert max_drawdown(curve) == Decimal("0.40")  # from 0.18 down to -0.22


def test_our_fill_steps_the_curve_by_its_spread_capture_before_its_own_print_moves_the_mark(tmp_path):
    run = HandBuiltRun(tmp_path / "run.sqlite")
    run.trade(1, "0.50").fill(5, "bid", "0.47", "10", "0.01").trade(5, "0.47")
    records = records_of(run.done())

    curve = equity_curve(records.fills, Marks(records.prints, records.books), records.run.started_ns)

    assert [(p.ts_ns, p.equity) for p in curve][-2:] == [
        (at(5), Decimal("0.29")),  # 10 x (0.50 - 0.47) - 0.01: valued at the mark before the fill
        (at(5), Decimal("-0.01")),  # then its print marks it at 0.47
    ]


def test_without_any_market_observation_the_mark_is_our_last_fill_price(tmp_path):
    run = HandBuiltRun(tmp_path / "run.sqlite")
    run.fill(5, "bid", "0.40", "2").fill(6, "bid", "0.45", "1")
    report = build_report(records_of(run.done()))

    assert report.equity[-1].equity == report.split.total == Decimal("0.10")  # -1.25 + 3 x 0.45


def test_the_curve_ends_at_the_split_total(tmp_path):
    report = build_report(records_of(two_fill_run(tmp_path / "run.sqlite")))

    assert report.equity[-1].equity == report.split.total == Decimal("0.59")
    assert report.drawdown == Decimal("0.40")


def test_inventory_steps_with_each_fill(tmp_path):
    report = build_report(records_of(two_fill_run(tmp_path / "run.sqlite")))

    ((ticker, path),) = report.inventory.items()
    assert path == [(at(20), Decimal(10)), (at(100), Decimal(6))]


def test_the_mark_is_the_last_print_and_the_book_mid_before_any_print(tmp_path):
    run = HandBuiltRun(tmp_path / "run.sqlite")
    run.book(5, "0.40", "0.44").book(6, "0.41", None).trade(7, "0.45").book(8, "0.30", "0.32")
    records = records_of(run.done())
    marks = Marks(records.prints, records.books)
    ticker = records.books[0].ticker

    assert marks.at(ticker, at(4)) is None
    assert marks.at(ticker, at(6)) == Decimal("0.42")  # a one-sided book has no mid: the last two-sided one
    assert marks.at(ticker, at(7)) == Decimal("0.45")
    assert marks.before(ticker, at(7)) == Decimal("0.42")
    assert marks.at(ticker, at(9)) == Decimal("0.45")  # a print outranks a later snapshot


def test_our_quotes_are_the_best_resting_bid_and_ask_after_each_order_event(tmp_path):
    run = HandBuiltRun(tmp_path / "run.sqlite")
    run.order(2, "accepted", "o1", side="bid", price="0.47", remaining="5")
    run.order(2, "accepted", "o2", side="ask", price="0.53", remaining="5")
    run.order(3, "accepted", "o3", side="bid", price="0.45", remaining="5")
    run.order(5, "amended", "o1", side="bid", price="0.48", remaining="5")
    run.order(6, "rejected", "o2", side="ask", price="0.50", remaining=None)
    run.order(20, "updated", "o1", side="bid", price="0.48", remaining="0", status="executed")
    run.order(30, "cancelled", "o3")
    run.order(50, "updated", "o2", side="ask", price="0.53", remaining="0", status="canceled")
    records = records_of(run.done())

    ((ticker, path),) = quote_paths(records.orders).items()

    assert [(p.ts_ns, p.bid, p.ask) for p in path] == [
        (at(2), Decimal("0.47"), Decimal("0.53")),
        (at(5), Decimal("0.48"), Decimal("0.53")),
        (at(20), Decimal("0.45"), Decimal("0.53")),
        (at(30), None, Decimal("0.53")),
        (at(50), None, None),
    ]
