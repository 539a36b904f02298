"""Supervisor rules the scenario scanner cannot reach on its own, through the real actors.

The real daemon (supervisor, makers, risk, REST/WS, analytics, SQLite) runs on a virtual
clock against a simulated-exchange scenario; the test plays the scanner, publishing its
contract messages (VolatilityDetected, RegimeUpdated) on the daemon's bus at scripted
times. Why not the real scanner here: its discovery rightly skips a market that closes
within a day (near_close) and never fires on a market too quiet to trade.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Callable

from config import load_config
from messages import KillSwitchEngaged, MarketConfig, OrderFilled, RegimeUpdated, VolatilityDetected
from kernel.clock import seconds
from mmd.replay import SCENARIO_START_NS, ReplayHarness, _next_scheduled_ns

NO_MAKER_SIGMA_GUARD = {"maker": {"guardrails": {"min_sigma": "0"}}}
Script = list[tuple[float, Callable[[int], object]]]  # (seconds into the scenario, now_ns -> message)


def market_config(ticker, close_ts=None) -> MarketConfig:
    return MarketConfig(
        ticker=ticker, category="rates", profile="mean_reverting", max_exposure=Decimal("8.00"),
        size_factor=Decimal("1"), quote_sides="both", price_band="normal", k=Decimal("1.2"),
        sigma=Decimal("0.03"), gamma_multiplier=Decimal("1.0"), min_spread=Decimal("0.02"),
        max_spread=Decimal("0.04"), regime="MEAN_REVERTING", close_ts=close_ts,
    )


def event(ticker, close_ts=None) -> Callable[[int], VolatilityDetected]:
    return lambda now: VolatilityDetected(
        event_id=f"test-{ticker}", ticker=ticker, category="rates", strength=Decimal("0.8"),
        sigma=Decimal("0.03"), jump=Decimal("-0.16"), direction="down", regime="MEAN_REVERTING",
        config=market_config(ticker, close_ts), ts=now,
    )


def regime(ticker, sigma="0.03", name="MEAN_REVERTING") -> Callable[[int], RegimeUpdated]:
    return lambda now: RegimeUpdated(
        ticker=ticker, regime=name, candidate=name, stable=True, sigma=Decimal(sigma), drift_z=Decimal("0"),
        mr_score=Decimal("0.7"), gamma_multiplier=Decimal("1.0"), k_multiplier=Decimal("1.0"), ts=now,
        data_ts=now,  # the scanner's newest observation: fresh data each second
    )


def every_second(start_s: int, end_s: int, make: Callable[[int], object]) -> Script:
    return [(float(t), make) for t in range(start_s, end_s)]


def run_driven(tmp_path, scenario: str, script: Script, overrides=None, duration_s=None):
    """Run the scenario with the scanner replaced by `script`. Returns the database path."""
    db = tmp_path / f"{scenario}.sqlite"
    harness = ReplayHarness(
        load_config(overrides=overrides or {}), db_path=db, scenario=scenario, run_id="driven", duration_s=duration_s
    )
    rig = harness.rig
    start = rig.clock.now_ns()
    end = start + harness.duration_ns
    queue = sorted(((start + seconds(t), i, make) for i, (t, make) in enumerate(script)), key=lambda x: x[:2])
    rig.start()
    rig.daemon.refs["scanner"].stop()  # the test is the scanner now
    bus = rig.daemon.bus
    try:
        while True:
            next_exchange = rig.act(_next_scheduled_ns)
            next_script = queue[0][0] if queue else None
            due = [t for t in (next_exchange, next_script) if t is not None]
            if not due or min(due) > end:
                break
            now = min(due)
            rig.run_until(now, before_ns=now)
            if next_exchange == now:
                rig.act(lambda exchange: exchange.advance(now))
            while queue and queue[0][0] == now:
                bus.publish(queue.pop(0)[2](now))
                rig.quiet()
                rig.deliver_frames()
        rig.run_until(end)
    finally:
        rig.shutdown("replay finished")
    return db


def session_rows(db):
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT ticker, started_ns, ended_ns, end_reason FROM volatility_sessions ORDER BY started_ns"
        ).fetchall()


def test_a_session_ends_three_minutes_before_the_market_closes(tmp_path):
    ticker = "KXFEDDECISION-26NOV-H0"
    close_ts = SCENARIO_START_NS + seconds(600)  # the scenario closes it at 600 s
    script = [(120.0, event(ticker, close_ts))] + every_second(100, 500, regime(ticker))
    db = run_driven(tmp_path, "near_close", script, NO_MAKER_SIGMA_GUARD, duration_s=500)
    ((row_ticker, started, ended, reason),) = session_rows(db)
    assert (row_ticker, reason) == (ticker, "market_close")
    assert started == SCENARIO_START_NS + seconds(125)  # after the 5 s regime wait
    assert close_ts - seconds(180) <= ended < close_ts


def test_sigma_below_the_floor_ends_the_session(tmp_path):
    ticker = "KXTBILL3M-26DEC-T4.10"
    script = (
        [(30.0, event(ticker))]
        + every_second(25, 60, regime(ticker, sigma="0.03"))
        + every_second(60, 120, regime(ticker, sigma="0.004"))
    )
    db = run_driven(tmp_path, "quiet_low_sigma", script, NO_MAKER_SIGMA_GUARD, duration_s=120)
    ((_, started, ended, reason),) = session_rows(db)
    assert reason == "sigma_floor"
    assert ended >= SCENARIO_START_NS + seconds(60)


def test_regime_data_going_silent_is_a_hard_kill(tmp_path):
    ticker = "KXTBILL3M-26DEC-T4.10"
    script = [(30.0, event(ticker))] + every_second(25, 50, regime(ticker))
    db = run_driven(tmp_path, "quiet_low_sigma", script, NO_MAKER_SIGMA_GUARD, duration_s=90)
    ((_, _, ended, reason),) = session_rows(db)
    assert reason == "regime_stale"
    assert ended >= SCENARIO_START_NS + seconds(53)


def test_never_a_session_on_a_ticker_with_an_open_position(tmp_path):
    held, free = "KXTBILL3M-26DEC-T4.10", "KXOTHER-1"

    def leftover_fill(now):  # a position left over: the risk governor hears the fill
        return OrderFilled(
            fill_id="f-old", order_id="o-old", client_order_id="mmd-old-1", ticker=held, side="bid",
            price=Decimal("0.50"), count=Decimal("3"), fee=Decimal("0.02"), is_taker=False,
            post_position=Decimal("3"), ts_event=now, ts_recv=now,
        )

    script = (
        [(10.0, leftover_fill), (30.0, event(held)), (30.0, event(free))]
        + every_second(25, 60, regime(held))
        + every_second(25, 60, regime(free))
    )
    db = run_driven(tmp_path, "quiet_low_sigma", script, NO_MAKER_SIGMA_GUARD, duration_s=60)
    ((ticker, _, ended, reason),) = session_rows(db)
    assert ticker == free
    assert (ended, reason) == (SCENARIO_START_NS + seconds(60), "replay finished")  # ended by the rig's shutdown


def test_the_kill_switch_ends_every_session_and_no_new_one_starts(tmp_path):
    a, b, c = "KXFED-26DEC-T4.00", "KXCPIYOY-26NOV-T2.8", "KXUNRATE-26NOV-T4.3"
    kill = lambda now: KillSwitchEngaged(reason="operator", ts=now)  # noqa: E731
    script = (
        [(20.0, event(a)), (20.0, event(b)), (40.0, kill), (45.0, event(c))]
        + [entry for ticker in (a, b, c) for entry in every_second(15, 80, regime(ticker))]
    )
    db = run_driven(tmp_path, "four_events", script, NO_MAKER_SIGMA_GUARD, duration_s=80)
    rows = session_rows(db)
    assert sorted((r[0], r[3]) for r in rows) == sorted([(a, "kill_switch"), (b, "kill_switch")])
    assert all(r[2] >= SCENARIO_START_NS + seconds(40) for r in rows)
