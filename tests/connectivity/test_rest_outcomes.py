"""Outcome translation: every kind of REST reply, as the messages it becomes and for whom.

Each case runs the command's real client call against a scripted transport (no threads,
no actors) and translates what came back."""

from decimal import Decimal as D

import pytest

from actors.rest import ORDERS_PATH, BatchCall, KalshiRestClient, TransportError
from actors.rest._calls import call_for, finished_call
from actors.rest._effects import ReportFailure
from actors.rest._outcomes import dropped_by_cancel_all, outcome_effects
from kernel.effects import Publish, Send
from messages import (
    AllOrdersCancelled,
    AmendOrder,
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

from .fakes import FakeTransport, order_object

NOW = 1_790_000_000_000_000_000
TICKER = "KXTEST-26"
BATCHED = f"{ORDERS_PATH}/batched"
CREATED = (201, {"order_id": "ord-1", "client_order_id": "mmd-run1-1", "fill_count": "0.00", "remaining_count": "5.00", "ts_ms": 1790000000500})
SERVER_ERROR = (503, {"error": {"code": "service_unavailable", "message": "try again"}})
ORDERS = ("GET", "/portfolio/orders")


def place(client_order_id: str = "mmd-run1-1", **terms) -> PlaceOrder:
    return PlaceOrder(
        client_order_id=client_order_id, ticker=TICKER, side="bid", price=D("0.42"), count=D(5), ts=NOW, session_id="s-1", **terms
    )


def cancel(order_id: str = "ord-1", client_order_id: str = "mmd-run1-1") -> CancelOrder:
    return CancelOrder(order_id=order_id, client_order_id=client_order_id, ticker=TICKER, ts=NOW, reason="requote", session_id="s-1")


def outcome(routes: dict, command, max_attempts: int = 2) -> list:
    client = KalshiRestClient(FakeTransport(routes), max_attempts=max_attempts, backoff_base_s=0.1, backoff_cap_s=0.2, sleep=lambda s: None)
    done = finished_call(call_for(client, command), job_id=1)
    return outcome_effects(command, done.result, done.error, NOW)


def published(effects) -> list:
    return [e.message for e in effects if isinstance(e, Publish)]


def test_an_accepted_place_publishes_order_accepted_with_the_exchanges_time():
    (accepted,) = published(outcome({("POST", ORDERS_PATH): [CREATED]}, place()))
    assert isinstance(accepted, OrderAccepted)
    assert (accepted.order_id, accepted.client_order_id, accepted.session_id) == ("ord-1", "mmd-run1-1", "s-1")
    assert (accepted.filled, accepted.remaining) == (D(0), D(5))
    assert accepted.ts_event == 1790000000500 * 1_000_000 and accepted.ts_recv == NOW


def test_a_reply_without_a_time_is_stamped_with_the_time_it_came_back():
    thin = (201, {"order_id": "ord-1", "remaining_count": "5.00"})
    (accepted,) = published(outcome({("POST", ORDERS_PATH): [thin]}, place()))
    assert accepted.ts_event == NOW


def test_a_refused_place_is_rejected_by_the_exchange_with_its_code():
    refusal = (400, {"error": {"code": "invalid_order", "message": "invalid order", "details": "post only cross"}})
    (rejected,) = published(outcome({("POST", ORDERS_PATH): [refusal]}, place()))
    assert isinstance(rejected, OrderRejected)
    assert (rejected.action, rejected.source, rejected.code, rejected.client_order_id) == ("place", "exchange", "invalid_order", "mmd-run1-1")
    assert "post only cross" in rejected.reason


def test_a_duplicate_on_the_first_attempt_is_a_rejection_with_the_409_code():
    duplicate = (409, {"error": {"code": "order_already_exists", "message": "exists"}})
    (rejected,) = published(outcome({("POST", ORDERS_PATH): [duplicate]}, place()))
    assert (rejected.source, rejected.code) == ("exchange", "order_already_exists")


def test_a_duplicate_on_a_retry_is_our_own_earlier_attempt_and_is_accepted_as_read_back():
    routes = {("POST", ORDERS_PATH): [SERVER_ERROR, (409, {"error": {"code": "order_already_exists", "message": "exists"}})], ORDERS: [(200, {"orders": [order_object()], "cursor": ""})]}
    (accepted,) = published(outcome(routes, place()))
    assert isinstance(accepted, OrderAccepted) and accepted.order_id == "ord-1"


def test_an_unknown_outcome_settled_by_reading_back_is_accepted_with_the_orders_fills():
    found = order_object(order_id="ord-9", fill_count_fp="1.00", remaining_count_fp="4.00")
    routes = {("POST", ORDERS_PATH): [TransportError("read timed out")], ORDERS: [(200, {"orders": [found], "cursor": ""})]}
    (accepted,) = published(outcome(routes, place()))
    assert isinstance(accepted, OrderAccepted)
    assert (accepted.order_id, accepted.filled, accepted.remaining) == ("ord-9", D(1), D(4))


def test_an_unknown_outcome_the_read_back_does_not_find_was_not_placed():
    routes = {("POST", ORDERS_PATH): [TransportError("connection refused")], ORDERS: [(200, {"orders": [], "cursor": ""})]}
    (rejected,) = published(outcome(routes, place()))
    assert (rejected.source, rejected.code) == ("transport", "transport_error")


def test_an_outcome_the_read_back_cannot_settle_is_rejected_as_unknown():
    routes = {("POST", ORDERS_PATH): [TransportError("reset")], ORDERS: [TransportError("reset")]}
    (rejected,) = published(outcome(routes, place()))
    assert (rejected.source, rejected.code) == ("transport", "outcome_unknown")


def test_a_cancel_publishes_how_much_it_reduced_the_order_by():
    reply = (200, {"order_id": "ord-1", "client_order_id": "mmd-run1-1", "reduced_by": "3.00"})
    (cancelled,) = published(outcome({("DELETE", f"{ORDERS_PATH}/ord-1"): [reply]}, cancel()))
    assert isinstance(cancelled, OrderCancelled)
    assert (cancelled.reduced_by, cancelled.reason, cancelled.session_id) == (D(3), "requote", "s-1")


def test_a_cancel_without_our_client_id_takes_the_exchanges():
    reply = (200, {"order_id": "ord-1", "client_order_id": "mmd-run1-7", "reduced_by": "3.00"})
    (cancelled,) = published(outcome({("DELETE", f"{ORDERS_PATH}/ord-1"): [reply]}, cancel(client_order_id="")))
    assert cancelled.client_order_id == "mmd-run1-7"


def test_a_refused_cancel_is_a_cancel_rejection_without_terms():
    refusal = (400, {"error": {"code": "MARKET_INACTIVE", "message": "market closed"}})
    (rejected,) = published(outcome({("DELETE", f"{ORDERS_PATH}/ord-1"): [refusal]}, cancel()))
    assert (rejected.action, rejected.order_id, rejected.code, rejected.side, rejected.price) == ("cancel", "ord-1", "MARKET_INACTIVE", None, None)


def test_an_amend_publishes_order_amended_with_both_client_ids():
    reply = (200, {"order_id": "ord-1", "client_order_id": "c-2", "fill_count": "1.00", "remaining_count": "6.00", "ts_ms": 7})
    command = AmendOrder(order_id="ord-1", client_order_id="c-1", updated_client_order_id="c-2", ticker=TICKER, side="ask", price=D("0.58"), count=D(7), ts=NOW)
    (amended,) = published(outcome({("POST", f"{ORDERS_PATH}/ord-1/amend"): [reply]}, command))
    assert isinstance(amended, OrderAmended)
    assert (amended.client_order_id, amended.previous_client_order_id, amended.filled, amended.remaining) == ("c-2", "c-1", D(1), D(6))


def test_a_batch_create_publishes_one_event_per_item_in_order_with_its_own_error():
    items = (place("s-1"), place("s-2"), place("s-3"))
    reply = (201, {"orders": [
        {"order_id": "o-1", "client_order_id": "s-1", "remaining_count": "5.00"},
        {"error": {"code": "invalid_price", "message": "bad price"}},
        {"order_id": "o-3", "client_order_id": "s-3", "remaining_count": "5.00"},
    ]})  # fmt: skip
    events = published(outcome({("POST", BATCHED): [reply]}, BatchCall("place", items)))
    assert [type(e).__name__ for e in events] == ["OrderAccepted", "OrderRejected", "OrderAccepted"]
    assert (events[1].client_order_id, events[1].source, events[1].code) == ("s-2", "exchange", "invalid_price")


def test_a_batch_cancel_publishes_each_items_reduction_or_error():
    items = (cancel("ord-1", "x-1"), cancel("ord-2", "x-2"))
    reply = (200, {"orders": [{"order_id": "ord-1", "reduced_by": "5.00"}, {"error": {"code": "not_found", "message": "gone"}}]})
    cancelled, rejected = published(outcome({("DELETE", BATCHED): [reply]}, BatchCall("cancel", items)))
    assert isinstance(cancelled, OrderCancelled) and cancelled.reduced_by == D(5)
    assert (rejected.action, rejected.client_order_id, rejected.code) == ("cancel", "x-2", "not_found")


def test_a_batch_that_failed_as_a_whole_rejects_every_item():
    items = (place("s-1"), place("s-2"))
    limited = (429, {"error": {"code": "too_many_requests", "message": "slow down"}})
    events = published(outcome({("POST", BATCHED): [limited]}, BatchCall("place", items)))
    assert [(e.client_order_id, e.code) for e in events] == [("s-1", "too_many_requests"), ("s-2", "too_many_requests")]


def test_an_unexpected_failure_is_rejected_and_reported_for_its_traceback():
    bug = KeyError("oops")
    effects = outcome_effects(place(), None, bug, NOW)
    assert effects[0] == ReportFailure("REST call failed unexpectedly", bug)
    assert (effects[1].message.source, effects[1].message.code) == ("transport", "client_error")
    batch_effects = outcome_effects(BatchCall("place", (place("s-1"), place("s-2"))), None, bug, NOW)
    assert [type(e).__name__ for e in batch_effects] == ["ReportFailure", "Publish", "Publish"]


def test_a_cancel_all_publishes_counts_confirmed_by_reading_back():
    routes = {ORDERS: [(200, {"orders": [order_object()], "cursor": ""}), (200, {"orders": [], "cursor": ""})], ("DELETE", BATCHED): [(200, {"orders": [{"order_id": "ord-1", "reduced_by": "5.00"}]})]}
    (done,) = published(outcome(routes, CancelAllOrders(reason="kill switch", ts=NOW, ticker=TICKER)))
    assert isinstance(done, AllOrdersCancelled)
    assert (done.reason, done.cancelled, done.still_resting, done.ticker) == ("kill switch", 1, 0, TICKER)


def test_a_cancel_all_that_could_not_read_back_is_not_confirmed():
    (done,) = published(outcome({ORDERS: [TransportError("reset")]}, CancelAllOrders(reason="kill switch", ts=NOW)))
    assert (done.cancelled, done.still_resting) == (0, -1)
    assert done.reason.startswith("kill switch; not confirmed:")


@pytest.mark.parametrize(
    ("reply", "status", "error_has"),
    [
        ((200, {"markets": [{"ticker": "A"}], "cursor": ""}), 200, ""),
        ((404, {"error": {"code": "not_found", "message": "market not found"}}), 404, "not_found"),
        (TransportError("refused"), 0, "TransportError: refused"),
    ],
)
def test_a_read_is_sent_to_the_reader_it_names_with_status_and_error(reply, status, error_has):
    request = RestReadRequested(request_id="r-1", path="/markets", query=(), reply_to="scanner", ts=NOW)
    (effect,) = outcome({("GET", "/markets"): [reply]}, request, max_attempts=1)
    assert isinstance(effect, Send) and effect.to == "scanner"
    assert isinstance(effect.message, RestReadCompleted)
    assert (effect.message.request_id, effect.message.status, effect.message.ts_recv) == ("r-1", status, NOW)
    assert error_has in effect.message.error and (error_has or effect.message.error == "")


def test_a_place_dropped_by_a_cancel_all_is_rejected_by_the_client():
    rejected = dropped_by_cancel_all(place(), "session ended", NOW)
    assert (rejected.source, rejected.code, rejected.reason) == ("client", "dropped_by_cancel_all", "not sent: cancel-all (session ended)")


def test_a_position_updated_at_an_rfc3339_time_is_read_as_the_openapi_says():
    from kalshi.shapes import parse_position

    position = parse_position({"ticker": "KXTEST-26DEC31-T50", "position_fp": "3.00", "market_exposure_dollars": "1.2000",
                               "realized_pnl_dollars": "0", "fees_paid_dollars": "0",
                               "last_updated_ts": "2026-12-07T16:00:00Z"})
    assert position.ts_event == 1_796_659_200_000_000_000
