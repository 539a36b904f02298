"""The scanner through the real daemon on generated scenarios (virtual time, in-process
simulated exchange): discovery finds the market, a mean-reverting jump becomes one
VolatilityDetected row, a trending market becomes none, and the rows repeat exactly."""

from __future__ import annotations

import sqlite3

from config import load_config
from mmd.replay import run_replay, table_dump


def rows(db_path, sql):
    with sqlite3.connect(db_path) as db:
        return db.execute(sql).fetchall()


def replay(name, db_path, **kw):
    return run_replay(load_config(overrides={"mode": "backtest"}), scenario=name, db_path=db_path, run_id="scan", **kw)


def test_a_mean_reverting_jump_is_detected_once_after_it_has_reverted(tmp_path):
    db = tmp_path / "mr.sqlite"
    replay("mr_jump", db)
    (event,) = rows(db, "SELECT ticker, ts_ns, regime, jump_magnitude, signal_strength FROM volatility_events")
    ticker, ts_ns, regime, jump, strength = event
    assert ticker == "KXFED-26DEC-T4.00"
    assert regime in ("MEAN_REVERTING", "QUIET")
    assert abs(float(jump)) >= 0.12 and 0 < strength <= 1
    jump_at_ns = 1_795_000_000 * 10**9 + 90 * 10**9  # the scenario jumps 90 s in
    assert jump_at_ns < ts_ns <= jump_at_ns + 300 * 10**9  # within the 5-minute jump window
    (discovery,) = rows(db, "SELECT total_markets, pre_filtered FROM discovery_sessions LIMIT 1")
    assert discovery == (1, 1)
    (market,) = rows(db, "SELECT ticker, selected_for_trading FROM discovered_markets LIMIT 1")
    assert market == ("KXFED-26DEC-T4.00", 1)


def test_a_trending_market_produces_no_volatility_event(tmp_path):
    db = tmp_path / "trend.sqlite"
    replay("trending", db)
    assert table_dump(db, "volatility_events") == []
    assert rows(db, "SELECT COUNT(*) FROM discovered_markets WHERE ticker = 'KXPAYROLLS-26NOV-T150'") == [(2,)]  # two runs in 600 s


def test_the_same_scenario_twice_gives_identical_scanner_rows(tmp_path):
    replay("mr_jump", tmp_path / "a.sqlite", duration_s=300)
    replay("mr_jump", tmp_path / "b.sqlite", duration_s=300)
    for table in ("volatility_events", "discovery_sessions", "discovered_markets"):
        assert table_dump(tmp_path / "a.sqlite", table) == table_dump(tmp_path / "b.sqlite", table), table


def test_discovery_style_completes_a_discovery_on_the_default_scenario(tmp_path):
    # ten markets: more event/series lookups than the scanner's 20 reads a second, so some
    # wait for the next second (there is no sweep timer in discovery style to send them)
    db = tmp_path / "discovery.sqlite"
    config = load_config(overrides={"mode": "backtest", "scanner": {"style": "discovery"}})
    run_replay(config, scenario="default", db_path=db, run_id="disc", duration_s=30)
    ((discoveries, total),) = rows(db, "SELECT COUNT(*), MAX(total_markets) FROM discovery_sessions WHERE run_id = 'disc'")
    assert (discoveries, total) == (1, 10)
    selected = rows(db, "SELECT COUNT(*) FROM discovered_markets WHERE run_id = 'disc' AND selected_for_trading = 1")
    assert selected[0][0] > 0
    started = rows(db, "SELECT COUNT(*) FROM volatility_sessions WHERE run_id = 'disc' AND start_reason LIKE 'discovery:%'")
    assert started[0][0] == selected[0][0]  # the supervisor starts a session per selected market
