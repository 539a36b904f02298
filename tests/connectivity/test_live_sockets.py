"""The live connectors on real loopback sockets, against the simulated exchange's server."""

import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from actors.rest import HttpTransport, KalshiRestClient, RestClientActor
from actors.ws import LiveConnector, WsConnectionActor
from messages import BookSnapshot, FeedHealthChanged, OrderAccepted, OrderUpdated, PlaceOrder, SubscribeMarkets
from kernel.bus import Bus, InFlightTracker, post
from kernel.clock import LiveClock
from kalshi.auth import Signer

from .fakes import Recorder

simex = pytest.importorskip("simex")


def wait_for(condition, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def live():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    server = simex.SimServer(simex.build_default_exchange(seed=3), ping_interval_s=0.2).start_in_thread()
    server.authorize_key("key-1", public_pem, "acct-1")
    tracker = InFlightTracker()
    clock = LiveClock(tracker)
    pool = ThreadPoolExecutor(max_workers=2)
    yield server, Signer("key-1", key), clock, Bus(tracker), tracker, pool
    pool.shutdown(wait=True)
    clock.stop()
    server.stop()


def test_signed_websocket_and_http_reach_the_exchange_and_a_lost_socket_is_noticed(live):
    server, signer, clock, bus, tracker, pool = live
    recorder = Recorder.start(clock=clock, bus=bus, tracker=tracker)
    for kind in (BookSnapshot, FeedHealthChanged, OrderAccepted, OrderUpdated):
        bus.subscribe(recorder, kind)
    ws = WsConnectionActor.start(
        clock=clock, bus=bus, tracker=tracker,
        connector_factory=lambda ref: LiveConnector(server.ws_url, signer, clock, ref, tracker, ping_interval_s=5.0),
    )  # fmt: skip
    client = KalshiRestClient(HttpTransport(server.base_url, signer, 5.0, lambda: clock.now_ns() // 1_000_000), max_attempts=2, backoff_base_s=0.1, backoff_cap_s=0.2, sleep=time.sleep)
    rest = RestClientActor.start(
        clock=clock, bus=bus, tracker=tracker, client=client, executor=pool,
        read_rate=200, read_capacity=400, write_rate=100, write_capacity=100,
    )  # fmt: skip
    post(ws, SubscribeMarkets(tickers=(simex.DEFAULT_MARKET.ticker,), ts=clock.now_ns()), tracker)

    def received(kind):
        return [m for m in recorder.proxy().received().get() if isinstance(m, kind)]

    assert wait_for(lambda: received(BookSnapshot))
    started = ws.proxy().get_status().get()["last_heartbeat_ns"]
    assert wait_for(lambda: ws.proxy().get_status().get()["last_heartbeat_ns"] > started)  # server pings seen
    post(rest, PlaceOrder(client_order_id="live-1", ticker=simex.DEFAULT_MARKET.ticker, side="bid", price=Decimal("0.03"), count=Decimal("2"), ts=clock.now_ns()), tracker)
    assert wait_for(lambda: received(OrderAccepted) and received(OrderUpdated))
    assert received(OrderAccepted)[0].client_order_id == "live-1"

    server.stop()
    assert wait_for(lambda: [h.healthy for h in received(FeedHealthChanged)] == [True, False])
