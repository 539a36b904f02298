"""The ledger's id sets stay bounded over a day of markets (issue "Fault campaigns", item 4:
"bounded id sets"), by forgetting only what can no longer change anything.

What it remembers ids for, and what may still arrive late:
- closed orders' ids (exchange and client ids): a stale `user_orders` echo or a REST reply
  after a timeout that reports a closed order resting must not adopt it back. Once its
  market has settled the exchange has removed every order of it, and the ledger adopts
  nothing on a settled market: the ids are forgotten then;
- each exchange order id's seen fills: what of an order that goes over has been seen (its
  unseen rest is carried as position), and what an order takes in when it learns its
  exchange id. Once the market settled no order of it is tracked or adopted again, and a
  late fill is closed at the settlement price on arrival (de-duplicated by the market's
  position, which is kept): forgotten then;
- whose an exchange order id is (a fill may name only that id): a fill of an ended
  session's order goes to no session book whether or not the owner is known, so an
  ended session's orders are forgotten when it ends.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from actors.ledger import TradingLedger
from messages import CancelOrder
from tests.trading.factories import T0, accepted, cancelled, fill, place, updated

MARKET = "KXDAY-26DEC07-T1"
OTHER = "KXDAY-26DEC07-T2"
SESSION = "run-s1"
LATER = T0 + 3_600 * 1_000_000_000


def new_ledger() -> TradingLedger:
    return TradingLedger(seen_fill_ids_per_market=100)


def traded_and_closed(ledger: TradingLedger, ticker: str, n: int, session: str = SESSION) -> tuple[str, str]:
    """A session's order on `ticker`: placed, accepted, filled 2 of 5, cancelled (closed).
    Returns (client id, exchange id)."""
    client_order_id, order_id = f"{session}-{n}", f"ex-{ticker}-{n}"
    command = place(client_order_id, "bid", "0.40", 5, ticker=ticker)
    ledger.record(command)
    ledger.apply(accepted(command, order_id))
    ledger.apply(fill("bid", "0.40", 2, fill_id=f"f-{order_id}", order_id=order_id,
                      client_order_id=client_order_id, ticker=ticker))
    ledger.record(CancelOrder(order_id=order_id, client_order_id=client_order_id, ticker=ticker, ts=T0))
    ledger.apply(cancelled(order_id, client_order_id, ticker=ticker, reduced_by="3"))
    return client_order_id, order_id


# -- closed orders' ids ----------------------------------------------------------------------


def test_a_settled_markets_closed_orders_are_forgotten_and_an_open_markets_are_still_remembered():
    ledger = new_ledger()
    settled_ids = traded_and_closed(ledger, MARKET, 1)
    open_ids = traded_and_closed(ledger, OTHER, 1, session="run-s2")

    ledger.settle(MARKET, D(1), LATER)

    assert not ledger.orders.was_closed(*reversed(settled_ids))
    assert ledger.orders.was_closed(*reversed(open_ids))


def test_a_stale_resting_echo_of_a_closed_order_adopts_nothing_before_or_after_its_market_settled():
    ledger = new_ledger()
    client_order_id, order_id = traded_and_closed(ledger, MARKET, 1)
    stale = updated(order_id, client_order_id, filled="2", remaining="3", ticker=MARKET)

    ledger.apply(stale)  # remembered as closed
    ledger.settle(MARKET, D(1), LATER)
    ledger.apply(stale)  # forgotten, but its market is settled

    assert ledger.orders.of_ticker(MARKET) == [] and ledger.orders.adoptions == 0


# -- seen fills ------------------------------------------------------------------------------


def test_a_fill_reported_again_after_its_market_settled_still_counts_once():
    ledger = new_ledger()
    _, order_id = traded_and_closed(ledger, MARKET, 1)
    ledger.settle(MARKET, D(1), LATER)
    realized = ledger.position(MARKET).realized_pnl

    again = fill("bid", "0.40", 2, fill_id=f"f-{order_id}", order_id=order_id, client_order_id="", ticker=MARKET)
    ledger.apply(replace(again, ts_recv=LATER + 1))  # the REST read-back's copy

    position = ledger.position(MARKET)
    assert (position.fill_count, position.position, position.realized_pnl) == (1, D(0), realized)


def test_a_fill_first_reported_after_its_market_settled_is_closed_at_the_settlement_price():
    ledger = new_ledger()
    traded_and_closed(ledger, MARKET, 1)
    ledger.settle(MARKET, D(1), LATER)

    ledger.apply(fill("bid", "0.40", 1, fill_id="f-late", order_id="ex-late", client_order_id="", ticker=MARKET))

    position = ledger.position(MARKET)
    assert (position.fill_count, position.position) == (2, D(0))
    assert position.realized_pnl == D("1.80")  # 3 contracts bought at 0.40, settled at 1


def test_an_open_markets_seen_fills_are_still_taken_in_by_an_order_that_learns_its_exchange_id():
    ledger = new_ledger()
    traded_and_closed(ledger, MARKET, 1)
    ledger.settle(MARKET, D(1), LATER)
    command = place(f"{SESSION}-2", "bid", "0.40", 5, ticker=OTHER)
    ledger.record(command)
    # the fill names only the exchange id, which the order learns from the place's reply after
    ledger.apply(fill("bid", "0.40", 2, fill_id="f-early", order_id="ex-9", client_order_id="", ticker=OTHER))

    order, _ = ledger.apply(accepted(command, "ex-9", filled="2"))

    assert order.fills == {"f-early": D(2)} and order.filled == D(2)


# -- whose an exchange order id is -----------------------------------------------------------


def test_an_ended_sessions_late_fill_by_exchange_id_reaches_no_book_and_counts_once_in_its_market():
    ledger = new_ledger()
    command = place(f"{SESSION}-1", "bid", "0.40", 5, ticker=MARKET)
    ledger.record(command)
    ledger.apply(accepted(command, "ex-1"))
    ledger.end_session(MARKET, SESSION)

    late = fill("bid", "0.40", 2, fill_id="f-late", order_id="ex-1", client_order_id="", ticker=MARKET)
    ledger.apply(late)
    ledger.apply(replace(late, ts_recv=LATER))

    assert ledger.session_position(MARKET, SESSION) is None
    assert (ledger.position(MARKET).fill_count, ledger.position(MARKET).position) == (1, D(2))


def test_a_live_sessions_order_is_still_known_by_its_exchange_id_after_another_session_ended():
    ledger = new_ledger()
    mine = place("run-s2-1", "bid", "0.40", 5, ticker=OTHER)
    ledger.record(mine)
    ledger.apply(accepted(mine, "ex-mine"))
    traded_and_closed(ledger, MARKET, 1)
    ledger.end_session(MARKET, SESSION)

    ledger.apply(fill("bid", "0.40", 1, fill_id="f-mine", order_id="ex-mine", client_order_id="", ticker=OTHER))

    assert ledger.session_position(OTHER, "run-s2").position == D(1)


# -- a day of markets ------------------------------------------------------------------------


def test_a_day_of_markets_that_settle_leaves_no_ids_behind():
    # a paper day lists ~400 markets, each traded by a session that ends before it settles
    ledger = new_ledger()
    for m in range(400):
        ticker, session = f"KXDAY-26DEC07-M{m}", f"run-s{m}"
        for n in range(5):
            traded_and_closed(ledger, ticker, n, session)
        ledger.end_session(ticker, session)
        ledger.settle(ticker, D(m % 2), LATER)

    assert ledger.remembered_ids() == {"closed order ids": 0, "order owners": 0, "orders with seen fills": 0}


def test_a_market_still_open_keeps_its_ids():
    ledger = new_ledger()
    traded_and_closed(ledger, MARKET, 1)

    assert ledger.remembered_ids() == {"closed order ids": 2, "order owners": 1, "orders with seen fills": 1}
