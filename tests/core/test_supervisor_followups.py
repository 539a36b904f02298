"""Supervisor follow-ups: exits escalate, swallowed maker exceptions are crashes, crash
reports hit only their own session, regime staleness is judged on the data, explicit
tickers learn their close, late final reports correct the record, subscriptions are
released, the exposure ask is bounded for replays, and a ticker may fire again."""

from __future__ import annotations

import sqlite3
import time
from decimal import Decimal

from actors._base import handles
from actors.analytics import AnalyticsStore
from actors.supervisor import MakerCrashed, crash_reporting
from messages import (
    ExitUrgency,
    KillSwitchEngaged,
    MakerFinished,
    MakerStatus,
    MarketLifecycleChanged,
    MarketSelected,
    RiskDirective,
    SessionStopped,
    SubscribeMarkets,
    VolatilityEnded,
)
from kernel.bus import post
from kernel.clock import NS_PER_SECOND, seconds
from kalshi.wire import rfc3339_from_ns
from test_supervisor_actor import FakeMaker, FakeRisk, Rig, rig, start_one
from test_supervisor_factories import SAMPLE_INTERVAL_S, T0, regime_update, supervisor_config, volatility_event

STALE_AFTER_S = 4 + SAMPLE_INTERVAL_S  # supervisor.regime_stale_s + scanner.volatility.sample_interval_s


def told_pairs(told):
    return [(m.reason, m.urgency) for m in told]


def status(r: Rig, sid: str, pnl: str, position: str = "0") -> MakerStatus:
    return MakerStatus(
        session_id=sid, ticker="KX-A", state="QUOTING", why_not_quoting="", adverse_selection=False,
        position=Decimal(position), realized_pnl=Decimal(pnl), unrealized_pnl=Decimal("0"), ts=r.clock.now_ns(),
    )


def subscriptions(r: Rig):
    return [(m.tickers, m.remove) for m in r.events.proxy().get_got().get() if isinstance(m, SubscribeMarkets)]


# -- 1. escalation of exits already under way -------------------------------------------
def test_a_passive_exit_is_escalated_by_chaotic_then_cancelled_by_the_kill_switch_and_records_the_last_reason():
    r = rig(finishes=False)
    start_one(r)
    _, told = r.maker_for("KX-A")
    r.run_until(r.clock.now_ns() + seconds(300), regimes=("KX-A",))  # TTL: passive exit
    r.publish(regime_update("KX-A", "CHAOTIC", ts=r.clock.now_ns()))
    r.publish(RiskDirective(ticker="KX-A", action="end_session", reason="daily_loss", ts=r.clock.now_ns()))
    r.publish(KillSwitchEngaged(reason="manual", ts=r.clock.now_ns()))
    r.publish(RiskDirective(ticker="KX-A", action="end_session", reason="daily_loss", ts=r.clock.now_ns()))
    assert told_pairs(told) == [
        ("ttl", ExitUrgency.PASSIVE),
        ("regime_chaotic", ExitUrgency.IMMEDIATE),  # the risk end (also immediate) changes nothing
        ("kill_switch", ExitUrgency.CANCEL),  # final: a later immediate stop changes nothing
    ]
    (active,) = r.supervisor.proxy().get_status().get()["active"]
    assert (active["state"], active["end_reason"]) == ("STOPPING", "kill_switch")
    r.run_until(r.clock.now_ns() + seconds(60), regimes=("KX-A",))  # deadline from the first stop
    assert r.stopped() == [("KX-A", "kill_switch", None)]


def test_a_risk_end_session_escalates_a_passive_exit():
    r = rig(finishes=False)
    start_one(r)
    _, told = r.maker_for("KX-A")
    r.publish(VolatilityEnded(event_id=r.started()[0].event_id, ticker="KX-A", reason="sigma_below_threshold", ts=0))
    r.publish(RiskDirective(ticker="KX-A", action="end_session", reason="daily_loss", ts=r.clock.now_ns()))
    assert told_pairs(told) == [("volatility_ended", ExitUrgency.PASSIVE), ("risk:daily_loss", ExitUrgency.IMMEDIATE)]


def test_stale_regime_data_escalates_a_passive_exit():
    r = rig(finishes=False)
    start_one(r)
    _, told = r.maker_for("KX-A")
    r.run_until(r.clock.now_ns() + seconds(300), regimes=("KX-A",))  # TTL; regime data stops with it
    r.run_until(r.clock.now_ns() + seconds(STALE_AFTER_S + 1))
    assert told_pairs(told) == [("ttl", ExitUrgency.PASSIVE), ("regime_stale", ExitUrgency.IMMEDIATE)]


def test_shutdown_cancels_sessions_already_exiting_and_counts_them():
    r = rig(finishes=False)
    start_one(r)
    _, told = r.maker_for("KX-A")
    r.run_until(r.clock.now_ns() + seconds(300), regimes=("KX-A",))
    assert r.supervisor.proxy().stop_all_sessions("shutdown").get() == 1
    r.quiet()
    assert told_pairs(told) == [("ttl", ExitUrgency.PASSIVE), ("shutdown", ExitUrgency.CANCEL)]


def test_stopping_the_supervisor_tells_an_exiting_maker_to_cancel():
    r = rig(finishes=False)
    start_one(r)
    _, told = r.maker_for("KX-A")
    r.run_until(r.clock.now_ns() + seconds(300), regimes=("KX-A",))
    r.supervisor.stop()
    r.quiet()
    assert told_pairs(told) == [("ttl", ExitUrgency.PASSIVE), ("shutdown", ExitUrgency.CANCEL)]
    assert r.stopped() == [("KX-A", "shutdown", None)]


# -- 2. an ordinary handler exception of a maker is a crash ------------------------------
class BuggyMaker(FakeMaker):
    """A maker whose status handler has a bug (an ordinary exception, not FatalActorError)."""

    @handles(MakerStatus)
    def on_status(self, _):
        raise ZeroDivisionError("bug in requote")


def poke(r: Rig, maker):
    post(maker, status(r, "x", "0"), r.tracker)
    r.quiet()


def test_an_ordinary_exception_in_a_wrapped_maker_closes_its_session_as_crashed_sweeps_and_stops_it():
    r = rig(maker_class=crash_reporting(BuggyMaker))
    start_one(r)
    maker, _ = r.maker_for("KX-A")
    poke(r, maker)
    poke(r, maker)  # one report per maker
    assert r.stopped() == [("KX-A", "crashed", None)]
    assert [c.ticker for c in r.risk.proxy().get_got().get()] == ["KX-A"]
    assert maker.actor_stopped.wait(5)


def test_without_the_wrapper_an_actor_still_logs_and_survives_a_handler_exception():
    r = rig(maker_class=BuggyMaker)
    start_one(r)
    maker, _ = r.maker_for("KX-A")
    poke(r, maker)
    assert maker.is_alive() and maker.proxy().errors.get()["handler:MakerStatus"] == 1
    assert r.stopped() == []


# -- 3. a late crash report only hits its own session ------------------------------------
def test_a_late_crash_report_of_an_old_maker_does_not_close_the_newer_session_on_its_ticker():
    r = rig(finishes=False)
    start_one(r)
    old = r.started()[0]
    r.publish(VolatilityEnded(event_id=old.event_id, ticker="KX-A", reason="sigma_below_threshold", ts=0))
    r.run_until(r.clock.now_ns() + seconds(61), regimes=("KX-A",))  # exit deadline: the old session closes
    start_one(r, event_id="ev-2")
    new = r.started()[-1]
    r.publish(MakerCrashed(session_id=old.session_id, ticker="KX-A", error="late", ts=r.clock.now_ns()))
    assert r.stopped() == [("KX-A", "volatility_ended", None)]
    assert r.makers[new.session_id].is_alive()


def test_a_crash_report_without_a_session_id_falls_back_to_the_ticker():
    r = rig()
    start_one(r)
    r.publish(MakerCrashed(session_id="", ticker="KX-A", error="no id", ts=r.clock.now_ns()))
    assert r.stopped() == [("KX-A", "crashed", None)]


# -- 4. regime staleness judged on the data, and admission needs a fresh view -----------
def test_a_heartbeat_of_old_regime_data_is_stale():
    r = rig()
    start_one(r)
    _, told = r.maker_for("KX-A")
    data_ts = r.clock.now_ns()
    for _ in range(int(STALE_AFTER_S) + 2):  # published every second, data never newer
        r.run_until(r.clock.now_ns() + seconds(1))
        r.publish(regime_update("KX-A", ts=r.clock.now_ns(), data_ts=data_ts))
    assert told_pairs(told) == [("regime_stale", ExitUrgency.IMMEDIATE)]


def test_an_event_with_no_regime_view_does_not_start_on_the_regime_stamped_in_it():
    r = rig()
    r.publish(volatility_event("KX-A", ts=r.clock.now_ns(), regime="MEAN_REVERTING"))
    r.run_until(r.clock.now_ns() + seconds(10))  # the scanner publishes nothing
    assert r.started() == []
    (waiting,) = r.supervisor.proxy().get_status().get()["waiting_events"]
    assert "no fresh regime view" in waiting["waiting_for"]


def test_an_event_whose_regime_turned_trending_during_the_wait_is_dropped():
    r = rig()
    r.publish(volatility_event("KX-A", ts=r.clock.now_ns(), regime="MEAN_REVERTING"))
    r.run_until(r.clock.now_ns() + seconds(4))
    r.publish(regime_update("KX-A", "TRENDING", ts=r.clock.now_ns()))
    r.run_until(r.clock.now_ns() + seconds(2))
    assert r.started() == []
    assert "TRENDING" in r.supervisor.proxy().get_status().get()["dropped_events"][0]["reason"]


# -- 5. explicit tickers learn their market's close --------------------------------------
def test_an_explicit_ticker_reads_its_close_time_and_ends_three_minutes_before_it():
    close = T0 + seconds(600)
    r = rig(closes={"KX-A": rfc3339_from_ns(close)})
    r.publish(MarketSelected(ticker="KX-A", reason="configured", ts=T0))
    assert "/markets/KX-A" in r.rest.proxy().get_paths().get()
    r.run_until(close - seconds(180) - 1)
    assert r.stopped() == []
    r.run_until(close - seconds(180))
    assert r.stopped() == [("KX-A", "market_close", Decimal("0.37"))]


def test_a_close_date_update_moves_the_end_and_a_failed_read_is_retried():
    closes = {"KX-A": 503}
    r = rig(closes=closes)
    r.publish(MarketSelected(ticker="KX-A", reason="configured", ts=T0))
    r.run_until(T0 + seconds(29))
    assert r.rest.proxy().get_paths().get().count("/markets/KX-A") == 1
    closes["KX-A"] = rfc3339_from_ns(T0 + seconds(3600))
    r.run_until(T0 + seconds(30))  # close_time_retry_s
    assert r.rest.proxy().get_paths().get().count("/markets/KX-A") == 2
    moved = T0 + seconds(400)
    r.publish(MarketLifecycleChanged(ticker="KX-A", event_type="close_date_updated", result=None,
                                     close_ts=moved // NS_PER_SECOND, ts_event=0, ts_recv=0))
    r.run_until(moved - seconds(180))
    assert r.stopped() == [("KX-A", "market_close", Decimal("0.37"))]


# -- 6. the maker's final report after a forced close corrects the record --------------
class ReportsOnStop(FakeMaker):
    """Like the real maker: stopped before it finished, it sends MakerFinished from on_stop."""

    def on_stop(self):
        self.publish(
            MakerFinished(session_id=self.session_id, ticker=self.ticker, reason="maker stopped",
                          position=Decimal("2"), realized_pnl=Decimal("-0.21"), fees=Decimal("0.03"),
                          ts=self.clock.now_ns())
        )


def test_a_final_report_after_the_exit_deadline_corrects_the_recorded_pnl():
    r = rig(finishes=False, maker_class=ReportsOnStop)
    start_one(r)
    sid = r.started()[0].session_id
    r.publish(status(r, sid, "-0.05", "1"))
    r.run_until(r.clock.now_ns() + seconds(300 + 60), regimes=("KX-A",))  # TTL, then the exit deadline
    r.quiet()
    stops = [m for m in r.events.proxy().get_got().get() if isinstance(m, SessionStopped)]
    assert [(m.reason, m.pnl) for m in stops] == [("ttl", Decimal("-0.05")), ("ttl", Decimal("-0.21"))]
    assert stops[0].ts == stops[1].ts and stops[0].session_id == stops[1].session_id
    (ended,) = r.supervisor.proxy().get_status().get()["ended"]
    assert ended["pnl"] == "-0.21"


def test_a_final_report_after_a_crash_keeps_the_crash_reason():
    class BuggyReporting(ReportsOnStop, BuggyMaker):
        pass

    r = rig(maker_class=crash_reporting(BuggyReporting))
    start_one(r)
    maker, _ = r.maker_for("KX-A")
    poke(r, maker)
    assert maker.actor_stopped.wait(5)
    r.quiet()
    assert r.stopped() == [("KX-A", "crashed", None), ("KX-A", "crashed", Decimal("-0.21"))]


def test_a_repeated_session_stopped_is_one_volatility_sessions_row_with_the_later_pnl(tmp_path):
    store = AnalyticsStore(tmp_path / "a.sqlite", "run-t")
    store.start_run("backtest", "{}", 0)
    for pnl in ("-0.05", "-0.21"):
        store.record(SessionStopped(session_id="s1", ticker="KX-A", reason="ttl", ts=7, pnl=Decimal(pnl)))
    store.flush()
    store.close()
    with sqlite3.connect(tmp_path / "a.sqlite") as conn:
        rows = conn.execute("SELECT session_id, end_reason, ended_ns, pnl FROM volatility_sessions").fetchall()
    assert [(s, r, e, Decimal(p)) for s, r, e, p in rows] == [("s1", "ttl", 7, Decimal("-0.21"))]


# -- 7. subscriptions the supervisor alone wanted are released ---------------------------
def test_an_explicit_sessions_subscription_is_removed_when_it_ends_for_good():
    r = rig(explicit_session_ttl_s=60, explicit_restart_s=0)
    r.publish(MarketSelected(ticker="KX-A", reason="configured", ts=T0))
    r.run_until(T0 + seconds(60))
    assert subscriptions(r) == [(("KX-A",), False), (("KX-A",), True)]


def test_an_explicit_session_about_to_restart_keeps_its_subscription():
    r = rig(explicit_session_ttl_s=60, explicit_restart_s=30)
    r.publish(MarketSelected(ticker="KX-A", reason="configured", ts=T0))
    r.run_until(T0 + seconds(60))
    assert subscriptions(r) == [(("KX-A",), False)]


def test_a_volatility_ticker_the_scanner_tracks_stays_subscribed_unless_it_left_the_tracked_set():
    r = rig()
    start_one(r, "KX-A")
    start_one(r, "KX-B", also=("KX-A",))
    a, b = r.started()
    r.publish(VolatilityEnded(event_id=a.event_id, ticker="KX-A", reason="sigma_below_threshold", ts=0))
    r.publish(VolatilityEnded(event_id=b.event_id, ticker="KX-B", reason="left_tracked_set", ts=0))
    assert sorted(t for t, _, _ in r.stopped()) == ["KX-A", "KX-B"]
    assert subscriptions(r) == [(("KX-A",), False), (("KX-B",), False), (("KX-B",), True)]


# -- 8. the exposure ask in replays -------------------------------------------------------
class SlowRisk(FakeRisk):
    def exposure_snapshot(self):
        time.sleep(1.3)  # a loaded machine: longer than the live ask_timeout_s
        return dict(self.snapshot)


def test_a_slow_governor_changes_no_verdict_with_the_replay_ask_timeout():
    live_s, replay_s = supervisor_config().ask_timeout_s, supervisor_config().replay_ask_timeout_s
    live = rig(risk_class=SlowRisk, ask_timeout_s=live_s)
    start_one(live)
    assert live.started() == []  # the live bound gave up: "exposure unknown", the event waits
    assert "exposure unknown" in live.supervisor.proxy().get_status().get()["waiting_events"][0]["waiting_for"]
    replay = rig(risk_class=SlowRisk, ask_timeout_s=replay_s)
    start_one(replay)
    assert [s.ticker for s in replay.started()] == ["KX-A"]


# -- 9. a ticker fires again --------------------------------------------------------------
def test_a_ticker_that_fires_again_after_its_session_stopped_gets_a_new_session():
    r = rig()
    start_one(r, event_id="ev-1")
    r.run_until(r.clock.now_ns() + seconds(300), regimes=("KX-A",))  # TTL ends it
    assert r.stopped() == [("KX-A", "ttl", Decimal("0.37"))]
    start_one(r, event_id="ev-2")  # re-armed by the scanner, no VolatilityEnded in between
    assert [s.event_id for s in r.started()] == ["ev-1", "ev-2"]
    # a late end of the old event leaves the new session alone
    r.publish(VolatilityEnded(event_id="ev-1", ticker="KX-A", reason="sigma_below_threshold", ts=0))
    assert len(r.stopped()) == 1


def test_a_ticker_whose_event_lapsed_unadmitted_is_admitted_when_it_fires_again():
    r = rig(balance_cents=5_000)  # under the minimum: the first event waits and lapses
    r.publish(volatility_event("KX-A", ts=r.clock.now_ns(), event_id="ev-1"))
    r.run_until(r.clock.now_ns() + seconds(61), regimes=("KX-A",))
    assert r.started() == [] and r.supervisor.proxy().get_status().get()["dropped_events"][-1]["reason"] == "event too old"
    r.balance[0] = 100_000
    r.run_until(r.clock.now_ns() + seconds(10), regimes=("KX-A",))  # the next balance poll
    start_one(r, event_id="ev-2")
    assert [s.event_id for s in r.started()] == ["ev-2"]
