"""Alerts posted to a real webhook on loopback; webhooks that fail (HTTP 500, no answer,
connection refused) are logged without the secret URL, and never hold up the actor."""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from actors.alerts import AlertRules, AlertsActor, WebhookSender, mask_url, payload_for, webhook_format
from kernel.bus import Bus, InFlightTracker
from kernel.clock import ReplayClock
from messages import FeedHealthChanged, KillSwitchEngaged
from tests.operations._operations_factories import S, T0

SECRET_PATH = "/services/T000/B000/s3cr3tT0ken"


class Webhook:
    """A stdlib HTTP server on 127.0.0.1 that records each POST and answers `statuses` in turn."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses) or [200]
        self.received: queue.Queue = queue.Queue()
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                webhook.received.put((self.path, self.headers["Content-Type"], json.loads(body)))
                status = webhook.statuses.pop(0) if len(webhook.statuses) > 1 else webhook.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{SECRET_PATH}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next_post(self) -> tuple[str, str, dict]:
        return self.received.get(timeout=5)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SilentWebhook:
    """Accepts the connection, reads the request, never answers (until closed)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}{SECRET_PATH}"
        self.got_request = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.sock.accept()
        with connection:
            connection.recv(65536)
            self.got_request.set()
            self.release.wait(10)

    def close(self) -> None:
        self.release.set()
        self.sock.close()


def refused_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{SECRET_PATH}"  # nothing listens there now


@pytest.fixture
def webhook():
    server = Webhook()
    yield server
    server.close()


def start_alerts(url: str, **kwargs):
    tracker = InFlightTracker()
    clock = ReplayClock(T0, tracker)
    bus = Bus(tracker)
    rules = AlertRules(origin="mmd paper", feed_down_s=5)
    ref = AlertsActor.start(clock=clock, bus=bus, tracker=tracker, rules=rules, webhook_url=url, **kwargs)
    ref.proxy().ping().get(timeout=5)
    return ref, bus, clock, tracker


# -- delivery ---------------------------------------------------------------------------
def test_an_alert_reaches_a_slack_webhook_as_json_text(webhook):
    ref, bus, _clock, tracker = start_alerts(webhook.url)
    bus.publish(KillSwitchEngaged(reason="operator", ts=T0))

    path, content_type, body = webhook.next_post()

    assert path == SECRET_PATH
    assert content_type == "application/json"
    assert body == {"text": "[mmd paper] Kill switch ENGAGED: operator. Trading halted, orders being cancelled."}
    ref.stop(timeout=5)


def test_a_discord_webhook_gets_content(webhook):
    ref, bus, _clock, _tracker = start_alerts(webhook.url, webhook_format="discord")
    bus.publish(KillSwitchEngaged(reason="operator", ts=T0))
    assert set(webhook.next_post()[2]) == {"content"}
    ref.stop(timeout=5)


def test_a_feed_down_past_its_threshold_is_posted_when_the_clock_says_so(webhook):
    ref, bus, clock, tracker = start_alerts(webhook.url)
    bus.publish(FeedHealthChanged(healthy=False, reason="closed: 1006", ts_recv=T0))
    assert tracker.wait_quiet(5)
    assert webhook.received.empty()

    clock.advance_to(T0 + 5 * S)
    assert clock.fire_next_due(T0 + 5 * S)  # the actor's keyed timer
    assert tracker.wait_quiet(5)

    assert webhook.next_post()[2] == {"text": "[mmd paper] Market data feed DOWN for 5 s: closed: 1006"}
    ref.stop(timeout=5)


def test_the_format_follows_the_url_unless_set_and_long_texts_are_cut_for_discord():
    assert webhook_format("https://discord.com/api/webhooks/1/abc") == "discord"
    assert webhook_format("https://hooks.slack.com/services/T/B/x") == "slack"
    assert webhook_format("https://hooks.slack.com/services/T/B/x", "discord") == "discord"
    assert len(payload_for("x" * 5000, "discord")["content"]) <= 2000


def test_the_url_is_shown_by_scheme_and_host_only():
    assert mask_url("https://hooks.slack.com/services/T000/B000/s3cr3t") == "https://hooks.slack.com/***"
    assert mask_url("http://127.0.0.1:8080/x/y") == "http://127.0.0.1:8080/***"


# -- failures ---------------------------------------------------------------------------
def test_a_webhook_answering_500_is_logged_once_per_streak_without_its_secret(caplog):
    server = Webhook(500, 500, 500, 200)
    caplog.set_level(logging.INFO, logger="mmd")
    sender = WebhookSender(server.url, timeout_s=2).start()
    for n in range(4):
        sender.submit(f"alert {n}")
    sender.stop(wait_s=10)  # posts what is queued first
    server.close()

    assert (sender.failed, sender.sent) == (3, 1)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"webhook {mask_url(server.url)} failing (HTTP 500): alerts stay in this log until it answers"]
    assert any("answering again after 3 failed post(s)" in r.getMessage() for r in caplog.records)
    assert "s3cr3tT0ken" not in caplog.text


def test_a_refused_connection_is_logged_without_its_secret(caplog):
    caplog.set_level(logging.INFO, logger="mmd")
    sender = WebhookSender(refused_url(), timeout_s=2).start()
    sender.submit("alert")
    sender.stop(wait_s=10)

    assert sender.failed == 1
    assert "failing (ConnectionError)" in caplog.text
    assert "s3cr3tT0ken" not in caplog.text


def test_a_webhook_that_never_answers_holds_up_neither_the_actor_nor_its_queue(caplog):
    caplog.set_level(logging.INFO, logger="mmd")
    silent = SilentWebhook()
    ref, bus, _clock, tracker = start_alerts(silent.url, timeout_s=0.5)
    bus.publish(KillSwitchEngaged(reason="operator", ts=T0))
    assert silent.got_request.wait(5)  # the post is out, and unanswered

    # the actor goes on handling events and answering at once
    bus.publish(FeedHealthChanged(healthy=False, reason="closed", ts_recv=T0))
    assert tracker.wait_quiet(2)
    status = ref.proxy().get_status().get(timeout=1)
    assert status["alerts"] == 1 and "feed-down" in status["timers"]

    ref.stop(timeout=10)  # waits for the post's own timeout, at most
    silent.close()
    assert "failing (ReadTimeout)" in caplog.text
    assert "s3cr3tT0ken" not in caplog.text


def test_a_full_queue_drops_new_alerts_instead_of_blocking():
    silent = SilentWebhook()
    sender = WebhookSender(silent.url, timeout_s=0.5, max_queued=2).start()
    sender.submit("first")
    assert silent.got_request.wait(5)  # the worker is stuck on the first

    accepted = [sender.submit(f"more {n}") for n in range(3)]

    assert accepted == [True, True, False]
    assert sender.dropped == 1
    silent.close()
    sender.stop(wait_s=5)
