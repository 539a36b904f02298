"""Fill markouts: the price move after each fill, + in our favour, per horizon."""

from __future__ import annotations

from decimal import Decimal

from _hand_built import HandBuiltRun, two_fill_run

from mmd.report_data import load_run, open_database
from mmd.report_metrics import Marks, fill_markouts, summarise_markouts


def records_of(path):
    conn = open_database(path)
    try:
        return load_run(conn, path, None)
    finally:
        conn.close()


def markouts_of(path):
    records = records_of(path)
    return fill_markouts(records.fills, Marks(records.prints, records.books), records.end_ns)


def test_markouts_of_a_buy_follow_the_price_one_second_to_five_minutes_later(tmp_path):
    bought, _ = markouts_of(two_fill_run(tmp_path / "run.sqlite"))

    # bought 10 @ 0.48 at 20 s; marks 0.47 at 21 s, 0.46 at 30 s, 0.52 at 80 s, 0.55 at 320 s
    assert bought.reference == Decimal("0.50")
    assert bought.spread == Decimal("0.20")
    assert bought.per_contract == (Decimal("-0.01"), Decimal("-0.02"), Decimal("0.04"), Decimal("0.07"))
    assert bought.dollars == (Decimal("-0.10"), Decimal("-0.20"), Decimal("0.40"), Decimal("0.70"))


def test_a_sale_gains_when_the_price_falls_and_loses_when_it_rises(tmp_path):
    _, sold = markouts_of(two_fill_run(tmp_path / "run.sqlite"))

    # sold 4 @ 0.53 at 100 s; the mark stays 0.52 for a minute, then 0.55 at 320 s
    assert sold.spread == Decimal("0.04")
    assert sold.per_contract == (Decimal("0.01"), Decimal("0.01"), Decimal("0.01"), Decimal("-0.02"))
    assert sold.dollars == (Decimal("0.04"), Decimal("0.04"), Decimal("0.04"), Decimal("-0.08"))


def test_a_horizon_past_the_end_of_the_run_is_not_measured(tmp_path):
    run = HandBuiltRun(tmp_path / "run.sqlite", ended_s=100)
    run.trade(1, "0.50").fill(50, "bid", "0.49", "1").trade(55, "0.51")
    (markout,) = markouts_of(run.done())

    assert markout.per_contract == (Decimal("0.01"), Decimal("0.02"), None, None)  # 51 s, 60 s; not 110 s, 350 s


def test_summary_weights_by_contracts_and_counts_both_directions(tmp_path):
    summary = summarise_markouts(markouts_of(two_fill_run(tmp_path / "run.sqlite")))

    by_horizon = {s.horizon: s for s in summary}
    assert [s.horizon for s in summary] == ["at fill (spread)", "1 s", "10 s", "60 s", "5 min"]
    at_fill = by_horizon["at fill (spread)"]
    assert (at_fill.dollars, at_fill.contracts, at_fill.per_contract) == (Decimal("0.24"), Decimal(14),
                                                                           Decimal("0.0171"))
    one_second = by_horizon["1 s"]
    assert one_second.dollars == Decimal("-0.06")
    assert (one_second.favourable, one_second.adverse, one_second.unmeasured) == (1, 1, 0)
    assert by_horizon["5 min"].dollars == Decimal("0.62")
