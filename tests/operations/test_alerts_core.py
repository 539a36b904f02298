"""AlertsCore: which events alert, the rate limit, the feed-down and no-fills timers (no threads)."""

from __future__ import annotations

from actors.alerts import FEED_DOWN, NO_FILLS, AlertFlushDue, AlertRules, AlertsCore, FeedDownDue, NoFillsDue, PostAlert
from actors.supervisor import MakerCrashed
from kernel.effects import ArmTimer, CancelTimer
from messages import (
    FeedHealthChanged,
    KillSwitchEngaged,
    ReconciliationFailed,
    RiskStateChanged,
    RiskWarning,
    SessionStopped,
)
from tests.operations._operations_factories import S, T0, D, filled, maker_status

MINUTE = 60 * S


def core(**rules) -> AlertsCore:
    return AlertsCore(AlertRules(origin="mmd paper", **rules))


def posts(effects) -> list[str]:
    return [e.text for e in effects if isinstance(e, PostAlert)]


def armed(effects, key: str) -> ArmTimer | None:
    return next((e for e in effects if isinstance(e, ArmTimer) and e.key == key), None)


def test_the_kill_switch_alerts_at_once_naming_the_daemon_and_the_reason():
    effects = core().on_message(KillSwitchEngaged(reason="operator: POST /kill", ts=T0), T0)
    assert posts(effects) == ["[mmd paper] Kill switch ENGAGED: operator: POST /kill. Trading halted, orders being cancelled."]


def test_halted_and_reducing_alert_and_active_is_told_only_after_one_of_them():
    alerts = core()
    assert posts(alerts.on_message(RiskStateChanged(state="ACTIVE", reason="start", ts=T0), T0)) == []
    assert posts(alerts.on_message(RiskStateChanged(state="REDUCING", reason="drawdown $30", ts=T0), T0)) == [
        "[mmd paper] Trading REDUCING (exits only): drawdown $30"
    ]
    assert posts(alerts.on_message(RiskStateChanged(state="HALTED", reason="daily loss", ts=T0), T0)) == [
        "[mmd paper] Trading HALTED (no new orders): daily loss"
    ]
    assert posts(alerts.on_message(RiskStateChanged(state="ACTIVE", reason="new day", ts=T0), T0)) == [
        "[mmd paper] Trading ACTIVE again: new day"
    ]


def test_a_maker_crash_and_a_failed_reconciliation_alert():
    alerts = core()
    crash = posts(alerts.on_message(MakerCrashed(session_id="s1", ticker="KX-A", error="KeyError: 'x'", ts=T0), T0))
    assert crash and "KX-A" in crash[0] and "KeyError" in crash[0]
    failed = posts(alerts.on_message(ReconciliationFailed(reason="positions: HTTP 503", ts=T0), T0))
    assert failed == ["[mmd paper] Reconciliation with the exchange FAILED: positions: HTTP 503"]


def test_risk_warnings_alert_for_the_listed_kinds_each_level_apart():
    alerts = core(risk_warning_kinds=("daily_loss",))
    half = RiskWarning(kind="daily_loss", ticker="", level=D("0.5"), reason="$25 of $50", ts=T0)
    most = RiskWarning(kind="daily_loss", ticker="", level=D("0.8"), reason="$40 of $50", ts=T0)
    other = RiskWarning(kind="fill_rate", ticker="KX-A", level=D("1"), reason="fast", ts=T0)

    assert posts(alerts.on_message(half, T0)) == ["[mmd paper] Risk warning: daily_loss at 50% of its limit ($25 of $50)"]
    assert len(posts(alerts.on_message(most, T0 + S))) == 1  # the 80 % warning does not wait behind the 50 % one
    assert posts(alerts.on_message(other, T0 + S)) == []


def test_within_the_window_an_alert_is_held_and_sent_at_its_end_with_the_count_it_stands_for():
    alerts = core(min_interval_s=300)
    assert len(posts(alerts.on_message(KillSwitchEngaged(reason="first", ts=T0), T0))) == 1

    second = alerts.on_message(KillSwitchEngaged(reason="second", ts=T0 + MINUTE), T0 + MINUTE)
    third = alerts.on_message(KillSwitchEngaged(reason="third", ts=T0 + 2 * MINUTE), T0 + 2 * MINUTE)

    assert posts(second) == posts(third) == []
    flush = armed(second, "flush:kill_switch")
    assert flush is not None and flush.deadline_ns == T0 + 5 * MINUTE
    assert third == []  # one flush timer per window
    sent = posts(alerts.on_message(flush.message, T0 + 5 * MINUTE))
    assert sent == ["[mmd paper] Kill switch ENGAGED: third. Trading halted, orders being cancelled. (+1 similar in the last 5 min)"]
    assert posts(alerts.on_message(KillSwitchEngaged(reason="fourth", ts=T0 + 6 * MINUTE), T0 + 6 * MINUTE)) == []


def test_an_alert_arriving_as_the_window_ends_carries_the_held_count_and_cancels_the_flush():
    alerts = core(min_interval_s=300)
    alerts.on_message(KillSwitchEngaged(reason="first", ts=T0), T0)
    alerts.on_message(KillSwitchEngaged(reason="held", ts=T0 + MINUTE), T0 + MINUTE)

    effects = alerts.on_message(KillSwitchEngaged(reason="late", ts=T0 + 5 * MINUTE), T0 + 5 * MINUTE)

    assert CancelTimer("flush:kill_switch") in effects
    assert posts(effects)[0].endswith("(+1 similar held back by the rate limit)")
    assert posts(alerts.on_message(AlertFlushDue(what="kill_switch", ts=T0 + 5 * MINUTE), T0 + 5 * MINUTE)) == []


def test_each_kind_has_its_own_window():
    alerts = core(min_interval_s=300)
    assert posts(alerts.on_message(KillSwitchEngaged(reason="x", ts=T0), T0))
    assert posts(alerts.on_message(ReconciliationFailed(reason="y", ts=T0), T0))


def test_a_feed_down_longer_than_the_threshold_alerts_and_its_recovery_is_told():
    alerts = core(feed_down_s=5)
    effects = alerts.on_message(FeedHealthChanged(healthy=False, reason="closed: 1006", ts_recv=T0), T0)
    timer = armed(effects, FEED_DOWN)
    assert timer is not None and timer.deadline_ns == T0 + 5 * S and posts(effects) == []
    # a second loss report while down keeps the first deadline
    assert alerts.on_message(FeedHealthChanged(healthy=False, reason="connect timed out", ts_recv=T0 + S), T0 + S) == []

    assert posts(alerts.on_message(timer.message, T0 + 5 * S)) == ["[mmd paper] Market data feed DOWN for 5 s: closed: 1006"]
    back = alerts.on_message(FeedHealthChanged(healthy=True, reason="connected", ts_recv=T0 + 9 * S), T0 + 9 * S)
    assert CancelTimer(FEED_DOWN) in back
    assert posts(back) == ["[mmd paper] Market data feed restored after 9 s."]


def test_a_feed_back_within_the_threshold_never_alerts():
    alerts = core(feed_down_s=5)
    alerts.on_message(FeedHealthChanged(healthy=False, reason="closed", ts_recv=T0), T0)
    back = alerts.on_message(FeedHealthChanged(healthy=True, reason="connected", ts_recv=T0 + 2 * S), T0 + 2 * S)
    assert back == [CancelTimer(FEED_DOWN)]
    # a stale FeedDownDue (delivered before the cancel) finds the feed up
    assert alerts.on_message(FeedDownDue(since_ts=T0, ts=T0 + 5 * S), T0 + 5 * S) == []


def test_no_fills_for_ten_minutes_while_quoting_alerts_and_every_fill_restarts_the_wait():
    alerts = core(no_fills_s=600)
    start = alerts.on_message(maker_status("s1", "KX-A", "QUOTING", T0), T0)
    assert armed(start, NO_FILLS).deadline_ns == T0 + 10 * MINUTE
    assert alerts.on_message(maker_status("s2", "KX-B", "QUOTING", T0 + S), T0 + S) == []  # already waiting

    refill = alerts.on_message(filled("f1", T0 + 4 * MINUTE), T0 + 4 * MINUTE)
    assert armed(refill, NO_FILLS).deadline_ns == T0 + 14 * MINUTE

    due = alerts.on_message(NoFillsDue(ts=T0 + 14 * MINUTE), T0 + 14 * MINUTE)
    assert posts(due) == ["[mmd paper] No fills for 10 min while quoting 2 market(s): KX-A, KX-B"]
    assert armed(due, NO_FILLS).deadline_ns == T0 + 24 * MINUTE


def test_no_fills_is_not_watched_while_no_maker_quotes():
    alerts = core(no_fills_s=600)
    alerts.on_message(maker_status("s1", "KX-A", "QUOTING", T0), T0)
    assert alerts.on_message(maker_status("s1", "KX-A", "PAUSED", T0 + S), T0 + S) == [CancelTimer(NO_FILLS)]
    assert alerts.on_message(filled("f1", T0 + 2 * S), T0 + 2 * S) == []
    assert alerts.on_message(NoFillsDue(ts=T0 + 10 * MINUTE), T0 + 10 * MINUTE) == []

    alerts.on_message(maker_status("s2", "KX-B", "QUOTING", T0 + 11 * MINUTE), T0 + 11 * MINUTE)
    ended = SessionStopped(session_id="s2", ticker="KX-B", reason="ttl", ts=T0 + 12 * MINUTE)
    assert alerts.on_message(ended, T0 + 12 * MINUTE) == [CancelTimer(NO_FILLS)]
