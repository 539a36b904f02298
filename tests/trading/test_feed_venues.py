"""Where the feed actors read: in demo and prod the real venues the config names
(Polymarket's CLOB `GET /book?token_id=`, Binance's `/ws/<symbol>@bookTicker`), never the
exchange's host; in paper the simulator's stand-ins; a venue configured off nowhere."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from actors._base import MmdActor, handles
from actors.feeds import FeedVenues, start_feed_actors
from messages import ReferencePriceUpdated
from mmd.app import Daemon, Wiring

KALSHI_DEMO_EXTRAS = {
    "venue_http_url": "https://external-api.demo.kalshi.co",
    "venue_ws_url": "wss://external-api-ws.demo.kalshi.co",
}
SIMULATOR_EXTRAS = {"venue_http_url": "http://127.0.0.1:8080", "venue_ws_url": "ws://127.0.0.1:8080"}


def daemon_in(mode: str, config, extras: dict) -> Daemon:
    """A daemon not started: enough to ask where its feeds would read."""
    wiring = Wiring(mode, "run-test", clock=None, tracker=None, client=None, executor=None,
                    connector_factory=lambda ref: None, extras=dict(extras))  # fmt: skip
    return Daemon(config, wiring, db_path=None)


def test_the_real_venues_are_polymarkets_clob_book_and_binances_book_ticker_stream(config):
    venues = FeedVenues.real(config.feeds)

    assert venues.reference_book_url == "https://clob.polymarket.com/book"
    assert venues.spot_stream_url("BTCUSDT") == "wss://stream.binance.com:9443/ws/btcusdt@bookTicker"


def test_the_simulators_stand_ins_are_on_the_exchanges_port(config):
    venues = FeedVenues.simulator(config.feeds, "http://127.0.0.1:8080", "ws://127.0.0.1:8080")

    assert venues.reference_book_url == "http://127.0.0.1:8080/reference/polymarket/book"
    assert venues.spot_stream_url("BTCUSDT") == "ws://127.0.0.1:8080/reference/binance/ws/btcusdt@bookTicker"


def test_a_venue_configured_off_is_off_in_every_mode(config):
    feeds = replace(config.feeds, polymarket_url="off", binance_url="off")

    for venues in (FeedVenues.real(feeds), FeedVenues.simulator(feeds, "http://127.0.0.1:1", "ws://127.0.0.1:1")):
        assert venues.reference_book_url is None and venues.spot_stream_url("BTCUSDT") is None


@pytest.mark.parametrize("mode", ["demo", "prod"])
def test_demo_and_prod_read_the_configured_venues_never_the_exchanges_host(config, mode):
    venues = daemon_in(mode, config, KALSHI_DEMO_EXTRAS)._feed_venues()

    assert venues == FeedVenues.real(config.feeds)
    assert "kalshi" not in venues.reference_book_url and "kalshi" not in venues.spot_stream_prefix


def test_paper_reads_the_simulator_and_a_backtest_has_no_feeds(config):
    paper = daemon_in("paper", config, SIMULATOR_EXTRAS)._feed_venues()

    assert paper.reference_book_url == "http://127.0.0.1:8080/reference/polymarket/book"
    assert daemon_in("backtest", config, {})._feed_venues() is None


def test_a_backtest_holds_no_maker_back_for_a_feed_it_never_replays(config):
    blend = replace(config, maker=replace(config.maker, fair_value=replace(config.maker.fair_value, source="reference_blend")))

    assert daemon_in("backtest", blend, {}).fair_value_feed_problem("KXFED") == ""
    assert "needs the polymarket feed" in daemon_in("demo", blend, KALSHI_DEMO_EXTRAS).fair_value_feed_problem("KXFED")


# -- a poller on the configured venue, over HTTP ----------------------------------------------
class FakeClob(BaseHTTPRequestHandler):
    """Polymarket's CLOB `GET /book?token_id=`, answering one book (best prices last)."""

    paths: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        FakeClob.paths.append(self.path)
        body = json.dumps({
            "market": "0xabc", "asset_id": "123", "timestamp": "1700000000000", "hash": "h",
            "bids": [{"price": "0.40", "size": "5"}, {"price": "0.41", "size": "9"}],
            "asks": [{"price": "0.45", "size": "3"}, {"price": "0.43", "size": "7"}],
            "min_order_size": "5", "tick_size": "0.01", "neg_risk": False,
        }).encode()  # fmt: skip
        self.send_response(200 if self.path.startswith("/book?") else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def clob():
    FakeClob.paths = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeClob)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class PriceRecorder(MmdActor):
    subscriptions = (ReferencePriceUpdated,)

    def __init__(self, **wiring) -> None:
        super().__init__(**wiring)
        self.seen: list = []

    @handles(ReferencePriceUpdated)
    def _record(self, msg) -> None:
        self.seen.append(msg)


def test_the_poller_gets_the_configured_clobs_book_by_token(harness, config, clob):
    feeds = replace(config.feeds, polymarket_url=clob, reference_tokens=("KXFED=123",))
    recorder = PriceRecorder.start(**harness.wiring)
    with ThreadPoolExecutor(max_workers=1) as executor:
        refs = start_feed_actors(feeds, venues=FeedVenues.real(feeds), executor=executor, **harness.wiring)
        harness.run_for(0)

    assert len(refs) == 1
    assert FakeClob.paths == ["/book?token_id=123"]
    [price] = recorder.proxy().seen.get()
    assert (price.ticker, str(price.bid), str(price.ask)) == ("KXFED", "0.41", "0.43")


def test_a_venue_that_is_off_starts_no_feed_actor_whatever_is_listed(harness, config):
    feeds = replace(config.feeds, polymarket_url="off", binance_url="off",
                    reference_tokens=("KXFED=123",), spot_symbols=("BTCUSDT",))  # fmt: skip

    assert start_feed_actors(feeds, venues=FeedVenues.real(feeds), executor=None, **harness.wiring) == []
