"""`mmd start` reconciles with the exchange before any actor may quote: our orphan orders
are cancelled, other clients' are left alone, held positions reach the risk governor;
a failed step means no order, ReconciliationFailed on the bus, and exit 1."""

import json
import threading
import time
import urllib.request

import pytest

from kernel.bus import Bus
from messages import ReconciliationFailed
from mmd import runner
from mmd.control import DAEMON_FILE

from ._reconcile_exchange import quiet_config, start_paper_exchange

pytest.importorskip("simex")


@pytest.fixture
def exchange(tmp_path):
    paper = start_paper_exchange(tmp_path / "var")
    yield paper
    paper.server.stop()


def _run(exchange, duration_s):
    return runner.run_daemon(
        quiet_config(), env="paper", exchange_url=exchange.url, data_dir=exchange.data_dir, duration_s=duration_s
    )


def _status_while_running(exchange, duration_s=30.0):
    """Start the daemon on a thread, read /status once it is up, then let it stop."""
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(rc=_run(exchange, duration_s)), daemon=True)
    thread.start()
    daemon_file = exchange.data_dir / DAEMON_FILE
    deadline = time.monotonic() + 30
    while not daemon_file.exists() and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.05)
    url = json.loads(daemon_file.read_text())["status_url"]
    with urllib.request.urlopen(url, timeout=10) as answer:
        status = json.load(answer)
    return status, thread, outcome


def test_orphans_of_ours_are_cancelled_and_other_clients_orders_are_left_alone(exchange):
    exchange.rest("mmd-earlier-run-s1-1")
    exchange.rest("mmd-earlier-run-s1-2", price="0.04")
    exchange.rest("manual-by-hand", price="0.03")

    assert _run(exchange, duration_s=0.2) == 0

    resting = exchange.resting_ids()
    assert "manual-by-hand" in resting
    assert not {"mmd-earlier-run-s1-1", "mmd-earlier-run-s1-2"} & resting


def test_held_positions_are_counted_by_risk_and_shown_in_status(exchange):
    exchange.take(3)

    status, thread, outcome = _status_while_running(exchange, duration_s=3.0)
    thread.join(60)

    assert status["risk"]["positions"].get(exchange.ticker) == "3.00"
    assert outcome["rc"] == 0


def test_a_step_failing_beyond_retries_places_nothing_alerts_and_exits_1(exchange, monkeypatch):
    exchange.rest("mmd-earlier-run-s1-1")
    published = []
    original = Bus.publish

    def recording(bus, message):
        published.append(message)
        return original(bus, message)

    monkeypatch.setattr(Bus, "publish", recording)
    before = exchange.all_ids()
    exchange.fail_rest(count=1000)

    rc = _run(exchange, duration_s=5.0)

    exchange.heal()
    assert rc == 1
    failures = [m for m in published if isinstance(m, ReconciliationFailed)]
    assert failures and "read open orders" in failures[0].reason
    assert exchange.all_ids() == before  # no order placed
    assert "mmd-earlier-run-s1-1" in exchange.resting_ids()  # and none cancelled
