"""Fault bookkeeping of the simulated exchange: clear() undoes a pause but not an early close,
active() lists the market faults in force, and fault counts above the documented maximum are
refused (by the API and by the admin endpoint) while the maximum itself is accepted."""

from __future__ import annotations

import pytest
import requests
from simex_testkit import TICKER, place
from simex_testkit import WsClient as Client

from simex import BID, faults_of
from simex._faults import MAX_FAULT_COUNT
from simex._server import SimServer


# ----- clear() undoes a pause; active() shows market faults -----
def test_clear_resumes_a_market_paused_by_a_fault_and_active_listed_it(ex):
    faults = faults_of(ex)
    faults.pause_market(TICKER)
    assert faults.active() == [{"fault": "pause_market", "ticker": TICKER}]
    faults.clear()
    assert ex.markets[TICKER].status == "active"
    assert faults.active() == []
    assert place(ex, "alice", BID, "0.40", 1).status == "resting"  # trading works again


def test_clear_leaves_an_early_close_closed_and_still_listed(ex):
    faults = faults_of(ex)
    faults.close_market_early(TICKER)
    faults.clear()
    assert ex.markets[TICKER].status == "closed"
    assert faults.active() == [{"fault": "close_market_early", "ticker": TICKER}]


def test_a_market_resumed_through_the_fault_api_is_no_longer_listed(ex):
    faults = faults_of(ex)
    faults.pause_market(TICKER)
    faults.resume_market(TICKER)
    assert faults.active() == []


@pytest.mark.parametrize("spec", [
    {"fault": "malformed_frames", "count": MAX_FAULT_COUNT + 1},
    {"fault": "skip_seq", "n": MAX_FAULT_COUNT + 1},
    {"fault": "burst_429", "count": MAX_FAULT_COUNT + 1},
    {"fault": "burst_5xx", "count": 10**12},
])
def test_fault_counts_above_the_documented_maximum_are_refused(ex, spec):
    client = Client(ex)
    with pytest.raises(ValueError, match=f"at most {MAX_FAULT_COUNT}"):
        faults_of(ex).apply(spec)
    assert client.take() == [] and faults_of(ex).active() == []


def test_the_admin_endpoint_answers_400_above_the_maximum(ex):
    server = SimServer(ex, ping_interval_s=0).start_in_thread()
    try:
        reply = requests.post(f"http://127.0.0.1:{server.port}/_admin/faults",
                              json={"fault": "malformed_frames", "count": MAX_FAULT_COUNT + 1}, timeout=5)
    finally:
        server.stop()
    assert reply.status_code == 400
    assert f"count must be a positive integer of at most {MAX_FAULT_COUNT}" in reply.json()["error"]["details"]


def test_the_maximum_itself_is_accepted(ex):
    faults_of(ex).apply({"fault": "burst_429", "count": MAX_FAULT_COUNT})
    assert faults_of(ex).active() == [{"fault": "burst_429", "remaining": MAX_FAULT_COUNT}]


def test_the_admin_endpoint_shows_what_hit_clients_injected_faults_and_rate_limit_429s(clock):
    from simex import Exchange, MarketSpec
    from simex_testkit import order_body, rest

    ex = Exchange(now_ns=clock, rate_limit_tier="basic")
    ex.add_market(MarketSpec(ticker=TICKER, event_ticker="KXTEST-26DEC31", series_ticker="KXTEST"))
    ex.register_account("alice", 100_000)
    faults_of(ex).burst_429(count=1)
    ex.limiter("alice").drain("write", clock.ns)
    assert rest(ex, "POST", "/portfolio/events/orders", order_body())[0] == 429  # the limiter's
    server = SimServer(ex, ping_interval_s=0).start_in_thread()
    try:
        reply = requests.get(f"http://127.0.0.1:{server.port}/trade-api/v2/markets", timeout=5)  # the fault's
        shown = requests.get(f"http://127.0.0.1:{server.port}/_admin/faults", timeout=5).json()
    finally:
        server.stop()
    assert reply.status_code == 429
    assert shown["rate_limited"] == {"alice": {"write": 1}}
    assert shown["injected"] == {"burst_429": 1}
