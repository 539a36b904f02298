"""The trading ledger, the one record of our orders, fills and positions: what it keeps per
market and per session, and the immutable view of a market it hands its readers."""

from dataclasses import FrozenInstanceError, replace
from decimal import Decimal as D

import pytest

from actors.ledger import TradingLedger
from messages import AmendOrder, CancelOrder, MarketLifecycleChanged, owner_of_client_order_id

from .factories import T0, TICKER, accepted, cancelled, fill, place, rejected, updated


@pytest.fixture
def ledger():
    return TradingLedger(seen_fill_ids_per_market=100)


def view(ledger, cause=None, order=None):
    return ledger.changed(TICKER, cause, order, T0)


def resting(ledger, client_order_id="s-1", order_id="ex-1", side="bid", price="0.49", count=5):
    command = place(client_order_id, side, price, count)
    ledger.record(command)
    ledger.apply(accepted(command, order_id))
    return command


def amend(order_id, client_order_id, updated_client_order_id, price, count) -> AmendOrder:
    return AmendOrder(
        order_id=order_id, client_order_id=client_order_id, updated_client_order_id=updated_client_order_id,
        ticker=TICKER, side="bid", price=D(price), count=D(count), ts=T0,
    )


# -- whose an order or a fill is -----------------------------------------------------------


@pytest.mark.parametrize(
    ("client_order_id", "owner"),
    [("s-1", "s"), ("mmd-run-s12-40", "mmd-run-s12"), ("s-x1", ""), ("manual", ""), ("", ""), ("-4", "")],
)
def test_a_client_order_id_names_its_session_as_what_precedes_its_sequence_number(client_order_id, owner):
    assert owner_of_client_order_id(client_order_id) == owner


# -- recorded commands ---------------------------------------------------------------------


def test_an_admitted_place_is_in_the_view_as_placing_until_the_exchange_accepts_it(ledger):
    command = place("s-1", "bid", "0.49", 5)
    ledger.record(command)
    (placing,) = view(ledger, command).orders
    assert (placing.key, placing.owner, placing.pending, placing.order_id) == ("s-1", "s", "placing", None)

    order, tickers = ledger.apply(accepted(command, "ex-1"))

    changed = view(ledger, None, order)
    assert tickers == (TICKER,)
    assert (changed.order.order_id, changed.order.pending, changed.order.remaining) == ("ex-1", None, D(5))


def test_an_admitted_amend_is_in_flight_under_both_terms_and_keeps_the_orders_key(ledger):
    resting(ledger)
    ledger.record(amend("ex-1", "s-1", "s-2", "0.47", 5))

    (order,) = view(ledger).orders
    assert (order.pending, order.price, order.amend_to, order.amend_client_order_id) == (
        "amending", D("0.49"), (D("0.47"), D(5)), "s-2",
    )
    ledger.apply(updated("ex-1", "s-2", price="0.47"))  # shows the amend applied: renamed

    (order,) = view(ledger).orders
    assert (order.key, order.client_order_id, order.price, order.amend_to) == ("s-1", "s-2", D("0.47"), None)


def test_an_admitted_cancel_awaits_its_answer_and_a_refused_cancel_leaves_the_order_resting(ledger):
    resting(ledger)
    cancel = CancelOrder(order_id="ex-1", client_order_id="s-1", ticker=TICKER, ts=T0)
    ledger.record(cancel)
    assert view(ledger).orders[0].pending == "cancelling"

    ledger.apply(rejected(cancel, "cancel", code="rate_limited", source="client"))

    assert view(ledger).orders[0].pending is None


def test_a_refusal_by_risk_changes_nothing_it_never_recorded(ledger):
    command = place("s-1", "bid", "0.49", 5)

    order, _ = ledger.apply(rejected(command, "place", code="market_budget", source="risk"))

    assert order is None and view(ledger).orders == ()


# -- fills and positions -------------------------------------------------------------------


@pytest.mark.parametrize("rest_first", [False, True], ids=["WS then REST", "REST then WS"])
def test_a_fill_reported_twice_counts_once_in_the_market_in_its_session_and_in_its_order(ledger, rest_first):
    resting(ledger)
    on_ws = fill("bid", "0.49", 2, fee="0.01", fill_id="f1", order_id="ex-1", client_order_id="s-1")
    from_rest = replace(on_ws, client_order_id="", ts_recv=T0 + 5_000_000_000)  # the reconcile's copy
    reports = [from_rest, on_ws] if rest_first else [on_ws, from_rest]

    for report in reports:
        ledger.apply(report)

    changed = view(ledger)
    assert (changed.position.position, changed.position.fill_count, changed.position.fees_paid) == (D(2), 1, D("0.01"))
    assert changed.session("s").position.position == D(2) and changed.session("s").fill_ids == {"f1"}
    assert changed.orders[0].filled == D(2)


def test_a_fill_of_another_session_or_a_manual_order_counts_in_the_market_not_in_this_session(ledger):
    resting(ledger)

    ledger.apply(fill("bid", "0.49", 7, fill_id="x1", order_id="ex-old", client_order_id="s1-4"))
    ledger.apply(fill("bid", "0.49", 3, fill_id="x2", order_id="ex-manual", client_order_id=""))
    ledger.apply(fill("bid", "0.49", 2, fill_id="a", order_id="ex-1", client_order_id=""))  # ours by exchange id

    changed = view(ledger)
    assert changed.position.position == D(12)
    assert changed.session("s").position.position == D(2)
    assert changed.session("s1").position.position == D(7)


def test_a_fill_seen_before_its_order_could_be_told_counts_in_its_session_when_reported_again(ledger):
    command = place("s-1", "bid", "0.49", 5)
    ledger.record(command)
    early = fill("bid", "0.49", 2, fill_id="f1", order_id="ex-1", client_order_id="")  # the ack trails it
    ledger.apply(early)
    assert view(ledger).position.position == D(2) and view(ledger).session("s") is None  # whose? not known yet

    ledger.apply(accepted(command, "ex-1"))
    ledger.apply(early)  # the session-end REST read brings it back

    changed = view(ledger)
    assert (changed.position.position, changed.session("s").position.position) == (D(2), D(2))
    assert changed.orders[0].filled == D(2)  # taken in by its order once its id was known


def test_the_round_trips_a_change_closes_go_with_that_change_once(ledger):
    resting(ledger)
    resting(ledger, "s-2", "ex-2", side="ask", price="0.52")
    ledger.apply(fill("bid", "0.49", 2, fee="0.01", fill_id="f1", order_id="ex-1", client_order_id="s-1"))
    assert view(ledger).session("s").realizations == ()

    ledger.apply(fill("ask", "0.52", 2, fee="0.01", fill_id="f2", order_id="ex-2", client_order_id="s-2"))

    (closed,) = view(ledger).session("s").realizations
    assert (closed.side, closed.count, closed.pnl, closed.fees) == ("long", D(2), D("0.04"), D("0.02"))
    assert view(ledger).session("s").realizations == ()  # handed over once
    assert view(ledger).session("s").position.realized_pnl == D("0.04")


def test_fills_reported_filled_by_an_order_that_is_over_are_carried_for_its_session_until_they_arrive(ledger):
    resting(ledger)

    ledger.apply(updated("ex-1", "s-1", filled="5", remaining="0", status="executed"))
    (carried,) = view(ledger).unseen
    assert (carried.side, carried.price, carried.count, carried.owner) == ("bid", D("0.49"), D(5), "s")

    ledger.apply(fill("bid", "0.49", 5, fill_id="f1", order_id="ex-1", client_order_id="s-1"))

    changed = view(ledger)
    assert changed.unseen == () and changed.session("s").position.position == D(5)


def fills_of_a_long_session(count, skip=()):
    """Fills of session s's orders s-1, s-2, ... one second apart (exchange time)."""
    return [
        fill("bid", "0.49", 1, fill_id=f"f{n}", order_id=f"ex-{n}", client_order_id=f"s-{n}", ts=T0 + n * 1_000_000_000)
        for n in range(1, count + 1)
        if n not in skip
    ]


def test_a_read_back_of_a_long_sessions_fills_whose_ids_were_forgotten_counts_none_of_them_again():
    # a session's REST read-back (feed reconnect, session end) reports again every fill
    # since the session began, long after the ids kept (here 3) have moved past them
    ledger = TradingLedger(seen_fill_ids_per_market=3)
    fills = fills_of_a_long_session(6)
    for report in fills:
        ledger.apply(report)

    for report in fills:  # the read-back's copies
        ledger.apply(replace(report, ts_recv=T0 + 60_000_000_000))

    changed = view(ledger)
    book = changed.session("s")
    assert (changed.position.position, changed.position.fill_count) == (D(6), 6)
    assert (book.position.position, book.position.fill_count) == (D(6), 6)
    assert len(book.fill_ids) == 3  # bounded: the older ones count as seen by their time
    assert all(book.counted(f.fill_id, f.ts_event) for f in fills)


def test_a_fill_newer_than_every_forgotten_one_that_never_arrived_counts_when_read_back():
    # the WS missed f4 (the feed was down); the read-back brings it after f5 and f6
    ledger = TradingLedger(seen_fill_ids_per_market=3)
    for report in fills_of_a_long_session(6, skip={4}):
        ledger.apply(report)
    (missed,) = [f for f in fills_of_a_long_session(6) if f.fill_id == "f4"]
    assert not view(ledger).session("s").counted(missed.fill_id, missed.ts_event)  # the maker publishes it

    ledger.apply(replace(missed, ts_recv=T0 + 60_000_000_000))

    changed = view(ledger)
    assert (changed.position.position, changed.session("s").position.position) == (D(6), D(6))
    assert changed.session("s").counted(missed.fill_id, missed.ts_event)


# -- settlement and sessions -----------------------------------------------------------------


def test_a_settlement_closes_the_market_and_its_sessions_at_the_price_and_drops_its_orders(ledger):
    resting(ledger)
    resting(ledger, "s-2", "ex-2", side="ask", price="0.52")
    ledger.apply(fill("bid", "0.49", 5, fee="0.02", fill_id="f1", order_id="ex-1", client_order_id="s-1"))

    assert ledger.settle(TICKER, D(1), T0)
    lifecycle = MarketLifecycleChanged(
        ticker=TICKER, event_type="settled", result="yes", close_ts=None, ts_event=T0, ts_recv=T0
    )
    changed = view(ledger, lifecycle)

    assert changed.orders == ()
    assert (changed.position.position, changed.position.settled_at) == (D(0), D(1))
    book = changed.session("s")
    assert (book.position.position, book.position.realized_pnl) == (D(0), D("2.53"))  # 5 x (1 - 0.49) - 0.02
    assert [r.exit_price for r in book.realizations] == [D(1)]
    assert not ledger.settle(TICKER, D(1), T0)  # once


def test_an_ended_sessions_book_is_dropped_and_not_opened_again_by_a_late_fill(ledger):
    resting(ledger)
    ledger.apply(fill("bid", "0.49", 1, fill_id="f1", order_id="ex-1", client_order_id="s-1"))

    ledger.end_session(TICKER, "s")
    ledger.apply(fill("bid", "0.49", 1, fill_id="f2", order_id="ex-1", client_order_id="s-1"))

    changed = view(ledger)
    assert changed.session("s") is None
    assert changed.position.position == D(2)  # the market counts every fill of ours


# -- the view --------------------------------------------------------------------------------


def test_the_view_is_immutable_and_later_changes_do_not_reach_it(ledger):
    resting(ledger)
    before = view(ledger)

    ledger.apply(fill("bid", "0.49", 2, fill_id="f1", order_id="ex-1", client_order_id="s-1"))
    ledger.apply(cancelled("ex-1", "s-1", reduced_by="3"))

    assert before.orders[0].filled == 0 and before.position.position == 0
    with pytest.raises(FrozenInstanceError):
        before.orders[0].price = D("0.10")
    with pytest.raises(FrozenInstanceError):
        before.position.position = D(9)
