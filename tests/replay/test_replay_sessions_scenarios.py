"""Volatility sessions end to end on generated scenarios: the real scanner, supervisor,
makers, risk governor, REST/WS actors and SQLite, against the in-process simulated
exchange on a virtual clock. Every test reads the recorded reasons from
volatility_sessions, where analytics writes them.

The maker's own sigma guardrail (maker.guardrails.min_sigma) is switched off where a test
is about a supervisor rule: otherwise the maker pauses its quotes in the quiet stretch.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from actors._base import FatalActorError
from actors.maker import MakerActor
from config import load_config
from messages import RequoteDue
from kernel.clock import NS_PER_SECOND
from mmd.replay import SCENARIO_START_NS, ReplayHarness

NO_MAKER_SIGMA_GUARD = {"maker": {"guardrails": {"min_sigma": "0"}}}


@dataclass
class SessionRow:
    ticker: str
    event_id: str | None
    started_s: float  # seconds into the scenario
    ended_s: float | None
    start_reason: str
    end_reason: str | None
    pnl: str | None


def run_scenario(tmp_path, name, overrides=None, run_id="sessions"):
    tmp_path.mkdir(parents=True, exist_ok=True)
    db = tmp_path / f"{name}.sqlite"
    harness = ReplayHarness(load_config(overrides=overrides or {}), db_path=db, scenario=name, run_id=run_id)
    harness.run()
    return db


def sessions(db) -> list[SessionRow]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT ticker, event_id, started_ns, ended_ns, start_reason, end_reason, pnl"
            " FROM volatility_sessions ORDER BY started_ns, session_id"
        ).fetchall()
    to_s = lambda ns: None if ns is None else (ns - SCENARIO_START_NS) / NS_PER_SECOND  # noqa: E731
    return [SessionRow(t, e, to_s(s), to_s(x), sr, er, p) for t, e, s, x, sr, er, p in rows]


def order_count(db, ticker) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT COUNT(*) FROM orders WHERE ticker = ? AND event = 'accepted'", (ticker,)
        ).fetchone()[0]


def test_a_mean_reverting_jump_spawns_a_session_that_quotes_and_ends_on_ttl(tmp_path):
    db = run_scenario(tmp_path, "mr_jump", {**NO_MAKER_SIGMA_GUARD, "supervisor": {"session_ttl_s": 60}})
    (session,) = sessions(db)
    assert session.ticker == "KXFED-26DEC-T4.00"
    assert session.start_reason == f"volatility:{session.event_id}"
    assert session.end_reason == "ttl"
    assert session.started_s > 90  # the jump comes after 90 quiet seconds
    assert session.ended_s >= session.started_s + 60
    assert session.pnl is not None
    assert order_count(db, "KXFED-26DEC-T4.00") > 0


def test_a_trending_market_spawns_no_session(tmp_path):
    db = run_scenario(tmp_path, "trending")
    assert sessions(db) == []


def test_a_market_that_turns_trending_mid_session_is_soft_killed(tmp_path):
    db = run_scenario(tmp_path, "turns_trending", NO_MAKER_SIGMA_GUARD)
    (session,) = sessions(db)
    assert session.end_reason == "regime_trending"


def test_a_market_that_turns_chaotic_mid_session_is_hard_killed(tmp_path):
    db = run_scenario(tmp_path, "turns_chaotic", NO_MAKER_SIGMA_GUARD)
    (session,) = sessions(db)
    assert session.end_reason == "regime_chaotic"


def test_a_fourth_simultaneous_event_waits_for_a_free_slot(tmp_path):
    # the waiting event needs the scanner's regime view for as long as it may wait
    db = run_scenario(
        tmp_path,
        "four_events",
        {
            **NO_MAKER_SIGMA_GUARD,
            "supervisor": {"pending_event_max_age_s": 400},
            "scanner": {"regimes": {"event_publish_s": 400}},
        },
    )
    rows = sessions(db)
    assert len(rows) == 4, rows
    first_three, fourth = rows[:3], rows[3]
    assert fourth.started_s >= min(r.ended_s for r in first_three)  # it waited for a slot
    for row in rows:  # never more than three at once
        overlapping = [r for r in rows if r.started_s <= row.started_s < (r.ended_s or float("inf"))]
        assert len(overlapping) <= 3
    assert all(r.end_reason for r in rows)


class CrashingMaker(MakerActor):
    """A maker with a bug: fails on its third requote."""

    requotes = 0

    def on_receive(self, message):
        if isinstance(message, RequoteDue):
            self.requotes += 1
            if self.requotes == 3:
                if self.tracker is not None:
                    self.tracker.done()  # the message is handled (by failing)
                raise FatalActorError("maker bug")
        return super().on_receive(message)


def test_a_maker_crash_is_contained_and_the_other_sessions_carry_on(tmp_path, monkeypatch):
    import mmd.app

    crashing = {"n": 0}

    class FirstMakerCrashes(CrashingMaker):
        def on_start(self):
            crashing["n"] += 1
            self.requotes = 0 if crashing["n"] == 1 else -10**9  # only the first session's maker fails
            super().on_start()

    monkeypatch.setattr(mmd.app, "MakerActor", FirstMakerCrashes)
    db = run_scenario(tmp_path, "four_events")
    rows = sessions(db)
    assert rows[0].end_reason == "crashed"
    assert len(rows) >= 3 and all(r.end_reason and r.end_reason != "crashed" for r in rows[1:])


def test_the_same_scenario_twice_gives_identical_sessions_and_orders(tmp_path):
    first = run_scenario(tmp_path / "a", "turns_chaotic", NO_MAKER_SIGMA_GUARD)
    second = run_scenario(tmp_path / "b", "turns_chaotic", NO_MAKER_SIGMA_GUARD)
    for table in ("volatility_events", "volatility_sessions", "orders", "order_fills"):
        with sqlite3.connect(first) as a, sqlite3.connect(second) as b:
            query = f"SELECT * FROM {table} ORDER BY rowid"  # noqa: S608 (our table names)
            assert a.execute(query).fetchall() == b.execute(query).fetchall(), table
