"""The metrics actor on the bus, scraped for real over loopback HTTP (Prometheus text format)."""

from __future__ import annotations

import socket

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from actors.metrics import MetricsActor
from kernel.bus import Bus, InFlightTracker
from kernel.clock import ReplayClock
from messages import FeedHealthChanged, RiskStateChanged, SessionStarted
from tests.operations._operations_factories import MS, T0, accepted, exposure, maker_status, request_sent


def scrape(url: str, **headers: str) -> dict[tuple[str, tuple], float]:
    response = requests.get(url, headers=headers, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


@pytest.fixture
def metrics():
    tracker = InFlightTracker()
    clock = ReplayClock(T0, tracker)
    bus = Bus(tracker)
    ref = MetricsActor.start(clock=clock, bus=bus, tracker=tracker, port=0)
    ref.proxy().ping().get(timeout=5)
    yield bus, tracker, ref
    ref.stop(timeout=5)


def test_a_scrape_over_loopback_shows_what_the_bus_said(metrics):
    bus, tracker, ref = metrics
    for message in (
        SessionStarted(session_id="s1", ticker="KX-A", reason="volatility", ts=T0),
        FeedHealthChanged(healthy=True, reason="connected", ts_recv=T0),
        exposure(T0, ("KX-A", "4", 2, "3.20")),
        maker_status("s1", "KX-A", "QUOTING", T0, realized="0.50"),
        request_sent("c1", T0),
        accepted("c1", T0 + 25 * MS),
        RiskStateChanged(state="REDUCING", reason="drawdown", ts=T0),
    ):
        bus.publish(message)
    assert tracker.wait_quiet(5)
    url = ref.proxy().get_status().get(timeout=5)["url"]
    assert url.startswith("http://127.0.0.1:")

    samples = scrape(url)

    assert samples[("mmd_position_contracts", (("ticker", "KX-A"),))] == 4
    assert samples[("mmd_realized_pnl_dollars", (("ticker", "KX-A"),))] == 0.5
    assert samples[("mmd_orders_placed_total", (("ticker", "KX-A"),))] == 1
    assert samples[("mmd_order_ack_latency_seconds_count", (("action", "place"),))] == 1
    assert samples[("mmd_feed_connected", ())] == 1
    assert samples[("mmd_risk_state", ())] == 1
    assert samples[("mmd_sessions_active", ())] == 1
    assert not any(name.endswith("_created") for name, _ in samples)  # no wall-clock series


def test_the_endpoint_listens_on_loopback_only_and_refuses_a_foreign_host_name(metrics):
    _bus, _tracker, ref = metrics
    url = ref.proxy().get_status().get(timeout=5)["url"]
    assert requests.get(url, headers={"Host": "localhost"}, timeout=5).status_code == 200
    # a page on another site, its name re-pointed at 127.0.0.1 (DNS rebinding), reads nothing
    assert requests.get(url, headers={"Host": "attacker.example"}, timeout=5).status_code == 403
    assert requests.get(url.replace("/metrics", "/other"), timeout=5).status_code == 404


def test_a_taken_port_leaves_the_daemon_trading_without_metrics():
    tracker = InFlightTracker()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ref = MetricsActor.start(
            clock=ReplayClock(T0, tracker), bus=Bus(tracker), tracker=tracker, port=taken.getsockname()[1]
        )
        assert ref.proxy().ping().get(timeout=5)
        assert ref.proxy().get_status().get(timeout=5)["url"] is None
        ref.stop(timeout=5)


def test_stopping_the_actor_frees_the_port(metrics):
    _bus, _tracker, ref = metrics
    url = ref.proxy().get_status().get(timeout=5)["url"]
    port = int(url.split(":")[2].split("/")[0])
    ref.stop(timeout=5)
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))  # raises if the server still held it
