"""Batch endpoints: places (and cancels) a maker decides together are tagged with their
group; they pass the risk governor one by one and the REST client sends each group as
one V2 batch call, mapping per-item results back to the usual order events."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from actors.maker import OrderManager
from actors.rest import ORDERS_PATH, CreateItem, InlineExecutor, KalshiRestClient, LoopbackTransport, RestClientActor
from messages import (
    AmendOrder,
    CancelAllOrders,
    CancelOrder,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderRejected,
    PlaceOrder,
    rejection_of,
)
from kernel.bus import Bus, InFlightTracker, post
from kernel.clock import ReplayClock
from tests.connectivity.fakes import FakeTransport, Recorder

from .factories import T0 as BOOK_T0
from .ledger_desk import deliver as through_ledger
from .factories import accepted, book_view

START = 1_790_000_000_000_000_000
TICKER = "KXTEST-26"
BATCHED = f"{ORDERS_PATH}/batched"
GATHER_NS = 2_000_000


@pytest.fixture
def tracker():
    return InFlightTracker()


@pytest.fixture
def clock(tracker):
    return ReplayClock(START, tracker=tracker)


@pytest.fixture
def bus(tracker):
    return Bus(tracker)


@pytest.fixture
def wiring(clock, bus, tracker):
    def build(routes, *, write_capacity=100, transport=None):
        transport = transport or FakeTransport(routes)
        client = KalshiRestClient(transport, max_attempts=2, backoff_base_s=0.1, backoff_cap_s=0.2, sleep=lambda s: None)
        rest = RestClientActor.start(
            clock=clock, bus=bus, tracker=tracker, client=client, executor=InlineExecutor(),
            read_rate=200, read_capacity=400, write_rate=100, write_capacity=write_capacity,
            batch_gather_ns=GATHER_NS,
        )  # fmt: skip
        recorder = Recorder.start(clock=clock, bus=bus, tracker=tracker)
        for kind in (OrderAccepted, OrderAmended, OrderRejected, OrderCancelled):
            bus.subscribe(recorder, kind)
        return rest, recorder, transport

    return build


def places(n: int, ts: int, batch: bool = True) -> list[PlaceOrder]:
    ids = tuple(f"s-{i}" for i in range(1, n + 1))
    return [
        PlaceOrder(
            client_order_id=cid, ticker=TICKER, side="bid", price=D("0.40") - D("0.01") * i, count=D(5), ts=ts,
            session_id="s", batch=ids if batch else (),
        )
        for i, cid in enumerate(ids)
    ]


def created(*ids: str) -> tuple:
    return 201, {"orders": [
        {"order_id": f"ord-{cid}", "client_order_id": cid, "fill_count": "0.00", "remaining_count": "5.00", "ts_ms": 1790000000500}
        for cid in ids
    ]}  # fmt: skip


def deliver(rest, tracker, *messages):
    for message in messages:
        post(rest, message, tracker)
    assert tracker.wait_quiet(5)


# -- the maker tags what it decides together ----------------------------------------


def test_the_order_manager_tags_places_and_cancels_decided_together_with_their_group():
    manager = OrderManager(ticker=TICKER, session_id="s", keep_within=D("0.01"), retry_after_ns=10**9)
    book = book_view(bids=(("0.45", 10),), asks=(("0.55", 10),), ticker=TICKER)

    bid, ask = manager.reconcile({"bid": (D("0.49"), D(5)), "ask": (D("0.51"), D(5))}, book, BOOK_T0)
    assert bid.batch == ask.batch == ("s-1", "s-2")
    through_ledger(manager, accepted(bid, "ex-1"), BOOK_T0)
    through_ledger(manager, accepted(ask, "ex-2"), BOOK_T0)

    cancels = manager.cancel_all(BOOK_T0, "stop")
    assert [(type(c), c.batch) for c in cancels] == [(CancelOrder, ("s-1", "s-2"))] * 2


def test_a_single_change_is_not_tagged():
    manager = OrderManager(ticker=TICKER, session_id="s", keep_within=D("0.01"), retry_after_ns=10**9)
    book = book_view(bids=(("0.45", 10),), asks=(("0.55", 10),), ticker=TICKER)

    (bid,) = manager.reconcile({"bid": (D("0.49"), D(5)), "ask": None}, book, BOOK_T0)

    assert bid.batch == ()


# -- the REST client sends the group as one batch -----------------------------------


def test_a_group_of_places_goes_as_one_batch_create_with_an_accept_per_item(wiring, clock, tracker):
    rest, recorder, transport = wiring({("POST", BATCHED): [created("s-1", "s-2", "s-3")]})

    deliver(rest, tracker, *places(3, clock.now_ns()))

    (call,) = transport.calls
    assert call[:2] == ("POST", BATCHED)
    assert [item["client_order_id"] for item in call[3]["orders"]] == ["s-1", "s-2", "s-3"]
    assert all(item["post_only"] for item in call[3]["orders"])
    events = recorder.proxy().received().get()
    assert [(type(e), e.client_order_id, e.order_id) for e in events] == [
        (OrderAccepted, f"s-{i}", f"ord-s-{i}") for i in (1, 2, 3)
    ]
    status = rest.proxy().get_status().get()
    assert (status["batches_sent"], status["batched_items"], status["tokens"]["write"]) == (1, 3, 70)  # 10 per item


def test_an_item_the_exchange_refuses_is_rejected_alone(wiring, clock, tracker):
    refused = {"client_order_id": "s-2", "error": {"code": "invalid_order", "message": "post only cross"}}
    reply = created("s-1", "s-3")
    reply[1]["orders"].insert(1, refused)
    rest, recorder, _ = wiring({("POST", BATCHED): [reply]})

    deliver(rest, tracker, *places(3, clock.now_ns()))

    events = recorder.proxy().received().get()
    assert [(type(e).__name__, e.client_order_id) for e in events] == [
        ("OrderAccepted", "s-1"), ("OrderRejected", "s-2"), ("OrderAccepted", "s-3"),
    ]
    assert (events[1].action, events[1].source, events[1].code) == ("place", "exchange", "invalid_order")


def test_an_item_refused_by_risk_completes_the_group_without_it(wiring, clock, tracker):
    rest, recorder, transport = wiring({("POST", BATCHED): [created("s-1", "s-3")]})
    first, second, third = places(3, clock.now_ns())
    refusal = rejection_of(second, source="risk", code="max_position", reason="too long", ts_recv=clock.now_ns())

    deliver(rest, tracker, first, refusal, third)  # as the risk governor forwards them

    (call,) = transport.calls
    assert [item["client_order_id"] for item in call[3]["orders"]] == ["s-1", "s-3"]
    events = recorder.proxy().received().get()
    assert [(type(e).__name__, e.client_order_id) for e in events] == [
        ("OrderRejected", "s-2"), ("OrderAccepted", "s-1"), ("OrderAccepted", "s-3"),
    ]


def test_a_group_left_with_one_item_after_risk_goes_as_a_single_create(wiring, clock, tracker):
    single = (201, {"order_id": "ord-1", "client_order_id": "s-1", "fill_count": "0", "remaining_count": "5", "ts_ms": 1})
    rest, recorder, transport = wiring({("POST", ORDERS_PATH): [single]})
    first, second = places(2, clock.now_ns())

    deliver(rest, tracker, first, rejection_of(second, source="risk", code="x", reason="no", ts_recv=clock.now_ns()))

    assert [c[:2] for c in transport.calls] == [("POST", ORDERS_PATH)]


def test_a_group_whose_last_item_never_comes_is_sent_after_the_gather_time(wiring, clock, tracker):
    rest, recorder, transport = wiring({("POST", BATCHED): [created("s-1", "s-2")]})
    deliver(rest, tracker, *places(3, clock.now_ns())[:2])
    assert transport.calls == []

    assert clock.fire_next_due(clock.now_ns() + GATHER_NS)
    assert tracker.wait_quiet(5)

    assert [item["client_order_id"] for item in transport.calls[0][3]["orders"]] == ["s-1", "s-2"]
    assert [e.client_order_id for e in recorder.proxy().received().get()] == ["s-1", "s-2"]


def test_a_group_larger_than_the_write_bucket_holds_is_sent_in_chunks(wiring, clock, tracker):
    transport = FakeTransport({("POST", BATCHED): [created("s-1", "s-2"), created("s-3", "s-4")]})
    rest, recorder, _ = wiring({}, write_capacity=20, transport=transport)  # 2 creates at once

    deliver(rest, tracker, *places(4, clock.now_ns()))
    assert len(transport.calls) == 1 and rest.proxy().get_status().get()["queued"]["write"] == 1
    assert clock.fire_next_due(clock.next_deadline())  # the budget refills
    assert tracker.wait_quiet(5)

    assert [[i["client_order_id"] for i in c[3]["orders"]] for c in transport.calls] == [["s-1", "s-2"], ["s-3", "s-4"]]
    assert [e.client_order_id for e in recorder.proxy().received().get()] == ["s-1", "s-2", "s-3", "s-4"]


def test_a_group_of_cancels_goes_as_one_batch_cancel_with_a_cancel_event_per_item(wiring, clock, tracker):
    reply = (200, {"orders": [{"order_id": "ex-1", "reduced_by": "5.00"}, {"order_id": "ex-2", "reduced_by": "3.00"}]})
    rest, recorder, transport = wiring({("DELETE", BATCHED): [reply]})
    ids = ("s-1", "s-2")
    cancels = [
        CancelOrder(order_id=f"ex-{n}", client_order_id=f"s-{n}", ticker=TICKER, ts=clock.now_ns(), reason="stop", batch=ids)
        for n in (1, 2)
    ]

    deliver(rest, tracker, *cancels)

    (call,) = transport.calls
    assert call[3] == {"orders": [{"order_id": "ex-1", "market_ticker": TICKER}, {"order_id": "ex-2", "market_ticker": TICKER}]}
    events = recorder.proxy().received().get()
    assert [(type(e), e.client_order_id, e.reduced_by, e.reason) for e in events] == [
        (OrderCancelled, "s-1", D(5), "stop"), (OrderCancelled, "s-2", D(3), "stop"),
    ]
    assert rest.proxy().get_status().get()["tokens"]["write"] == 96  # 2 per cancel item


def test_a_cancel_all_drops_gathered_places_of_its_market(wiring, clock, tracker):
    rest, recorder, transport = wiring({("GET", "/portfolio/orders"): [(200, {"orders": [], "cursor": ""})]})
    deliver(rest, tracker, *places(3, clock.now_ns())[:2])

    deliver(rest, tracker, CancelAllOrders(reason="kill", ts=clock.now_ns(), ticker=TICKER))

    assert not any(c[1] == BATCHED and c[0] == "POST" for c in transport.calls)
    dropped = [e for e in recorder.proxy().received().get() if isinstance(e, OrderRejected)]
    assert [(e.client_order_id, e.code) for e in dropped] == [("s-1", "dropped_by_cancel_all"), ("s-2", "dropped_by_cancel_all")]


def test_a_batch_refused_as_a_whole_is_sent_again_one_order_at_a_time(wiring, clock, tracker):
    one = (201, {"order_id": "ord-x", "fill_count": "0", "remaining_count": "5", "ts_ms": 1})
    rest, recorder, transport = wiring({
        ("POST", BATCHED): [(404, {"error": {"code": "not_found", "message": "no batch here"}})],
        ("POST", ORDERS_PATH): [one],
    })  # fmt: skip

    deliver(rest, tracker, *places(2, clock.now_ns()))

    assert [c[:2] for c in transport.calls] == [("POST", BATCHED), ("POST", ORDERS_PATH), ("POST", ORDERS_PATH)]
    assert [type(e) for e in recorder.proxy().received().get()] == [OrderAccepted, OrderAccepted]


def test_amends_are_never_gathered(wiring, clock, tracker):
    reply = (200, {"order_id": "ex-1", "client_order_id": "s-9", "fill_count": "0", "remaining_count": "5", "ts_ms": 1})
    rest, recorder, transport = wiring({("POST", f"{ORDERS_PATH}/ex-1/amend"): [reply]})
    amend = AmendOrder(
        order_id="ex-1", client_order_id="s-1", updated_client_order_id="s-9", ticker=TICKER, side="bid",
        price=D("0.41"), count=D(5), ts=clock.now_ns(),
    )

    deliver(rest, tracker, amend)

    assert len(transport.calls) == 1


# -- through the simulated exchange ---------------------------------------------------

simex = pytest.importorskip("simex")


def test_a_ladder_batch_round_trips_through_the_simulated_exchange(wiring, clock, tracker):
    exchange = simex.build_default_exchange(seed=7, now_ns=clock.now_ns)
    exchange.register_account("mmd-test", 100_000_00)
    clock.advance_to(clock.now_ns() + 5_000_000_000)
    exchange.advance(clock.now_ns())
    ticker = simex.DEFAULT_MARKET.ticker
    rest, recorder, _ = wiring({}, transport=LoopbackTransport(exchange, "mmd-test"))
    ids = ("mmd-b-1", "mmd-b-2")
    group = [
        PlaceOrder(client_order_id=cid, ticker=ticker, side="bid", price=price, count=D(2), ts=clock.now_ns(), batch=ids)
        for cid, price in zip(ids, (D("0.03"), D("0.02")))
    ]

    deliver(rest, tracker, *group)
    accepted_ = recorder.proxy().received().get()
    cancels = [
        CancelOrder(order_id=e.order_id, client_order_id=e.client_order_id, ticker=ticker, ts=clock.now_ns(), batch=ids)
        for e in accepted_
    ]
    deliver(rest, tracker, *cancels)

    events = recorder.proxy().received().get()
    assert [(type(e).__name__, e.client_order_id) for e in events] == [
        ("OrderAccepted", "mmd-b-1"), ("OrderAccepted", "mmd-b-2"),
        ("OrderCancelled", "mmd-b-1"), ("OrderCancelled", "mmd-b-2"),
    ]
    assert [e.reduced_by for e in events[2:]] == [D(2), D(2)]
    assert rest.proxy().get_status().get()["batches_sent"] == 2


def test_the_client_batch_create_maps_items_in_order():
    transport = FakeTransport({("POST", BATCHED): [created("a", "b")]})
    client = KalshiRestClient(transport, max_attempts=1, backoff_base_s=0.1, backoff_cap_s=0.2, sleep=lambda s: None)

    results = client.batch_create([CreateItem(TICKER, "bid", D("0.40"), D(5), "a"), CreateItem(TICKER, "ask", D("0.60"), D(5), "b")])

    assert [(r.order_id, r.client_order_id, r.remaining) for r in results] == [("ord-a", "a", D(5)), ("ord-b", "b", D(5))]
