"""MakerPlan: what the maker does around its session, as effects, without an actor. It
sends the session's commands to the risk governor, publishes what changed, keeps the
warm-up, wake-up and periodic-check timers, and reads our fills back over REST."""

from __future__ import annotations

import logging
from decimal import Decimal as D

from actors.maker import MakerPlan, MakerSession, MakerState
from actors.maker._plan import ORDERS, REQUOTE, REST, WAKE, WARMUP, LogNote
from kernel.clock import seconds
from kernel.effects import ArmOnGrid, ArmTimer, CancelTimer, Publish, Send
from messages import (
    BookUpdated,
    ExposureChanged,
    FeedHealthChanged,
    MakerFinished,
    MakerStatus,
    OrderFilled,
    PlaceOrder,
    RequoteDue,
    RequoteOnDeadlineDue,
    RequoteWarmupOverDue,
    RestReadCompleted,
    RestReadRequested,
    StopSession,
)

from .factories import T0, TICKER, accepted, book_view, cancelled
from .ledger_desk import deliver

SECOND = 1_000_000_000


def plan_for(maker_config, *, reads_fills=False, turn_passed=None) -> MakerPlan:
    session = MakerSession(ticker=TICKER, session_id="s", config=maker_config)
    return MakerPlan(session, reader="maker:s", reads_fills=reads_fills, turn_passed=turn_passed)


def book(now=T0) -> BookUpdated:
    return BookUpdated(ticker=TICKER, book=book_view(), ts_event=now, ts_recv=now)


def published(effects, kind):
    return [e.message for e in effects if isinstance(e, Publish) and isinstance(e.message, kind)]


def sent(effects, to):
    return [e.message for e in effects if isinstance(e, Send) and e.to == to]


def quoting(maker_config, **kw) -> tuple[MakerPlan, int, list[PlaceOrder]]:
    """A plan whose session quotes: started, a book, the warm-up over, its orders accepted."""
    plan = plan_for(maker_config, **kw)
    plan.start(T0)
    plan.handle(book(), T0)
    warm = T0 + seconds(maker_config.warmup_s)
    places = [c for c in sent(plan.on_due(RequoteWarmupOverDue(ticker=TICKER, ts=T0), warm), ORDERS)
              if isinstance(c, PlaceOrder)]
    for n, place in enumerate(places, start=1):
        deliver(plan.session, accepted(place, f"ex-{n}"), warm)
    assert plan.session.state == MakerState.QUOTING
    return plan, warm, places


def rest_fill(fill_id, order_id, client_order_id):
    return {
        "fill_id": fill_id, "order_id": order_id, "client_order_id": client_order_id, "market_ticker": TICKER,
        "book_side": "bid", "yes_price_dollars": "0.4900", "count_fp": "2.00", "fee_cost": "0.01",
        "is_taker": False, "ts_ms": 1_700_000_006_000,
    }


def fills_read(request_id, fills, status=200) -> RestReadCompleted:
    body = {"fills": fills} if status == 200 else {"error": "boom"}
    return RestReadCompleted(request_id=request_id, path="/portfolio/fills", status=status, body=body,
                             error="" if status == 200 else "boom", ts_recv=T0)


def test_starting_arms_the_end_of_the_warm_up_and_publishes_the_first_status(maker_config):
    plan = plan_for(maker_config)

    effects = plan.start(T0)

    (warmup,) = [e for e in effects if isinstance(e, ArmTimer) and e.key == WARMUP]
    assert warmup.deadline_ns == T0 + seconds(maker_config.warmup_s)
    assert plan.timer_key(warmup.message) == WARMUP
    (status,) = published(effects, MakerStatus)
    assert status.state == plan.session.state
    assert not [e for e in effects if isinstance(e, ArmOnGrid)]  # no periodic check before the warm-up ends


def test_the_periodic_checks_start_on_a_grid_from_the_end_of_the_warm_up(maker_config):
    plan = plan_for(maker_config)
    plan.start(T0)
    plan.handle(book(), T0)
    warm = T0 + seconds(maker_config.warmup_s)

    effects = plan.on_due(RequoteWarmupOverDue(ticker=TICKER, ts=T0), warm)

    assert any(isinstance(c, PlaceOrder) for c in sent(effects, ORDERS))  # the first quote goes to risk
    (check,) = [e for e in effects if isinstance(e, ArmOnGrid)]
    assert (check.anchor_ns, check.interval_ns) == (warm, seconds(maker_config.requote_interval_s))
    assert plan.timer_key(check.message) == REQUOTE


def test_a_check_already_armed_early_enough_is_not_armed_again(maker_config):
    plan, warm, _ = quoting(maker_config)
    plan.check_armed_at(warm + SECOND)  # the next tick
    now = warm + SECOND // 2

    effects = plan.handle(book(now), now)

    assert not [e for e in effects if isinstance(e, ArmOnGrid)]


def test_a_status_that_did_not_change_is_not_published_again(maker_config):
    plan = plan_for(maker_config)
    plan.start(T0)
    plan.handle(book(), T0)

    assert published(plan.handle(book(), T0), MakerStatus) == []


def test_exposure_and_reference_prices_are_kept_without_requoting(maker_config):
    plan, warm, _ = quoting(maker_config)
    exposure = ExposureChanged(markets=(), resting_order_value=D(0), global_exposure=D(0), state="ACTIVE", ts=warm)

    assert plan.handle(exposure, warm) == []


def test_a_session_that_is_done_cancels_its_timers_and_reports_finished_once(maker_config):
    plan = plan_for(maker_config)
    plan.start(T0)

    effects = plan.handle(StopSession(ticker=TICKER, reason="ttl", ts=T0), T0 + SECOND)

    assert plan.session.state == MakerState.DONE
    assert {e.key for e in effects if isinstance(e, CancelTimer)} == {REQUOTE, WARMUP, WAKE}
    (finished,) = published(effects, MakerFinished)
    assert finished.reason == "ttl"
    assert published(plan.stop(T0 + 2 * SECOND), MakerFinished) == []  # said once
    assert plan.on_due(RequoteDue(ticker=TICKER, ts=T0), T0 + 2 * SECOND) == []  # a check after DONE does nothing


def test_a_maker_stopped_before_it_is_done_reports_what_it_leaves_behind(maker_config):
    plan, warm, _ = quoting(maker_config)

    effects = plan.stop(warm + SECOND)

    assert sent(effects, ORDERS)  # its quotes are cancelled
    (finished,) = published(effects, MakerFinished)
    assert finished.reason == "maker stopped"


def test_a_wake_up_is_armed_for_a_deadline_and_not_again_while_armed(maker_config):
    plan = plan_for(maker_config)
    plan.start(T0)
    plan.session.next_deadline_ns = lambda now: T0 + 3 * SECOND

    (wake,) = [e for e in plan.handle(book(), T0) if isinstance(e, ArmTimer) and e.key == WAKE]
    assert wake.deadline_ns == T0 + 3 * SECOND and isinstance(wake.message, RequoteOnDeadlineDue)
    assert not [e for e in plan.handle(book(), T0) if isinstance(e, ArmTimer) and e.key == WAKE]


def test_a_feed_that_comes_back_reads_our_fills_since_the_session_began(maker_config):
    plan, warm, _ = quoting(maker_config, reads_fills=True)
    plan.handle(FeedHealthChanged(healthy=False, reason="socket closed", ts_recv=warm), warm)

    effects = plan.handle(FeedHealthChanged(healthy=True, reason="connected", ts_recv=warm), warm)

    (read,) = sent(effects, REST)
    assert isinstance(read, RestReadRequested)
    assert (read.path, read.reply_to, read.request_id) == ("/portfolio/fills", "maker:s", "s-fills-1")
    assert read.query == (("ticker", TICKER), ("min_ts", str(T0 // SECOND - 1)))


def test_without_a_rest_client_no_fills_are_read(maker_config):
    plan, warm, _ = quoting(maker_config, reads_fills=False)

    assert plan.reconcile_fills("asked", warm) == (None, [])


def test_fills_read_back_publish_only_ours_not_yet_counted_once_each(maker_config):
    plan, warm, places = quoting(maker_config, reads_fills=True)
    ours = places[0].client_order_id
    request_id, _ = plan.reconcile_fills("asked", warm)

    effects = plan.handle(fills_read(request_id, [
        rest_fill("f1", "ex-1", ours), rest_fill("f1", "ex-1", ours), rest_fill("f2", "ex-9", "other-session-1"),
    ]), warm)

    assert [f.fill_id for f in published(effects, OrderFilled)] == ["f1"]
    assert plan.status(warm)["fills_reconciled"] == 1


def test_an_unreadable_fill_is_noted_and_the_others_still_published(maker_config):
    plan, warm, places = quoting(maker_config, reads_fills=True)
    request_id, _ = plan.reconcile_fills("asked", warm)

    effects = plan.handle(fills_read(request_id, [{"fill_id": "bad"}, rest_fill("f1", "ex-1", places[0].client_order_id)]), warm)

    assert [n.error for n in effects if isinstance(n, LogNote)] == ["bad_fill"]
    assert [f.fill_id for f in published(effects, OrderFilled)] == ["f1"]


def test_a_failed_fill_read_is_counted_as_an_error(maker_config):
    plan, warm, _ = quoting(maker_config, reads_fills=True)
    request_id, _ = plan.reconcile_fills("asked", warm)

    effects = plan.handle(fills_read(request_id, [], status=500), warm)

    (note,) = [n for n in effects if isinstance(n, LogNote)]
    assert (note.error, note.level) == ("fill_reconcile_failed", logging.WARNING)


def test_a_stop_waits_for_the_session_end_fill_read_before_it_finishes(maker_config):
    plan, warm, _ = quoting(maker_config, reads_fills=True)

    effects = plan.handle(StopSession(ticker=TICKER, reason="ttl", ts=warm), warm)
    (read,) = sent(effects, REST)
    for command in sent(effects, ORDERS):  # the quotes are confirmed cancelled
        deliver(plan.session, cancelled(command.order_id, command.client_order_id, reduced_by="5"), warm)
    assert "reconciling fills" in plan.session.why_not_quoting and published(plan.handle(book(warm), warm), MakerFinished) == []

    effects = plan.handle(fills_read(read.request_id, []), warm)  # nothing lost: the session ends

    (finished,) = published(effects, MakerFinished)
    assert finished.reason == "ttl"



def test_before_an_input_the_skipped_checks_run_and_the_one_due_now_only_if_its_turn_came(maker_config):
    for turn_came, caught_up_to in ((True, 3), (False, 2)):
        plan, warm, _ = quoting(maker_config, turn_passed=lambda deadline, message: turn_came)
        plan.on_due(RequoteDue(ticker=TICKER, ts=warm), warm + SECOND)
        until: list[int] = []
        plan.session.catch_up = until.append

        plan.handle(book(warm + 3 * SECOND), warm + 3 * SECOND)

        assert until == [warm + caught_up_to * SECOND]
