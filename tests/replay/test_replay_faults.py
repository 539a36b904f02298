"""Scenario faults in replay reach the daemon the way they would over sockets.

mr_jump_faults drops the WebSocket at 150 s, loses two order-book frames at 180 s and
answers three REST requests with 429 at 210 s. The daemon must see the close, reconnect
on the virtual clock and resubscribe (fresh snapshots), ask for a snapshot after the gap,
retry the 429s, and keep quoting. Assertions are on what the client side observed.
"""

from __future__ import annotations

import json
import sqlite3
from collections import deque

import pytest

from config import load_config
from kernel.clock import NS_PER_SECOND
from mmd.replay import RIG_ACCOUNT, SCENARIO_START_NS, InProcessRig, ReplayHarness
from simex import faults_of

TICKER = "KXFED-26DEC-T4.00"


class RecordingNetwork(deque):
    """The rig's network, remembering (exchange time, frame) of everything the exchange sent."""

    def __init__(self, exchange) -> None:
        super().__init__()
        self.exchange = exchange
        self.log: list[tuple[float, object]] = []

    def append(self, item) -> None:
        self.log.append(((self.exchange.now() - SCENARIO_START_NS) / NS_PER_SECOND, item))
        super().append(item)

    def frames_between(self, start_s: float, end_s: float) -> list[dict]:
        return [json.loads(item) for t, item in self.log if start_s <= t < end_s and isinstance(item, str)]


@pytest.fixture(scope="module")
def faulted_run(tmp_path_factory):
    db = tmp_path_factory.mktemp("faults") / "faults.sqlite"
    harness = ReplayHarness(load_config(), db_path=db, scenario="mr_jump_faults", tickers=(TICKER,))
    network = RecordingNetwork(harness.rig.raw_exchange)
    harness.rig.network = network
    harness.run()
    return harness, network, db


def test_every_scenario_fault_reached_the_client(faulted_run):
    harness, _, _ = faulted_run
    assert faults_of(harness.rig.raw_exchange).injected == {"drop_ws_connections": 1, "skip_seq": 2, "burst_429": 3}
    assert faults_of(harness.rig.raw_exchange).active() == []


def test_the_ws_actor_sees_the_drop_and_reconnects_on_the_virtual_clock(faulted_run):
    harness, network, _ = faulted_run
    ws = harness.rig.final_status["ws"]
    assert harness.rig.closes_delivered == 1
    assert ws["reconnects"] == 1
    assert ws["connected"] and ws["ws_healthy"]
    # a fresh connection numbers its sids again from 1: the private channels, then the books
    assert ws["subscriptions"]["orderbook_delta"] == {"sid": 5, "markets": 1, "pending": False}
    after_drop = network.frames_between(150, 155)
    assert {"channel": "orderbook_delta", "sid": 5} in [f["msg"] for f in after_drop if f["type"] == "subscribed"]
    snapshots = [f for f in after_drop if f["type"] == "orderbook_snapshot"]
    assert [(f["sid"], f["seq"]) for f in snapshots] == [(5, 1)]


def test_the_sequence_gap_is_noticed_and_repaired_by_a_snapshot(faulted_run):
    harness, network, _ = faulted_run
    ws = harness.rig.final_status["ws"]
    assert ws["gaps"] == 1
    assert ws["server_errors"] == {}  # the get_snapshot named a covered market
    repairs = [f for f in network.frames_between(180, 600) if f["type"] == "orderbook_snapshot" and "id" in f]
    assert len(repairs) == 1 and repairs[0]["msg"]["market_ticker"] == TICKER


def test_the_rest_client_retried_the_429s(faulted_run):
    harness, _, _ = faulted_run
    rest = harness.rig.final_status["rest"]
    assert rest["retried"] >= 3
    assert rest["http_requests"] >= rest["completed"] + 3


def test_quoting_resumes_after_each_fault(faulted_run):
    _, _, db = faulted_run
    with sqlite3.connect(db) as conn:
        accepted = [(ts - SCENARIO_START_NS) / NS_PER_SECOND for (ts,) in conn.execute(
            "SELECT ts_ns FROM orders WHERE ticker = ? AND event = 'accepted' ORDER BY ts_ns", (TICKER,))]
    assert any(150 < t < 180 for t in accepted)  # after the reconnect
    assert any(t > 210 for t in accepted)  # after the gap and the 429 burst


# ----- the rig's REST shell, request by request -----
def test_the_in_process_rest_shell_answers_bursts_in_front_of_the_exchange(tmp_path):
    rig = InProcessRig(load_config(), tmp_path / "rig.sqlite", run_id="rig")
    faults = faults_of(rig.raw_exchange)
    faults.burst_5xx(count=1, status=502)
    faults.burst_429(count=1)
    answers = [rig.exchange.handle_rest("GET", "/trade-api/v2/portfolio/balance", {}, None, RIG_ACCOUNT)[0]
               for _ in range(3)]
    assert answers == [502, 429, 200]
    assert faults.active() == []


def test_slow_responses_are_counted_but_answered_at_once_in_replay(tmp_path):
    rig = InProcessRig(load_config(), tmp_path / "rig.sqlite", run_id="rig")
    faults = faults_of(rig.raw_exchange)
    faults.slow_responses(delay_s=2, count=1)
    status, _ = rig.exchange.handle_rest("GET", "/trade-api/v2/portfolio/balance", {}, None, RIG_ACCOUNT)
    assert status == 200  # virtual time does not pass inside an actor's handler
    assert faults.injected == {"slow_responses": 1}
