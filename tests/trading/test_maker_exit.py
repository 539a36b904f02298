"""Exits: the plan's phases and prices, and a session working them until DONE."""

from decimal import Decimal as D

import pytest

from actors.maker import MakerSession, MakerState
from actors.maker._exit import ExitOrder, ExitPhase, ExitPlan
from messages import CancelOrder, ExitUrgency, PlaceOrder

from .factories import T0, TICKER, accepted, book_view, cancelled, fill
from .ledger_desk import deliver

SECOND = 1_000_000_000
TICK = D("0.01")


@pytest.fixture
def exit_config(maker_config):
    return maker_config.exit


def plan(exit_config, urgency=ExitUrgency.PASSIVE, position=D(10), mark=D("0.50")):
    return ExitPlan(exit_config, urgency=urgency, reason="ttl", start_ns=T0, position=position, mark=mark, tick=TICK)


def test_a_passive_exit_waits_15_s_then_works_passive_orders_for_20_s_then_goes_hard(exit_config):
    exit_plan = plan(exit_config)

    phases = [exit_plan.phase(T0 + s * SECOND) for s in (0, 14, 15, 34, 35)]

    assert phases == [ExitPhase.WAIT, ExitPhase.WAIT, ExitPhase.SOFT, ExitPhase.SOFT, ExitPhase.HARD]


def test_a_position_under_two_contracts_is_closed_at_once(exit_config):
    exit_plan = plan(exit_config, position=D(1))

    assert exit_plan.phase(T0) == ExitPhase.HARD
    assert exit_plan.order(T0, D(1), book_view()) == ExitOrder("ask", D("0.45"), D(1), aggressive=True)


def test_an_immediate_exit_crosses_to_the_other_sides_best_price(exit_config):
    exit_plan = plan(exit_config, urgency=ExitUrgency.IMMEDIATE, position=D(-7))

    assert exit_plan.order(T0, D(-7), book_view()) == ExitOrder("bid", D("0.55"), D(7), aggressive=True)


def test_the_passive_order_improves_the_touch_by_a_tick(exit_config):
    exit_plan = plan(exit_config)

    order = exit_plan.order(T0 + 15 * SECOND, D(10), book_view(bids=(("0.48", 10),), asks=(("0.52", 10),)))

    assert order == ExitOrder("ask", D("0.51"), D(10), aggressive=False)


def test_the_passive_order_is_no_worse_than_4_cents_from_the_mark(exit_config):
    exit_plan = plan(exit_config, mark=D("0.50"))
    fallen = book_view(bids=(("0.38", 10),), asks=(("0.40", 10),))  # market moved 10 cents against us

    order = exit_plan.order(T0 + 15 * SECOND, D(10), fallen)

    assert order == ExitOrder("ask", D("0.46"), D(10), aggressive=False)  # rests above the market


def test_a_short_position_buys_back_passively_capped_by_the_slippage(exit_config):
    exit_plan = plan(exit_config, position=D(-10), mark=D("0.50"))
    risen = book_view(bids=(("0.60", 10),), asks=(("0.62", 10),))

    order = exit_plan.order(T0 + 15 * SECOND, D(-10), risen)

    assert order == ExitOrder("bid", D("0.54"), D(10), aggressive=False)


def test_a_hard_exit_that_cannot_flatten_in_its_time_is_stuck_and_never_gives_up(exit_config):
    exit_plan = plan(exit_config, urgency=ExitUrgency.IMMEDIATE)

    assert exit_plan.order(T0, D(10), book_view(bids=())) is None  # nobody to sell to
    assert exit_plan.phase(T0 + 60 * SECOND) == ExitPhase.STUCK
    assert exit_plan.phase(T0 + 3600 * SECOND) == ExitPhase.STUCK
    assert exit_plan.next_deadline_ns(T0 + 60 * SECOND) is None  # nothing more changes by itself


def test_a_stuck_exit_rests_at_the_touch_while_nobody_is_on_the_other_side(exit_config):
    exit_plan = plan(exit_config, urgency=ExitUrgency.IMMEDIATE)
    stuck = T0 + 60 * SECOND

    assert exit_plan.order(stuck, D(10), book_view(bids=()), D("0.50")) == ExitOrder("ask", D("0.54"), D(10), False)


def test_a_stuck_exit_crosses_only_within_its_slippage_cap_of_the_current_mark(exit_config):
    exit_plan = plan(exit_config, urgency=ExitUrgency.IMMEDIATE, mark=D("0.50"))
    stuck = T0 + 60 * SECOND
    near = book_view(bids=(("0.47", 10),), asks=(("0.52", 10),))
    far = book_view(bids=(("0.40", 10),), asks=(("0.42", 10),))

    assert exit_plan.order(stuck, D(10), near, D("0.50")) == ExitOrder("ask", D("0.47"), D(10), aggressive=True)
    # the bid 10 cents under fair value is beyond the 4 cent cap: rest at the cap instead
    assert exit_plan.order(stuck, D(10), far, D("0.50")) == ExitOrder("ask", D("0.46"), D(10), aggressive=False)
    # the market moved on (fair value 0.42 now): the cap follows it
    assert exit_plan.order(stuck, D(10), far, D("0.42")) == ExitOrder("ask", D("0.40"), D(10), aggressive=True)


def test_a_risk_flatten_escalates_a_passive_exit_to_hard_at_once(exit_config):
    exit_plan = plan(exit_config)

    exit_plan.escalate(T0 + 3 * SECOND)

    assert exit_plan.phase(T0 + 3 * SECOND) == ExitPhase.HARD


# -- the session working an exit ------------------------------------------------------


@pytest.fixture
def session(maker_config):
    session = MakerSession(ticker=TICKER, session_id="s", config=maker_config)
    session.start(T0)
    session.on_book(book_view(), T0)
    for n, cmd in enumerate(session.warmup_elapsed(T0 + 5 * SECOND), start=1):
        deliver(session, accepted(cmd, f"ex-{n}"), T0 + 5 * SECOND)
    return session


def confirm_cancels(session, commands, now):
    """The exchange confirms every cancel, and accepts every place (then cancels follow)."""
    out = []
    for cmd in commands:
        if isinstance(cmd, CancelOrder):
            out += deliver(session, cancelled(cmd.order_id, cmd.client_order_id), now)
        elif isinstance(cmd, PlaceOrder) and cmd.post_only:
            out += confirm_cancels(session, deliver(session, accepted(cmd, f"ex-{cmd.client_order_id}"), now), now)
    return out


def test_a_passive_stop_when_flat_cancels_and_is_done(session):
    commands = session.stop(T0 + 6 * SECOND, "ttl", ExitUrgency.PASSIVE)
    assert session.state == MakerState.FLATTENING

    confirm_cancels(session, commands, T0 + 6 * SECOND)

    assert session.state == MakerState.DONE
    assert session.finished.reason == "ttl" and session.finished.position == 0


def test_a_passive_stop_with_a_position_waits_then_sells_passively_then_done_when_flat(session):
    requoted = deliver(session, fill("bid", "0.49", 5, order_id="ex-1", client_order_id="s-1"), T0 + 6 * SECOND)
    confirm_cancels(session, requoted, T0 + 6 * SECOND)
    confirm_cancels(session, session.stop(T0 + 7 * SECOND, "ttl", ExitUrgency.PASSIVE), T0 + 7 * SECOND)

    waiting = session.check(T0 + 8 * SECOND)
    assert waiting == [] and session.state == MakerState.FLATTENING
    assert "exiting (wait)" in session.why_not_quoting

    (place,) = session.check(T0 + 22 * SECOND)  # 15 s after the stop
    assert (type(place), place.side, place.price, place.count, place.post_only) == (
        PlaceOrder, "ask", D("0.54"), D(5), True,
    )
    deliver(session, accepted(place, "ex-9"), T0 + 22 * SECOND)
    deliver(
        session,
        fill("ask", "0.54", 5, fill_id="f2", order_id="ex-9", client_order_id=place.client_order_id),
        T0 + 23 * SECOND,
    )

    assert session.state == MakerState.DONE
    assert session.inventory.position == 0
    assert session.finished.realized_pnl == D("0.25")  # 5 x (0.54 - 0.49)


def test_a_risk_flatten_crosses_with_a_reduce_only_ioc_order(session):
    deliver(session, fill("bid", "0.49", 5, order_id="ex-1", client_order_id="s-1"), T0 + 6 * SECOND)
    directive = __import__("messages").RiskDirective(ticker=TICKER, action="flatten", reason="excursion", ts=T0)

    commands = session.on_risk_directive(directive, T0 + 7 * SECOND)
    commands += confirm_cancels(session, commands, T0 + 7 * SECOND)

    (ioc,) = [c for c in commands if isinstance(c, PlaceOrder)]
    assert (ioc.side, ioc.price, ioc.count) == ("ask", D("0.45"), D(5))
    assert (ioc.post_only, ioc.time_in_force, ioc.reduce_only) == (False, "immediate_or_cancel", True)
    assert session.state == MakerState.FLATTENING


def test_an_exit_that_cannot_get_out_says_so_once_and_keeps_working(session, caplog):
    requoted = deliver(session, fill("bid", "0.49", 5, order_id="ex-1", client_order_id="s-1"), T0 + 6 * SECOND)
    confirm_cancels(session, requoted, T0 + 6 * SECOND)
    stop = T0 + 7 * SECOND
    no_buyers = book_view(bids=(), asks=(("0.55", 10),))
    confirm_cancels(session, session.on_book(no_buyers, stop), stop)
    confirm_cancels(session, session.stop(stop, "market data stale over 15 s", ExitUrgency.IMMEDIATE), stop)

    with caplog.at_level("WARNING", logger="mmd.MakerActor"):
        for second in range(0, 120):
            now = stop + second * SECOND
            confirm_cancels(session, session.on_book(no_buyers, now) + session.check(now), now)

    assert session.state == MakerState.FLATTENING and session.finished is None
    assert "cannot get out: 5 left" in session.why_not_quoting
    assert session.status()["exit"]["phase"] == ExitPhase.STUCK
    warnings = [r for r in caplog.records if "cannot get out" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"
    # still working the position: an ask resting at the touch, within the slippage cap
    assert [(o["side"], o["price"]) for o in session.orders.open_orders()] == [("ask", "0.54")]
