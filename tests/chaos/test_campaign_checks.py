"""What a fault campaign checks, on hand-made records (mmd/chaos_checks.py)."""

from __future__ import annotations

from decimal import Decimal

from kalshi.shapes import ExchangeOrder
from mmd.chaos_checks import (
    PhaseResult,
    Recovery,
    compare_fills,
    feed_healthy,
    feed_progress,
    format_recoveries,
    format_table,
    percentile,
    resting_violations,
)
from mmd.chaos_run import report


def order(client_id: str, ticker: str = "KXA", side: str = "bid", order_id: str | None = None) -> ExchangeOrder:
    one = Decimal(1)
    return ExchangeOrder(order_id=order_id or f"o-{client_id}", client_order_id=client_id, ticker=ticker, side=side,
                         price=Decimal("0.40"), status="resting", filled=Decimal(0), remaining=one, initial=one,
                         reason="", ts_event=None)


def test_every_exchange_fill_stored_once_passes():
    result = compare_fills(["f1", "f2"], ["f2", "f1", None])
    assert result.ok and (result.exchange, result.stored) == (2, 2)


def test_a_fill_missing_stored_twice_or_unknown_to_the_exchange_fails():
    result = compare_fills(["f1", "f2", "f3"], ["f1", "f1", "f2", "f9"])
    assert not result.ok
    assert (result.missing, result.duplicated, result.unknown) == (("f3",), ("f1",), ("f9",))
    assert "1 missing" in result.describe()


def test_resting_orders_one_per_market_side_and_level_pass():
    resting = [order("c1"), order("c2", side="ask"), order("c3", ticker="KXB")]
    assert resting_violations(resting, levels=1) == []
    assert resting_violations(resting + [order("c4")], levels=2) == []


def test_two_resting_on_one_market_side_beyond_the_ladder_fail():
    problems = resting_violations([order("c1"), order("c2")], levels=1)
    assert problems == ["2 resting bids on KXA (at most 1): c1, c2"]


def test_two_resting_orders_with_one_client_id_fail():
    problems = resting_violations([order("c1", order_id="o1"), order("c1", ticker="KXB", order_id="o2")], levels=1)
    assert problems == ["2 resting orders with client id c1"]


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (50.0, 99.0, 100.0)
    assert percentile([3.0], 99) == 3.0 and percentile([], 50) is None


def test_a_feed_fault_is_noticed_by_its_own_counter_and_recovered_when_healthy():
    details = {"reconnects": 2, "gaps": 1, "malformed": 4, "subscriptions_restored": 3,
               "ws_healthy": True, "connected": True, "subscriptions_down": {}}
    assert [feed_progress(k, details) for k in ("ws_drop", "seq_skip", "malformed", "channel_error")] == [2, 1, 4, 3]
    assert feed_healthy(details)
    assert not feed_healthy({**details, "subscriptions_down": {"orderbook_delta": 1}})
    assert not feed_healthy({**details, "connected": False})


def test_the_table_shows_each_phase_with_429s_the_daemon_caused_itself():
    result = PhaseResult("drops", faults=3, fills=compare_fills(["f1"], ["f1"]), daemon_429=7, injected_429=5)
    result.recoveries += [Recovery("ws_drop()", "ws_drop", "feed healthy again", s) for s in (0.5, 0.7)]
    result.recoveries.append(Recovery("ws_drop()", "ws_drop", "feed healthy again", None))
    table = format_table([result])
    row = table.splitlines()[2].split()
    assert row[:6] == ["drops", "3", "1/1", "yes", "0", "0"]
    assert row[7:12] == ["0.50", "0.70", "1", "2", "5"]
    assert result.caused_429 == 2 and result.ok
    assert "ws_drop" in format_recoveries([result])


def test_the_report_shows_the_exchanges_own_count_of_its_rate_limiters_429s():
    result = PhaseResult("storms", faults=1, daemon_429=167, injected_429=165, limiter_429=2)
    assert "storms: the exchange's own rate limiter gave 2 429(s) (the daemon's 2 caused included" in report([result])
    assert "rate limiter gave" not in report([PhaseResult("drops", faults=1, limiter_429=0)])
