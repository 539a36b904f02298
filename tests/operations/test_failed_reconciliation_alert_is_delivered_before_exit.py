"""A failed reconciliation reaches the operator's webhook before `mmd start` exits.

The alert is posted off the alerts actor's thread (a hanging webhook must never hold up
trading); at start-up nothing else is left to do, so the exit waits, bounded by the
webhook's own timeout, until that post is delivered or has failed: the process exits
right after, and an alert still queued would be lost with it.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from config import load_config
from mmd import runner

from ._reconcile_exchange import FAST_REST, start_paper_exchange

pytest.importorskip("simex")
WEBHOOK_ANSWERS_AFTER_S = 1.5  # within alerts.timeout_s: a slow webhook, not a failing one


class Webhook:
    """A Slack-like webhook on loopback that answers slowly and keeps what it was sent."""

    def __init__(self, delay_s: float) -> None:
        posts = self.posts = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(delay_s)  # the webhook's latency, not a wait for something to happen
                posts.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T/B/x"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def texts(self) -> list[str]:
        return [post.get("text", "") for post in self.posts]


@pytest.fixture
def exchange(tmp_path):
    paper = start_paper_exchange(tmp_path / "var")
    yield paper
    paper.server.stop()


@pytest.fixture
def webhook(monkeypatch):
    hook = Webhook(WEBHOOK_ANSWERS_AFTER_S)
    monkeypatch.setenv("MMD_ALERT_WEBHOOK_URL", hook.url)
    yield hook
    hook.server.shutdown()


def run(exchange) -> int:
    config = load_config(overrides={"status": {"port": 0}, "metrics": {"port": 0}, **FAST_REST})
    return runner.run_daemon(config, env="paper", exchange_url=exchange.url, data_dir=exchange.data_dir,
                             duration_s=5.0)


def test_an_exchange_step_failing_alerts_the_webhook_before_exit(exchange, webhook):
    exchange.fail_rest(count=1000)
    try:
        assert run(exchange) == 1
    finally:
        exchange.heal()
    assert any("read open orders" in text for text in webhook.texts()), webhook.texts()


def test_a_step_after_the_actors_started_failing_alerts_the_webhook_before_exit(exchange, webhook, monkeypatch):
    def back_fill_fails(*_args, **_kwargs):
        raise ConnectionError("fills read failed")

    monkeypatch.setattr(runner, "read_back_fills_at_startup", back_fill_fails)
    assert run(exchange) == 1
    assert any("fills read failed" in text for text in webhook.texts()), webhook.texts()
