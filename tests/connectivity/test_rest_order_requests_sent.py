"""Every order write the REST client hands to its transport is announced once, with the
timestamps the latency metrics need (decided, sent, and the market data behind it)."""

from __future__ import annotations

from decimal import Decimal

from actors.rest._batches import BatchCall
from actors.rest._outcomes import requests_sent
from messages import AmendOrder, CancelOrder, PlaceOrder, RestReadRequested

TICKER = "KXTEST-26DEC31-T50"


def place(n: int, trigger: int = 0) -> PlaceOrder:
    return PlaceOrder(client_order_id=f"mmd-r-s1-{n}", ticker=TICKER, side="bid", price=Decimal("0.40"),
                      count=Decimal("5"), ts=100 + n, session_id="s1", trigger_ts_recv=trigger)


def test_a_place_decided_on_a_book_update_carries_that_updates_receive_time():
    [sent] = requests_sent(place(1, trigger=90), now_ns=150)
    assert (sent.action, sent.client_order_id, sent.decided_ts, sent.ts, sent.trigger_ts_recv) == (
        "place", "mmd-r-s1-1", 101, 150, 90,
    )


def test_a_batch_announces_each_of_its_writes_in_order():
    sent = requests_sent(BatchCall(action="place", commands=(place(1), place(2))), now_ns=150)
    assert [s.client_order_id for s in sent] == ["mmd-r-s1-1", "mmd-r-s1-2"]


def test_amends_and_cancels_are_announced_and_reads_are_not():
    amend = AmendOrder(order_id="o1", client_order_id="c1", updated_client_order_id="c2", ticker=TICKER, side="bid",
                       price=Decimal("0.41"), count=Decimal("5"), ts=7, trigger_ts_recv=5)
    cancel = CancelOrder(order_id="o1", client_order_id="c2", ticker=TICKER, ts=8)
    read = RestReadRequested(request_id="r", path="/markets", query=(), reply_to="scanner", ts=9)
    assert [(s.action, s.trigger_ts_recv) for s in requests_sent(amend, 10) + requests_sent(cancel, 11)] == [
        ("amend", 5), ("cancel", 0),
    ]
    assert requests_sent(read, 12) == []
