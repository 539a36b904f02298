"""Settlement at $1 / $0 when the market's result is known, and the per-session table."""

from __future__ import annotations

from decimal import Decimal

from _hand_built import HandBuiltRun, two_fill_run

from mmd.report_data import load_run, open_database
from mmd.report_metrics import build_report


def records_of(path):
    conn = open_database(path)
    try:
        return load_run(conn, path, None)
    finally:
        conn.close()


def test_a_given_result_pays_the_end_position_out_at_one_dollar_or_nothing(tmp_path):
    records = records_of(two_fill_run(tmp_path / "run.sqlite"))

    yes = build_report(records, {records.fills[0].ticker: "yes"})
    no = build_report(records, {records.fills[0].ticker: "no"})

    # cash -2.71, 6 contracts held
    assert yes.settled_total == Decimal("3.29")
    assert no.settled_total == Decimal("-2.71")
    assert yes.split.total == no.split.total == Decimal("0.59")  # marked P&L does not change
    assert yes.settlements[0].source == "given"


def test_an_unknown_result_with_a_position_shows_both_outcomes(tmp_path):
    report = build_report(records_of(two_fill_run(tmp_path / "run.sqlite")))

    (settlement,) = report.settlements
    assert settlement.result is None and settlement.settled_pnl is None and report.settled_total is None
    assert (settlement.if_yes, settlement.if_no) == (Decimal("3.29"), Decimal("-2.71"))


def test_the_maker_closing_at_the_markets_settlement_tells_the_result(tmp_path):
    run = HandBuiltRun(tmp_path / "run.sqlite")
    run.trade(1, "0.90").fill(2, "bid", "0.90", "3").realization(50, "1.0000", "market settled")
    report = build_report(records_of(run.done()))

    (settlement,) = report.settlements
    assert (settlement.result, settlement.settled_pnl) == ("yes", Decimal("0.30"))
    assert report.settled_total == Decimal("0.30")


def test_a_flat_market_settles_at_its_cash(tmp_path):
    run = HandBuiltRun(tmp_path / "run.sqlite")
    run.trade(1, "0.50").fill(2, "bid", "0.49", "1").fill(3, "ask", "0.52", "1", "0.01")
    report = build_report(records_of(run.done()))

    assert report.settled_total == report.split.total == Decimal("0.02")


def test_each_session_shows_its_fills_end_reason_and_pnl_at_its_end(tmp_path):
    run = HandBuiltRun(tmp_path / "run.sqlite")
    run.session("s1", 0, 200, "ttl", "0.41")
    run.session("s2", 300, 400, "maker:sigma 0.0021 below 0.01", "0")
    run.session("s3", 450, 500, "maker:sigma 0.0034 below 0.01", "0")
    run.trade(1, "0.50").fill(20, "bid", "0.48", "10", "0.02").trade(80, "0.52")
    run.fill(100, "ask", "0.53", "4", "0.01").trade(320, "0.55")
    run.fill(330, "ask", "0.55", "1", session=None)  # a fill no session claims
    report = build_report(records_of(run.done()))

    first, second, third, unclaimed = report.sessions
    assert (first.session.session_id, first.fills, first.contracts, first.fees) == ("s1", 2, Decimal(14),
                                                                                     Decimal("0.03"))
    assert first.pnl == Decimal("0.41")  # -2.71 + 6 x 0.52, the mark when it ended at 200 s
    assert first.end_position == Decimal(6)
    assert (second.fills, second.pnl) == (0, Decimal(0))
    assert unclaimed.session is None and unclaimed.fills == 1
    assert report.end_reasons == [("maker:sigma # below #", 2), ("ttl", 1)]
