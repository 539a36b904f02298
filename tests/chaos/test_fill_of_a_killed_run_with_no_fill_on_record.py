"""Found by the chaos kills phase (20 kill -9 with immediate restarts, 3 markets x 3 levels):
the exchange reported 12 fills, SQLite held 10. The start-up read-back starts at the last fill
an earlier run recorded; when no earlier run recorded one yet (the account's first fills were
made by a run killed before it flushed them, or while the daemon was down between a kill and
the restart, its orders still resting), it reads back this run's fills only, and those fills
are never stored.

What must happen: the fills of a killed run and those made while the daemon was down reach
SQLite once, whether or not an earlier run had recorded a fill. Driven like
tests/replay/test_replay_fills_read_back.py: the simulated exchange in process, the analytics
store the daemon writes.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal


from actors.analytics import AnalyticsStore
from actors.rest import KalshiRestClient, LoopbackTransport
from kernel.clock import NS_PER_SECOND
from mmd.runner import plan_fill_read_back, read_back_fills
from simex import DEFAULT_MARKET, build_default_exchange
from simex._model import IOC, OrderRequest

ACCOUNT = "acct-1"
T0 = 1_795_000_000 * NS_PER_SECOND
S = NS_PER_SECOND


class Venue:
    def __init__(self) -> None:
        self.now = T0
        self.exchange = build_default_exchange(seed=3, now_ns=lambda: self.now)
        self.exchange.register_account(ACCOUNT, 1_000_000)
        self.client = KalshiRestClient(LoopbackTransport(self.exchange, ACCOUNT), max_attempts=1,
                                       backoff_base_s=0.0, backoff_cap_s=0.0, sleep=lambda _s: None)

    def fill_at(self, t_ns: int) -> str:
        self.now = t_ns
        self.exchange.advance(t_ns)
        self.exchange.place_order(ACCOUNT, OrderRequest(DEFAULT_MARKET.ticker, "bid", Decimal("0.99"), Decimal("1"),
                                                        time_in_force=IOC))
        return self.exchange.fills[-1].fill_id


def test_fills_of_a_killed_run_that_had_recorded_none_are_read_back_at_the_restart(tmp_path):
    db, venue = tmp_path / "mmd.sqlite", Venue()
    first = AnalyticsStore(db, "run-1")
    first.start_run("paper", {}, T0)
    unflushed = venue.fill_at(T0 + 10 * S)  # the WS delivered it, the buffer was not flushed yet
    first.close()  # kill -9: no shutdown read-back, no end of run
    while_down = venue.fill_at(T0 + 12 * S)  # its quote still rested until the restart's cancel

    venue.now = T0 + 16 * S
    second = AnalyticsStore(db, "run-2")
    second.start_run("paper", {}, venue.now)
    plan = plan_fill_read_back(second, venue.client, "paper", run_started_ns=venue.now)
    read_back_fills(second, venue.client, plan, now_ns=venue.now)
    second.close()

    with sqlite3.connect(db) as conn:
        stored = sorted(row[0] for row in conn.execute("SELECT fill_id FROM order_fills"))
    assert stored == sorted([unflushed, while_down])


def test_a_run_that_ended_cleanly_bounds_where_the_read_back_starts(tmp_path):
    db, venue = tmp_path / "mmd.sqlite", Venue()
    killed = AnalyticsStore(db, "run-1")
    killed.start_run("paper", {}, T0)
    killed.close()
    clean = AnalyticsStore(db, "run-2")
    clean.start_run("paper", {}, T0 + 10 * S)
    clean.end_run(T0 + 20 * S, "signal SIGTERM")  # its shutdown read-back covered run-1's window
    clean.close()
    third = AnalyticsStore(db, "run-3")
    third.start_run("paper", {}, T0 + 30 * S)
    plan = plan_fill_read_back(third, venue.client, "paper", run_started_ns=T0 + 30 * S)
    third.close()
    assert plan.anchor_fill_id is None and plan.since_ns == T0 + 30 * S
