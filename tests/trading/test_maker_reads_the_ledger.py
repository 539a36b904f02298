"""The maker keeps no copy of our orders, fills or position: it reads them from the trading
ledger's views (TradingStateChanged, the risk governor's word after each change), and
keeps only its own decisions: commands risk has not recorded yet, which order works which
side, and how the exchange answered them."""

from dataclasses import replace
from decimal import Decimal as D

import pytest

from actors.maker import MakerSession, MakerState, OrderManager
from messages import AmendOrder, MarketLifecycleChanged, OrderRejected, PlaceOrder

from .factories import T0, TICKER, accepted, amended, book_view, fill, rejected, updated
from .ledger_desk import deliver, ledger_of, record_in_flight

SECOND = 1_000_000_000
NOW = T0 + 5 * SECOND


@pytest.fixture
def session(maker_config):
    session = MakerSession(ticker=TICKER, session_id="s", config=maker_config)
    session.start(T0)
    session.on_book(book_view(), T0)
    return session


def quoting(session):
    places = session.warmup_elapsed(NOW)
    for n, cmd in enumerate(places, start=1):
        deliver(session, accepted(cmd, f"ex-{n}"), NOW)
    return places


def test_the_position_is_the_one_the_ledgers_view_brings_never_a_raw_fills(session):
    bid, _ask = quoting(session)
    execution = fill("bid", str(bid.price), 2, fill_id="f1", order_id="ex-1", client_order_id=bid.client_order_id)
    uncounted = ledger_of(session).changed(TICKER, execution, None, NOW)  # the ledger's word: not counted

    assert session.on_trading_state(uncounted, NOW) == []
    assert session.inventory.position == 0 and session.status()["counters"]["foreign_fills"] == 1

    deliver(session, execution, NOW)  # the ledger counts it: its view brings it

    assert session.inventory.position == D(2)
    assert session.inventory == ledger_of(session).session_position(TICKER, "s")  # one state, not a copy


def test_a_place_risk_has_not_recorded_yet_works_its_side_through_views_that_do_not_show_it(session):
    bid, ask = session.warmup_elapsed(NOW)
    ledger = ledger_of(session)
    other = updated("ex-77", "manual-order", price="0.40")  # an event risk handled before our places
    order, _ = ledger.apply(other)

    session.on_trading_state(ledger.changed(TICKER, other, order, NOW), NOW)

    assert session.orders.order("bid").pending == "placing"  # still ours, in flight
    assert session.requote(NOW) == []  # no second place on either side
    assert session.orders.skipped == {"bid": "placing in flight", "ask": "placing in flight"}
    record_in_flight(session, NOW)  # risk records them: the view shows them
    assert session.orders.in_flight() == []
    assert [(o["client_order_id"], o["pending"]) for o in session.orders.open_orders()] == [
        (bid.client_order_id, "placing"), (ask.client_order_id, "placing"),
    ]


def test_a_refusal_by_risk_drops_the_command_it_never_recorded(session):
    bid, ask = session.warmup_elapsed(NOW)

    deliver(session, rejected(bid, "place", code="market_budget", source="risk"), NOW)

    assert session.orders.order("bid") is None
    assert [c.client_order_id for c in session.orders.in_flight()] == [ask.client_order_id]
    assert session.requote(NOW) == []  # the side waits out its refusal


def test_an_order_that_fills_to_its_total_while_our_raising_amend_is_unrecorded_stays_amending():
    manager = OrderManager(ticker=TICKER, session_id="s", keep_within=D(0), retry_after_ns=SECOND)
    want = {"bid": (D("0.45"), D(5)), "ask": None}
    [bid] = manager.reconcile(want, book_view(), NOW)
    deliver(manager, accepted(bid, "ex-1"), NOW)
    deliver(manager, fill("bid", "0.45", 3, fill_id="f1", order_id="ex-1", client_order_id=bid.client_order_id), NOW)
    [amend] = manager.reconcile(want, book_view(), NOW)
    assert (type(amend), amend.count) == (AmendOrder, D(8))  # 3 filled + 5 more: raises the total
    ledger = ledger_of(manager)
    rest = fill("bid", "0.45", 2, fill_id="f2", order_id="ex-1", client_order_id=bid.client_order_id)
    order, _ = ledger.apply(rest)  # risk has not seen the amend yet: for the ledger the order is over
    assert order.gone

    manager.apply(ledger.changed(TICKER, rest, order, NOW), NOW)

    working = manager.order("bid")
    assert working is not None and (working.pending, working.filled, working.amend_to) == ("amending", D(5), (D("0.45"), D(8)))
    refused = OrderRejected(
        action="amend", client_order_id=amend.client_order_id, order_id=amend.order_id, ticker=TICKER, side="bid",
        price=amend.price, count=amend.count, source="risk", code="unknown_order", reason="no resting order",
        ts_recv=NOW,
    )
    deliver(manager, refused, NOW)
    assert manager.order("bid") is None and manager.in_flight() == []  # settled: executed after all


def test_a_settlement_reaches_the_session_through_the_ledger_which_settles_its_position(session):
    bid, _ask = quoting(session)
    deliver(session, fill("bid", str(bid.price), 5, fill_id="f1", order_id="ex-1", client_order_id=bid.client_order_id), NOW)
    determined = MarketLifecycleChanged(
        ticker=TICKER, event_type="determined", result="no", close_ts=None, ts_event=NOW, ts_recv=NOW
    )
    assert session.on_lifecycle(determined, NOW) == []  # heard directly: the ledger's word is awaited
    assert session.inventory.position == D(5)

    deliver(session, determined, NOW)

    assert (session.inventory.position, session.inventory.settled_at, session.exit_reason) == (D(0), D(0), "settlement")
    assert session.orders.open_orders() == []  # the exchange removed them with the market
    assert session.state == MakerState.DONE
    assert not any(isinstance(c, PlaceOrder) for c in session.requote(NOW))


def test_a_partly_filled_order_moved_by_an_amend_keeps_working_its_side_and_no_second_order_is_placed():
    # the chaos campaign's two resting bids: a bid of 5, 4 filled, moved with 1 left; the
    # amend's reply counts only what the amend filled (none) and the 1 resting
    manager = OrderManager(ticker=TICKER, session_id="s", keep_within=D(0), retry_after_ns=SECOND)
    [bid] = manager.reconcile({"bid": (D("0.45"), D(5)), "ask": None}, book_view(), NOW)
    deliver(manager, accepted(bid, "ex-1"), NOW)
    deliver(manager, fill("bid", "0.45", 4, fill_id="f1", order_id="ex-1", client_order_id=bid.client_order_id), NOW)
    moved = {"bid": (D("0.44"), D(1)), "ask": None}
    [amend] = manager.reconcile(moved, book_view(), NOW)
    assert (type(amend), amend.count) == (AmendOrder, D(5))  # 4 filled + 1 more

    deliver(manager, replace(amended(amend, filled="0"), remaining=D(1)), NOW)

    working = manager.order("bid")
    assert working is not None and working.order_id == "ex-1"
    assert (working.price, working.count, working.filled, working.remaining) == (D("0.44"), D(5), D(4), D(1))
    assert manager.reconcile(moved, book_view(), NOW + SECOND) == []
