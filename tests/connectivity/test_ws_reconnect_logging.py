"""A reconnect the daemon handles is not an error in the logs, over a real loopback socket.

The simulated exchange's server (`mmd sim`) drops the WebSocket (close 1011, or a bare TCP
reset); the WS actor reconnects on its own. Log-based alerting pages on ERROR, so the drop
must be reported at INFO/WARNING in our own words, and the websocket-client library's
logger must not print its "Connection closed (code 1011) - goodbye" ERROR for it.
"""

import logging
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from actors.ws import LiveConnector, WsConnectionActor
from messages import BookSnapshot, FeedHealthChanged, SubscribeMarkets
from kernel.bus import Bus, InFlightTracker, post
from kernel.clock import LiveClock
from kalshi.auth import Signer

from .fakes import Recorder

simex = pytest.importorskip("simex")


def wait_for(condition, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def live_feed():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    server = simex.SimServer(simex.build_default_exchange(seed=3), ping_interval_s=0.2).start_in_thread()
    server.authorize_key("key-1", public_pem, "acct-1")
    tracker = InFlightTracker()
    clock = LiveClock(tracker)
    bus = Bus(tracker)
    recorder = Recorder.start(clock=clock, bus=bus, tracker=tracker)
    for kind in (BookSnapshot, FeedHealthChanged):
        bus.subscribe(recorder, kind)
    signer = Signer("key-1", key)
    ws = WsConnectionActor.start(
        clock=clock, bus=bus, tracker=tracker, reconnect_base_s=0.1,
        connector_factory=lambda ref: LiveConnector(server.ws_url, signer, clock, ref, tracker, ping_interval_s=5.0),
    )  # fmt: skip
    post(ws, SubscribeMarkets(tickers=(simex.DEFAULT_MARKET.ticker,), ts=clock.now_ns()), tracker)

    def received(kind):
        return [m for m in recorder.proxy().received().get() if isinstance(m, kind)]

    assert wait_for(lambda: received(BookSnapshot))
    yield server, received
    ws.stop()
    clock.stop()
    server.stop()


def health_history(received):
    return [h.healthy for h in received(FeedHealthChanged)]


@pytest.mark.parametrize("abort", [False, True], ids=["close-1011", "tcp-reset"])
def test_a_dropped_socket_that_is_reconnected_logs_no_error(live_feed, caplog, abort):
    server, received = live_feed
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    server.call(lambda: simex.faults_of(server.exchange).drop_ws_connections(abort=abort))
    assert wait_for(lambda: health_history(received) == [True, False, True])
    assert wait_for(lambda: len(received(BookSnapshot)) >= 2)  # resubscribed on the new socket
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    ours = [r for r in caplog.records if r.name == "mmd.WsConnectionActor" and "lost" in r.getMessage()]
    assert ours and {r.levelname for r in ours} <= {"INFO", "WARNING"}
    assert any("reconnected" in r.getMessage() for r in caplog.records if r.name == "mmd.WsConnectionActor")


def test_the_library_still_reports_errors_that_are_not_a_handled_close(live_feed, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("websocket").error("error from callback <lambda>: boom")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == ["error from callback <lambda>: boom"]
