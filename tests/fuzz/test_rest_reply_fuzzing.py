"""Fuzzing the REST client: mutated real replies through HttpTransport, KalshiRestClient,
kalshi.shapes and RestClientActor.

A short campaign runs in CI (2,000 replies); bench/bench_fuzz.py runs the full one. Below
it, each defect the fuzzing found, pinned by a strict xfail test naming its cause.

What every reply must come to: a typed outcome (OrderAccepted, OrderRejected with a code,
RestReadCompleted with a status, a parsed Balance...) or one of the errors the client
raises on purpose (RestError, TransportError, WireFormatError, OrderOutcomeUnknown),
never another exception (the actor would log "REST call failed unexpectedly" and reject
with `client_error`), never an outcome with a field of the wrong type, and every command
told to the actor gets exactly one outcome.
"""

from __future__ import annotations

import decimal
import json
from decimal import Decimal

import pytest

from actors.rest import OrderOutcomeUnknown, RestError, TransportError
from kalshi.wire import WireFormatError
from messages import AmendOrder, CancelOrder, OrderAccepted, PlaceOrder, RestReadCompleted, RestReadRequested

from .checks import LogWatch, contract_violations, raised_at
from .mutations import REST_KINDS
from .rest_campaign import MARKETS, OPERATIONS, READER, REST_OUTCOMES, RestFuzzRig

CI_REPLIES = 2_000
EXPECTED = (RestError, TransportError, WireFormatError, OrderOutcomeUnknown)


@pytest.fixture
def rig() -> RestFuzzRig:
    return RestFuzzRig()


def deep(depth: int = 100_000) -> bytes:
    return b'{"balance":' + b"[" * depth + b"]" * depth + b"}"


# -- the campaign ---------------------------------------------------------------------
def test_two_thousand_mutated_replies_each_end_in_a_typed_outcome_or_an_error_raised_on_purpose(rig):
    campaign = rig.run(CI_REPLIES, seed=20_260_401)

    assert campaign.alive
    assert campaign.findings.unknown() == [], campaign.findings.describe()
    assert {kind for kind, n in campaign.reply_kinds.items() if n} == set(REST_KINDS)
    assert {op for (op, _outcome), n in campaign.by_operation.items() if n} == set(OPERATIONS)
    assert campaign.outcomes[("none", "CRASH")] == 0


def test_a_campaign_is_repeatable_from_its_seed():
    first, second = RestFuzzRig().run(300, seed=3), RestFuzzRig().run(300, seed=3)
    assert first.outcomes == second.outcomes and first.reply_kinds == second.reply_kinds


def test_the_operation_table_has_a_row_per_operation_and_a_column_per_outcome(rig):
    header, *rows = rig.run(200, seed=1).operation_table().splitlines()
    assert header.split() == ["operation", *" ".join(REST_OUTCOMES).split(), "total"]
    assert rows[-1].startswith("total")


# -- replies the client already handles -------------------------------------------------
@pytest.mark.parametrize("body", [b"", b"null", b"[1,2]", b'{"balance":', b"\xff\xfe{}", b'{"balance":NaN}'])
def test_an_unreadable_balance_reply_is_a_bad_response(rig, body):
    rig.answer_next(body)
    with pytest.raises(WireFormatError):
        rig.client.get_balance()


def test_a_lost_reply_to_a_create_is_settled_by_reading_the_order_back(rig):
    rig.answer_next(b'{"order_id":')  # the exchange placed it; its answer came back cut short
    (accepted,) = rig.outcomes_of(PlaceOrder(client_order_id="mmd-fz-x", ticker=MARKETS[0], side="bid",
                                             price=Decimal("0.20"), count=Decimal(3), ts=rig.clock.now_ns()))  # fmt: skip
    assert isinstance(accepted, OrderAccepted) and accepted.remaining == Decimal(3)


# -- defects the fuzzing found: fixed ones specify the fix; the rest are strict xfail ----
def test_a_reply_nested_past_the_recursion_limit_is_a_bad_response(rig):
    rig.answer_next(deep())
    with pytest.raises(WireFormatError):
        rig.client.get_balance()


@pytest.mark.parametrize(
    ("read", "path_key"),
    [("get_orders", "orders"), ("get_fills", "fills"), ("get_positions", "market_positions")],
)
@pytest.mark.parametrize("item", [[1], "x", True, 7])
def test_a_list_reply_whose_item_is_not_an_object_is_a_bad_response(rig, read, path_key, item):
    rig.answer_next(json.dumps({path_key: [item], "cursor": ""}).encode())
    with pytest.raises(WireFormatError):
        getattr(rig.client, read)()


@pytest.mark.parametrize("cursor", [["next"], {"page": 2}, "\ud83dnext"], ids=["array", "object", "lone surrogate"])
def test_a_page_whose_cursor_is_not_clean_text_is_a_bad_response(rig, cursor):
    rig.answer_next(json.dumps({"orders": [], "cursor": cursor}).encode())
    with pytest.raises(WireFormatError):
        rig.client.get_orders()


@pytest.mark.parametrize("call", ["amend", "order read"])
def test_a_reply_with_an_absurd_count_is_a_bad_response_not_a_crash(rig, call):
    order = rig.some_resting_order()
    if call == "amend":
        rig.answer_next(json.dumps({"order_id": order.order_id, "remaining_count": "1E+999999999"}).encode())
        run = lambda: rig.client.amend_order(order.order_id, order.ticker, order.side, order.price + Decimal("0.01"),  # noqa: E731
                                             order.count, order.client_order_id, "mmd-fz-amended")  # fmt: skip
    else:
        body = {"order": {"order_id": order.order_id, "ticker": order.ticker, "book_side": order.side, "status": "resting",
                          "yes_price_dollars": str(order.price), "fill_count_fp": "1E+999999999",
                          "remaining_count_fp": "1E+999999999"}}  # fmt: skip
        rig.answer_next(json.dumps(body).encode())
        run = lambda: rig.client.get_order(order.order_id)  # noqa: E731
    try:
        run()
    except EXPECTED:
        pass


@pytest.mark.parametrize("field", ["order_id", "client_order_id"])
def test_an_amend_or_cancel_reply_with_an_id_that_is_not_a_string_gives_well_typed_outcomes(rig, field):
    order = rig.some_resting_order()
    now = rig.clock.now_ns()
    rig.answer_next(json.dumps({"order_id": order.order_id, field: [1, "a"], "fill_count": "0.00",
                                "remaining_count": str(order.count)}).encode())  # fmt: skip
    amended = rig.outcomes_of(AmendOrder(order_id=order.order_id, client_order_id=order.client_order_id,
                                         updated_client_order_id="mmd-fz-a2", ticker=order.ticker, side=order.side,
                                         price=order.price + Decimal("0.01"), count=order.count, ts=now))  # fmt: skip
    rig.answer_next(json.dumps({"order_id": True, "client_order_id": "mmd-fz-a2", "reduced_by": "1.00"}).encode())
    cancelled = rig.outcomes_of(CancelOrder(order_id=order.order_id, client_order_id="mmd-fz-a2", ticker=order.ticker, ts=now))
    assert [v for outcome in amended + cancelled for v in contract_violations(outcome)] == []


@pytest.mark.parametrize("field", ["order client_order_id", "order last_update_reason", "fill client_order_id"])
def test_a_read_whose_text_field_is_not_a_string_is_a_bad_response(rig, field):
    what, key = field.split()
    if what == "order":
        order = rig.client.get_order(rig.some_resting_order().order_id)
        item = {"order_id": order.order_id, "ticker": order.ticker, "book_side": order.side, "status": "resting",
                "yes_price_dollars": str(order.price), "fill_count_fp": "0.00", "remaining_count_fp": "1.00"}  # fmt: skip
        rig.answer_next(json.dumps({"order": {**item, key: {"x": 1}}}).encode())
        read = lambda: [rig.client.get_order(order.order_id)]  # noqa: E731
    else:
        (fill,) = rig.client.get_fills()
        rig.answer_next(json.dumps({"fills": [{"fill_id": fill.fill_id, "order_id": fill.order_id, "ticker": fill.ticker,
                                               "book_side": fill.side, "yes_price_dollars": str(fill.price),
                                               "count_fp": "1.00", "is_taker": False, key: {"x": 1}}],
                                    "cursor": ""}).encode())  # fmt: skip
        read = rig.client.get_fills
    try:
        results = read()
    except WireFormatError:
        return
    assert [v for result in results for v in contract_violations(result)] == []


def test_an_order_id_with_a_lone_surrogate_gives_a_well_typed_outcome(rig):
    rig.answer_next(b'{"order_id":"\\ud83dx","client_order_id":"mmd-fz-s","fill_count":"0.00","remaining_count":"1.00"}')
    outcomes = rig.outcomes_of(PlaceOrder(client_order_id="mmd-fz-s", ticker=MARKETS[0], side="bid", price=Decimal("0.10"),
                                          count=Decimal(1), ts=rig.clock.now_ns()))  # fmt: skip
    assert len(outcomes) == 1 and contract_violations(outcomes[0]) == []


@pytest.mark.parametrize("error", [{"error": {"code": "bad\udc80", "message": "no\ud83d"}},
                                   {"code": "x", "message": "m", "details": "\ud83d"}, {"error": "\udfff"}])
def test_an_error_reply_with_a_lone_surrogate_gives_a_well_typed_refusal(rig, error):
    # an error's code and message are only shown (logs, SQLite): escaped, not refused
    rig.answer_next(json.dumps(error).encode(), status=400)
    outcomes = rig.outcomes_of(PlaceOrder(client_order_id="mmd-fz-e", ticker=MARKETS[0], side="bid", price=Decimal("0.10"),
                                          count=Decimal(1), ts=rig.clock.now_ns()))  # fmt: skip
    assert len(outcomes) == 1 and contract_violations(outcomes[0]) == []


def test_a_read_body_nested_nine_hundred_deep_still_gets_its_reader_a_reply(rig):
    rig.answer_next(b'{"balance":' + b"[" * 900 + b"]" * 900 + b"}")
    with LogWatch() as watch:
        replies = rig.outcomes_of(RestReadRequested(request_id="r-1", path="/portfolio/balance", query=(),
                                                    reply_to=READER, ts=rig.clock.now_ns()))  # fmt: skip
    assert [type(r) for r in replies] == [RestReadCompleted]
    assert [raised_at(e)[0] for _tag, e, _m in watch.exceptions] == []
