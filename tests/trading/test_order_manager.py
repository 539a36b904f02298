"""OrderManager: one order per side, keep / amend / cancel-and-place, never crossing."""

from decimal import Decimal as D

import pytest

from actors.maker import OrderManager
from messages import AmendOrder, CancelOrder, PlaceOrder

from .factories import T0, TICKER, accepted, amended, book_view, cancelled, fill, rejected

BOOK = book_view(bids=(("0.45", 10),), asks=(("0.55", 10),))
RETRY_NS = 1_000_000_000


@pytest.fixture
def manager():
    return OrderManager(ticker=TICKER, session_id="s", keep_within=D("0.01"), retry_after_ns=RETRY_NS)


def quote(bid=("0.49", 5), ask=("0.51", 5)):
    return {
        "bid": None if bid is None else (D(bid[0]), D(bid[1])),
        "ask": None if ask is None else (D(ask[0]), D(ask[1])),
    }


def resting(manager, **kwargs):
    """Place both sides and have the exchange accept them."""
    places = manager.reconcile(quote(**kwargs), BOOK, T0)
    for n, cmd in enumerate(places, start=1):
        manager.apply(accepted(cmd, f"ex-{n}"), T0)
    return places


def test_first_quote_places_both_sides_post_only_with_sequential_client_ids(manager):
    commands = manager.reconcile(quote(), BOOK, T0)

    assert [type(c) for c in commands] == [PlaceOrder, PlaceOrder]
    bid, ask = commands
    assert (bid.side, bid.price, bid.count) == ("bid", D("0.49"), D(5))
    assert (ask.side, ask.price, ask.count) == ("ask", D("0.51"), D(5))
    assert bid.post_only and ask.post_only
    assert (bid.client_order_id, ask.client_order_id) == ("s-1", "s-2")


def test_a_one_cent_move_keeps_the_resting_orders(manager):
    resting(manager)

    assert manager.reconcile(quote(bid=("0.48", 5), ask=("0.52", 5)), BOOK, T0) == []


def test_a_three_cent_move_amends_in_place_with_count_filled_plus_desired_remainder(manager):
    resting(manager)
    manager.apply(fill("bid", "0.49", 2, order_id="ex-1", client_order_id="s-1"), T0)

    commands = manager.reconcile(quote(bid=("0.46", 5), ask=("0.51", 5)), BOOK, T0)

    assert len(commands) == 1
    amend = commands[0]
    assert isinstance(amend, AmendOrder)
    assert (amend.order_id, amend.client_order_id, amend.updated_client_order_id) == ("ex-1", "s-1", "s-3")
    assert (amend.price, amend.count) == (D("0.46"), D(7))


def test_a_partial_fill_alone_amends_back_to_the_desired_size(manager):
    resting(manager)
    manager.apply(fill("ask", "0.51", 3, order_id="ex-2", client_order_id="s-2"), T0)

    commands = manager.reconcile(quote(), BOOK, T0)

    assert [(type(c), c.count) for c in commands] == [(AmendOrder, D(8))]


def test_an_acknowledged_amend_updates_the_working_order(manager):
    resting(manager)
    [amend] = manager.reconcile(quote(bid=("0.46", 5)), BOOK, T0)

    manager.apply(amended(amend), T0)

    order = manager.order("bid")
    assert (order.price, order.client_order_id, order.pending) == (D("0.46"), "s-3", None)
    assert manager.reconcile(quote(bid=("0.46", 5)), BOOK, T0) == []


def test_a_refused_amend_falls_back_to_cancel_then_place(manager):
    resting(manager)
    [amend] = manager.reconcile(quote(bid=("0.46", 5)), BOOK, T0)

    manager.apply(rejected(amend, "amend"), T0)
    [cancel] = manager.reconcile(quote(bid=("0.46", 5)), BOOK, T0)
    manager.apply(cancelled("ex-1", "s-1"), T0)
    [replacement] = manager.reconcile(quote(bid=("0.46", 5)), BOOK, T0)

    assert isinstance(cancel, CancelOrder) and cancel.order_id == "ex-1"
    assert isinstance(replacement, PlaceOrder)
    assert (replacement.side, replacement.price, replacement.count) == ("bid", D("0.46"), D(5))


def test_a_side_that_would_cross_the_book_is_skipped(manager):
    commands = manager.reconcile(quote(bid=("0.55", 5), ask=("0.45", 5)), BOOK, T0)

    assert commands == []
    assert manager.skipped == {"bid": "would cross the book", "ask": "would cross the book"}


def test_a_resting_order_stays_when_the_new_target_would_cross(manager):
    resting(manager)

    commands = manager.reconcile(quote(bid=("0.56", 5)), BOOK, T0)

    assert commands == []
    assert manager.order("bid").price == D("0.49")


def test_only_one_command_is_in_flight_per_side(manager):
    manager.reconcile(quote(), BOOK, T0)  # places not yet acknowledged

    assert manager.reconcile(quote(bid=("0.40", 5), ask=("0.60", 5)), BOOK, T0) == []
    assert manager.skipped == {"bid": "placing in flight", "ask": "placing in flight"}


def test_no_desired_quote_cancels_the_working_order(manager):
    resting(manager)

    commands = manager.reconcile(quote(bid=None), BOOK, T0)

    assert [(type(c), c.order_id) for c in commands] == [(CancelOrder, "ex-1")]


def test_a_refused_place_waits_before_trying_the_side_again(manager):
    [bid, _ask] = manager.reconcile(quote(), BOOK, T0)
    manager.apply(rejected(bid, "place", code="position_limit", source="risk"), T0)

    too_soon = manager.reconcile(quote(), BOOK, T0 + RETRY_NS - 1)
    later = manager.reconcile(quote(), BOOK, T0 + RETRY_NS)

    assert too_soon == []
    assert [(type(c), c.side) for c in later] == [(PlaceOrder, "bid")]


def test_a_fully_filled_order_is_forgotten_and_the_side_requoted(manager):
    resting(manager)
    manager.apply(fill("bid", "0.49", 2, fill_id="a", order_id="ex-1"), T0)
    manager.apply(fill("bid", "0.49", 3, fill_id="b", order_id="ex-1"), T0)

    assert manager.order("bid") is None
    assert [(type(c), c.side) for c in manager.reconcile(quote(), BOOK, T0)] == [(PlaceOrder, "bid")]


def test_cancel_all_cancels_idle_orders_and_reports_unacknowledged_places(manager):
    resting(manager)
    manager.reconcile(quote(bid=None), BOOK, T0)  # bid cancel in flight
    manager.apply(cancelled("ex-1", "s-1"), T0)
    manager.reconcile(quote(ask=None, bid=("0.49", 5)), BOOK, T0)  # ask cancelling, new bid placing

    assert manager.cancel_all(T0, "stop") == []
    assert manager.unacknowledged_places == 1
