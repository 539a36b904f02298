"""The last fills of ours, kept for GET /status: the newest N, oldest first, each once,
money and counts as exact decimal text; the analytics actor lists them in its status."""

from decimal import Decimal as D

import pytest

from actors.analytics import RecentFills

from . import _harness as h


def test_only_the_newest_fills_are_kept_oldest_first():
    kept = RecentFills(keep=3)
    for n in range(10):
        kept.add(h.filled(fill_id=f"fill-{n}"))

    assert [row["fill_id"] for row in kept.rows()] == ["fill-7", "fill-8", "fill-9"]


def test_a_fill_heard_twice_is_listed_once():
    kept = RecentFills(keep=5)
    kept.add(h.filled(fill_id="fill-1"))
    kept.add(h.filled(fill_id="fill-1"))  # the WS feed, then a REST reconciliation that found it again

    assert len(kept) == 1


def test_prices_counts_and_fees_are_exact_decimal_text():
    kept = RecentFills(keep=5)
    kept.add(h.filled(price=D("0.4300"), count=D("2.00"), fee=D("0.0000035")))

    [row] = kept.rows()
    assert (row["price"], row["count"], row["fee"]) == ("0.4300", "2.00", "0.0000035")
    assert (row["ticker"], row["side"], row["ts"], row["ts_event"]) == ("KXT-A", "bid", h.START_NS + 11, h.START_NS + 10)


def test_keeping_none_is_refused():
    with pytest.raises(ValueError):
        RecentFills(keep=0)


def test_the_analytics_actor_lists_the_fills_it_heard_in_its_status(world):
    world.publish(h.filled(fill_id="fill-1"), h.trade(), h.filled(fill_id="fill-2"))

    fills = world.actor.get_status().get()["recent_fills"]

    assert [row["fill_id"] for row in fills] == ["fill-1", "fill-2"]
