"""A paper daemon, started as `mmd start` starts it, against a simulated exchange:
- a market whose fair value needs an outside feed the config switched off is not quoted
  (no order of ours reaches the exchange) and /status says why, per maker and session;
- a fill of ours shows in /status's recent fills, as exact decimal text."""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.request

import pytest

from config import load_config
from mmd import runner
from mmd.control import DAEMON_FILE

from ._reconcile_exchange import FAST_REST, start_paper_exchange

pytest.importorskip("simex")

NO_POLYMARKET = "fair value (reference_blend) needs the polymarket feed, not configured (feeds.polymarket_url: off)"


@pytest.fixture
def exchange(tmp_path):
    paper = start_paper_exchange(tmp_path / "var")
    yield paper
    paper.server.stop()


def blend_without_its_feed(ticker: str):
    return load_config(
        overrides={
            "status": {"port": 0},
            "metrics": {"port": 0},
            **FAST_REST,
            "scanner": {"tickers": [ticker]},
            "maker": {"fair_value": {"source": "reference_blend"}, "warmup_s": 0.5},
            "feeds": {"polymarket_url": "off", "reference_tokens": [f"{ticker}=any-token"]},
        }
    )


class RunningDaemon:
    """run_daemon on a thread (it holds its signals there), read over its status URL, and
    stopped with a SIGTERM to that thread, as systemd would stop it."""

    def __init__(self, cfg, exchange) -> None:
        self.outcome: dict = {}
        self.data_dir = exchange.data_dir
        self.thread = threading.Thread(
            target=lambda: self.outcome.update(
                rc=runner.run_daemon(cfg, env="paper", exchange_url=exchange.url, data_dir=exchange.data_dir,
                                     duration_s=120)  # fmt: skip
            ),
            daemon=True,
        )

    def __enter__(self) -> RunningDaemon:
        self.thread.start()
        daemon_file = self.data_dir / DAEMON_FILE
        deadline = time.monotonic() + 60
        while not daemon_file.exists():
            assert self.thread.is_alive() and time.monotonic() < deadline, "the daemon did not come up"
            time.sleep(0.05)
        self.url = json.loads(daemon_file.read_text())["status_url"]
        return self

    def status(self) -> dict:
        with urllib.request.urlopen(self.url, timeout=10) as answer:
            return json.load(answer)

    def status_once(self, condition, timeout_s: float = 60) -> dict:
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.status()
            if condition(status):
                return status
            assert time.monotonic() < deadline, f"never came true; last status: {json.dumps(status)[:2000]}"
            time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        signal.pthread_kill(self.thread.ident, signal.SIGTERM)
        self.thread.join(60)
        assert not self.thread.is_alive(), "the daemon did not stop on SIGTERM"


def maker_of(status: dict, ticker: str) -> dict:
    return next((m for m in status["makers"] if m.get("ticker") == ticker), {})


def test_a_market_missing_its_fair_value_feed_is_not_quoted_and_status_says_why(exchange):
    ticker = exchange.ticker
    with RunningDaemon(blend_without_its_feed(ticker), exchange) as daemon:
        status = daemon.status_once(lambda s: maker_of(s, ticker).get("why_not_quoting") == NO_POLYMARKET)
        # a maker that could quote places as its warm-up (0.5 s) ends: wait until the daemon's
        # own clock is a second past that (a negative result needs time to pass: no event to wait on)
        past_warm_up = status["now_ns"] + 1_500_000_000
        later = daemon.status_once(lambda s: s["now_ns"] >= past_warm_up)

    maker = maker_of(later, ticker)
    assert maker["state"] == "PAUSED" and maker["why_not_quoting"] == NO_POLYMARKET
    assert maker["counters"]["places"] == 0 and later["open_orders"] == []
    assert not any(client_id.startswith("mmd-") for client_id in exchange.all_ids())
    assert status["outside_feeds"]["reference_book_url"] is None  # off: no poller reads anything
    assert daemon.outcome["rc"] == 0


def test_a_fill_of_ours_shows_in_the_status_recent_fills(exchange):
    ticker = exchange.ticker
    with RunningDaemon(blend_without_its_feed(ticker), exchange) as daemon:
        daemon.status_once(lambda s: maker_of(s, ticker))  # running, its feeds subscribed
        exchange.take(2)
        status = daemon.status_once(lambda s: s["recent_fills"])

    [fill] = status["recent_fills"]
    assert (fill["ticker"], fill["side"], fill["count"]) == (ticker, "bid", "2.00")
    assert fill["price"].startswith("0.") and fill["fee"] is not None and fill["fill_id"]
    assert status["now_ns"] >= fill["ts"] > 0
