"""Subscriptions the simulated exchange ends are restored, through the real fault and actors.

`channel_error(code)` (simex/_faults.py) ends subscriptions on the server with an error
frame carrying their sid. Whatever the code (10, 17, 25), the WS actor must subscribe
again, and the data must flow again. When the error frame itself is lost, the
subscription just goes silent: the WS actor must notice within seconds, because its
markets keep trading on the other channels, and restore it. Assertions are on what the
client side observed (frames the exchange sent, the WS actor's final status).
"""

from __future__ import annotations

import json
from collections import deque

import pytest

from config import load_config
from kernel.clock import NS_PER_SECOND
from mmd.replay import SCENARIO_START_NS, ReplayHarness
from simex import faults_of
from simex._scenario import parse_scenario

TICKER = "KXFED-26DEC-T4.00"
FAULT_AT_S = 60
SILENCE_WINDOW_S = 10  # the WS actor's default silence window
ALL_CHANNELS = {"fill", "user_orders", "market_positions", "market_lifecycle_v2", "orderbook_delta", "ticker", "trade"}


def scenario_with(fault: dict):
    return parse_scenario({
        "name": "channel_errors",
        "seed": 11,
        "duration_s": 120,
        "markets": [{
            "ticker": TICKER, "category": "Rates", "initial_cents": 40, "close_in_s": 2592000,
            "regimes": [{"kind": "oscillate", "amplitude": 3, "period_s": 60}],
        }],
        "faults": [{"at_s": FAULT_AT_S, **fault}],
    })


class RecordingNetwork(deque):
    """The rig's network, remembering (scenario second, frame) of what the exchange sent;
    with lose_errors, error frames are lost on the way (the client never sees them)."""

    def __init__(self, exchange, lose_errors: bool = False) -> None:
        super().__init__()
        self.exchange = exchange
        self.lose_errors = lose_errors
        self.log: list[tuple[float, dict]] = []

    def append(self, item) -> None:
        if isinstance(item, str):
            frame = json.loads(item)
            self.log.append(((self.exchange.now() - SCENARIO_START_NS) / NS_PER_SECOND, frame))
            if self.lose_errors and frame.get("type") == "error":
                return
        super().append(item)

    def frames(self, kind: str, start_s: float, end_s: float = 1e9) -> list[tuple[float, dict]]:
        return [(t, f) for t, f in self.log if f.get("type") == kind and start_s <= t < end_s]


def run_with(tmp_path, fault: dict, lose_errors: bool = False):
    harness = ReplayHarness(load_config(), db_path=tmp_path / "run.sqlite", scenario=scenario_with(fault),
                            tickers=(TICKER,), runtime="deterministic")
    network = RecordingNetwork(harness.rig.raw_exchange, lose_errors)
    harness.rig.network = network
    harness.run()
    return harness, network


@pytest.mark.parametrize("code", [10, 17, 25])
def test_every_subscription_the_server_ends_is_restored_whatever_the_code(tmp_path, code):
    harness, network = run_with(tmp_path, {"kind": "channel_error", "code": code})
    assert faults_of(harness.rig.raw_exchange).injected == {"channel_error": len(ALL_CHANNELS)}
    restored = {f["msg"]["channel"] for _, f in network.frames("subscribed", FAULT_AT_S, FAULT_AT_S + 2)}
    assert restored == ALL_CHANNELS
    ws = harness.rig.final_status["ws"]
    assert ws["connected"] and ws["ws_healthy"] and ws["subscriptions_down"] == {}
    assert ws["server_errors"] == {str(code): len(ALL_CHANNELS)}
    assert all(s["sid"] is not None for s in ws["subscriptions"].values())


def test_data_flows_again_on_the_restored_subscriptions(tmp_path):
    harness, network = run_with(tmp_path, {"kind": "channel_error", "code": 17})
    new_sids = {f["msg"]["sid"] for _, f in network.frames("subscribed", FAULT_AT_S, FAULT_AT_S + 2)}
    assert [t for t, f in network.frames("orderbook_snapshot", FAULT_AT_S) if f["sid"] in new_sids]
    late_data = [f for kind in ("orderbook_delta", "ticker", "trade") for _, f in network.frames(kind, FAULT_AT_S + 10)]
    assert late_data and {f["sid"] for f in late_data} <= new_sids


def test_a_book_subscription_ended_without_a_word_is_noticed_and_restored_within_seconds(tmp_path):
    harness, network = run_with(tmp_path, {"kind": "channel_error", "code": 17, "channel": "orderbook_delta"}, lose_errors=True)
    assert faults_of(harness.rig.raw_exchange).injected == {"channel_error": 1}
    (restored_at, _), = [(t, f) for t, f in network.frames("subscribed", FAULT_AT_S)
                         if f["msg"]["channel"] == "orderbook_delta"]
    assert restored_at <= FAULT_AT_S + 2 * SILENCE_WINDOW_S
    ws = harness.rig.final_status["ws"]
    assert ws["silent_subscriptions"] == 1 and ws["ws_healthy"] and ws["server_errors"] == {}
    assert ws["subscriptions"]["orderbook_delta"]["sid"] is not None
