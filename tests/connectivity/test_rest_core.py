"""RestCore: budget, batch gathering and outcomes put together, driven without threads."""

from decimal import Decimal as D

from actors.rest import BatchCall, PlacedOrder, RestCore, RestError
from actors.rest._calls import AttemptAsked, AttemptUnanswered
from actors.rest._effects import GrantAttempt, StartCall
from kernel.effects import ArmTimer, Publish
from messages import (
    AmendOrder,
    BudgetRefillDue,
    CancelAllOrders,
    CancelOrder,
    OrderAccepted,
    OrderRejected,
    PlaceOrder,
    RestReadRequested,
    rejection_of,
)

T0 = 1_790_000_000_000_000_000
TICKER = "KXTEST-26"


def basic_tier(**overrides) -> RestCore:
    """config/default.yaml's rest section: Basic tier, batches of up to 20, 2 ms gather."""
    terms = dict(read_rate=200, read_capacity=400, write_rate=100, write_capacity=100, default_cost=10, cancel_cost=2, batch_max_items=20, batch_gather_ns=2_000_000)
    return RestCore(**{**terms, **overrides})


def places(n: int, batch: bool = True) -> list[PlaceOrder]:
    ids = tuple(f"s-{i}" for i in range(1, n + 1))
    return [
        PlaceOrder(client_order_id=cid, ticker=TICKER, side="bid", price=D("0.40"), count=D(5), ts=T0, session_id="s", batch=ids if batch else ())
        for cid in ids
    ]


def cancels(n: int) -> list[CancelOrder]:
    ids = tuple(f"x-{i}" for i in range(1, n + 1))
    return [CancelOrder(order_id=f"ord-{i}", client_order_id=cid, ticker=TICKER, ts=T0, batch=ids) for i, cid in enumerate(ids)]


def starts(effects) -> list[StartCall]:
    return [e for e in effects if isinstance(e, StartCall)]


def published(effects) -> list:
    return [e.message for e in effects if isinstance(e, Publish)]


def placed(order_id: str) -> PlacedOrder:
    return PlacedOrder(order_id=order_id, client_order_id="", filled=D(0), remaining=D(5), ts_event=None)


def test_a_batch_of_places_holds_what_the_write_bucket_pays_at_once():
    core = basic_tier()
    effects = [e for cmd in places(25) for e in core.on_command(cmd, T0)]
    batches = [s.command for s in starts(effects)]
    assert [len(b.commands) for b in batches] == [10]  # 100 tokens / 10 per place; the rest wait for budget
    assert core.scheduler.queued()["write"] == 2


def test_a_batch_of_cancels_holds_at_most_batch_max_items():
    core = basic_tier()
    effects = [e for cmd in cancels(25) for e in core.on_command(cmd, T0)]
    assert [len(s.command.commands) for s in starts(effects)] == [20, 5]


def test_amends_and_ungrouped_places_are_never_gathered():
    core = basic_tier()
    amend = AmendOrder(order_id="ord-1", client_order_id="c-1", updated_client_order_id="c-2", ticker=TICKER, side="bid", price=D("0.41"), count=D(5), ts=T0)
    assert [s.command for s in starts(core.on_command(amend, T0))] == [amend]
    (single,) = places(1, batch=False)
    assert [s.command for s in starts(core.on_command(single, T0))] == [single]


def test_a_risk_refusal_is_published_first_and_completes_its_group():
    core = basic_tier()
    first, refused = places(2)
    core.on_command(first, T0)
    refusal = rejection_of(refused, source="risk", code="order_too_large", reason="too big", ts_recv=T0)
    effects = core.on_refusal(refusal, T0)
    assert effects[0] == Publish(refusal)
    assert [s.command for s in starts(effects)] == [first]  # the group, left with one item


def test_the_gather_timer_sends_a_group_whose_last_item_never_came():
    core = basic_tier()
    first, second, _never = places(3)
    (timer,) = core.on_command(first, T0)
    assert isinstance(timer, ArmTimer) and timer.deadline_ns == T0 + 2_000_000
    core.on_command(second, T0)
    assert [s.command for s in starts(core.on_gather_due(T0 + 2_000_000))] == [BatchCall("place", (first, second))]


def test_a_cancel_all_drops_queued_and_gathered_places_then_goes_out_itself():
    core = basic_tier(write_capacity=10)
    sent, queued = places(2, batch=False)
    core.on_command(sent, T0)
    core.on_command(queued, T0)
    gathered = PlaceOrder(client_order_id="g-1", ticker=TICKER, side="ask", price=D("0.60"), count=D(5), ts=T0, batch=("g-1", "g-2"))
    core.on_command(gathered, T0)
    command = CancelAllOrders(reason="session ended", ts=T0, ticker=TICKER)
    effects = core.on_command(command, T0 + 20_000_000)  # 2 tokens: enough for the cancel-all only
    dropped = [m for m in published(effects) if isinstance(m, OrderRejected)]
    assert [(m.client_order_id, m.code) for m in dropped] == [("s-2", "dropped_by_cancel_all"), ("g-1", "dropped_by_cancel_all")]
    assert [s.command for s in starts(effects)][-1] == command


def test_finished_calls_become_outcomes_and_count_completions_and_rejections():
    core = basic_tier()
    (ok,) = starts(core.on_command(places(1, batch=False)[0], T0))
    (refused,) = starts(core.on_command(places(2, batch=False)[1], T0))
    (accepted,) = published(core.on_call_finished(ok.job_id, placed("ord-1"), None, T0))
    (rejected,) = published(core.on_call_finished(refused.job_id, None, RestError(400, "invalid_order", "no"), T0))
    assert isinstance(accepted, OrderAccepted) and isinstance(rejected, OrderRejected)
    status = core.status(T0)
    assert (status["sent"], status["completed"], status["rejected"], status["in_flight"]) == (2, 2, 1, 0)


def test_a_retry_of_a_running_call_waits_its_backoff_and_the_budget_then_goes_before_newer_commands():
    core = basic_tier()
    (call,) = starts(core.on_command(places(1, batch=False)[0], T0))
    for n in range(9):  # the write bucket emptied by newer places
        core.on_command(places(10, batch=False)[n + 1], T0)
    assert core.status(T0)["tokens"]["write"] == 0
    waiting = places(11, batch=False)[10]
    assert starts(core.on_command(waiting, T0)) == []  # queued: nothing left until T0 + 100 ms
    asked = core.on_attempt_asked(AttemptAsked(job_id=call.job_id, kind="place", items=1, backoff_ns=50_000_000), T0)
    assert [e for e in asked if isinstance(e, GrantAttempt | StartCall)] == []
    granted = core.on_refill_due(T0 + 100_000_000)
    assert [e for e in granted if isinstance(e, GrantAttempt | StartCall)] == [GrantAttempt(call.job_id)]
    (start,) = starts(core.on_refill_due(T0 + 200_000_000))  # the place, when the next 10 tokens are in
    assert start.command is waiting


def test_a_request_that_timed_out_is_charged_again_and_its_cost_held_out_of_the_refill_until_the_hold_ends():
    core = basic_tier(unanswered_hold_s=2.0)
    (call,) = starts(core.on_command(places(1, batch=False)[0], T0))
    core.on_attempt_unanswered(AttemptUnanswered(job_id=call.job_id, kind="place", items=1), T0 + 5_000_000_000)  # full by then
    assert core.status(T0 + 5_000_000_000)["tokens"]["write"] == 90  # it may be charged any time now
    assert core.status(T0 + 6_000_000_000)["tokens"]["write"] == 90  # and the refill stops short of it
    assert core.status(T0 + 7_000_000_000)["tokens"]["write"] == 90  # the hold ends: refill resumes
    assert core.status(T0 + 7_100_000_000)["tokens"]["write"] == 100


def test_a_result_for_an_unknown_call_is_ignored():
    core = basic_tier()
    assert not core.knows_job(7)
    assert core.on_call_finished(7, placed("ord-1"), None, T0) == []
    assert core.status(T0)["completed"] == 0


def test_status_reports_queues_batches_gathering_and_tokens():
    core = basic_tier()
    core.on_command(places(3)[0], T0)
    for cmd in cancels(2):
        core.on_command(cmd, T0)
    assert core.status(T0) == {
        "sent": 1, "completed": 0, "rejected": 0, "in_flight": 1,
        "queued": {"cancel": 0, "write": 0, "read": 0}, "queued_total": 0,
        "batches_sent": 1, "batched_items": 2, "gathering": 1,
        "tokens": {"read": 400, "write": 96},
    }  # fmt: skip


def test_a_retry_after_a_server_error_is_granted_the_instant_its_backoff_ends_with_nothing_held():
    # A 5xx is an answer: only a timeout (AttemptUnanswered) holds a cost. The backoff is
    # counted once, from when the worker asked, and the wake-up is armed for that instant.
    core = basic_tier(headroom_s=0.1, unanswered_hold_s=2.0)
    (call,) = starts(core.on_command(places(1, batch=False)[0], T0))
    asked = core.on_attempt_asked(AttemptAsked(job_id=call.job_id, kind="place", items=1, backoff_ns=300_000_000), T0)
    assert asked == [ArmTimer("budget_refill", T0 + 300_000_000, BudgetRefillDue(ts=T0 + 300_000_000))]
    assert core.on_refill_due(T0 + 300_000_000) == [GrantAttempt(call.job_id)]
    assert core.status(T0 + 300_000_000)["tokens"]["write"] == 90  # full again by then, less the retry: nothing held


def test_a_started_call_is_announced_by_the_order_requests_it_sends_just_before_it_starts():
    core = basic_tier()
    effects = core.on_command(places(1, batch=False)[0], T0)
    assert [type(e).__name__ for e in effects] == ["Publish", "StartCall"]
    (sent,) = published(effects)
    assert (type(sent).__name__, sent.action, sent.client_order_id, sent.ts) == ("OrderRequestSent", "place", "s-1", T0)
    read = RestReadRequested(request_id="r-1", path="/portfolio/balance", query=(), reply_to="reader", ts=T0)
    assert [type(e).__name__ for e in core.on_command(read, T0)] == ["StartCall"]  # a read sends no order request
