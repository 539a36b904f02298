"""Found by the chaos storms phase (slow answers past the REST timeout): a create retried with
the same client order id can reach the exchange after the first order it made was cancelled.
Kalshi (and simex) refuse a client order id only while an order with it is live, so that
late attempt makes a SECOND order, with a new exchange order id. Nobody tracked it: it rested
beside the side's ladder (4 bids where 3 are allowed) until it filled, 45 s later.

What must happen: an order of ours the exchange reports resting under an exchange id we never
closed is a new order, even when its client id belongs to a closed one; it is adopted (and the
maker then cancels it as an adopted stray). A stale event about the closed order itself (same
exchange id) must still not adopt it back. When an amend has renamed the first order, the
second is tracked beside it and is still the session's: its maker cancels it.
"""

from __future__ import annotations

from decimal import Decimal

from actors.ledger._own_orders import OwnOrders
from actors.maker import OrderManager
from messages import CancelOrder, OrderAccepted, OrderAmended, OrderCancelled, OrderUpdated
from tests.trading.factories import T0, book_view, updated
from tests.trading.factories import TICKER as MARKET
from tests.trading.factories import accepted as accepted_place
from tests.trading.factories import amended as amend_acknowledged
from tests.trading.ledger_desk import deliver, ledger_of

TICKER = "KXFED-26DEC-T4.00"
CLIENT_ID = "mmd-run-1-s1-79"


def accepted(order_id: str) -> OrderAccepted:
    return OrderAccepted(client_order_id=CLIENT_ID, order_id=order_id, ticker=TICKER, side="bid",
                         price=Decimal("0.39"), count=Decimal(5), filled=Decimal(0), remaining=Decimal(5),
                         ts_event=1, ts_recv=1)


def cancelled(order_id: str) -> OrderCancelled:
    return OrderCancelled(order_id=order_id, client_order_id=CLIENT_ID, ticker=TICKER, reduced_by=Decimal(5),
                          reason="not quoting this side", ts_event=2, ts_recv=2)


def resting(order_id: str) -> OrderUpdated:
    return OrderUpdated(order_id=order_id, client_order_id=CLIENT_ID, ticker=TICKER, side="bid",
                        price=Decimal("0.39"), status="resting", filled=Decimal(0), remaining=Decimal(5),
                        initial=Decimal(5), reason="", ts_event=3, ts_recv=3)


def book_with_the_first_order_cancelled() -> OwnOrders:
    book = OwnOrders(adopt=lambda event: event.client_order_id.startswith("mmd-run-1-s1-"))
    assert book.apply(accepted("first")) is not None  # adopted here: the place's own tracking is the maker's
    book.apply(cancelled("first"))
    assert book.of_ticker(TICKER) == []
    return book


def test_a_stale_resting_event_of_the_cancelled_order_does_not_bring_it_back():
    book = book_with_the_first_order_cancelled()
    assert book.apply(resting("first")) is None
    assert book.of_ticker(TICKER) == []


def test_a_second_order_a_late_create_retry_made_under_the_same_client_id_is_adopted():
    book = book_with_the_first_order_cancelled()
    order = book.apply(resting("second"))
    assert order is not None and order.order_id == "second" and order.adopted
    assert [o.order_id for o in book.of_ticker(TICKER)] == ["second"]


def amended(order_id: str, new_client_id: str) -> OrderAmended:
    return OrderAmended(order_id=order_id, client_order_id=new_client_id, previous_client_order_id=CLIENT_ID,
                        ticker=TICKER, side="bid", price=Decimal("0.40"), count=Decimal(5), filled=Decimal(0),
                        remaining=Decimal(5), ts_event=2, ts_recv=2)


def test_a_second_order_landing_after_the_first_was_renamed_by_an_amend_is_tracked_beside_it():
    # Found by the storms phase: a batch create answered past the timeout was retried; the
    # first attempt's orders were amended (renamed) before the retry landed, so the exchange
    # made second orders under the old client ids. Keyed alike, the maker saw one of each
    # pair, moved the duplicate as its own and never cancelled the original (6 asks of 3).
    book = OwnOrders(adopt=lambda event: event.client_order_id.startswith("mmd-run-1-s1-"))
    first = book.apply(accepted("first"))
    book.apply(amended("first", "mmd-run-1-s1-83"))
    second = book.apply(resting("second"))

    assert second is not None and second.adopted and second is not first
    assert {o.order_id for o in book.of_ticker(TICKER)} == {"first", "second"}
    assert first.key != second.key


def test_the_maker_cancels_a_second_order_that_landed_after_an_amend_renamed_the_first():
    # Found by the full storms phase: the ledger tracked the late second order beside the first
    # (key `client id@exchange id`), but read its session from that key, whose tail is no
    # sequence number: the order belonged to no session, so no maker saw it and it rested
    # untracked until shutdown (5 asks where 3 are allowed, 67 samples).
    manager = OrderManager(ticker=MARKET, session_id="mmd-run-1-s1", keep_within=Decimal("0.01"),
                           retry_after_ns=1_000_000_000)
    book = book_view(bids=(("0.45", 10),), asks=(("0.55", 10),))
    want = {"bid": (Decimal("0.49"), Decimal(5)), "ask": None}
    [place] = manager.reconcile(want, book, T0)
    deliver(manager, accepted_place(place, "first"), T0)
    [amend] = manager.reconcile({"bid": (Decimal("0.46"), Decimal(5)), "ask": None}, book, T0)
    deliver(manager, amend_acknowledged(amend), T0)

    deliver(manager, updated("second", place.client_order_id, price="0.49"), T0)  # the late create retry

    (second,) = [v for v in ledger_of(manager).changed(MARKET, None, None, T0).orders if v.order_id == "second"]
    assert second.owner == "mmd-run-1-s1"
    commands = manager.reconcile({"bid": (Decimal("0.46"), Decimal(5)), "ask": None}, book, T0)
    assert [(type(c), c.order_id) for c in commands] == [(CancelOrder, "second")]
    assert manager.order("bid").order_id == "first"
