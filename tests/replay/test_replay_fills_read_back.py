"""Every fill of the account reaches SQLite exactly once, however the run before ended.

A run that dies (kill -9) never does its shutdown fill read-back: a fill the WebSocket had
not delivered yet, and any fill made while the daemon was down, would be lost. Start-up
therefore reads back every fill since the last one an earlier run recorded for this
account (its time and fill id), skipping fill ids already stored. The account is known by
that last fill: if the exchange does not know it (a fresh paper exchange, another key),
nothing earlier is this account's and the read-back covers this run only.

Driven against the real simulated exchange, in process (its REST API through the REST
client), with the analytics store the daemon writes.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from actors.analytics import AnalyticsStore
from actors.rest import KalshiRestClient, LoopbackTransport, order_filled_from
from kernel.clock import NS_PER_SECOND
from mmd.runner import plan_fill_read_back, read_back_fills
from simex import DEFAULT_MARKET, build_default_exchange
from simex._model import IOC, OrderRequest

ACCOUNT = "acct-1"
T0 = 1_795_000_000 * NS_PER_SECOND
S = NS_PER_SECOND


class Venue:
    """A simulated exchange on a hand-moved clock, with our account and a REST client."""

    def __init__(self, seed: int = 3) -> None:
        self.now = T0
        self.exchange = build_default_exchange(seed=seed, now_ns=lambda: self.now)
        self.exchange.register_account(ACCOUNT, 1_000_000)
        self.client = KalshiRestClient(LoopbackTransport(self.exchange, ACCOUNT), max_attempts=1,
                                       backoff_base_s=0.0, backoff_cap_s=0.0, sleep=lambda _s: None)

    def fill_at(self, t_ns: int) -> str:
        """One of our orders trades at t_ns (buys 1 YES at the touch); returns its fill id."""
        self.now = t_ns
        self.exchange.advance(t_ns)
        order = OrderRequest(DEFAULT_MARKET.ticker, "bid", Decimal("0.99"), Decimal("1"), time_in_force=IOC)
        self.exchange.place_order(ACCOUNT, order)
        return self.exchange.fills[-1].fill_id

    def deliver_on_websocket(self, store: AnalyticsStore, fill_id: str) -> None:
        """What the WS actor and analytics do with a fill the fill channel delivered."""
        (fill,) = [f for f in self.client.get_fills() if f.fill_id == fill_id]
        store.record(order_filled_from(fill, self.now))
        store.flush()


def start_run(db, run_id: str, mode: str, now_ns: int) -> AnalyticsStore:
    store = AnalyticsStore(db, run_id)
    store.start_run(mode, {}, now_ns)
    return store


def start_up_read_back(store: AnalyticsStore, venue: Venue, mode: str):
    plan = plan_fill_read_back(store, venue.client, mode, run_started_ns=venue.now)
    read_back_fills(store, venue.client, plan, now_ns=venue.now)
    return plan


def stored_fill_ids(db) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT fill_id, run_id FROM order_fills ORDER BY fill_id").fetchall()


def test_fills_missed_by_a_crashed_run_and_made_while_down_are_read_back_once(tmp_path):
    db, venue = tmp_path / "mmd.sqlite", Venue()
    first = start_run(db, "run-1", "demo", T0)
    delivered = [venue.fill_at(T0 + 10 * S), venue.fill_at(T0 + 20 * S)]
    for fill_id in delivered:
        venue.deliver_on_websocket(first, fill_id)
    in_the_last_second = venue.fill_at(T0 + 20 * S + S // 2)  # the WS had not delivered it yet
    first.close()  # kill -9: no shutdown read-back, no end of run
    while_down = venue.fill_at(T0 + 40 * S)

    venue.now = T0 + 50 * S
    second = start_run(db, "run-2", "demo", venue.now)
    plan = start_up_read_back(second, venue, "demo")
    assert plan.anchor_fill_id == delivered[-1]
    after_restart = venue.fill_at(T0 + 60 * S)
    venue.deliver_on_websocket(second, after_restart)
    read_back_fills(second, venue.client, plan, now_ns=venue.now)  # the shutdown read-back
    second.close()

    everything = [*delivered, in_the_last_second, while_down, after_restart]
    assert sorted(fill_id for fill_id, _ in stored_fill_ids(db)) == sorted(everything)
    assert dict(stored_fill_ids(db))[while_down] == "run-2"


def test_the_start_up_read_back_after_a_clean_stop_adds_nothing(tmp_path):
    db, venue = tmp_path / "mmd.sqlite", Venue()
    first = start_run(db, "run-1", "demo", T0)
    made = [venue.fill_at(T0 + 10 * S), venue.fill_at(T0 + 10 * S + S // 10)]  # two in one second
    plan = plan_fill_read_back(first, venue.client, "demo", run_started_ns=T0)
    read_back_fills(first, venue.client, plan, now_ns=venue.now)
    first.close()
    venue.now = T0 + 30 * S
    second = start_run(db, "run-2", "demo", venue.now)
    start_up_read_back(second, venue, "demo")
    second.close()
    assert sorted(fill_id for fill_id, _ in stored_fill_ids(db)) == sorted(made)


def test_a_fresh_exchange_whose_fill_ids_repeat_an_earlier_runs_loses_none_of_its_fills(tmp_path):
    # paper mode starts a new simulated exchange each time; its ids come from counters
    db = tmp_path / "mmd.sqlite"
    earlier = Venue()
    first = start_run(db, "run-1", "paper", T0)
    earlier_id = earlier.fill_at(T0 + 10 * S)
    earlier.deliver_on_websocket(first, earlier_id)
    first.close()
    fresh = Venue()  # same seed, same clock: the same history of ids
    second = start_run(db, "run-2", "paper", fresh.now)
    plan = start_up_read_back(second, fresh, "paper")
    assert plan.anchor_fill_id is None  # the fresh exchange does not know the earlier fill
    same_id = fresh.fill_at(T0 + 10 * S)
    assert same_id == earlier_id
    read_back_fills(second, fresh.client, plan, now_ns=fresh.now)
    second.close()
    assert stored_fill_ids(db) == [(same_id, "run-1"), (same_id, "run-2")]


def test_another_modes_fills_do_not_mark_where_this_account_stopped(tmp_path):
    db, venue = tmp_path / "mmd.sqlite", Venue()
    paper = start_run(db, "run-paper", "paper", T0)
    venue.deliver_on_websocket(paper, venue.fill_at(T0 + 30 * S))
    paper.close()
    venue.now = T0 + 60 * S
    demo = start_run(db, "run-demo", "demo", venue.now)
    plan = start_up_read_back(demo, venue, "demo")
    assert plan.anchor_fill_id is None and plan.since_ns == T0 + 60 * S
    demo.close()
