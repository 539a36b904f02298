from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from actors.rest import ORDERS_PATH, InlineExecutor, KalshiRestClient, RestCallFinished, RestClientActor, TransportError
from messages import (
    AllOrdersCancelled,
    AmendOrder,
    BudgetRefillDue,
    CancelAllOrders,
    CancelOrder,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderRejected,
    PlaceOrder,
    RestReadCompleted,
    RestReadRequested,
)
from kernel.bus import post
from kernel.directory import Directory

from .fakes import FakeTransport, Recorder, order_object

D = Decimal
CREATED = (201, {"order_id": "ord-1", "client_order_id": "c-1", "fill_count": "0.00", "remaining_count": "5.00", "ts_ms": 1790000000500})


def place_order(n: int, ts: int) -> PlaceOrder:
    return PlaceOrder(client_order_id=f"c-{n}", ticker="KXTEST-26", side="bid", price=D("0.42"), count=D("5"), ts=ts, session_id="s-1")


@pytest.fixture
def readers():
    return Directory()


@pytest.fixture
def wiring(clock, bus, tracker, readers):
    def build(routes, *, write_capacity=100, executor=None):
        transport = FakeTransport(routes)
        client = KalshiRestClient(transport, max_attempts=2, backoff_base_s=0.1, backoff_cap_s=0.2, sleep=lambda s: None)
        rest = RestClientActor.start(
            clock=clock, bus=bus, tracker=tracker, client=client, executor=executor or InlineExecutor(),
            read_rate=200, read_capacity=400, write_rate=100, write_capacity=write_capacity, readers=readers,
        )  # fmt: skip
        recorder = Recorder.start(clock=clock, bus=bus, tracker=tracker)
        for kind in (OrderAccepted, OrderAmended, OrderRejected, OrderCancelled, AllOrdersCancelled):
            bus.subscribe(recorder, kind)
        return rest, recorder, transport

    return build


def deliver(ref, msg, tracker):
    post(ref, msg, tracker)
    assert tracker.wait_quiet(5)


def test_place_order_publishes_order_accepted_with_the_session_id(wiring, clock, tracker):
    rest, recorder, _ = wiring({("POST", ORDERS_PATH): [CREATED]})
    deliver(rest, place_order(1, clock.now_ns()), tracker)
    (accepted,) = recorder.proxy().received().get()
    assert isinstance(accepted, OrderAccepted)
    assert (accepted.order_id, accepted.client_order_id, accepted.session_id) == ("ord-1", "c-1", "s-1")
    assert accepted.ts_event == 1790000000500 * 1_000_000 and accepted.ts_recv == clock.now_ns()


def test_exchange_refusal_publishes_rejection_from_the_exchange(wiring, clock, tracker):
    rest, recorder, _ = wiring({("POST", ORDERS_PATH): [(400, {"error": {"code": "invalid_order", "message": "invalid order", "details": "post only cross"}})]})
    deliver(rest, place_order(1, clock.now_ns()), tracker)
    (rejected,) = recorder.proxy().received().get()
    assert (rejected.action, rejected.source, rejected.code, rejected.client_order_id) == ("place", "exchange", "invalid_order", "c-1")


def test_unreachable_exchange_publishes_rejection_from_the_transport(wiring, clock, tracker):
    rest, recorder, _ = wiring({("POST", ORDERS_PATH): [TransportError("refused")], ("GET", "/portfolio/orders"): [(200, {"orders": [], "cursor": ""})]})
    deliver(rest, place_order(1, clock.now_ns()), tracker)
    (rejected,) = recorder.proxy().received().get()
    assert (rejected.source, rejected.code) == ("transport", "transport_error")


def test_budget_shortfall_queues_the_order_until_the_refill_timer_fires(wiring, clock, tracker):
    rest, recorder, transport = wiring({("POST", ORDERS_PATH): [CREATED]}, write_capacity=10)
    deliver(rest, place_order(1, clock.now_ns()), tracker)
    deliver(rest, place_order(2, clock.now_ns()), tracker)
    assert len(transport.calls) == 1
    assert rest.proxy().get_status().get()["queued"]["write"] == 1
    assert clock.next_deadline() == clock.now_ns() + 100_000_000  # 10 tokens at 100/s
    assert clock.fire_next_due(clock.next_deadline())
    assert tracker.wait_quiet(5)
    assert len(transport.calls) == 2
    assert [m.client_order_id for m in recorder.proxy().received().get()] == ["c-1", "c-2"]


def test_a_cancel_is_sent_ahead_of_queued_creates(wiring, clock, tracker):
    rest, recorder, transport = wiring(
        {("POST", ORDERS_PATH): [CREATED], ("DELETE", f"{ORDERS_PATH}/ord-0"): [(200, {"order_id": "ord-0", "reduced_by": "5.00"})]},
        write_capacity=10,
    )
    for n in (1, 2, 3):
        post(rest, place_order(n, clock.now_ns()), tracker)
    assert tracker.wait_quiet(5)
    clock.advance_to(clock.now_ns() + 100_000_000)  # 10 tokens: enough for the queued create...
    deliver(rest, CancelOrder(order_id="ord-0", client_order_id="c-0", ticker="KXTEST-26", ts=clock.now_ns(), reason="requote"), tracker)
    assert [c[0] for c in transport.calls] == ["POST", "DELETE"]  # ...but the cancel goes first
    assert rest.proxy().get_status().get()["queued"]["write"] == 2
    cancelled = recorder.proxy().received().get()[-1]
    assert isinstance(cancelled, OrderCancelled) and cancelled.reduced_by == D("5") and cancelled.reason == "requote"


def test_read_request_replies_to_the_requester_with_every_page(wiring, readers, clock, bus, tracker):
    rest, _, _ = wiring({("GET", "/markets"): [(200, {"markets": [{"ticker": "A"}], "cursor": "n"}), (200, {"markets": [{"ticker": "B"}], "cursor": ""})]})
    requester = Recorder.start(clock=clock, bus=bus, tracker=tracker)
    readers.register("scanner", requester)
    deliver(rest, RestReadRequested(request_id="r-1", path="/markets", query=(("status", "open"),), reply_to="scanner", ts=clock.now_ns(), all_pages=True, list_key="markets"), tracker)
    (reply,) = requester.proxy().received().get()
    assert isinstance(reply, RestReadCompleted)
    assert (reply.request_id, reply.status, reply.error) == ("r-1", 200, "")
    assert [m["ticker"] for m in reply.body["markets"]] == ["A", "B"]


def test_read_reply_goes_to_the_reader_its_request_names(wiring, readers, clock, bus, tracker):
    rest, _, _ = wiring({("GET", "/portfolio/balance"): [(200, {"balance": 5000})]})
    scanner, supervisor = (Recorder.start(clock=clock, bus=bus, tracker=tracker) for _ in range(2))
    readers.register("scanner", scanner)
    readers.register("supervisor", supervisor)
    deliver(rest, RestReadRequested(request_id="b-1", path="/portfolio/balance", query=(), reply_to="supervisor", ts=clock.now_ns()), tracker)
    assert not scanner.proxy().received().get()
    (reply,) = supervisor.proxy().received().get()
    assert reply.request_id == "b-1" and reply.body["balance"] == 5000


def test_read_reply_body_is_frozen_json(wiring, readers, clock, bus, tracker):
    rest, _, _ = wiring({("GET", "/markets"): [(200, {"markets": [{"ticker": "A"}], "cursor": ""})]})
    requester = Recorder.start(clock=clock, bus=bus, tracker=tracker)
    readers.register("scanner", requester)
    deliver(rest, RestReadRequested(request_id="r-1", path="/markets", query=(), reply_to="scanner", ts=clock.now_ns(), all_pages=True, list_key="markets"), tracker)
    (reply,) = requester.proxy().received().get()
    assert isinstance(reply.body["markets"], tuple)
    with pytest.raises(TypeError):
        reply.body["markets"][0]["ticker"] = "B"  # type: ignore[index]


def test_reply_to_a_reader_that_is_gone_is_counted_and_the_client_carries_on(wiring, readers, clock, bus, tracker):
    rest, _, _ = wiring({("GET", "/portfolio/fills"): [(200, {"fills": [], "cursor": ""})] * 2})
    maker = Recorder.start(clock=clock, bus=bus, tracker=tracker)
    readers.register("maker:s-1", maker)
    maker.stop()  # its session ended before the fill read came back
    fills = RestReadRequested(request_id="f-1", path="/portfolio/fills", query=(), reply_to="maker:s-1", ts=clock.now_ns(), all_pages=True, list_key="fills")
    deliver(rest, fills, tracker)
    deliver(rest, RestReadRequested(request_id="f-2", path="/portfolio/fills", query=(), reply_to="nobody", ts=clock.now_ns(), all_pages=True, list_key="fills"), tracker)
    status = rest.proxy().get_status().get()
    assert status["errors"] == {"reply_reader_gone": 2}
    assert rest.is_alive() and status["completed"] == 2


def test_failed_read_replies_with_the_status_and_error(wiring, readers, clock, bus, tracker):
    rest, _, _ = wiring({("GET", "/markets/NOPE"): [(404, {"error": {"code": "not_found", "message": "market not found"}})]})
    requester = Recorder.start(clock=clock, bus=bus, tracker=tracker)
    readers.register("scanner", requester)
    deliver(rest, RestReadRequested(request_id="r-2", path="/markets/NOPE", query=(), reply_to="scanner", ts=clock.now_ns()), tracker)
    (reply,) = requester.proxy().received().get()
    assert reply.status == 404 and "not_found" in reply.error


def test_cancel_all_publishes_counts_confirmed_by_read_back(wiring, clock, tracker):
    rest, recorder, _ = wiring(
        {
            ("GET", "/portfolio/orders"): [(200, {"orders": [order_object()], "cursor": ""}), (200, {"orders": [], "cursor": ""})],
            ("DELETE", f"{ORDERS_PATH}/batched"): [(200, {"orders": [{"order_id": "ord-1", "reduced_by": "5.00"}]})],
        }
    )
    deliver(rest, CancelAllOrders(reason="kill switch", ts=clock.now_ns()), tracker)
    (done,) = recorder.proxy().received().get()
    assert (done.reason, done.cancelled, done.still_resting) == ("kill switch", 1, 0)


def test_status_reports_requests_rejections_queue_and_tokens(wiring, clock, tracker):
    rest, _, _ = wiring({("POST", ORDERS_PATH): [(400, {"error": {"code": "invalid_order", "message": "x"}})]}, write_capacity=10)
    deliver(rest, place_order(1, clock.now_ns()), tracker)
    deliver(rest, place_order(2, clock.now_ns()), tracker)
    status = rest.proxy().get_status().get()
    assert (status["sent"], status["rejected"], status["queued"]["write"], status["queued_total"]) == (1, 1, 1, 1)
    assert status["tokens"] == {"read": 400, "write": 0}


def test_live_thread_pool_results_come_back_through_the_inbox(wiring, clock, tracker):
    with ThreadPoolExecutor(max_workers=2) as pool:
        rest, recorder, _ = wiring({("POST", ORDERS_PATH): [CREATED]}, executor=pool)
        deliver(rest, place_order(1, clock.now_ns()), tracker)
        assert isinstance(recorder.proxy().received().get()[0], OrderAccepted)


def test_amend_publishes_order_amended_with_both_client_ids(wiring, clock, tracker):
    rest, recorder, _ = wiring({("POST", f"{ORDERS_PATH}/ord-1/amend"): [(200, {"order_id": "ord-1", "client_order_id": "c-2", "fill_count": "1.00", "remaining_count": "6.00", "ts_ms": 7})]})
    deliver(rest, AmendOrder(order_id="ord-1", client_order_id="c-1", updated_client_order_id="c-2", ticker="KXTEST-26", side="ask", price=D("0.58"), count=D("7"), ts=clock.now_ns(), session_id="s-1"), tracker)
    (amended,) = recorder.proxy().received().get()
    assert isinstance(amended, OrderAmended)
    assert (amended.client_order_id, amended.previous_client_order_id, amended.count, amended.filled, amended.remaining) == ("c-2", "c-1", D("7"), D("1"), D("6"))


def test_refused_cancel_publishes_a_cancel_rejection(wiring, clock, tracker):
    rest, recorder, _ = wiring({("DELETE", f"{ORDERS_PATH}/ord-1"): [(400, {"error": {"code": "MARKET_INACTIVE", "message": "market closed"}})]})
    deliver(rest, CancelOrder(order_id="ord-1", client_order_id="c-1", ticker="KXTEST-26", ts=clock.now_ns(), session_id="s-1"), tracker)
    (rejected,) = recorder.proxy().received().get()
    assert (rejected.action, rejected.order_id, rejected.code, rejected.side, rejected.session_id) == ("cancel", "ord-1", "MARKET_INACTIVE", None, "s-1")


def test_a_risk_refusal_is_published_in_order_behind_the_outcome_of_the_command_before_it(wiring, clock, tracker):
    rest, recorder, transport = wiring({("POST", ORDERS_PATH): [CREATED]})
    refusal = OrderRejected(
        action="place", client_order_id="c-2", order_id=None, ticker="KXTEST-26", side="ask",
        price=D("0.58"), count=D("500"), source="risk", code="order_too_large", reason="too big",
        ts_recv=clock.now_ns(), session_id="s-1",
    )
    post(rest, place_order(1, clock.now_ns()), tracker)
    deliver(rest, refusal, tracker)
    accepted, relayed = recorder.proxy().received().get()
    assert isinstance(accepted, OrderAccepted) and relayed == refusal
    assert len(transport.calls_to("POST", ORDERS_PATH)) == 1  # a refusal never reaches the exchange


def test_a_cancel_all_drops_the_tickers_writes_still_waiting_for_budget(wiring, clock, tracker):
    rest, recorder, transport = wiring(
        {
            ("POST", ORDERS_PATH): [CREATED],
            ("GET", "/portfolio/orders"): [(200, {"orders": [], "cursor": ""}), (200, {"orders": [], "cursor": ""})],
        },
        write_capacity=10,
    )
    deliver(rest, place_order(1, clock.now_ns()), tracker)  # sent: uses the whole bucket
    deliver(rest, place_order(2, clock.now_ns()), tracker)  # waits for budget
    deliver(rest, CancelAllOrders(reason="session ended", ts=clock.now_ns(), ticker="KXTEST-26"), tracker)
    while clock.fire_next_due(clock.now_ns() + 1_000_000_000):
        assert tracker.wait_quiet(5)

    assert len(transport.calls_to("POST", ORDERS_PATH)) == 1  # the queued place never went out
    outcomes = recorder.proxy().received().get()
    dropped = [m for m in outcomes if isinstance(m, OrderRejected)]
    assert [(m.client_order_id, m.source, m.code) for m in dropped] == [("c-2", "client", "dropped_by_cancel_all")]


def test_a_wake_up_that_is_not_the_armed_timer_is_ignored(wiring, clock, tracker):
    rest, _, transport = wiring({("POST", ORDERS_PATH): [CREATED]}, write_capacity=10)
    deliver(rest, place_order(1, clock.now_ns()), tracker)
    deliver(rest, place_order(2, clock.now_ns()), tracker)
    clock.advance_to(clock.now_ns() + 100_000_000)
    deliver(rest, BudgetRefillDue(ts=clock.now_ns()), tracker)  # a stale copy, not the armed one
    assert len(transport.calls) == 1
    assert rest.proxy().get_status().get()["queued"]["write"] == 1


def test_a_result_for_a_call_it_never_started_is_counted_as_an_error(wiring, clock, tracker):
    rest, recorder, _ = wiring({})
    deliver(rest, RestCallFinished(job_id=99, result=None), tracker)
    assert rest.proxy().get_status().get()["errors"] == {"unknown_job": 1}
    assert recorder.proxy().received().get() == ()
