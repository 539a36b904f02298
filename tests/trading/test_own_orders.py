"""OwnOrders: the one rule the trading ledger keeps our orders by (what an order has filled
and whether it still rests), whatever order the exchange's reports arrive in."""

from dataclasses import replace
from decimal import Decimal as D

import pytest

from actors.ledger import OwnOrder, OwnOrders, refusal_means_executed, refusal_means_gone
from messages import AmendOrder, CancelOrder

from .factories import T0, TICKER, amended, cancelled, fill, place, rejected, updated


def tracked(count="10", price="0.49", adopt=lambda event: False) -> tuple[OwnOrders, OwnOrder]:
    orders = OwnOrders(adopt=adopt)
    order = orders.add(
        OwnOrder(ticker=TICKER, side="bid", client_order_id="s-1", order_id="ex-1", price=D(price), count=D(count))
    )
    return orders, order


def amend(client_order_id, updated_client_order_id, price, count) -> AmendOrder:
    return AmendOrder(
        order_id="ex-1",
        client_order_id=client_order_id,
        updated_client_order_id=updated_client_order_id,
        ticker=TICKER,
        side="bid",
        price=D(price),
        count=D(count),
        ts=T0,
    )


def partial(filled, fill_id="f1"):
    """The two reports of one execution: the order's running total and the fill itself."""
    return (
        updated("ex-1", "s-1", filled=filled, remaining=str(10 - int(filled))),
        fill("bid", "0.49", filled, fill_id=fill_id),
    )


@pytest.mark.parametrize(
    "sequence",
    [
        pytest.param(lambda: [*partial("4")], id="running total then fill"),
        pytest.param(lambda: [*reversed(partial("4"))], id="fill then running total"),
        pytest.param(lambda: [fill("bid", "0.49", 4), fill("bid", "0.49", 4)], id="the same fill twice"),
        pytest.param(lambda: [*partial("4"), fill("bid", "0.49", 4)], id="total, fill, fill again"),
    ],
)
def test_one_execution_reported_twice_is_counted_once(sequence):
    orders, order = tracked()

    for event in sequence():
        orders.apply(event)

    assert (order.filled, order.remaining) == (D(4), D(6))


def test_interleaved_fills_and_running_totals_add_up_to_the_distinct_fills():
    orders, order = tracked()
    first_total, first_fill = partial("4", fill_id="a")
    second_total = updated("ex-1", "s-1", filled="6", remaining="4")
    second_fill = fill("bid", "0.49", 2, fill_id="b")

    for event in (first_total, second_fill, first_fill, second_total):
        orders.apply(event)

    assert order.filled == D(6)


def test_a_stale_running_total_never_decreases_filled():
    orders, order = tracked()
    orders.apply(fill("bid", "0.49", 4))

    orders.apply(updated("ex-1", "s-1", filled="1", remaining="9"))

    assert order.filled == D(4)


def test_remaining_never_goes_below_zero_and_a_fully_filled_order_is_gone():
    orders, order = tracked(count="5")

    orders.apply(fill("bid", "0.49", 3, fill_id="a"))
    orders.apply(fill("bid", "0.49", 3, fill_id="b"))

    assert order.remaining == 0
    assert order.gone and len(orders) == 0


@pytest.mark.parametrize("status", ["executed", "canceled"])
def test_a_terminal_status_removes_the_order(status):
    orders, order = tracked()

    orders.apply(updated("ex-1", "s-1", status=status, remaining="0"))

    assert order.gone and orders.find(TICKER, "ex-1") is None


def test_an_update_naming_an_earlier_client_id_does_not_revert_the_amended_terms():
    orders, order = tracked(count="5")
    orders.apply(amended(amend("s-1", "s-2", "0.46", "5")))  # the REST reply came first

    orders.apply(updated("ex-1", "s-1", price="0.49", remaining="5"))  # user_order from before it

    assert (order.client_order_id, order.price, order.count) == ("s-2", D("0.46"), D(5))


def test_an_update_while_an_amend_is_in_flight_keeps_the_terms_but_takes_the_filled():
    orders, order = tracked(count="5")
    order.pending = "amending"

    orders.apply(updated("ex-1", "s-1", price="0.47", filled="2", remaining="1"))

    assert (order.price, order.count, order.filled) == (D("0.49"), D(5), D(2))


def test_an_unknown_resting_order_is_adopted_only_when_the_owner_says_so():
    ours = OwnOrders(adopt=lambda event: event.client_order_id.startswith("s-"))

    adopted = ours.apply(updated("ex-9", "s-9", side="ask", price="0.60", filled="1", remaining="3"))
    ignored = ours.apply(updated("ex-8", "other-1", remaining="3"))

    assert ignored is None
    assert adopted is not None and adopted.adopted
    assert (adopted.side, adopted.price, adopted.count, adopted.filled) == ("ask", D("0.60"), D(4), D(1))


def test_an_order_confirmed_gone_is_not_adopted_back_by_a_stale_resting_report():
    orders, order = tracked(adopt=lambda event: True)
    orders.apply(cancelled("ex-1", "s-1"))

    assert orders.apply(updated("ex-1", "s-1", remaining="10")) is None
    assert len(orders) == 0


@pytest.mark.parametrize(
    ("code", "reason", "gone"),
    [
        ("invalid_order", "HTTP 400 invalid_order: invalid order (order is executed)", True),
        ("invalid_order", "HTTP 400 invalid_order: invalid order (order is canceled)", True),
        ("not_found", "HTTP 404 not_found: not found (order ex-1 not found)", True),
        ("invalid_order", "HTTP 400 invalid_order: invalid order (post only cross)", False),
        ("transport_error", "connection reset", False),
    ],
)
def test_a_cancel_refused_because_the_order_no_longer_rests_means_it_is_gone(code, reason, gone):
    cancel = CancelOrder(order_id="ex-1", client_order_id="s-1", ticker=TICKER, ts=T0)
    source = "transport" if code == "transport_error" else "exchange"

    assert refusal_means_gone(rejected(cancel, "cancel", code=code, source=source, reason=reason)) is gone


def test_a_refused_place_never_means_an_order_is_gone():
    refusal = rejected(place("s-1", "bid", "0.49", 5), "place", reason="order is executed")

    assert refusal_means_gone(refusal) is False


# -- an order is over only when the exchange says so, or its fills reach every total it may have


def test_an_order_still_resting_when_fills_reach_its_old_total_during_an_amend_is_kept():
    # a bid of 5, 1 filled, amended to a total of 6; the exchange applies the amend, 4 more
    # fill, and its user_order (naming the amend's new client id) beats the REST reply
    orders, order = tracked(count="5", price="0.45")
    orders.apply(fill("bid", "0.45", 1, fill_id="a"))
    order.pending, order.amend_to = "amending", (D("0.45"), D(6))

    orders.apply(updated("ex-1", "s-2", price="0.45", filled="5", remaining="1"))
    still_tracked = orders.find(TICKER, "ex-1")
    orders.apply(amended(amend("s-1", "s-2", "0.45", "6"), filled="5"))

    assert still_tracked is order and not order.gone
    assert (order.client_order_id, order.count, order.filled, order.remaining) == ("s-2", D(6), D(5), D(1))


def test_fills_reaching_the_old_total_do_not_end_an_order_an_amend_in_flight_may_have_raised():
    orders, order = tracked(count="5")
    order.pending, order.amend_to = "amending", (D("0.49"), D(6))

    orders.apply(fill("bid", "0.49", 5, fill_id="a"))
    kept_while_in_flight = not order.gone
    orders.apply(amended(amend("s-1", "s-2", "0.49", "6"), filled="5"))

    assert kept_while_in_flight
    assert not order.gone and order.remaining == D(1)


def test_fills_reaching_every_total_the_order_may_have_end_it():
    orders, order = tracked(count="5")
    order.pending, order.amend_to = "amending", (D("0.49"), D(6))

    orders.apply(fill("bid", "0.49", 6, fill_id="a"))

    assert order.gone and len(orders) == 0


def test_a_refused_amend_leaves_an_order_whose_fills_reached_its_total_over():
    orders, order = tracked(count="5")
    order.start_amend(D("0.49"), D(6), "s-2")
    orders.apply(fill("bid", "0.49", 5, fill_id="a"))

    orders.amend_refused(order, rejected(amend("s-1", "s-2", "0.49", "6"), "amend", reason="post only cross"))

    assert order.gone and len(orders) == 0


def test_a_resting_report_with_contracts_left_keeps_the_order_whatever_our_counts_say():
    orders, order = tracked(count="5")
    order.pending = "amending"  # its terms are not taken from the report

    orders.apply(updated("ex-1", "s-1", filled="5", remaining="2"))

    assert not order.gone and orders.find(TICKER, "ex-1") is order


def amend_reply(amend_command, caused_fills="0", remaining=None):
    """The exchange's reply to an amend (amend-order-v2.md): `fill_count` counts only the
    contracts the amend itself filled (crossing the book), `remaining_count` what rests."""
    reply = amended(amend_command, filled=caused_fills)
    return replace(reply, remaining=D(remaining)) if remaining is not None else reply


@pytest.mark.parametrize("fill_seen", ["before the amend", "after the reply"])
def test_an_amend_of_a_partly_filled_order_keeps_its_total_whatever_the_reply_counts(fill_seen):
    # a bid of 5, 4 filled; the maker keeps 1 resting and moves it: amend to a total of 5
    # at 0.39. The reply counts no fill (the amend crossed nothing) and 1 remaining: the
    # order's total is still 5, not 0 + 1 (which the 4 filled would make "executed")
    orders, order = tracked(count="5", price="0.41")
    move = amend("s-1", "s-7", "0.39", "5")
    if fill_seen == "before the amend":
        orders.apply(fill("bid", "0.41", 4, fill_id="a"))
    order.start_amend(move.price, move.count, move.updated_client_order_id)

    orders.apply(amend_reply(move, caused_fills="0", remaining="1"))
    if fill_seen == "after the reply":
        orders.apply(fill("bid", "0.41", 4, fill_id="a"))

    assert not order.gone and orders.find(TICKER, "ex-1") is order
    assert (order.client_order_id, order.price, order.count, order.filled, order.remaining) == (
        "s-7", D("0.39"), D(5), D(4), D(1)
    )


def test_an_amend_reply_counts_as_filled_what_of_its_total_does_not_rest_before_the_fills_arrive():
    # the fills of the order (4 of 5) have not reached us when the amend's reply does: the
    # order is not taken for 5 resting (the maker would amend it to a total below its fills)
    orders, order = tracked(count="5", price="0.41")
    move = amend("s-1", "s-7", "0.39", "5")
    order.start_amend(move.price, move.count, move.updated_client_order_id)

    orders.apply(amend_reply(move, caused_fills="0", remaining="1"))
    before_the_fills = (order.filled, order.remaining)
    orders.apply(fill("bid", "0.41", 4, fill_id="a"))

    assert before_the_fills == (D(4), D(1))
    assert (order.filled, order.remaining) == (D(4), D(1)) and not order.gone


def test_an_amend_reply_after_the_update_showing_it_applied_keeps_the_order():
    # the chaos campaign's sequence: fill, the user_order naming the amend's new client id
    # (terms taken), then the amend's REST reply counting no fill of its own
    orders, order = tracked(count="5", price="0.41")
    orders.apply(fill("bid", "0.41", 4, fill_id="a"))
    move = amend("s-1", "s-7", "0.39", "5")
    order.start_amend(move.price, move.count, move.updated_client_order_id)

    orders.apply(updated("ex-1", "s-7", price="0.39", filled="4", remaining="1"))
    orders.apply(amend_reply(move, caused_fills="0", remaining="1"))

    assert not order.gone and len(orders) == 1
    assert (order.count, order.filled, order.remaining) == (D(5), D(4), D(1))


# -- what the exchange reports before the REST reply ----------------------------------------


def test_a_place_reported_live_before_its_reply_gets_its_exchange_id():
    orders = OwnOrders()
    order = orders.add(
        OwnOrder(
            ticker=TICKER, side="bid", client_order_id="s-1", order_id=None, price=D("0.49"), count=D(5), pending="placing"
        )
    )

    orders.apply(updated("ex-1", "s-1", remaining="5"))

    assert order.order_id == "ex-1"


def test_an_amend_whose_outcome_is_unknown_is_recognised_by_its_new_client_id():
    orders, order = tracked(count="5")
    order.start_amend(D("0.46"), D(5), "s-2")
    unknown = rejected(amend("s-1", "s-2", "0.46", "5"), "amend", code="outcome_unknown", source="transport")
    orders.amend_refused(order, unknown)
    still_counted = order.amend_to

    found_by_new_id = orders.find(TICKER, None, "s-2")
    orders.apply(updated("ex-1", "s-2", price="0.46", filled="0", remaining="5"))

    assert still_counted == (D("0.46"), D(5))
    assert found_by_new_id is order
    assert (order.client_order_id, order.price, order.amend_to) == ("s-2", D("0.46"), None)


@pytest.mark.parametrize(
    ("reason", "executed"),
    [
        ("HTTP 400 invalid_order: invalid order (order is executed)", True),
        ("HTTP 400 invalid_order: invalid order (order is canceled)", False),
        ("HTTP 400 invalid_order: invalid order (post only cross)", False),
    ],
)
def test_a_refusal_says_when_the_order_fully_executed(reason, executed):
    cancel = CancelOrder(order_id="ex-1", client_order_id="s-1", ticker=TICKER, ts=T0)

    assert refusal_means_executed(rejected(cancel, "cancel", reason=reason)) is executed
