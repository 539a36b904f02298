"""What a fault campaign checks, on hand-made records (mmd/chaos_checks.py)."""

from __future__ import annotations

from decimal import Decimal

from kalshi.shapes import ExchangeOrder
from mmd.chaos_checks import (
    BURST_NOT_SEEN,
    NO_ORDER_WAITING,
    PhaseResult,
    Recovery,
    RestAnswer,
    burst_answers,
    burst_end_s,
    compare_fills,
    feed_healthy,
    feed_progress,
    first_order_after_s,
    format_recoveries,
    format_table,
    percentile,
    places_order,
    resting_violations,
    why_untimed,
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


# ----- a REST burst's recovery: from its end to the first order after it, when one waited -----
AMEND = "POST /portfolio/events/orders/{id}/amend"
CREATE = "POST /portfolio/events/orders"
BATCH = "POST /portfolio/events/orders/batched"
BALANCE = "GET /portfolio/balance"
CANCEL = "DELETE /portfolio/events/orders/{id}"


def answer(received: float, route: str, status: int = 200, took: float = 0.01) -> RestAnswer:
    return RestAnswer(received, received + took, route, status)


def test_order_placements_are_creates_batch_creates_and_amends_not_cancels_or_reads():
    assert [route for route in (CREATE, BATCH, AMEND, CANCEL, BALANCE, "POST /portfolio/orders") if places_order(route)] \
        == [CREATE, BATCH, AMEND, "POST /portfolio/orders"]


def test_a_bursts_answers_are_the_first_count_with_its_mark_received_while_it_was_live():
    answers = [answer(9.0, AMEND, 503), answer(10.1, AMEND, 503), answer(10.2, BALANCE, 200),
               answer(10.3, CREATE, 503), answer(10.4, BATCH, 500), answer(10.5, AMEND, 503), answer(12.0, AMEND, 503)]
    spec = {"fault": "burst_5xx", "count": 2, "status": 503}
    assert burst_answers(answers, spec, injected_s=10.0, used_up_s=11.0) == [answers[1], answers[3]]
    assert burst_answers(answers, {"fault": "burst_429", "count": 3}, 10.0, 11.0) == []


def test_a_slow_answer_is_one_answered_at_least_its_delay_after_it_was_received():
    answers = [answer(10.0, BALANCE, took=0.02), answer(10.1, AMEND, took=6.2), answer(10.2, CREATE, 400, took=6.0)]
    spec = {"fault": "slow_responses", "delay_s": 6.0, "count": 4}
    assert burst_answers(answers, spec, 10.0, 10.5) == answers[1:]


def test_a_burst_ends_at_its_last_faulted_answer_or_for_a_slow_one_at_the_daemons_rest_timeout():
    assert burst_end_s([answer(10.0, AMEND, 429), answer(10.5, CREATE, 429, took=0.25)], rest_timeout_s=5.0) == 10.75
    slow = [answer(10.0, AMEND, took=6.5), answer(11.0, BALANCE, took=6.5)]
    assert burst_end_s(slow, rest_timeout_s=5.0) == 16.0  # the daemon gave up on the second at 11 + 5


def test_the_first_order_after_a_burst_is_the_earlier_of_one_sent_and_accepted_and_one_confirmed():
    answers = [answer(11.0, AMEND, 200), answer(12.0, CANCEL, 200), answer(12.5, CREATE, 429),
               answer(13.0, BATCH, 201), answer(14.0, AMEND, 200)]
    assert first_order_after_s(answers, end_s=11.5, confirmed_s=None) == 13.0  # the cancel and the refused create do not count
    assert first_order_after_s(answers, end_s=11.5, confirmed_s=12.2) == 12.2  # a timed-out create read back
    assert first_order_after_s(answers, end_s=11.5, confirmed_s=11.0) == 13.0  # confirmed before the end: not after it
    assert first_order_after_s(answers[:3], end_s=11.5, confirmed_s=None) is None
    end = burst_end_s([answer(10.0, AMEND, 503)], 5.0)
    assert round(first_order_after_s(answers, end, None) - end, 2) == 0.99  # the recovery: 11.0 - 10.01


def test_a_burst_is_timed_only_when_one_of_its_faulted_requests_placed_an_order():
    assert why_untimed([answer(10.0, BALANCE, 429), answer(10.1, AMEND, 429)]) == ""
    assert why_untimed([answer(10.0, BALANCE, 429), answer(10.1, CANCEL, 429)]) == NO_ORDER_WAITING
    assert why_untimed([]) == BURST_NOT_SEEN


def test_an_untimed_recovery_is_neither_a_time_nor_a_failure():
    result = PhaseResult("storms", faults=3)
    result.recoveries += [Recovery("burst_5xx()", "burst_5xx", "rest", 0.4),
                          Recovery("burst_5xx()", "burst_5xx", "rest", None, NO_ORDER_WAITING),
                          Recovery("burst_5xx()", "burst_5xx", "rest", None)]
    assert result.recovery_seconds() == [0.4]
    assert [r.failed for r in result.recoveries] == [False, False, True]
    row = format_recoveries([result]).splitlines()[2].split()
    assert row[:7] == ["burst_5xx", "3", "1", "0.40", "0.40", "0.40", "1"]
    assert "burst end to next order" in report([result])
