"""OrderManager: one order per side, keep / amend / cancel-and-place, never crossing; our
orders read from the trading ledger's views (tests/trading/ledger_desk.py plays risk)."""

from decimal import Decimal as D

import pytest

from actors.maker import OrderManager
from messages import AmendOrder, CancelOrder, PlaceOrder

from .factories import T0, TICKER, accepted, amended, book_view, cancelled, fill, rejected, updated
from .ledger_desk import deliver

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
        deliver(manager, accepted(cmd, f"ex-{n}"), T0)
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
    deliver(manager, fill("bid", "0.49", 2, order_id="ex-1", client_order_id="s-1"), T0)

    commands = manager.reconcile(quote(bid=("0.46", 5), ask=("0.51", 5)), BOOK, T0)

    assert len(commands) == 1
    amend = commands[0]
    assert isinstance(amend, AmendOrder)
    assert (amend.order_id, amend.client_order_id, amend.updated_client_order_id) == ("ex-1", "s-1", "s-3")
    assert (amend.price, amend.count) == (D("0.46"), D(7))


def test_a_partial_fill_alone_amends_back_to_the_desired_size(manager):
    resting(manager)
    deliver(manager, fill("ask", "0.51", 3, order_id="ex-2", client_order_id="s-2"), T0)

    commands = manager.reconcile(quote(), BOOK, T0)

    assert [(type(c), c.count) for c in commands] == [(AmendOrder, D(8))]


def test_an_acknowledged_amend_updates_the_working_order(manager):
    resting(manager)
    [amend] = manager.reconcile(quote(bid=("0.46", 5)), BOOK, T0)

    deliver(manager, amended(amend), T0)

    order = manager.order("bid")
    assert (order.price, order.client_order_id, order.pending) == (D("0.46"), "s-3", None)
    assert manager.reconcile(quote(bid=("0.46", 5)), BOOK, T0) == []


def test_a_refused_amend_falls_back_to_cancel_then_place(manager):
    resting(manager)
    [amend] = manager.reconcile(quote(bid=("0.46", 5)), BOOK, T0)

    deliver(manager, rejected(amend, "amend"), T0)
    [cancel] = manager.reconcile(quote(bid=("0.46", 5)), BOOK, T0)
    deliver(manager, cancelled("ex-1", "s-1"), T0)
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
    deliver(manager, rejected(bid, "place", code="position_limit", source="risk"), T0)

    too_soon = manager.reconcile(quote(), BOOK, T0 + RETRY_NS - 1)
    later = manager.reconcile(quote(), BOOK, T0 + RETRY_NS)

    assert too_soon == []
    assert [(type(c), c.side) for c in later] == [(PlaceOrder, "bid")]


def test_repeated_place_refusals_double_the_wait_up_to_the_cap_and_an_accept_resets_it():
    manager = OrderManager(ticker=TICKER, session_id="s", keep_within=D("0.01"), retry_after_ns=RETRY_NS,
                           max_retry_after_ns=4 * RETRY_NS)
    only_bid = quote(ask=None)

    def refuse_and_time_the_retry(place, t):
        """Refuse `place` at t; whole intervals until the bid is placed again, and that place."""
        deliver(manager, rejected(place, "place", code="category_budget", source="risk"), t)
        for wait in range(1, 10):
            commands = manager.reconcile(only_bid, BOOK, t + wait * RETRY_NS)
            if commands:
                return wait, commands[0]
        raise AssertionError("the side was never tried again")

    [place] = manager.reconcile(only_bid, BOOK, T0)
    t, waits = T0, []
    for _ in range(4):  # risk keeps refusing (a category budget other sessions use up)
        wait, place = refuse_and_time_the_retry(place, t)
        t += wait * RETRY_NS
        waits.append(wait)
    assert waits == [1, 2, 4, 4]

    deliver(manager, accepted(place, "ex-1"), t)
    deliver(manager, cancelled("ex-1", place.client_order_id), t)
    [place] = manager.reconcile(only_bid, BOOK, t)
    assert refuse_and_time_the_retry(place, t)[0] == 1  # accepted once: back to one interval


def test_a_fully_filled_order_is_forgotten_and_the_side_requoted(manager):
    resting(manager)
    deliver(manager, fill("bid", "0.49", 2, fill_id="a", order_id="ex-1"), T0)
    deliver(manager, fill("bid", "0.49", 3, fill_id="b", order_id="ex-1"), T0)

    assert manager.order("bid") is None
    assert [(type(c), c.side) for c in manager.reconcile(quote(), BOOK, T0)] == [(PlaceOrder, "bid")]


def test_cancel_all_cancels_idle_orders_and_reports_unacknowledged_places(manager):
    resting(manager)
    manager.reconcile(quote(bid=None), BOOK, T0)  # bid cancel in flight
    deliver(manager, cancelled("ex-1", "s-1"), T0)
    manager.reconcile(quote(ask=None, bid=("0.49", 5)), BOOK, T0)  # ask cancelling, new bid placing

    assert manager.cancel_all(T0, "stop") == []
    assert manager.unacknowledged_places == 1


# -- one execution, two reports: the exchange's running total and the fill -------------


def running_total(filled, remaining, order_id="ex-1", client_order_id="s-1", side="bid", price="0.49"):
    return updated(order_id, client_order_id, side=side, price=price, filled=filled, remaining=remaining)


FOUR_FILLED = [
    pytest.param(lambda: [running_total("4", "1"), fill("bid", "0.49", 4)], id="user_order then fill"),
    pytest.param(lambda: [fill("bid", "0.49", 4), running_total("4", "1")], id="fill then user_order"),
    pytest.param(lambda: [fill("bid", "0.49", 4), fill("bid", "0.49", 4)], id="duplicate fill"),
]


@pytest.mark.parametrize("sequence", FOUR_FILLED)
def test_an_execution_reported_as_running_total_and_as_fill_is_counted_once(manager, sequence):
    resting(manager)

    for event in sequence():
        deliver(manager, event, T0)

    order = manager.order("bid")
    assert order is not None
    assert (order.filled, order.remaining) == (D(4), D(1))


@pytest.mark.parametrize("sequence", FOUR_FILLED)
def test_a_partially_filled_order_stays_managed_and_is_topped_up_in_place(manager, sequence):
    resting(manager)
    for event in sequence():
        deliver(manager, event, T0)

    commands = manager.reconcile(quote(), BOOK, T0)

    assert [(type(c), c.order_id, c.count) for c in commands] == [(AmendOrder, "ex-1", D(9))]  # 4 filled + 5


# -- refusals that mean the order is gone ------------------------------------------------

EXECUTED = "HTTP 400 invalid_order: invalid order (order is executed)"


@pytest.mark.parametrize(
    ("code", "reason"),
    [("invalid_order", EXECUTED), ("not_found", "HTTP 404 not_found: not found (order ex-1 not found)")],
)
def test_a_cancel_refused_because_the_order_already_executed_forgets_it(manager, code, reason):
    resting(manager)
    [cancel] = manager.reconcile(quote(bid=None), BOOK, T0)

    deliver(manager, rejected(cancel, "cancel", code=code, reason=reason), T0)

    assert manager.order("bid") is None
    assert [o["side"] for o in manager.open_orders()] == ["ask"]
    assert [(type(c), c.side) for c in manager.reconcile(quote(), BOOK, T0)] == [(PlaceOrder, "bid")]


def test_an_amend_refused_because_the_order_already_executed_forgets_it_without_a_cancel(manager):
    resting(manager)
    [amend] = manager.reconcile(quote(bid=("0.46", 5)), BOOK, T0)

    deliver(manager, rejected(amend, "amend", reason=EXECUTED), T0)

    assert manager.order("bid") is None
    assert [(type(c), c.side) for c in manager.reconcile(quote(bid=("0.46", 5)), BOOK, T0)] == [(PlaceOrder, "bid")]


def test_a_cancel_refused_for_another_reason_keeps_the_order(manager):
    resting(manager)
    [cancel] = manager.reconcile(quote(bid=None), BOOK, T0)

    deliver(manager, rejected(cancel, "cancel", code="transport_error", source="transport"), T0)

    order = manager.order("bid")
    assert order is not None and order.pending is None


# -- never an amend to the terms the order already has ----------------------------------


def test_no_amend_is_sent_when_the_order_already_has_the_wanted_terms():
    exact = OrderManager(ticker=TICKER, session_id="s", keep_within=D(0), retry_after_ns=RETRY_NS)
    resting(exact)

    assert exact.reconcile(quote(), BOOK, T0) == []
    assert exact.amends == 0


def test_a_user_order_from_before_an_amend_does_not_trigger_a_second_identical_amend(manager):
    resting(manager)
    [amend] = manager.reconcile(quote(bid=("0.46", 5)), BOOK, T0)
    deliver(manager, amended(amend), T0)  # the REST reply overtook the user_order below

    deliver(manager, running_total("0", "5", price="0.49"), T0)  # still names s-1, the old terms

    assert manager.reconcile(quote(bid=("0.46", 5)), BOOK, T0) == []
    assert (manager.order("bid").price, manager.amends) == (D("0.46"), 1)


# -- orders of this session that we do not track -----------------------------------------


def test_an_unknown_resting_order_of_this_session_is_adopted_and_cancelled(manager):
    resting(manager)

    deliver(manager, running_total("0", "3", order_id="ex-9", client_order_id="s-7", side="ask", price="0.60"), T0)
    commands = manager.reconcile(quote(), BOOK, T0)

    assert [(type(c), c.order_id) for c in commands] == [(CancelOrder, "ex-9")]
    assert (manager.order("bid").order_id, manager.order("ask").order_id) == ("ex-1", "ex-2")
    assert manager.adopted == 1


def test_an_adopted_order_is_dropped_once_its_cancel_is_confirmed(manager):
    deliver(manager, running_total("0", "3", order_id="ex-9", client_order_id="s-7"), T0)
    [cancel] = manager.reconcile(quote(bid=None, ask=None), BOOK, T0)

    deliver(manager, cancelled("ex-9", "s-7"), T0)

    assert cancel.order_id == "ex-9"
    assert manager.open_orders() == [] and not manager.has_orders


def test_a_place_whose_outcome_was_unknown_is_cancelled_when_it_shows_up_resting(manager):
    [bid, _ask] = manager.reconcile(quote(), BOOK, T0)
    deliver(manager, rejected(bid, "place", code="outcome_unknown", source="transport"), T0)

    deliver(manager, running_total("0", "5", order_id="ex-5", client_order_id=bid.client_order_id), T0)
    commands = manager.reconcile(quote(), BOOK, T0 + RETRY_NS)

    assert (CancelOrder, "ex-5") in [(type(c), getattr(c, "order_id", None)) for c in commands]


def test_resting_orders_of_other_sessions_or_markets_are_left_alone(manager):
    deliver(manager, running_total("0", "3", order_id="ex-8", client_order_id="other-1"), T0)
    deliver(manager, updated("ex-9", "s-9", ticker="KXOTHER-26JAN01-T50"), T0)

    assert manager.reconcile(quote(bid=None, ask=None), BOOK, T0) == []


def test_a_cancelled_order_is_not_adopted_back_by_a_late_resting_report(manager):
    resting(manager)
    manager.reconcile(quote(bid=None), BOOK, T0)
    deliver(manager, cancelled("ex-1", "s-1"), T0)

    deliver(manager, running_total("0", "5"), T0)

    assert manager.reconcile(quote(bid=None), BOOK, T0) == []


# -- an order still resting is never taken for fully executed ---------------------------------


def test_an_order_that_rests_on_after_fills_reach_its_pre_amend_total_stays_managed():
    exact = OrderManager(ticker=TICKER, session_id="s", keep_within=D(0), retry_after_ns=RETRY_NS)
    [bid] = exact.reconcile(quote(bid=("0.45", 5), ask=None), BOOK, T0)
    deliver(exact, accepted(bid, "ex-1"), T0)
    deliver(exact, fill("bid", "0.45", 1, fill_id="a", order_id="ex-1", client_order_id=bid.client_order_id), T0)
    [amend] = exact.reconcile(quote(bid=("0.45", 5), ask=None), BOOK, T0)  # total 6: 1 filled + 5
    # the exchange applies it, 4 more fill; its user_order beats the REST reply
    deliver(exact, updated("ex-1", amend.updated_client_order_id, price="0.45", filled="5", remaining="1"), T0)
    deliver(exact, amended(amend, filled="5"), T0)

    order = exact.order("bid")
    assert order is not None and (order.order_id, order.remaining) == ("ex-1", D(1))
    assert [(type(c), c.order_id) for c in exact.cancel_all(T0, "stop")] == [(CancelOrder, "ex-1")]


# -- places whose outcome is unknown --------------------------------------------------------


def test_a_place_reported_live_is_kept_when_its_outcome_is_then_reported_unknown(manager):
    [bid, _ask] = manager.reconcile(quote(), BOOK, T0)
    deliver(manager, running_total("0", "5", order_id="ex-1", client_order_id=bid.client_order_id), T0)

    deliver(manager, rejected(bid, "place", code="outcome_unknown", source="transport"), T0)

    order = manager.order("bid")
    assert order is not None and (order.order_id, order.pending) == ("ex-1", None)
    assert (CancelOrder, "ex-1") in [(type(c), c.order_id) for c in manager.cancel_all(T0, "stop")]


def test_a_place_of_unknown_outcome_not_yet_seen_is_kept_for_the_market_wide_cancel(manager):
    [bid, _ask] = manager.reconcile(quote(), BOOK, T0)

    deliver(manager, rejected(bid, "place", code="outcome_unknown", source="transport"), T0)

    assert manager.order("bid") is None  # the side is free to quote again (after the retry delay)
    assert manager.unacknowledged_places == 2  # this one and the ask still being placed


# -- the book lags our acknowledgements -------------------------------------------------------


def test_a_cancelled_orders_size_counts_as_ours_until_the_book_shows_it_gone(manager):
    with_ours = book_view(bids=(("0.49", 5), ("0.45", 10)), asks=(("0.51", 5), ("0.55", 10)))
    places = manager.reconcile(quote(), with_ours, T0)
    for n, cmd in enumerate(places, start=1):
        deliver(manager, accepted(cmd, f"ex-{n}"), T0)
    manager.reconcile(quote(bid=None), with_ours, T0)

    deliver(manager, cancelled("ex-1", "s-1"), T0)
    stale = manager.resting_size_by_level(with_ours, T0)
    caught_up = manager.resting_size_by_level(book_view(bids=(("0.45", 10),), asks=(("0.51", 5), ("0.55", 10))), T0)
    others_join = manager.resting_size_by_level(book_view(bids=(("0.49", 3), ("0.45", 10))), T0)

    assert stale.get(("bid", D("0.49"))) == D(5)
    assert ("bid", D("0.49")) not in caught_up
    assert ("bid", D("0.49")) not in others_join


def test_a_cancelled_orders_size_stops_counting_as_ours_after_the_requote_interval(manager):
    with_ours = book_view(bids=(("0.49", 5), ("0.45", 10)), asks=(("0.55", 10),))
    [bid] = manager.reconcile(quote(ask=None), with_ours, T0)
    deliver(manager, accepted(bid, "ex-1"), T0)
    manager.reconcile(quote(bid=None, ask=None), with_ours, T0)
    deliver(manager, cancelled("ex-1", "s-1"), T0)

    assert manager.resting_size_by_level(with_ours, T0 + RETRY_NS - 1) == {("bid", D("0.49")): D(5)}
    assert manager.resting_size_by_level(with_ours, T0 + RETRY_NS) == {}
