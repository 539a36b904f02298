import http.server
import json
import threading
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from actors.rest import (
    ORDERS_PATH,
    HttpTransport,
    KalshiRestClient,
    LoopbackTransport,
    OrderOutcomeUnknown,
    RestError,
    TransportError,
)
from kalshi.auth import HEADER_SIGNATURE, HEADER_TIMESTAMP, Signer, verify_signature

from .fakes import FakeTransport, order_object

D = Decimal
CREATED = (201, {"order_id": "ord-1", "client_order_id": "mmd-run1-1", "fill_count": "0.00", "remaining_count": "5.00", "ts_ms": 1790000000123})
SERVER_ERROR = (503, {"error": {"code": "service_unavailable", "message": "try again"}})


def make_client(transport, sleeps=None, max_attempts=4):
    return KalshiRestClient(
        transport,
        max_attempts=max_attempts,
        backoff_base_s=0.25,
        backoff_cap_s=1.0,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


def place(client):
    return client.create_order("KXTEST-26", "bid", D("0.42"), D("5"), "mmd-run1-1")


def test_create_order_sends_a_v2_body_and_reads_the_thin_reply():
    transport = FakeTransport({("POST", ORDERS_PATH): [CREATED]})
    placed = place(make_client(transport))
    (_, _, _, body), = transport.calls
    assert body == {
        "ticker": "KXTEST-26", "side": "bid", "price": "0.4200", "count": "5.00",
        "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross",
        "post_only": True, "reduce_only": False, "client_order_id": "mmd-run1-1",
    }  # fmt: skip
    assert (placed.order_id, placed.filled, placed.remaining) == ("ord-1", D("0"), D("5"))
    assert placed.ts_event == 1790000000123 * 1_000_000 and not placed.read_back


def test_rate_limits_and_server_errors_are_retried_with_capped_jittered_backoff():
    sleeps = []
    transport = FakeTransport({("POST", ORDERS_PATH): [(429, {"error": "too many requests"}), SERVER_ERROR, SERVER_ERROR, CREATED]})
    client = make_client(transport, sleeps)
    assert place(client).order_id == "ord-1"
    assert len(sleeps) == 3 and client.stats() == {"requests": 4, "retries": 3}
    assert 0 <= sleeps[0] <= 0.25 and all(0 <= s <= 1.0 for s in sleeps)


class RecordingBudget:
    """An AttemptBudget that grants at once and writes down what it was asked."""

    def __init__(self):
        self.asked = []
        self.timed_out = []

    def before(self, kind, items, backoff_s):
        self.asked.append((kind, items, backoff_s > 0))

    def unanswered(self, kind, items):
        self.timed_out.append((kind, items))


def test_every_attempt_first_or_retry_is_paid_by_the_threads_budget_after_its_backoff_and_none_sleeps():
    sleeps = []
    client = make_client(FakeTransport({("POST", ORDERS_PATH): [(429, {"error": "too many requests"}), SERVER_ERROR, CREATED]}), sleeps)
    budget = RecordingBudget()
    with client.paid_by(budget):
        place(client)
    assert budget.asked == [("place", 1, False), ("place", 1, True), ("place", 1, True)]
    assert sleeps == [] and budget.timed_out == []  # the budget waits the backoff; a refused attempt got an answer
    place(client)  # outside: no budget, the backoff slept
    assert sleeps == []  # (this one went through at once)


def test_a_request_that_timed_out_is_told_to_the_budget_and_so_is_the_read_back_that_settles_it():
    # Found by the full storms phase: an attempt answered past the timeout can be acted on (and
    # charged) by the exchange after its retry, long after our budget charged it when it left
    # (a 429 of ours to the late attempt).
    transport = FakeTransport({
        ("POST", ORDERS_PATH): [TransportError("timed out")] * 4,
        ("GET", "/portfolio/orders"): [(200, {"orders": [order_object()], "cursor": ""})],
    })  # fmt: skip
    client = make_client(transport)
    budget = RecordingBudget()
    with client.paid_by(budget):
        assert place(client).read_back
    assert budget.timed_out == [("place", 1)] * 4
    assert budget.asked == [("place", 1, False)] + [("place", 1, True)] * 3 + [("read", 1, False)]


def test_a_batch_asks_for_as_many_items_as_it_carries():
    budget = RecordingBudget()
    client = make_client(FakeTransport({("DELETE", ORDERS_PATH + "/batched"): [
        (200, {"orders": [{"order_id": "a", "reduced_by": "5.00"}, {"order_id": "b", "reduced_by": "5.00"}]})]}))
    with client.paid_by(budget):
        client.batch_cancel([("a", "KXTEST-26"), ("b", "KXTEST-26")])
    assert budget.asked == [("cancel", 2, False)]


def test_every_retry_reuses_the_same_client_order_id():
    transport = FakeTransport({("POST", ORDERS_PATH): [SERVER_ERROR, TransportError("reset"), CREATED]})
    place(make_client(transport))
    assert {call[3]["client_order_id"] for call in transport.calls_to("POST", ORDERS_PATH)} == {"mmd-run1-1"}


def test_other_client_errors_are_final_and_carry_kalshi_error_code():
    transport = FakeTransport(
        {("POST", ORDERS_PATH): [(400, {"error": {"code": "invalid_order", "message": "invalid order", "details": "post only cross"}})]}
    )
    with pytest.raises(RestError) as raised:
        place(make_client(transport))
    assert (raised.value.status, raised.value.code) == (400, "invalid_order")
    assert "post only cross" in raised.value.message
    assert len(transport.calls) == 1


def test_error_code_falls_back_to_top_level_code():
    transport = FakeTransport({("GET", "/portfolio/balance"): [(400, {"code": "bad_request", "message": "bad request"})]})
    with pytest.raises(RestError) as raised:
        make_client(transport).get_balance()
    assert raised.value.code == "bad_request"


def test_rate_limit_exhausting_all_attempts_surfaces_too_many_requests():
    transport = FakeTransport({("GET", "/portfolio/balance"): [(429, {"error": "too many requests"})]})
    with pytest.raises(RestError) as raised:
        make_client(transport, max_attempts=3).get_balance()
    assert (raised.value.status, raised.value.code) == (429, "too_many_requests")
    assert len(transport.calls) == 3


def test_unknown_create_outcome_is_settled_by_reading_the_order_back():
    transport = FakeTransport(
        {
            ("POST", ORDERS_PATH): [TransportError("read timed out")],
            ("GET", "/portfolio/orders"): [(200, {"orders": [order_object(client_order_id="other"), order_object(order_id="ord-9", fill_count_fp="1.00", remaining_count_fp="4.00")], "cursor": ""})],
        }
    )
    placed = place(make_client(transport))
    assert (placed.order_id, placed.filled, placed.remaining, placed.read_back) == ("ord-9", D("1"), D("4"), True)
    assert len(transport.calls_to("POST", ORDERS_PATH)) == 4
    assert transport.calls_to("GET", "/portfolio/orders")[0][2]["ticker"] == "KXTEST-26"


def test_unknown_create_outcome_with_no_such_order_means_it_was_not_placed():
    transport = FakeTransport(
        {("POST", ORDERS_PATH): [TransportError("connection refused")], ("GET", "/portfolio/orders"): [(200, {"orders": [], "cursor": None})]}
    )
    with pytest.raises(TransportError):
        place(make_client(transport))


def test_conflict_on_a_retry_is_our_own_earlier_attempt_and_is_read_back():
    transport = FakeTransport(
        {
            ("POST", ORDERS_PATH): [SERVER_ERROR, (409, {"error": {"code": "order_already_exists", "message": "exists"}})],
            ("GET", "/portfolio/orders"): [(200, {"orders": [order_object()], "cursor": ""})],
        }
    )
    placed = place(make_client(transport))
    assert placed.order_id == "ord-1" and placed.read_back


def test_conflict_on_the_first_attempt_is_a_rejection():
    transport = FakeTransport({("POST", ORDERS_PATH): [(409, {"error": {"code": "order_already_exists", "message": "exists"}})]})
    with pytest.raises(RestError) as raised:
        place(make_client(transport))
    assert raised.value.code == "order_already_exists"
    assert not transport.calls_to("GET", "/portfolio/orders")


def test_create_outcome_stays_unknown_when_the_read_back_fails_too():
    transport = FakeTransport({("POST", ORDERS_PATH): [TransportError("reset")], ("GET", "/portfolio/orders"): [TransportError("reset")]})
    with pytest.raises(OrderOutcomeUnknown):
        place(make_client(transport))


def test_unreadable_success_reply_is_settled_by_read_back():
    transport = FakeTransport(
        {("POST", ORDERS_PATH): [(201, {"ts_ms": 1})], ("GET", "/portfolio/orders"): [(200, {"orders": [order_object()], "cursor": ""})]}
    )
    assert place(make_client(transport)).read_back


def test_amend_sends_the_new_total_count_and_both_client_ids():
    path = f"{ORDERS_PATH}/ord-1/amend"
    transport = FakeTransport({("POST", path): [(200, {"order_id": "ord-1", "client_order_id": "run1-2", "fill_count": "2.00", "remaining_count": "5.00", "ts_ms": 5})]})
    amended = make_client(transport).amend_order("ord-1", "KXTEST-26", "bid", D("0.43"), D("7"), "mmd-run1-1", "run1-2")
    body = transport.calls[0][3]
    assert (body["count"], body["price"], body["client_order_id"], body["updated_client_order_id"]) == ("7.00", "0.4300", "mmd-run1-1", "run1-2")
    assert (amended.client_order_id, amended.filled, amended.remaining) == ("run1-2", D("2"), D("5"))


def test_an_amend_reply_with_a_fill_count_but_no_remaining_count_is_settled_by_reading_the_order():
    # amend-order-v2.md: fill_count counts only what the amend itself filled (crossing the
    # book), not the order's running total: an order 4 of 7 filled, moved, replies
    # fill_count 0. `count - fill_count` would say 7 rest when 3 do (the ledger then takes
    # 7 - 7 = 0 as filled); what rests is only the order's to tell.
    path = f"{ORDERS_PATH}/ord-1/amend"
    transport = FakeTransport({
        ("POST", path): [(200, {"order_id": "ord-1", "client_order_id": "run1-2", "fill_count": "0.00", "ts_ms": 5})],
        ("GET", "/portfolio/orders/ord-1"): [(200, {"order": order_object(
            client_order_id="run1-2", yes_price_dollars="0.4300", fill_count_fp="4.00", remaining_count_fp="3.00",
            initial_count_fp="7.00")})],
    })  # fmt: skip
    amended = make_client(transport).amend_order("ord-1", "KXTEST-26", "bid", D("0.43"), D("7"), "mmd-run1-1", "run1-2")
    assert (amended.filled, amended.remaining, amended.read_back) == (D("4"), D("3"), True)


def test_an_amend_reply_with_a_remaining_count_alone_says_the_rest_of_the_new_total_filled():
    path = f"{ORDERS_PATH}/ord-1/amend"
    transport = FakeTransport({("POST", path): [(200, {"order_id": "ord-1", "client_order_id": "run1-2", "remaining_count": "3.00", "ts_ms": 5})]})
    amended = make_client(transport).amend_order("ord-1", "KXTEST-26", "bid", D("0.43"), D("7"), "mmd-run1-1", "run1-2")
    assert (amended.filled, amended.remaining, amended.read_back) == (D("4"), D("3"), False)
    assert transport.calls_to("GET", "/portfolio/orders/ord-1") == []


def test_amend_refused_on_a_retry_is_settled_when_the_order_carries_the_new_client_id():
    path = f"{ORDERS_PATH}/ord-1/amend"
    transport = FakeTransport(
        {
            ("POST", path): [SERVER_ERROR, (400, {"error": {"code": "invalid_order", "message": "client order id mismatch"}})],
            ("GET", "/portfolio/orders/ord-1"): [(200, {"order": order_object(client_order_id="run1-2", yes_price_dollars="0.4300")})],
        }
    )
    amended = make_client(transport).amend_order("ord-1", "KXTEST-26", "bid", D("0.43"), D("5"), "mmd-run1-1", "run1-2")
    assert amended.read_back and amended.client_order_id == "run1-2"


def test_cancel_all_cancels_in_batches_and_confirms_by_reading_back():
    resting = [order_object(order_id=f"ord-{i}") for i in range(3)]
    transport = FakeTransport(
        {
            ("GET", "/portfolio/orders"): [(200, {"orders": resting, "cursor": ""}), (200, {"orders": [], "cursor": ""})],
            ("DELETE", f"{ORDERS_PATH}/batched"): [
                (200, {"orders": [{"order_id": "ord-0", "reduced_by": "5.00"}, {"order_id": "ord-1", "reduced_by": "5.00"}, {"order_id": "ord-2", "reduced_by": "0.00", "error": {"code": "not_found"}}]})
            ],
        }
    )
    result = make_client(transport).cancel_all()
    assert (result.cancelled, result.failed, result.still_resting) == (2, 1, 0)
    assert transport.calls_to("GET", "/portfolio/orders")[0][2]["status"] == "resting"


def test_cancel_all_falls_back_to_single_cancels_when_the_batch_is_refused():
    transport = FakeTransport(
        {
            ("GET", "/portfolio/orders"): [(200, {"orders": [order_object()], "cursor": ""}), (200, {"orders": [], "cursor": ""})],
            ("DELETE", f"{ORDERS_PATH}/batched"): [(405, {"error": {"code": "method_not_allowed", "message": "no"}})],
            ("DELETE", f"{ORDERS_PATH}/ord-1"): [(200, {"order_id": "ord-1", "reduced_by": "5.00", "ts_ms": 1})],
        }
    )
    result = make_client(transport).cancel_all()
    assert (result.cancelled, result.failed, result.still_resting) == (1, 0, 0)


def test_all_pages_follows_the_cursor_until_empty_or_null():
    transport = FakeTransport(
        {("GET", "/markets"): [(200, {"markets": [{"ticker": "A"}], "cursor": "c1"}), (200, {"markets": [{"ticker": "B"}], "cursor": "c2"}), (200, {"markets": [], "cursor": None})]}
    )
    markets = make_client(transport).get_markets()
    assert [m["ticker"] for m in markets] == ["A", "B"]
    assert [call[2].get("cursor") for call in transport.calls] == [None, "c1", "c2"]
    assert transport.calls[0][2]["status"] == "open"


def test_a_repeated_cursor_is_an_error_not_an_endless_loop():
    transport = FakeTransport({("GET", "/markets"): [(200, {"markets": [], "cursor": "same"})]})
    with pytest.raises(ValueError):
        make_client(transport).get_markets()


def test_rest_orderbook_no_bids_become_yes_asks():
    book = {"orderbook_fp": {"yes_dollars": [["0.0100", "200.00"], ["0.4100", "10.00"], ["0.4200", "13.00"]], "no_dollars": [["0.0100", "100.00"], ["0.4500", "20.00"], ["0.5600", "17.00"]]}}
    transport = FakeTransport({("GET", "/markets/KXTEST-26/orderbook"): [(200, book)]})
    levels = make_client(transport).get_orderbook("KXTEST-26")
    assert levels.bids == ((D("0.42"), D("13")), (D("0.41"), D("10")), (D("0.01"), D("200")))
    assert levels.asks == ((D("0.44"), D("17")), (D("0.55"), D("20")), (D("0.99"), D("100")))


def test_balance_reads_integer_cents_exactly():
    transport = FakeTransport({("GET", "/portfolio/balance"): [(200, {"balance": 100012, "portfolio_value": 5})]})
    balance = make_client(transport).get_balance()
    assert balance.balance == D("1000.12") and balance.portfolio_value == D("0.05")


def test_fills_and_positions_are_parsed_onto_the_yes_leg():
    fill = {"fill_id": "f1", "trade_id": "f1", "order_id": "ord-1", "ticker": "KXTEST-26", "market_ticker": "KXTEST-26", "outcome_side": "no", "book_side": "ask", "count_fp": "3.00", "yes_price_dollars": "0.6100", "no_price_dollars": "0.3900", "is_taker": False, "fee_cost": "0.010000", "created_time": "2026-11-21T10:00:00Z"}
    position = {"ticker": "KXTEST-26", "position_fp": "-3.00", "realized_pnl_dollars": "0.0000", "fees_paid_dollars": "0.0100", "market_exposure_dollars": "1.1700", "total_traded_dollars": "1.83"}
    transport = FakeTransport(
        {("GET", "/portfolio/fills"): [(200, {"fills": [fill], "cursor": ""})], ("GET", "/portfolio/positions"): [(200, {"market_positions": [position], "event_positions": [], "cursor": ""})]}
    )
    client = make_client(transport)
    (parsed_fill,) = client.get_fills(min_ts=1790000000)
    (parsed_position,) = client.get_positions()
    assert (parsed_fill.side, parsed_fill.price, parsed_fill.count, parsed_fill.fee) == ("ask", D("0.61"), D("3"), D("0.01"))
    assert transport.calls_to("GET", "/portfolio/fills")[0][2]["min_ts"] == 1790000000
    assert parsed_position.position == D("-3")


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    seen: list = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        type(self).seen.append((self.command, self.path, dict(self.headers), self.rfile.read(length)))
        payload = json.dumps({"order_id": "ord-1", "fill_count": "0.00", "remaining_count": "5.00"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_GET = _answer

    def log_message(self, *args):
        pass


def test_http_transport_signs_the_full_path_without_the_query():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server = http.server.HTTPServer(("127.0.0.1", 0), _RecordingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}/trade-api/v2"
        transport = HttpTransport(base, Signer("key-1", key), timeout_s=5.0, now_ms=lambda: 1790000000123)
        status, body = transport.request("GET", "/portfolio/orders", {"status": "resting", "limit": 5})
        method, path, headers, _ = _RecordingHandler.seen[-1]
    finally:
        server.shutdown()
        server.server_close()
    assert status == 201 and body["order_id"] == "ord-1"
    assert path == "/trade-api/v2/portfolio/orders?status=resting&limit=5"
    assert headers[HEADER_TIMESTAMP] == "1790000000123"
    assert verify_signature(key.public_key(), "1790000000123", "GET", "/trade-api/v2/portfolio/orders", headers[HEADER_SIGNATURE])


def test_http_transport_reports_an_unreachable_exchange_as_transport_error():
    transport = HttpTransport("http://127.0.0.1:9/trade-api/v2", None, timeout_s=0.5, now_ms=lambda: 0)
    with pytest.raises(TransportError):
        transport.request("GET", "/exchange/status")


def test_loopback_transport_passes_the_full_path_and_wire_strings():
    calls = []

    class Exchange:
        def handle_rest(self, method, path, query, body, account_id):
            calls.append((method, path, query, body, account_id))
            return 200, {"orderbook_fp": {}}

    LoopbackTransport(Exchange(), "acct-1").request("GET", "/markets/X/orderbook", {"depth": 5, "flag": True, "skip": None})
    assert calls == [("GET", "/trade-api/v2/markets/X/orderbook", {"depth": "5", "flag": "true"}, None, "acct-1")]


def test_loopback_transport_hands_over_what_json_would_carry_and_nothing_shared():
    shared = {"levels": [("0.4200", "5.00")], "ids": ("a", "b")}

    class Exchange:
        seen_body = None

        def handle_rest(self, method, path, query, body, account_id):
            Exchange.seen_body = body
            return 200, {"book": shared, 7: "seven", "ratio": 0.5, "none": None, "flag": False}

    body = {"orders": [{"client_order_id": "mmd-1", "count": "5.00", "post_only": True}], "pair": ("x", 1)}
    status, payload = LoopbackTransport(Exchange(), "acct-1").request("POST", ORDERS_PATH, body=body)
    assert Exchange.seen_body == {"orders": [{"client_order_id": "mmd-1", "count": "5.00", "post_only": True}], "pair": ["x", 1]}
    assert Exchange.seen_body["orders"] is not body["orders"]  # the exchange never holds the client's objects
    assert (status, payload) == (200, json.loads(json.dumps({"book": shared, 7: "seven", "ratio": 0.5, "none": None, "flag": False})))
    assert payload["book"]["levels"] == [["0.4200", "5.00"]] and payload["7"] == "seven"  # tuples become arrays, keys text
    payload["book"]["levels"].append("mine")
    assert shared["levels"] == [("0.4200", "5.00")]  # nor the client the exchange's


def test_loopback_transport_refuses_a_reply_json_could_not_carry():
    class Exchange:
        def handle_rest(self, method, path, query, body, account_id):
            return 200, {"price": Decimal("0.42")}

    with pytest.raises(TypeError):
        LoopbackTransport(Exchange(), "acct-1").request("GET", "/portfolio/balance")


def test_retry_waits_are_full_jitter_draws_in_a_window_that_doubles_up_to_the_cap(monkeypatch):
    windows = []
    monkeypatch.setattr("random.uniform", lambda low, high: windows.append((low, high)) or high)
    sleeps = []
    transport = FakeTransport({("GET", "/portfolio/balance"): [SERVER_ERROR]})
    with pytest.raises(RestError):
        make_client(transport, sleeps, max_attempts=5).get_balance()
    # tenacity draws a wait after the last attempt too (and does not sleep it): the same
    # random numbers are consumed whichever retry loop runs
    assert windows == [(0, 0.25), (0, 0.5), (0, 1.0), (0, 1.0), (0, 1.0)]
    assert sleeps == [0.25, 0.5, 1.0, 1.0] and len(transport.calls) == 5
