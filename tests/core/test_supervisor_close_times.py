"""A session ends close_buffer_s (3 minutes) before its market closes. The close time comes
from the session's MarketConfig, or for a pinned (scanner.tickers) market from one
GET /markets/{ticker} (retried after close_time_retry_s when it fails), and a lifecycle
close_date_updated moves it. SupervisorCore, no actors."""

from __future__ import annotations

from decimal import Decimal

from kalshi.wire import rfc3339_from_ns
from kernel.clock import NS_PER_SECOND, seconds
from messages import MarketLifecycleChanged, MarketSelected
from test_supervisor_factories import T0, CoreHarness


def selected(ticker="KX-A") -> MarketSelected:
    return MarketSelected(ticker=ticker, reason="configured", ts=T0)


def close_moved(ticker: str, close_ns: int) -> MarketLifecycleChanged:
    return MarketLifecycleChanged(ticker=ticker, event_type="close_date_updated", result=None,
                                  close_ts=close_ns // NS_PER_SECOND, ts_event=0, ts_recv=0)


def test_a_session_with_a_market_config_ends_three_minutes_before_its_close_without_a_read():
    h = CoreHarness()
    close = h.now + seconds(300)  # inside the 300 s TTL
    h.start_one("KX-A", close_ts=close)
    assert "/markets/KX-A" not in h.reads()
    h.run_until(close - seconds(180) - 1, regimes=("KX-A",))
    assert h.told("KX-A") == []
    h.run_until(close - seconds(180), regimes=("KX-A",))
    assert h.told("KX-A") == [("market_close", "passive")]


def test_a_pinned_market_reads_its_close_time_and_ends_three_minutes_before_it():
    close = T0 + seconds(600)
    h = CoreHarness(closes={"KX-A": rfc3339_from_ns(close)})
    h.feed(selected())
    assert h.reads().count("/markets/KX-A") == 1
    h.run_until(close - seconds(180) - 1)
    assert h.stopped() == []
    h.run_until(close - seconds(180))
    assert h.stopped() == [("KX-A", "market_close", Decimal("0.37"))]


def test_a_failed_close_time_read_is_retried_and_a_close_date_update_moves_the_end():
    h = CoreHarness(closes={"KX-A": 503})
    h.feed(selected())
    h.run_until(T0 + seconds(29))
    assert h.reads().count("/markets/KX-A") == 1 and h.core.errors["close_time_read"] == 1
    h.closes["KX-A"] = rfc3339_from_ns(T0 + seconds(3600))
    h.run_until(T0 + seconds(30))  # close_time_retry_s
    assert h.reads().count("/markets/KX-A") == 2
    moved = T0 + seconds(400)
    h.feed(close_moved("KX-A", moved))
    h.run_until(moved - seconds(180))
    assert h.stopped() == [("KX-A", "market_close", Decimal("0.37"))]


def test_a_close_date_update_for_a_session_already_exiting_changes_nothing():
    h = CoreHarness(finishes=False, explicit_session_ttl_s=60)
    h.feed(selected())
    h.run_until(T0 + seconds(60))  # TTL: exiting
    h.feed(close_moved("KX-A", h.now + seconds(181)))
    h.run_until(h.now + seconds(59))
    assert h.told("KX-A") == [("ttl", "passive")]
