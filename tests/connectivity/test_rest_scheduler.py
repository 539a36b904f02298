"""RestScheduler: Kalshi's Basic-tier budget on the client side, without threads or actors.

Basic tier (config/default.yaml `rest`): 200 read and 100 write tokens per second, buckets
of 2 s of reads and 1 s of writes; a place, amend or read costs 10, a cancel 2."""

from decimal import Decimal as D

import pytest

from actors.rest import BatchCall, RestScheduler, worker_threads
from actors.rest._effects import StartCall
from actors.rest._scheduler import REFILL_TIMER
from kernel.effects import ArmTimer
from messages import AmendOrder, BudgetRefillDue, CancelAllOrders, CancelOrder, PlaceOrder, RestReadRequested

T0 = 1_790_000_000_000_000_000
MS = 1_000_000
TICKER = "KXTEST-26"


def basic_tier(**overrides) -> RestScheduler:
    terms = dict(read_rate=200, read_capacity=400, write_rate=100, write_capacity=100, default_cost=10, cancel_cost=2)
    return RestScheduler(**{**terms, **overrides})


def place(n: int, ticker: str = TICKER) -> PlaceOrder:
    return PlaceOrder(client_order_id=f"c-{n}", ticker=ticker, side="bid", price=D("0.42"), count=D(5), ts=T0)


def amend(n: int) -> AmendOrder:
    return AmendOrder(
        order_id=f"ord-{n}", client_order_id=f"c-{n}", updated_client_order_id=f"c-{n}b", ticker=TICKER,
        side="bid", price=D("0.43"), count=D(5), ts=T0,
    )  # fmt: skip


def cancel(n: int) -> CancelOrder:
    return CancelOrder(order_id=f"ord-{n}", client_order_id=f"c-{n}", ticker=TICKER, ts=T0)


def read(n: int) -> RestReadRequested:
    return RestReadRequested(request_id=f"r-{n}", path="/markets", query=(), reply_to="scanner", ts=T0)


def started(effects) -> list:
    return [e.command for e in effects if isinstance(e, StartCall)]


def wake_ups(effects) -> list[int]:
    return [e.deadline_ns for e in effects if isinstance(e, ArmTimer)]


def test_basic_tier_costs_per_endpoint():
    scheduler = basic_tier()
    assert scheduler.lane_and_cost(place(1)) == ("write", 10)
    assert scheduler.lane_and_cost(amend(1)) == ("write", 10)
    assert scheduler.lane_and_cost(cancel(1)) == ("cancel", 2)
    assert scheduler.lane_and_cost(CancelAllOrders(reason="kill", ts=T0)) == ("cancel", 2)  # the emergency path
    assert scheduler.lane_and_cost(read(1)) == ("read", 10)
    assert scheduler.lane_and_cost(BatchCall("place", (place(1), place(2), place(3)))) == ("write", 30)
    assert scheduler.lane_and_cost(BatchCall("cancel", (cancel(1), cancel(2)))) == ("cancel", 4)


def test_a_full_write_bucket_sends_ten_places_at_once_and_queues_the_eleventh():
    scheduler = basic_tier()
    effects = [e for n in range(1, 12) for e in scheduler.submit(place(n), T0)]
    assert [c.client_order_id for c in started(effects)] == [f"c-{n}" for n in range(1, 11)]
    assert scheduler.queued() == {"cancel": 0, "write": 1, "read": 0}
    assert scheduler.queued_total == 1


def test_a_full_write_bucket_sends_fifty_cancels_at_once():
    scheduler = basic_tier()
    effects = [e for n in range(1, 52) for e in scheduler.submit(cancel(n), T0)]
    assert len(started(effects)) == 50
    assert scheduler.queued()["cancel"] == 1


def test_a_command_waiting_for_budget_wakes_the_scheduler_when_its_tokens_have_refilled():
    scheduler = basic_tier(write_capacity=10)
    scheduler.submit(place(1), T0)
    effects = scheduler.submit(place(2), T0)
    assert started(effects) == []
    (timer,) = [e for e in effects if isinstance(e, ArmTimer)]
    assert timer == ArmTimer(REFILL_TIMER, T0 + 100 * MS, BudgetRefillDue(ts=T0 + 100 * MS))  # 10 tokens at 100/s


def test_the_refill_wake_up_sends_what_the_budget_now_pays_for():
    scheduler = basic_tier(write_capacity=10)
    scheduler.submit(place(1), T0)
    scheduler.submit(place(2), T0)
    scheduler.submit(place(3), T0)
    effects = scheduler.refill_due(T0 + 100 * MS)
    assert [c.client_order_id for c in started(effects)] == ["c-2"]
    assert wake_ups(effects) == [T0 + 200 * MS]  # and again for the next one


def test_an_earlier_need_rearms_the_wake_up_and_a_later_one_keeps_it():
    scheduler = basic_tier(write_capacity=10)
    scheduler.submit(place(1), T0)
    assert wake_ups(scheduler.submit(place(2), T0)) == [T0 + 100 * MS]  # 10 tokens
    assert wake_ups(scheduler.submit(cancel(3), T0)) == [T0 + 20 * MS]  # a cancel needs only 2
    assert wake_ups(scheduler.submit(place(4), T0 + 1 * MS)) == []  # the 20 ms wake-up stays


def test_a_cancel_is_sent_ahead_of_places_queued_before_it():
    scheduler = basic_tier(write_capacity=10)
    scheduler.submit(place(1), T0)
    scheduler.submit(place(2), T0)
    scheduler.submit(place(3), T0)
    scheduler.submit(cancel(4), T0)
    effects = scheduler.refill_due(T0 + 100 * MS)  # 10 tokens: the cancel (2), not yet a place (10)
    assert started(effects) == [cancel(4)]
    assert scheduler.queued() == {"cancel": 0, "write": 2, "read": 0}


def test_reads_never_wait_for_writes():
    scheduler = basic_tier(write_capacity=10)
    scheduler.submit(place(1), T0)
    scheduler.submit(place(2), T0)
    assert started(scheduler.submit(read(1), T0)) == [read(1)]


def test_reads_spend_their_own_bucket_of_two_seconds():
    scheduler = basic_tier()
    effects = [e for n in range(1, 42) for e in scheduler.submit(read(n), T0)]
    assert len(started(effects)) == 40  # 400 tokens / 10
    assert wake_ups(effects) == [T0 + 50 * MS]  # 10 tokens at 200/s


def test_a_place_may_pass_a_batch_cancel_the_bucket_cannot_pay_yet():
    # Today's rule: a head that cannot be paid stops its own lane only.
    scheduler = basic_tier(write_capacity=20)
    scheduler.submit(place(1), T0)  # 10 tokens left
    big_cancel = BatchCall("cancel", tuple(cancel(n) for n in range(2, 10)))  # 16 tokens
    assert started(scheduler.submit(big_cancel, T0)) == []
    assert started(scheduler.submit(place(10), T0)) == [place(10)]


def test_a_cancel_all_drops_the_markets_queued_places_and_amends_batches_included():
    scheduler = basic_tier(write_capacity=10)
    scheduler.submit(place(1), T0)  # sent: the bucket is empty
    scheduler.submit(place(2), T0)
    scheduler.submit(amend(3), T0)
    scheduler.submit(place(4, ticker="KXOTHER-26"), T0)
    scheduler.submit(BatchCall("place", (place(5), place(6))), T0)
    dropped = scheduler.drop_queued_writes(TICKER)
    assert [c.client_order_id for c in dropped] == ["c-2", "c-3", "c-5", "c-6"]
    assert scheduler.queued()["write"] == 1  # the other market's place stays


def test_a_cancel_all_of_every_market_drops_every_queued_place():
    scheduler = basic_tier(write_capacity=10)
    scheduler.submit(place(1), T0)
    scheduler.submit(place(2), T0)
    scheduler.submit(place(3, ticker="KXOTHER-26"), T0)
    assert [c.client_order_id for c in scheduler.drop_queued_writes(None)] == ["c-2", "c-3"]


def test_a_started_call_is_in_flight_until_it_finishes_once():
    scheduler = basic_tier()
    (start,) = [e for e in scheduler.submit(place(1), T0) if isinstance(e, StartCall)]
    assert scheduler.in_flight == 1 and scheduler.is_running(start.job_id)
    assert scheduler.finish(start.job_id).command == place(1)
    assert scheduler.finish(start.job_id) is None
    assert scheduler.in_flight == 0 and scheduler.sent == 1


def test_tokens_report_what_each_bucket_holds():
    scheduler = basic_tier()
    scheduler.submit(place(1), T0)
    scheduler.submit(read(1), T0)
    assert scheduler.tokens(T0) == {"read": 390, "write": 90}


def test_a_cost_above_a_buckets_capacity_is_refused_at_construction():
    with pytest.raises(ValueError):
        basic_tier(write_capacity=5)
    with pytest.raises(ValueError):
        basic_tier(write_capacity=10, cancel_cost=11, default_cost=10)


def test_a_cancel_has_a_worker_of_its_own_when_slow_writes_hold_every_other():
    # Found by the full storms phase: four slow answers (past the REST timeout) held all four
    # workers; the cancels of orders resting beyond the ladder waited 5 s for a worker.
    scheduler = basic_tier(max_in_flight=2)
    assert started(scheduler.submit(amend(1), T0) + scheduler.submit(amend(2), T0)) == [amend(1), amend(2)]

    assert started(scheduler.submit(place(3), T0)) == []  # every worker busy: waits
    assert started(scheduler.submit(cancel(4), T0)) == [cancel(4)]  # the cancel lane's own worker
    assert started(scheduler.submit(cancel(5), T0)) == []  # one of its own, not more
    assert started(scheduler.submit(read(6), T0)) == []


def test_the_executor_has_a_thread_for_every_call_the_scheduler_may_run_at_once():
    scheduler = basic_tier(max_in_flight=2)
    running = started(scheduler.submit(amend(1), T0) + scheduler.submit(amend(2), T0) + scheduler.submit(cancel(3), T0)
                      + scheduler.submit(cancel(4), T0) + scheduler.submit(read(5), T0))
    assert len(running) == scheduler.in_flight == worker_threads(2) == 3
