"""The campaign's checks: what counts as a finding and how it is named."""

from __future__ import annotations

import logging
import sys
from collections import Counter
from decimal import Decimal

from kalshi.shapes import ExchangeOrder
from messages import BookSnapshot, OrderFilled

from .checks import KNOWN_DEFECTS, Findings, LogWatch, contract_violations, raised_at, table


def fill(**overrides) -> OrderFilled:
    fields = dict(fill_id="f-1", order_id="o-1", client_order_id="mmd-1", ticker="T", side="bid", price=Decimal("0.40"),
                  count=Decimal(2), fee=Decimal("0.01"), is_taker=False, post_position=None, ts_event=1, ts_recv=2)  # fmt: skip
    fields.update(overrides)
    return OrderFilled(**fields)


def test_a_message_whose_fields_match_their_declared_types_has_no_violation():
    assert contract_violations(fill()) == []
    assert contract_violations(fill(post_position=Decimal("-3"))) == []
    book = BookSnapshot(ticker="T", bids=((Decimal("0.4"), Decimal(1)),), asks=(), seq=1, ts_event=1, ts_recv=1)
    assert contract_violations(book) == []


def test_a_violation_names_the_field_and_what_it_holds():
    assert contract_violations(fill(client_order_id=[1])) == [("OrderFilled.client_order_id", "list [1]")]
    assert contract_violations(fill(side="sideways")) == [("OrderFilled.side", "str 'sideways'")]
    assert contract_violations(fill(ts_event=True)) == [("OrderFilled.ts_event", "bool True")]  # a bool is no int
    assert contract_violations(fill(price=Decimal("NaN"))) == [("OrderFilled.price", "Decimal NaN")]


def test_client_results_are_checked_like_messages():
    order = ExchangeOrder(order_id="o", client_order_id={"x": 1}, ticker="T", side="ask", price=Decimal("0.5"),
                          status="resting", filled=Decimal(0), remaining=Decimal(1), initial=Decimal(1), reason="",
                          ts_event=None)  # fmt: skip
    assert [where for where, _ in contract_violations(order)] == ["ExchangeOrder.client_order_id"]


def test_an_exception_is_named_by_type_and_project_function_without_its_line():
    try:
        contract_violations(fill()).index("absent")
    except ValueError:
        signature, location = raised_at(sys.exc_info())
    here = "tests/fuzz/test_checks.py:test_an_exception_is_named_by_type_and_project_function_without_its_line"
    assert signature == f"ValueError in {here}"
    assert location.startswith("ValueError at tests/fuzz/test_checks.py:")


def test_the_log_watch_keeps_exceptions_tagged_and_restores_the_logger():
    logger = logging.getLogger("mmd.FuzzProbe")
    parent = logging.getLogger("mmd")
    level, propagate = parent.level, parent.propagate
    with LogWatch() as watch:
        watch.tag = "frame 7"
        logger.info("not counted")
        logger.warning("counted")
        try:
            raise KeyError("boom")
        except KeyError:
            logger.exception("error handling FrameReceived")
    assert watch.counts == Counter({("mmd.FuzzProbe", "WARNING"): 1, ("mmd.FuzzProbe", "ERROR"): 1})
    ((tag, exc_info, message),) = watch.exceptions
    assert (tag, exc_info[0], message) == ("frame 7", KeyError, "error handling FrameReceived")
    assert (parent.level, parent.propagate) == (level, propagate)


def test_a_finding_is_known_only_when_a_pinned_defect_names_its_signature(monkeypatch):
    known = "ValueError in pinned.py:g"
    monkeypatch.setitem(KNOWN_DEFECTS, known, "test_a_pinned_defect")  # none is pinned today
    findings = Findings()
    findings.add("unhandled exception", "KeyError in nowhere.py:f", example="x")
    findings.add("unhandled exception", "KeyError in nowhere.py:f")
    findings.add("unhandled exception", known)
    assert [(f.signature, f.count) for f in findings.unknown()] == [("KeyError in nowhere.py:f", 2)]
    assert "[NEW] unhandled exception: KeyError in nowhere.py:f x2" in findings.describe()


def test_a_table_totals_its_rows_and_columns_and_skips_empty_rows():
    counts = Counter({("a", "x"): 1, ("a", "y"): 2, ("c", "y"): 3})
    assert table(counts, ["a", "b", "c"], ["x", "y"], row_title="kind").splitlines() == [
        "kind         x        y      total",
        "a            1        2          3",
        "c            0        3          3",
        "total        1        5          6",
    ]
