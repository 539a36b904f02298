"""A settled market leaves the ledger in bounded form (issue 12: memory flat over a day of
paper, ~400 markets listed and settled).

What a settled market must still answer, and for how long:
- a fill of it reported again (a session's REST read-back) counts once, and one first
  reported late is closed at the settlement price: its position (fill ids, P&L) is kept
  whole for an hour after the settlement (`SETTLED_FILLS_KEPT_NS`) and while a session
  book of it is open;
- then it is folded: its realised P&L, fees and fill count go into the ledger's totals
  (so the day's P&L is unchanged) and its per-market entries go; a fill of it reported
  after that is taken as a repeat (nothing can first report a fill of a market settled
  an hour ago: every session on it has ended and read its fills back);
- that it settled (orders refused, nothing adopted, late fills dropped) for six hours
  (`SETTLED_TICKERS_KEPT_NS`); then nothing of it is left.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from actors.ledger import TradingLedger
from actors.ledger._ledger import SETTLED_FILLS_KEPT_NS, SETTLED_TICKERS_KEPT_NS
from actors.risk._governor import RiskGovernor
from config import load_config
from messages import CancelOrder
from tests.trading.factories import T0, accepted, cancelled, fill, place

MINUTE = 60 * 1_000_000_000
QUARTER = 15 * MINUTE


def new_ledger() -> TradingLedger:
    return TradingLedger(seen_fill_ids_per_market=100)


def trade(ledger: TradingLedger, ticker: str, n: int, side: str = "bid", price: str = "0.40", fee: str = "0.01") -> None:
    """A session's order: placed, accepted, 2 of 5 filled, cancelled."""
    session = f"run-{ticker}"
    client_order_id, order_id = f"{session}-{n}", f"ex-{ticker}-{n}"
    command = place(client_order_id, side, price, 5, ticker=ticker)
    ledger.record(command)
    ledger.apply(accepted(command, order_id))
    ledger.apply(fill(side, price, 2, fee=fee, fill_id=f"f-{order_id}", order_id=order_id,
                      client_order_id=client_order_id, ticker=ticker))
    ledger.record(CancelOrder(order_id=order_id, client_order_id=client_order_id, ticker=ticker, ts=T0))
    ledger.apply(cancelled(order_id, client_order_id, ticker=ticker, reduced_by="3"))


def realized(ledger: TradingLedger, tickers: list[str]) -> D:
    return ledger.folded.realized_pnl + sum(
        (ledger.position(t).realized_pnl for t in tickers if ledger.position(t) is not None), D(0)
    )


def a_day_of_markets(ledger: TradingLedger, markets: int = 400) -> list[str]:
    """Four markets a quarter hour, each traded then settled (alternately YES and NO),
    its session ended at the settlement."""
    tickers = []
    for m in range(markets):
        ticker = f"KXDAY-26DEC07-M{m}"
        tickers.append(ticker)
        trade(ledger, ticker, 1, side="bid" if m % 3 else "ask")
        ledger.end_session(ticker, f"run-{ticker}")
        ledger.settle(ticker, D(m % 2), T0 + (m // 4) * QUARTER)
    return tickers


# -- the bound -------------------------------------------------------------------------------


def test_a_day_of_settled_markets_leaves_an_hour_of_positions_and_six_hours_of_tickers():
    ledger = new_ledger()
    a_day_of_markets(ledger)  # 100 quarters: 25 hours

    hour = 4 * 4 + 4  # markets settled within the last hour (and the batch settling now)
    assert len(ledger.tickers()) <= hour
    assert len(ledger._positions) <= hour and len(ledger._market_versions) <= hour
    assert len(ledger.settled) <= 6 * 16 + 4
    assert len(ledger._ended) <= 6 * 16 + 4


def test_a_market_with_an_open_session_book_is_not_folded():
    ledger = new_ledger()
    trade(ledger, "KXOPEN-1", 1)  # its session does not end
    ledger.settle("KXOPEN-1", D(1), T0)

    ledger.settle("KXLATER", D(1), T0 + SETTLED_FILLS_KEPT_NS + 1)

    assert ledger.position("KXOPEN-1") is not None


def test_a_book_no_session_here_will_end_keeps_its_settled_market_six_hours_only():
    # an earlier run's client id opens a book this run never ends (its session is not ours)
    ledger = new_ledger()
    trade(ledger, "KXSTRAY-1", 1)
    ledger.settle("KXSTRAY-1", D(1), T0)

    ledger.settle("KXLATER-1", D(1), T0 + SETTLED_TICKERS_KEPT_NS - 1)
    assert ledger.position("KXSTRAY-1") is not None  # a session of it may still be open

    ledger.settle("KXLATER-2", D(1), T0 + SETTLED_TICKERS_KEPT_NS)
    assert ledger.position("KXSTRAY-1") is None
    assert "KXSTRAY-1" not in ledger._books


def test_risk_drops_its_figures_of_markets_the_ledger_folded():
    governor = RiskGovernor(load_config().risk)
    for m in range(200):
        ticker = f"KXDAY-26DEC07-M{m}"
        trade(governor.ledger, ticker, 1)
        governor.ledger.end_session(ticker, f"run-{ticker}")
        governor.global_exposure()  # every market's figures derived
        governor.position(ticker)
        governor.settle_market(ticker, D(m % 2), T0 + (m // 4) * QUARTER)
        governor.global_exposure()

    assert len(governor._derived) <= 4 * 4 + 4
    assert len(governor.tickers()) <= 4 * 4 + 4


def test_risk_forgets_the_budgets_learnt_for_markets_the_ledger_folded():
    from types import SimpleNamespace

    governor = RiskGovernor(load_config().risk)
    for m in range(200):
        ticker = f"KXDAY-26DEC07-M{m}"
        governor.budgets.learn(ticker, SimpleNamespace(category="Sports", max_exposure=D(50)))
        governor.settle_market(ticker, D(m % 2), T0 + (m // 4) * QUARTER)

    assert len(governor.budgets._markets) <= 4 * 4 + 4
    assert governor.budgets.category_of("KXDAY-26DEC07-M199") == "sports"


# -- what still holds ------------------------------------------------------------------------


def test_the_days_realised_pnl_fees_and_fill_count_are_unchanged_by_folding():
    kept_whole = TradingLedger(seen_fill_ids_per_market=100)
    kept_whole_tickers = []
    for m in range(40):  # settled in the same quarter: nothing folds
        ticker = f"KXDAY-26DEC07-M{m}"
        kept_whole_tickers.append(ticker)
        trade(kept_whole, ticker, 1, side="bid" if m % 3 else "ask")
        kept_whole.end_session(ticker, f"run-{ticker}")
        kept_whole.settle(ticker, D(m % 2), T0)
    folded = new_ledger()
    tickers = a_day_of_markets(folded, markets=40)

    assert folded.folded.fill_count > 0  # some did fold
    assert realized(folded, tickers) == realized(kept_whole, kept_whole_tickers)
    fees = folded.folded.fees_paid + sum((folded.position(t).fees_paid for t in tickers if folded.position(t)), D(0))
    assert fees == D("0.40")
    assert str(realized(folded, tickers)) == str(realized(kept_whole, kept_whole_tickers))


def test_risks_total_pnl_counts_the_folded_markets():
    governor = RiskGovernor(load_config().risk)
    trade(governor.ledger, "KXA", 1)  # 2 bought at 0.40, 0.01 fee
    governor.ledger.end_session("KXA", "run-KXA")
    governor.settle_market("KXA", D(1), T0)
    before = governor.total_pnl()

    governor.settle_market("KXB", D(1), T0 + SETTLED_FILLS_KEPT_NS + 1)  # folds KXA

    assert governor.ledger.position("KXA") is None
    assert governor.total_pnl() == before == D("1.19")


def test_a_fill_reported_again_within_the_hour_counts_once():
    ledger = new_ledger()
    trade(ledger, "KXA", 1)
    ledger.end_session("KXA", "run-KXA")
    ledger.settle("KXA", D(1), T0)
    again = fill("bid", "0.40", 2, fee="0.01", fill_id="f-ex-KXA-1", order_id="ex-KXA-1", client_order_id="",
                 ticker="KXA")

    ledger.settle("KXB", D(1), T0 + SETTLED_FILLS_KEPT_NS - 1)  # not yet an hour: KXA is kept whole
    ledger.apply(replace(again, ts_recv=T0 + 1))

    position = ledger.position("KXA")
    assert (position.fill_count, position.realized_pnl) == (1, D("1.19"))


def test_a_fill_reported_after_its_market_folded_is_taken_as_a_repeat():
    ledger = new_ledger()
    trade(ledger, "KXA", 1)
    ledger.end_session("KXA", "run-KXA")
    ledger.settle("KXA", D(1), T0)
    ledger.settle("KXB", D(1), T0 + SETTLED_FILLS_KEPT_NS + 1)  # folds KXA
    totals = (ledger.folded.realized_pnl, ledger.folded.fill_count)
    again = fill("bid", "0.40", 2, fee="0.01", fill_id="f-ex-KXA-1", order_id="ex-KXA-1", client_order_id="",
                 ticker="KXA")

    assert ledger.apply(again) == (None, ())

    assert ledger.position("KXA") is None and "KXA" not in ledger.tickers()
    assert (ledger.folded.realized_pnl, ledger.folded.fill_count) == totals == (D("1.19"), 1)


def test_a_folded_market_is_still_known_as_settled_for_six_hours_then_forgotten():
    ledger = new_ledger()
    trade(ledger, "KXA", 1)
    ledger.end_session("KXA", "run-KXA")
    ledger.settle("KXA", D(1), T0)

    ledger.settle("KXB", D(1), T0 + SETTLED_TICKERS_KEPT_NS - 1)
    assert ledger.settled.get("KXA") == D(1)

    ledger.settle("KXC", D(1), T0 + SETTLED_TICKERS_KEPT_NS + 1)
    assert "KXA" not in ledger.settled and "run-KXA" not in ledger._ended


# -- a write that changes nothing moves no version --------------------------------------------


def test_settling_again_holding_nothing_and_taking_over_nothing_leave_the_market_version():
    ledger = new_ledger()
    trade(ledger, "KXA", 1)
    ledger.settle("KXA", D(1), T0)
    version = ledger.market_version("KXA"), ledger.version

    assert not ledger.settle("KXA", D(1), T0)
    assert not ledger.hold("KXA", D(3), D("0.50"), T0)  # it has a position
    assert not ledger.hold("KXNEW", D(0), D("0.50"), T0)  # flat
    assert not ledger.take_over_held("KXA", "run-KXA-2", T0)  # nothing held

    assert (ledger.market_version("KXA"), ledger.version) == version


def test_a_hold_or_take_over_that_changes_something_still_moves_the_market_version():
    ledger = new_ledger()
    before = ledger.market_version("KXH")
    assert ledger.hold("KXH", D(3), D("0.50"), T0)
    held = ledger.market_version("KXH")
    assert held != before
    assert ledger.take_over_held("KXH", "run-s1", T0)
    assert ledger.market_version("KXH") != held
