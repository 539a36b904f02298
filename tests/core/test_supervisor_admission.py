"""Admission of volatility events (SPEC 7), as a plain class: no actors, no threads."""

from dataclasses import replace
from decimal import Decimal

import pytest

from actors.supervisor import NO_EXPOSURE, Admission, BalanceGate, ExposureView, RestingValueGate, exposure_view_of
from actors.supervisor._admission import DROP, START, WAIT, RegimeView, Verdict
from kernel.clock import seconds
from test_supervisor_factories import SAMPLE_INTERVAL_S, T0, exposure, regime_update, supervisor_config, volatility_event

def admission_with_balance(balance="1000", **overrides) -> Admission:
    admission = Admission(supervisor_config(**overrides), SAMPLE_INTERVAL_S)
    admission.balance.update(Decimal(balance), T0)
    return admission


FRESH = "fresh"  # a stable MEAN_REVERTING view of data observed just now


def decide(admission, now, *, ticker="KX-A", active=False, slot_free=True, exposure=NO_EXPOSURE, regime=FRESH):
    if regime == FRESH:
        regime = RegimeView(regime_update(ticker, ts=now), now)
    return admission.decide(
        admission.pending[ticker], now, session_active=active, slot_free=slot_free, exposure=exposure, regime=regime
    )


def test_an_event_waits_five_seconds_for_the_regime_then_starts():
    admission = admission_with_balance()
    assert admission.offer(volatility_event(ts=T0), T0, session_active=False) is None
    assert decide(admission, T0 + seconds(4.9)).action == WAIT
    assert decide(admission, T0 + seconds(5)).action == START


def test_an_event_on_a_ticker_with_a_session_is_refused_outright():
    admission = admission_with_balance()
    assert "already active" in admission.offer(volatility_event(), T0, session_active=True)
    assert admission.pending == {}


def test_an_event_on_a_market_closing_within_three_minutes_is_refused():
    admission = admission_with_balance()
    closing = volatility_event(close_ts=T0 + seconds(179))
    assert admission.offer(closing, T0, session_active=False) == "market closes too soon"
    later = volatility_event(close_ts=T0 + seconds(3600))
    assert admission.offer(later, T0, session_active=False) is None


def test_a_newer_event_for_the_same_ticker_replaces_the_waiting_one_and_queues_last():
    admission = admission_with_balance()
    admission.offer(volatility_event("KX-A", event_id="old"), T0, session_active=False)
    admission.offer(volatility_event("KX-B"), T0, session_active=False)
    admission.offer(volatility_event("KX-A", event_id="new"), T0 + 1, session_active=False)
    assert [p.event.event_id for p in admission.waiting()] == ["ev-KX-B-0", "new"]


def test_never_a_session_on_a_ticker_with_an_open_position():
    admission = admission_with_balance()
    admission.offer(volatility_event(), T0, session_active=False)
    holding = ExposureView({"KX-A": Decimal("-3")}, {}, Decimal("0"))
    verdict = decide(admission, T0 + seconds(5), exposure=holding)
    assert verdict.action == DROP and "open position" in verdict.reason


def test_orders_still_resting_on_the_ticker_make_the_event_wait():
    admission = admission_with_balance()
    admission.offer(volatility_event(), T0, session_active=False)
    resting = ExposureView({}, {"KX-A": 2}, Decimal("3.00"))
    assert decide(admission, T0 + seconds(5), exposure=resting).action == WAIT


def test_a_fourth_event_waits_for_a_free_slot_while_it_stays_valid_then_is_dropped_as_too_old():
    admission = admission_with_balance()
    admission.offer(volatility_event(), T0, session_active=False)
    verdict = decide(admission, T0 + seconds(5), slot_free=False)
    assert verdict.action == WAIT and "slots" in verdict.reason
    assert decide(admission, T0 + seconds(30), slot_free=True).action == START
    assert decide(admission, T0 + seconds(61), slot_free=False) == Verdict(DROP, "event too old")


def test_a_withdrawn_event_is_no_longer_waiting():
    admission = admission_with_balance()
    admission.offer(volatility_event(), T0, session_active=False)
    assert admission.withdraw("KX-A").event.ticker == "KX-A"
    assert admission.waiting() == []


@pytest.mark.parametrize(
    "update, expected",
    [
        (regime_update(regime="MEAN_REVERTING"), START),
        (regime_update(regime="QUIET"), START),
        (regime_update(regime="TRENDING"), DROP),
        (regime_update(regime="CHAOTIC"), DROP),
        (regime_update(regime="MEAN_REVERTING", stable=False), DROP),
    ],
)
def test_a_fresh_regime_must_be_stable_and_allowed(update, expected):
    admission = admission_with_balance()
    admission.offer(volatility_event(), T0, session_active=False)
    now = T0 + seconds(5)
    fresh = replace(update, ts=now - seconds(1), data_ts=now - seconds(1))
    assert decide(admission, now, regime=RegimeView(fresh, now - seconds(1))).action == expected


def test_the_regime_the_event_was_detected_in_is_never_a_fallback_for_a_missing_view():
    admission = admission_with_balance()
    admission.offer(volatility_event(regime="MEAN_REVERTING"), T0, session_active=False)
    verdict = decide(admission, T0 + seconds(5), regime=None)
    assert verdict.action == WAIT and "no fresh regime view" in verdict.reason


def test_a_view_whose_data_is_older_than_stale_s_plus_one_sample_waits_however_recently_it_arrived():
    admission = admission_with_balance()
    admission.offer(volatility_event(), T0, session_active=False)
    now = T0 + seconds(5)
    limit = seconds(4 + SAMPLE_INTERVAL_S)  # supervisor.regime_stale_s + scanner.volatility.sample_interval_s
    heartbeat_of_old_data = RegimeView(regime_update(ts=now, data_ts=now - limit - 1), now)
    assert decide(admission, now, regime=heartbeat_of_old_data).action == WAIT
    just_fresh = RegimeView(regime_update(ts=now, data_ts=now - limit), now)
    assert decide(admission, now, regime=just_fresh).action == START
    no_data_yet = RegimeView(regime_update(ts=now, data_ts=0), now)
    assert decide(admission, now, regime=no_data_yet).action == WAIT


def test_the_fresh_view_decides_even_against_the_regime_stamped_in_the_event():
    admission = admission_with_balance()
    admission.offer(volatility_event(regime="TRENDING"), T0, session_active=False)
    assert decide(admission, T0 + seconds(5)).action == START  # the scanner's view now: MEAN_REVERTING


def test_an_event_without_a_fresh_view_is_dropped_once_too_old():
    admission = admission_with_balance()
    admission.offer(volatility_event(), T0, session_active=False)
    assert decide(admission, T0 + seconds(61), regime=None) == Verdict(DROP, "event too old")


def test_balance_gate_is_closed_until_a_balance_is_known():
    gate = BalanceGate(Decimal("100"), Decimal("0.85"))
    assert "not known" in gate.refusal()
    gate.update(Decimal("100.00"), 1)
    assert gate.refusal() is None


def test_balance_gate_closes_under_the_minimum_and_reopens_only_past_minimum_over_ratio():
    gate = BalanceGate(Decimal("100"), Decimal("0.85"))
    gate.update(Decimal("150"), 1)
    gate.update(Decimal("99.99"), 2)
    assert not gate.open
    gate.update(Decimal("110"), 3)  # back above the minimum, but inside the hysteresis band
    assert not gate.open and "reopens at $117.65" in gate.refusal()
    gate.update(Decimal("117.65"), 4)
    assert gate.open


def test_a_closed_balance_gate_makes_events_wait():
    admission = admission_with_balance("50")
    admission.offer(volatility_event(), T0, session_active=False)
    verdict = decide(admission, T0 + seconds(5))
    assert verdict.action == WAIT and "balance" in verdict.reason


def test_resting_order_value_gate_closes_at_the_cap_and_reopens_under_cap_times_ratio():
    gate = RestingValueGate(Decimal("100"), Decimal("0.85"))
    gate.update(Decimal("99"))
    assert gate.open
    gate.update(Decimal("100"))
    assert not gate.open
    gate.update(Decimal("90"))
    assert not gate.open and gate.refusal(Decimal("90"))
    gate.update(Decimal("84.99"))
    assert gate.open and gate.refusal(Decimal("84.99")) is None


def test_resting_order_value_over_the_cap_makes_events_wait():
    admission = admission_with_balance(max_resting_order_value_dollars="50.00")
    admission.offer(volatility_event(), T0, session_active=False)
    locked = ExposureView({}, {"KX-OTHER": 4}, Decimal("60.00"))
    verdict = decide(admission, T0 + seconds(5), exposure=locked)
    assert verdict.action == WAIT and "resting orders hold" in verdict.reason


def test_the_exposure_view_is_the_governors_latest_exposure_changed():
    view = exposure_view_of(exposure(positions={"KX-A": 3, "KX-B": -1}, resting={"KX-A": 2}, resting_value="4.20"))
    assert view.position("KX-A") == 3 and view.position("KX-B") == -1 and view.position("KX-Z") == 0
    assert view.has_resting_orders("KX-A") and not view.has_resting_orders("KX-B")
    assert view.resting_order_value == Decimal("4.20")


def test_before_any_exposure_is_published_nothing_is_held_and_nothing_rests():
    assert NO_EXPOSURE.position("KX-A") == 0 and not NO_EXPOSURE.has_resting_orders("KX-A")
    assert NO_EXPOSURE.resting_order_value == 0
