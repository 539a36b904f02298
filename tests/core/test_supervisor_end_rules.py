"""When a session ends and how urgently (SPEC 7), and the session book: plain logic."""

from decimal import Decimal

import pytest

from actors.supervisor import (
    EndDecision,
    Session,
    SessionBook,
    SessionKind,
    close_deadline_ns,
    regime_end,
    regime_is_stale,
    risk_end,
)
from actors.supervisor._sessions import ACTIVE, ENDED, STOPPING
from messages import ExitUrgency
from kernel.clock import seconds
from test_supervisor_factories import T0, market_config, regime_update, supervisor_config

CFG = supervisor_config()


def test_trending_is_a_soft_kill_and_chaotic_a_hard_kill():
    assert regime_end(regime_update(regime="TRENDING"), CFG, adverse_selection=False) == EndDecision(
        "regime_trending", ExitUrgency.PASSIVE
    )
    assert regime_end(regime_update(regime="CHAOTIC"), CFG, adverse_selection=False) == EndDecision(
        "regime_chaotic", ExitUrgency.IMMEDIATE
    )


@pytest.mark.parametrize("regime", ["MEAN_REVERTING", "QUIET", "NOISE"])
def test_good_or_tolerated_regimes_keep_the_session(regime):
    assert regime_end(regime_update(regime=regime), CFG, adverse_selection=True) is None


def test_regime_kill_can_require_the_maker_to_flag_adverse_selection():
    cfg = supervisor_config(regime_kill_requires_adverse_selection=True)
    chaotic = regime_update(regime="CHAOTIC")
    assert regime_end(chaotic, cfg, adverse_selection=False) is None
    assert regime_end(chaotic, cfg, adverse_selection=True).urgency == ExitUrgency.IMMEDIATE


def test_regime_kill_can_be_switched_off_but_the_sigma_floor_still_ends_the_session():
    cfg = supervisor_config(regime_kill_enabled=False)
    assert regime_end(regime_update(regime="CHAOTIC"), cfg, adverse_selection=True) is None
    assert regime_end(regime_update(sigma="0.005"), cfg, adverse_selection=False).reason == "sigma_floor"


def test_sigma_below_the_floor_ends_the_session_passively():
    decision = regime_end(regime_update(sigma="0.0099"), CFG, adverse_selection=False)
    assert decision == EndDecision("sigma_floor", ExitUrgency.PASSIVE)
    assert regime_end(regime_update(sigma="0.01"), CFG, adverse_selection=False) is None


def test_an_unknown_regime_without_data_does_not_trip_the_sigma_floor():
    assert regime_end(regime_update(regime="UNKNOWN", sigma="0"), CFG, adverse_selection=False) is None


def test_regime_data_older_than_four_seconds_plus_one_scanner_sample_is_stale():
    assert not regime_is_stale(T0, T0 + seconds(4 + 5), CFG, 5)
    assert regime_is_stale(T0, T0 + seconds(4 + 5) + 1, CFG, 5)
    assert regime_is_stale(0, T0, CFG, 5)  # data_ts 0: no observation behind the regime yet


def test_a_session_must_end_three_minutes_before_the_market_closes():
    close = T0 + seconds(3600)
    assert close_deadline_ns(market_config(close_ts=close), CFG) == close - seconds(180)
    assert close_deadline_ns(market_config(close_ts=None), CFG) is None
    assert close_deadline_ns(None, CFG) is None


def test_a_risk_kill_is_recorded_with_the_governors_reason_and_exits_now():
    assert risk_end("daily_loss") == EndDecision("risk:daily_loss", ExitUrgency.IMMEDIATE)


def session(ticker, kind=SessionKind.VOLATILITY, sid="s"):
    return Session(session_id=sid, ticker=ticker, reason="t", started_ns=T0, kind=kind)


def test_volatility_slots_and_long_lived_slots_are_counted_apart():
    book = SessionBook("run", max_concurrent=2, max_long_lived=1)
    book.add(session("A"))
    book.add(session("B"))
    assert not book.slot_free(SessionKind.VOLATILITY)
    assert "limit of 2" in book.refusal("C", SessionKind.VOLATILITY)
    assert book.refusal("C", SessionKind.DISCOVERY) is None
    book.add(session("C", SessionKind.DISCOVERY))
    assert "limit of 1" in book.refusal("D", SessionKind.EXPLICIT)
    assert "already active" in book.refusal("A", SessionKind.DISCOVERY)
    with pytest.raises(ValueError):
        book.add(session("A"))


def test_a_stopping_session_keeps_its_slot_and_an_equal_or_milder_stop_changes_nothing():
    book = SessionBook("run", max_concurrent=1)
    book.add(session("A"))
    assert book.begin_stop("A", "ttl", ExitUrgency.PASSIVE, T0).state == STOPPING
    assert book.begin_stop("A", "sigma_floor", ExitUrgency.PASSIVE, T0 + 1) is None
    assert not book.slot_free(SessionKind.VOLATILITY)
    assert book.running() == []
    ended = book.finish("A", T0 + 5, pnl=Decimal("0.12"), position_left=Decimal("0"))
    assert (ended.state, ended.end_reason, ended.pnl, ended.ended_ns) == (ENDED, "ttl", Decimal("0.12"), T0 + 5)
    assert book.slot_free(SessionKind.VOLATILITY) and book.ended == [ended]


def test_a_stopping_session_escalates_passive_to_immediate_to_cancel_and_records_the_later_reason():
    book = SessionBook("run", max_concurrent=1)
    book.add(session("A"))
    book.begin_stop("A", "ttl", ExitUrgency.PASSIVE, T0)
    escalated = book.begin_stop("A", "regime_chaotic", ExitUrgency.IMMEDIATE, T0 + 1)
    assert (escalated.end_reason, escalated.end_urgency) == ("regime_chaotic", ExitUrgency.IMMEDIATE)
    assert escalated.stop_requested_ns == T0  # the exit deadline still runs from the first stop
    assert book.begin_stop("A", "ttl", ExitUrgency.PASSIVE, T0 + 2) is None
    assert book.begin_stop("A", "kill_switch", ExitUrgency.CANCEL, T0 + 3).end_reason == "kill_switch"
    assert book.begin_stop("A", "risk:daily_loss", ExitUrgency.IMMEDIATE, T0 + 4) is None  # cancel is final
    assert book.begin_stop("A", "shutdown", ExitUrgency.CANCEL, T0 + 5) is None
    assert book.finish("A", T0 + 6).end_reason == "kill_switch"


def test_a_cancel_stop_overrides_a_passive_exit_directly():
    book = SessionBook("run", max_concurrent=1)
    book.add(session("A"))
    book.begin_stop("A", "ttl", ExitUrgency.PASSIVE, T0)
    assert book.begin_stop("A", "shutdown", ExitUrgency.CANCEL, T0 + 1).end_urgency == ExitUrgency.CANCEL


def test_a_crash_overrides_the_reason_the_session_was_stopping_for():
    book = SessionBook("run", max_concurrent=1)
    book.add(session("A"))
    book.begin_stop("A", "ttl", ExitUrgency.PASSIVE, T0)
    assert book.finish("A", T0 + 1, reason="crashed").end_reason == "crashed"
    assert book.finish("A", T0 + 2) is None


def test_session_ids_are_a_pure_function_of_run_and_sequence():
    first, second = SessionBook("run-x", 3), SessionBook("run-x", 3)
    assert [first.next_session_id() for _ in range(3)] == [second.next_session_id() for _ in range(3)]
    assert first.next_session_id() != second.by_session_id("nope")
    assert first.get("A") is None and session("A").state == ACTIVE
