"""Kalshi's fixed-point texts: parsed once, refused every time."""

from decimal import Decimal

import pytest

from kalshi.wire import WireFormatError, ns_from_rfc3339, parse_count, parse_dollars, rfc3339_from_ns


def test_a_price_or_count_text_seen_again_parses_to_the_same_exact_value():
    assert [parse_dollars("0.4200") for _ in range(3)] == [Decimal("0.4200")] * 3
    assert str(parse_dollars(" 0.4200 ")) == "0.4200"  # the text's own places, spaces trimmed
    assert str(parse_count("10.00")) == "10.00"


def test_a_refused_text_is_refused_every_time_with_the_field_it_came_in():
    for what in ("yes_bid_dollars", "price_dollars"):
        with pytest.raises(WireFormatError, match=f"^{what}: more than 6 decimals"):
            parse_dollars("0.1234567", what)
    for _ in range(2):
        with pytest.raises(WireFormatError, match="more than 2 decimals"):
            parse_count("1.005")


def test_the_same_text_is_judged_by_each_field_kind_on_its_own():
    assert parse_dollars("0.125") == Decimal("0.125")
    with pytest.raises(WireFormatError):
        parse_count("0.125")  # a count has at most 2 decimals, whatever a price accepted


def test_numbers_that_are_not_text_are_still_judged_as_before():
    assert parse_count(5) == Decimal(5)
    with pytest.raises(WireFormatError, match="floats are not accepted"):
        parse_dollars(0.42)
    with pytest.raises(WireFormatError):
        parse_count(True)


def test_rfc3339_times_read_back_to_the_nanosecond_they_were_written_from_at_microsecond_precision():
    ns = 1_790_000_000_123_456_000
    text = rfc3339_from_ns(ns)
    assert text == rfc3339_from_ns(ns) == "2026-09-21T14:13:20.123456Z"
    assert ns_from_rfc3339(text) == ns_from_rfc3339(text) == ns
