"""A backtest run's metrics, worked by hand (mmd/backtest_metrics.py): exact dollars after
fees and settlement, marked to the last print, FIFO realized, drawdown on the equity curve
of fills and marks, share of the market's volume, sessions by end reason, writes per update."""

from __future__ import annotations

import sqlite3
from decimal import Decimal as D

from mmd.backtest_metrics import FillRow, MarketFacts, PrintRow, RunRows, read_run_rows, session_end_kind, summarise
from schema import migrate

M = "KXTEST-26APR04-T"


def rows(fills=(), prints=(), reasons=(), tickers=(M,), writes=0) -> RunRows:
    return RunRows(fills=tuple(fills), prints=tuple(prints), session_end_reasons=tuple(reasons),
                   session_tickers=frozenset(tickers), writes=writes)


def buy(count, price, fee="0", t=0, ticker=M) -> FillRow:
    return FillRow(ticker, "bid", D(price), D(count), D(fee), t)


def sell(count, price, fee="0", t=0, ticker=M) -> FillRow:
    return FillRow(ticker, "ask", D(price), D(count), D(fee), t)


def mark(price, t, ticker=M) -> PrintRow:
    return PrintRow(ticker, D(price), t)


LONG_TRIP = rows(
    fills=[buy(10, "0.40", fee="0.01", t=1), sell(4, "0.46", fee="0.02", t=4)],
    prints=[mark("0.38", 2), mark("0.45", 3), mark("0.47", 5)],
)


def test_a_long_position_partly_closed_is_worth_cash_plus_what_it_holds_marked_or_settled():
    facts = {M: MarketFacts(D(1000), "yes", "tape")}
    m = summarise(LONG_TRIP, facts, book_updates=100)
    # cash: -4.00 - 0.01 + 1.84 - 0.02 = -2.19; 6 held
    assert m.pnl_marked == D("0.63")  # -2.19 + 6 x 0.47
    assert m.pnl_settled == D("3.81")  # -2.19 + 6 x $1
    assert m.settled_as == "yes"
    assert m.realized == D("0.21")  # 4 x (0.46 - 0.40) less 0.03 of fees
    assert m.fees == D("0.03")
    assert (m.fills, m.contracts, m.max_inventory) == (2, D(14), D(10))


def test_a_given_result_overrides_the_markets_own():
    m = summarise(LONG_TRIP, {M: MarketFacts(D(1000), "yes", "tape")}, 100, results={M: "no"})
    assert m.pnl_settled == D("-2.19")
    assert m.settled_as == "no"


def test_the_settled_pnl_is_unknown_while_a_held_markets_result_is():
    m = summarise(LONG_TRIP, {M: MarketFacts(D(1000))}, 100)
    assert m.pnl_settled is None
    assert m.settled_as == "?"


def test_a_flat_run_is_settled_whatever_the_result():
    trip = rows(fills=[buy(5, "0.40", t=1), sell(5, "0.43", t=2)])
    m = summarise(trip, {M: MarketFacts(D(100))}, 10)
    assert m.pnl_settled == m.pnl_marked == m.realized == D("0.15")
    assert m.settled_as == "flat"


def test_short_lots_close_first_in_first_out():
    m = summarise(rows(fills=[sell(5, "0.60", t=1), sell(5, "0.62", t=2), buy(7, "0.55", t=3)]),
                  {M: MarketFacts(D(100), "no", "tape")}, 10)
    assert m.realized == D("0.39")  # 5 x 0.05 + 2 x 0.07
    assert m.pnl_settled == D("2.25")  # 3.00 + 3.10 - 3.85; the 3 short pay nothing on NO
    assert m.max_inventory == D(10)


def test_the_drawdown_is_the_largest_fall_of_equity_from_its_running_peak():
    # equity: -0.01 (fill at 0.40 marks itself), -0.21 (print 0.38), 0.49, 0.51, 0.63
    assert summarise(LONG_TRIP, {M: MarketFacts(D(1000))}, 100).max_drawdown == D("0.21")


def test_volume_share_counts_the_markets_made_only():
    other = "KXOTHER-26APR04-T"
    facts = {M: MarketFacts(D(400)), other: MarketFacts(D(10_000))}
    m = summarise(rows(fills=[buy(10, "0.40", t=1), sell(10, "0.41", t=2)], tickers=(M,)), facts, 10)
    assert m.market_volume == D(400)
    assert m.volume_share == D("0.05")


def test_sessions_count_by_end_reason_without_its_numbers():
    reasons = ["maker:sigma 0.0000 below 0.01", "maker:sigma 0.0025 below 0.01", "ttl", None]
    m = summarise(rows(reasons=reasons), {M: MarketFacts(D(1))}, 10)
    assert m.sessions == 4
    assert m.end_reasons == {"(still running)": 1, "maker:sigma # below #": 2, "ttl": 1}
    assert session_end_kind("mae_8c_persisted_8s") == "mae_#c_persisted_#s"


def test_writes_per_book_update():
    m = summarise(rows(writes=30), {M: MarketFacts(D(1))}, book_updates=120)
    assert m.writes_per_update == D("0.25")
    assert summarise(rows(), {M: MarketFacts(D(1))}, book_updates=0).writes_per_update is None


def test_a_replay_database_is_read_in_row_order_counting_the_writes_the_exchange_saw(tmp_path):
    db_path = tmp_path / "replay.sqlite"
    migrate(db_path)
    with sqlite3.connect(db_path) as db:
        db.execute("INSERT INTO order_fills (run_id, fill_id, order_id, ticker, side, price, count, fee, is_taker, "
                   "ts_event_ns, ts_recv_ns) VALUES ('r', 'f1', 'o1', ?, 'bid', '0.4000', '5.00', '0.010000', 0, 7, 7)",
                   (M,))
        db.execute("INSERT INTO trades (run_id, trade_id, ticker, price, count, taker_side, ts_event_ns, ts_recv_ns) "
                   "VALUES ('r', 't1', ?, '0.4100', '3.00', 'bid', 8, 8)", (M,))
        db.execute("INSERT INTO volatility_sessions (run_id, session_id, ticker, end_reason) VALUES ('r', 's1', ?, 'ttl')",
                   (M,))
        for event, source in (("accepted", None), ("amended", None), ("cancelled", None), ("updated", None),
                              ("rejected", "exchange"), ("rejected", "risk")):
            db.execute("INSERT INTO orders (run_id, ts_ns, event, client_order_id, ticker, source) "
                       "VALUES ('r', 1, ?, 'c', ?, ?)", (event, M, source))
    got = read_run_rows(db_path)
    assert got.fills == (FillRow(M, "bid", D("0.4000"), D("5.00"), D("0.010000"), 7),)
    assert got.prints == (PrintRow(M, D("0.4100"), 8),)
    assert got.session_end_reasons == ("ttl",)
    assert got.session_tickers == frozenset({M})
    assert got.writes == 4  # accepted, amended, cancelled, the exchange's refusal; not risk's, not updates
