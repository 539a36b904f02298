"""SupervisorCore ends sessions for their reasons, each with its exit urgency (SPEC 7): the
maker is told StopSession, the session is STOPPING until the maker's MakerFinished or the
exit deadline, and a later, more urgent reason escalates an exit under way. No actors."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from actors.analytics import AnalyticsStore
from actors.supervisor import StopMaker
from kernel.clock import seconds
from messages import (
    CancelAllOrders,
    ExitUrgency,
    KillSwitchEngaged,
    KillSwitchReleased,
    MakerFinished,
    MakerStatus,
    RiskDirective,
    SessionStopped,
    VolatilityEnded,
)
from test_supervisor_factories import SAMPLE_INTERVAL_S, CoreHarness, regime_update

PASSIVE, IMMEDIATE, CANCEL = ExitUrgency.PASSIVE, ExitUrgency.IMMEDIATE, ExitUrgency.CANCEL
STALE_AFTER_S = 4 + SAMPLE_INTERVAL_S  # supervisor.regime_stale_s + scanner.volatility.sample_interval_s


def status(h: CoreHarness, ticker: str, pnl: str, position: str = "0", adverse_selection=False) -> MakerStatus:
    return MakerStatus(
        session_id=h.session_id(ticker), ticker=ticker, state="QUOTING", why_not_quoting="",
        adverse_selection=adverse_selection, position=Decimal(position), realized_pnl=Decimal(pnl),
        unrealized_pnl=Decimal("0"), ts=h.now,
    )


# -- each reason, its urgency --------------------------------------------------------------
def test_ttl_stops_the_maker_passively_and_records_its_pnl_when_it_finishes():
    h = CoreHarness()
    h.start_one()
    h.run_until(h.now + seconds(300) - 1, regimes=("KX-A",))
    assert h.told("KX-A") == []
    h.run_until(h.now + 1, regimes=("KX-A",))
    assert h.told("KX-A") == [("ttl", PASSIVE)]
    assert h.stopped() == [("KX-A", "ttl", Decimal("0.37"))]
    assert h.makers == set()
    assert h.sent(CancelAllOrders) == []  # the maker confirmed its orders gone: no sweep


def test_trending_soft_kills_and_chaotic_hard_kills():
    h = CoreHarness()
    h.start_one("KX-A")
    h.start_one("KX-B", also=("KX-A",))
    h.feed(regime_update("KX-A", "TRENDING", ts=h.now))
    h.feed(regime_update("KX-B", "CHAOTIC", ts=h.now))
    assert h.told("KX-A") == [("regime_trending", PASSIVE)]
    assert h.told("KX-B") == [("regime_chaotic", IMMEDIATE)]


def test_a_bad_regime_can_wait_for_the_maker_to_report_adverse_selection():
    h = CoreHarness(regime_kill_requires_adverse_selection=True)
    h.start_one("KX-A")
    h.feed(regime_update("KX-A", "CHAOTIC", ts=h.now))
    assert h.told("KX-A") == []
    h.feed(status(h, "KX-A", "0", adverse_selection=True))
    h.feed(regime_update("KX-A", "CHAOTIC", ts=h.now))
    assert h.told("KX-A") == [("regime_chaotic", IMMEDIATE)]


def test_sigma_below_the_floor_and_the_market_close_end_sessions_passively():
    h = CoreHarness()
    close = h.now + seconds(5 + 200)
    h.start_one("KX-A", close_ts=close)
    h.start_one("KX-B", also=("KX-A",))
    h.feed(regime_update("KX-B", sigma="0.004", ts=h.now))
    h.run_until(close - seconds(180), regimes=("KX-A",))
    assert sorted(h.stopped()) == [("KX-A", "market_close", Decimal("0.37")), ("KX-B", "sigma_floor", Decimal("0.37"))]
    assert h.told("KX-A") == [("market_close", PASSIVE)]


def test_regime_data_silent_beyond_four_seconds_plus_one_sample_is_a_hard_kill():
    h = CoreHarness()
    h.start_one()
    h.run_until(h.now + seconds(STALE_AFTER_S))  # no regime updates any more
    assert h.told("KX-A") == []
    h.run_until(h.now + seconds(1))
    assert h.told("KX-A") == [("regime_stale", IMMEDIATE)]


def test_a_heartbeat_of_old_regime_data_is_stale():
    h = CoreHarness()
    h.start_one()
    data_ts = h.now
    for _ in range(int(STALE_AFTER_S) + 2):  # published every second, data never newer
        h.run_until(h.now + seconds(1))
        h.feed(regime_update("KX-A", ts=h.now, data_ts=data_ts))
    assert h.told("KX-A") == [("regime_stale", IMMEDIATE)]


def test_volatility_ended_ends_the_session_of_its_own_event_only():
    h = CoreHarness()
    h.start_one(event_id="ev-1")
    h.feed(VolatilityEnded(event_id="ev-0", ticker="KX-A", reason="sigma_below_threshold", ts=h.now))
    assert h.told("KX-A") == []
    h.feed(VolatilityEnded(event_id="ev-1", ticker="KX-A", reason="sigma_below_threshold", ts=h.now))
    assert h.told("KX-A") == [("volatility_ended", PASSIVE)]


def test_a_risk_end_session_exits_now_with_the_governors_reason():
    h = CoreHarness()
    h.start_one()
    h.feed(RiskDirective(ticker="KX-A", action="end_session", reason="daily_loss", ts=h.now))
    assert h.told("KX-A") == [("risk:daily_loss", IMMEDIATE)]
    assert h.stopped() == [("KX-A", "risk:daily_loss", Decimal("0.37"))]


def test_kill_switch_cancels_every_session_and_admits_nothing_until_released():
    h = CoreHarness()
    h.start_one("KX-A")
    h.feed(KillSwitchEngaged(reason="manual", ts=h.now))
    assert h.told("KX-A") == [("kill_switch", CANCEL)]
    h.start_one("KX-B")
    assert [s.ticker for s in h.started()] == ["KX-A"]
    assert "kill switch: manual" in h.status()["dropped_events"][-1]["reason"]
    h.feed(KillSwitchReleased(reason="manual", ts=h.now))
    h.start_one("KX-B")
    assert [s.ticker for s in h.started()] == ["KX-A", "KX-B"]


def test_shutdown_ends_every_session_with_cancel_and_refuses_new_ones():
    h = CoreHarness()
    h.start_one("KX-A")
    assert h.stop_all_sessions("shutdown") == 1
    assert h.told("KX-A") == [("shutdown", CANCEL)]
    assert h.stopped() == [("KX-A", "shutdown", Decimal("0.37"))]
    assert h.core.open_session_count() == 0


def test_shutting_down_stops_and_records_makers_still_exiting():
    h = CoreHarness(finishes=False)
    h.start_one()
    h.run_until(h.now + seconds(300), regimes=("KX-A",))  # TTL: a passive exit under way
    sid = h.session_id("KX-A")
    h.shut_down()
    assert h.told("KX-A") == [("ttl", PASSIVE), ("shutdown", CANCEL)]
    assert h.stopped() == [("KX-A", "shutdown", None)]
    assert StopMaker(sid) in h.carried and h.timers == {}
    assert [c.ticker for c in h.sent(CancelAllOrders, to="order_gateway")] == ["KX-A"]


# -- exits under way ---------------------------------------------------------------------
def test_a_maker_that_does_not_finish_its_exit_is_stopped_at_the_deadline_and_its_ticker_swept(caplog):
    h = CoreHarness(finishes=False)
    h.start_one()
    h.feed(status(h, "KX-A", "-0.05", "1"))
    h.feed(VolatilityEnded(event_id=h.started()[0].event_id, ticker="KX-A", reason="sigma_below_threshold", ts=h.now))
    h.run_until(h.now + seconds(h.config.exit_timeout_s) - 1, regimes=("KX-A",))
    assert h.stopped() == []  # still exiting
    with caplog.at_level("WARNING", logger="mmd.SessionSupervisorActor"):
        h.run_until(h.now + 1, regimes=("KX-A",))
    assert h.stopped() == [("KX-A", "volatility_ended", Decimal("-0.05"))]  # the last MakerStatus's pnl
    (sweep,) = h.sent(CancelAllOrders, to="order_gateway")
    assert sweep.ticker == "KX-A" and h.makers == set()
    (line,) = [r.getMessage() for r in caplog.records if "did not finish" in r.getMessage()]
    assert "its passive exit (volatility_ended) within supervisor.exit_timeout_s (120 s)" in line


def test_a_passive_exit_is_escalated_by_chaotic_then_cancelled_by_the_kill_switch_and_records_the_last_reason():
    h = CoreHarness(finishes=False)
    h.start_one()
    h.run_until(h.now + seconds(300), regimes=("KX-A",))  # TTL: passive exit
    h.feed(regime_update("KX-A", "CHAOTIC", ts=h.now))
    h.feed(RiskDirective(ticker="KX-A", action="end_session", reason="daily_loss", ts=h.now))
    h.feed(KillSwitchEngaged(reason="manual", ts=h.now))
    h.feed(RiskDirective(ticker="KX-A", action="end_session", reason="daily_loss", ts=h.now))
    assert h.told("KX-A") == [
        ("ttl", PASSIVE),
        ("regime_chaotic", IMMEDIATE),  # the risk end (also immediate) changes nothing
        ("kill_switch", CANCEL),  # final: a later immediate stop changes nothing
    ]
    (active,) = h.status()["active"]
    assert (active["state"], active["end_reason"]) == ("STOPPING", "kill_switch")
    h.run_until(h.now + seconds(h.config.exit_timeout_s), regimes=("KX-A",))  # the deadline runs from the first stop
    assert h.stopped() == [("KX-A", "kill_switch", None)]


def test_a_risk_end_session_escalates_a_passive_exit():
    h = CoreHarness(finishes=False)
    h.start_one()
    h.feed(VolatilityEnded(event_id=h.started()[0].event_id, ticker="KX-A", reason="sigma_below_threshold", ts=0))
    h.feed(RiskDirective(ticker="KX-A", action="end_session", reason="daily_loss", ts=h.now))
    assert h.told("KX-A") == [("volatility_ended", PASSIVE), ("risk:daily_loss", IMMEDIATE)]


def test_stale_regime_data_escalates_a_passive_exit():
    h = CoreHarness(finishes=False)
    h.start_one()
    h.run_until(h.now + seconds(300), regimes=("KX-A",))  # TTL; regime data stops with it
    h.run_until(h.now + seconds(STALE_AFTER_S + 1))
    assert h.told("KX-A") == [("ttl", PASSIVE), ("regime_stale", IMMEDIATE)]


def test_shutdown_cancels_sessions_already_exiting_and_counts_them():
    h = CoreHarness(finishes=False)
    h.start_one()
    h.run_until(h.now + seconds(300), regimes=("KX-A",))
    assert h.stop_all_sessions("shutdown") == 1
    assert h.told("KX-A") == [("ttl", PASSIVE), ("shutdown", CANCEL)]


# -- what the maker reports -----------------------------------------------------------------
def test_a_maker_that_ends_by_itself_is_recorded_with_its_own_reason_and_frees_its_slot():
    h = CoreHarness()
    h.start_one("KX-A")
    h.feed(MakerFinished(session_id=h.session_id("KX-A"), ticker="KX-A", reason="sigma 0.0062 below 0.01",
                         position=Decimal("0"), realized_pnl=Decimal("0.11"), fees=Decimal("0.01"), ts=h.now))
    assert h.stopped() == [("KX-A", "maker:sigma 0.0062 below 0.01", Decimal("0.11"))]
    assert h.core.open_session_count() == 0 and h.makers == set()


def test_a_final_report_after_the_exit_deadline_corrects_the_recorded_pnl():
    h = CoreHarness(finishes=False)
    h.start_one()
    sid = h.session_id("KX-A")
    h.feed(status(h, "KX-A", "-0.05", "1"))
    h.run_until(h.now + seconds(300 + h.config.exit_timeout_s), regimes=("KX-A",))  # TTL, then the exit deadline
    ended_ns = h.now
    # the maker, stopped before it finished, reports from its on_stop
    h.feed(MakerFinished(session_id=sid, ticker="KX-A", reason="maker stopped", position=Decimal("2"),
                         realized_pnl=Decimal("-0.21"), fees=Decimal("0.03"), ts=h.now + 1))
    stops = h.published(SessionStopped)
    assert [(m.reason, m.pnl, m.ts, m.session_id) for m in stops] == [
        ("ttl", Decimal("-0.05"), ended_ns, sid), ("ttl", Decimal("-0.21"), ended_ns, sid),
    ]
    (ended,) = h.status()["ended"]
    assert ended["pnl"] == "-0.21"


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


def test_the_status_shows_each_session_with_its_makers_latest_status():
    h = CoreHarness()
    h.start_one("KX-A")
    (active,) = h.status()["active"]
    assert active["maker"]["state"] == "unknown"
    h.feed(status(h, "KX-A", "0.12", "3"))
    (active,) = h.status()["active"]
    assert (active["ticker"], active["state"], active["kind"]) == ("KX-A", "ACTIVE", "volatility")
    assert active["maker"] == {
        "ticker": "KX-A", "state": "QUOTING", "why_not_quoting": "", "adverse_selection": False,
        "position": Decimal("3"), "realized_pnl": Decimal("0.12"), "unrealized_pnl": Decimal("0"), "ts": h.now,
    }
