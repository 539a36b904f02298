"""Decoders of the outside price feeds, on hand-made payloads (SPEC 8, seeds 003/004)."""

from __future__ import annotations

import json
import re
from decimal import Decimal as D

import pytest

from actors.feeds import FeedDecodeError, decode_book_ticker, decode_polymarket_book

T = 1_700_000_000_000_000_000


def polymarket(bids, asks, timestamp="1700000000123"):
    body = {
        "market": "0xabc",
        "asset_id": "tok",
        "bids": [{"price": p, "size": s} for p, s in bids],
        "asks": [{"price": p, "size": s} for p, s in asks],
        "hash": "h",
    }
    if timestamp is not None:
        body["timestamp"] = timestamp
    return body


def test_polymarket_best_prices_are_the_last_entries_as_polymarket_sorts_them():
    body = polymarket(bids=[("0.55", "10"), ("0.57", "5"), ("0.58", "20")], asks=[("0.63", "1"), ("0.61", "2"), ("0.60", "3")])
    update = decode_polymarket_book(body, ticker="KX-1", source="polymarket", ts_recv=T)
    assert (update.bid, update.ask) == (D("0.58"), D("0.60"))
    assert (update.ticker, update.source, update.ts_recv) == ("KX-1", "polymarket", T)
    assert update.ts_event == 1_700_000_000_123_000_000


def test_polymarket_empty_side_and_zero_sizes_read_as_no_price():
    body = polymarket(bids=[("0.55", "0")], asks=[], timestamp=None)
    update = decode_polymarket_book(body, ticker="KX-1", source="polymarket", ts_recv=T)
    assert (update.bid, update.ask, update.ts_event) == (None, None, T)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ([], "expected a JSON object"),
        (polymarket(bids=[("abc", "1")], asks=[]), "bids[0].price: not a decimal"),
        (polymarket(bids=[("1.5", "1")], asks=[]), "outside (0, 1)"),
        (polymarket(bids=[("0.61", "1")], asks=[("0.60", "1")]), "crossed"),
        ({"bids": "nope"}, "expected a list"),
        ({"bids": [["0.5", "1"]]}, "expected an object"),
        (polymarket(bids=[], asks=[], timestamp="12.5"), "whole milliseconds"),
        ({"bids": [{"price": 0.5, "size": "1"}]}, "expected a decimal string"),
    ],
)
def test_polymarket_malformed_books_are_refused_with_the_field_named(body, why):
    with pytest.raises(FeedDecodeError, match=re.escape(why)):
        decode_polymarket_book(body, ticker="KX-1", source="polymarket", ts_recv=T)


def frame(**fields):
    base = {"u": 400900217, "s": "BTCUSDT", "b": "95000.10000000", "B": "1.5", "a": "95000.30000000", "A": "2.0"}
    base.update(fields)
    return json.dumps(base)


def test_book_ticker_spot_is_the_mid():
    update = decode_book_ticker(frame(), ts_recv=T, expect_symbol="btcusdt")
    assert (update.symbol, update.price, update.ts_event, update.ts_recv) == ("BTCUSDT", D("95000.2"), T, T)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        (frame(s=None), "s: expected a symbol"),
        (frame(s="ETHUSDT"), "expected BTCUSDT"),
        (frame(b="x"), "b: not a decimal"),
        (frame(a=None), "a: expected a decimal string"),
        (frame(b="0"), "must be > 0"),
        (frame(b="95001"), "crossed"),
        (frame(b="NaN"), "not finite"),
    ],
)
def test_book_ticker_malformed_frames_are_refused(text, why):
    with pytest.raises(FeedDecodeError, match=re.escape(why)):
        decode_book_ticker(text, ts_recv=T, expect_symbol="BTCUSDT")
