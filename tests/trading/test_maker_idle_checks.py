"""A paused maker with nothing working does not need its periodic check every second: the
session says when a check may next do more than sample (`next_check_ns`), and the checks
skipped until then are carried out, exactly as they would have run, before its next input
or check (`catch_up`)."""

from __future__ import annotations

from decimal import Decimal as D

from actors.maker import MakerSession, MakerState
from actors.maker._throttles import SigmaEstimator
from messages import AmendOrder, CancelOrder, TradePrinted

from .factories import T0, TICKER, accepted, amended, book_view, cancelled
from .ledger_desk import deliver

SECOND = 1_000_000_000


def trade(now):
    return TradePrinted(ticker=TICKER, trade_id=f"t{now}", price=D("0.45"), count=D(1), taker_side="bid",
                        ts_event=now, ts_recv=now)


def quiet_session(maker_config):
    """A session on a book that never moves, traded each second until its mids cover the
    sigma window: then it pauses as a quiet market and its quotes are cancelled (and
    confirmed). Returns it and the time of that last check."""
    session = MakerSession(ticker=TICKER, session_id="s", config=maker_config)
    session.start(T0)
    session.on_book(book_view(), T0)
    for n, cmd in enumerate(session.warmup_elapsed(T0 + 5 * SECOND), start=1):
        deliver(session, accepted(cmd, f"ex-{n}"), T0 + 5 * SECOND)
    now = T0 + 6 * SECOND
    for second in range(int(maker_config.guardrails.sigma_window_s) + 1):
        now = T0 + (6 + second) * SECOND
        session.on_trade(trade(now), now)
        for command in session.check(now):
            if isinstance(command, CancelOrder):
                order = session.orders._find(command.order_id, command.client_order_id)
                deliver(session, cancelled(command.order_id, command.client_order_id, reduced_by=str(order.remaining)), now)
            elif isinstance(command, AmendOrder):
                deliver(session, amended(command), now)
            else:
                deliver(session, accepted(command, f"ex-{second}-{command.client_order_id}"), now)
    assert (session.state, session.why_not_quoting) == (MakerState.PAUSED, "quiet market: sigma below 0.01")
    assert session.orders.order_count == 0
    return session, now


def fingerprint(session: MakerSession) -> tuple:
    throttles = session.throttles
    gates = tuple((g.engaged, g._bad_run, g._good_run) for g in throttles._gates.values())
    return (
        session.state, session.why_not_quoting, session.guardrail, session.last_sigma, session.last_check_ns,
        tuple(session.sigma._mids), throttles.verdict, throttles._spread_baseline, gates, session.status(),
    )


def test_a_maker_with_orders_working_checks_at_every_tick(maker_config):
    session = MakerSession(ticker=TICKER, session_id="s", config=maker_config)
    session.start(T0)
    session.on_book(book_view(), T0)
    session.warmup_elapsed(T0 + 5 * SECOND)
    session.check(T0 + 6 * SECOND)
    assert session.state == MakerState.QUOTING
    assert session.next_check_ns(T0 + 6 * SECOND) == T0 + 6 * SECOND  # the next tick


def test_a_paused_maker_with_nothing_working_schedules_its_next_check_at_the_earliest_deadline(maker_config):
    session, now = quiet_session(maker_config)
    assert session.next_check_ns(now) == now  # the book less our orders changed: measured at the next check
    session.check(now + SECOND)
    # the last trade was at `now`: the no-trade freeze is the next thing time alone can change
    assert session.next_check_ns(now + SECOND) == now + 15 * SECOND
    # once judged (the quiet market outranks it), nothing is due until an input
    session.catch_up(now + 14 * SECOND)
    session.check(now + 15 * SECOND)
    assert session.why_not_quoting == "quiet market: sigma below 0.01"
    assert session.next_check_ns(now + 15 * SECOND) is None


def twin_quiet_sessions_after_one_check(maker_config):
    """Two equal quiet sessions checked once: one to check every second, one allowed to skip."""
    every_second, now = quiet_session(maker_config)
    skipped, _ = quiet_session(maker_config)
    for session in (every_second, skipped):
        session.check(now + SECOND)
    assert skipped.next_check_ns(now + SECOND) > now + 2 * SECOND  # it may skip
    return every_second, skipped, now


def test_sigma_throttles_and_guardrails_after_a_skipped_stretch_equal_those_checked_every_second(maker_config):
    every_second, skipped, now = twin_quiet_sessions_after_one_check(maker_config)
    later = now + 700 * SECOND  # past the whole sigma window: every mid in it was sampled while skipped
    for second in range(2, 701):
        assert every_second.check(now + second * SECOND) == []
    skipped.catch_up(later)
    assert fingerprint(skipped) == fingerprint(every_second)


def test_a_catch_up_stops_before_the_tick_still_to_come(maker_config):
    every_second, skipped, now = twin_quiet_sessions_after_one_check(maker_config)
    for second in range(2, 40):
        every_second.check(now + second * SECOND)
    skipped.catch_up(now + 39 * SECOND + SECOND // 2)  # an input between two ticks
    assert fingerprint(skipped) == fingerprint(every_second)
    assert skipped.check(now + 40 * SECOND) == every_second.check(now + 40 * SECOND)
    assert fingerprint(skipped) == fingerprint(every_second)


def test_sigma_is_called_quiet_for_good_only_when_no_window_the_mids_can_make_reaches_the_floor():
    floor = D("0.01")

    def estimator(mids):
        sigma = SigmaEstimator(window_ns=10 * SECOND, bucket_ns=SECOND)
        for second, mid in enumerate(mids):
            sigma.sample(T0 + second * SECOND, D(mid))
        now = T0 + (len(mids) - 1) * SECOND
        return sigma, now, sigma.sigma(now)

    still, now, judged = estimator(["0.50"] * 11)
    assert judged == 0 and still.quiet_until(now, D("0.50"), judged, floor) is None
    # one mid three cents off, still in the window: sigma is under the floor now, but as
    # the equal mids leave the window it may not stay there, so each change of the
    # window's mids counts: the oldest leaves 1 ns after this check
    jumped, now, judged = estimator(["0.50"] * 5 + ["0.53"] + ["0.50"] * 5)
    assert judged < floor and jumped.quiet_until(now, D("0.50"), judged, floor) == now + 1
    # not judged before the mids cover the window: nothing changes before they do
    young, now, judged = estimator(["0.50"] * 4)
    assert judged is None and young.quiet_until(now, D("0.50"), judged, floor) == T0 + 10 * SECOND


def test_sigma_judged_at_or_above_the_floor_stands_until_the_mids_in_its_window_change():
    # 5-s buckets: with the mid still, only a new bucket (the mid enters again) or the
    # oldest mid leaving the window changes them, and so sigma
    floor = D("0.01")
    sigma = SigmaEstimator(window_ns=10 * SECOND, bucket_ns=5 * SECOND)
    for second, mid in ((0, "0.40"), (5, "0.60"), (10, "0.40"), (17, "0.60")):
        sigma.sample(T0 + second * SECOND, D(mid))
    now = T0 + 17 * SECOND  # the window holds 0.40 (10 s) and 0.60 (17 s)
    judged = sigma.sigma(now)
    assert judged == D("0.1")
    assert sigma.quiet_until(now, D("0.60"), judged, floor) == T0 + 20 * SECOND  # the next bucket
    now = T0 + 20 * SECOND
    sigma.sample(now, D("0.60"))
    judged = sigma.sigma(now)
    assert sigma.quiet_until(now, D("0.60"), judged, floor) == T0 + 20 * SECOND + 1  # 0.40 of 10 s leaves
    # a mid other than the one sampled last changes them at the next sample
    assert sigma.quiet_until(now, D("0.55"), judged, floor) == now + 1
