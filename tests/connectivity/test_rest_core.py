"""RestCore: budget, batch gathering and outcomes put together, driven without threads."""

from decimal import Decimal as D

from actors.rest import BatchCall, PlacedOrder, RestCore, RestError
from actors.rest._effects import StartCall
from kernel.effects import ArmTimer, Publish
from messages import AmendOrder, CancelAllOrders, CancelOrder, OrderAccepted, OrderRejected, PlaceOrder, rejection_of

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


def test_a_finished_call_is_charged_again_as_often_as_its_client_says_the_exchange_may_charge_it():
    core = basic_tier()
    (call,) = starts(core.on_command(places(1, batch=False)[0], T0))
    assert core.status(T0)["tokens"]["write"] == 90
    core.on_call_finished(call.job_id, placed("ord-1"), None, T0, recharges=2)
    assert core.status(T0)["tokens"]["write"] == 70


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
