"""Through the real simulated exchange in process: LoopbackTransport and LoopbackConnector."""

from decimal import Decimal

import pytest

from actors.rest import InlineExecutor, KalshiRestClient, LoopbackTransport, RestClientActor
from actors.ws import LoopbackConnector, WsConnectionActor
from messages import (
    AllOrdersCancelled,
    BookSnapshot,
    CancelAllOrders,
    FrameReceived,
    OrderAccepted,
    OrderUpdated,
    PlaceOrder,
    SubscribeMarkets,
)
from kernel.bus import post

from .fakes import Recorder

simex = pytest.importorskip("simex")

ACCOUNT = "mmd-test"


@pytest.fixture
def exchange(clock):
    exchange = simex.build_default_exchange(seed=7, now_ns=clock.now_ns)
    exchange.register_account(ACCOUNT, 100_000_00)
    clock.advance_to(clock.now_ns() + 5_000_000_000)
    exchange.advance(clock.now_ns())  # background liquidity builds a book
    return exchange


def test_order_round_trip_and_market_data_through_the_simulated_exchange(exchange, clock, bus, tracker):
    ticker = simex.DEFAULT_MARKET.ticker
    frames: list[str] = []  # the replay harness's queue: the connector never calls the actor

    def pump_frames():
        while frames:
            post(ws, FrameReceived(text=frames.pop(0), ts_recv=clock.now_ns()), tracker)
            assert tracker.wait_quiet(5)

    recorder = Recorder.start(clock=clock, bus=bus, tracker=tracker)
    for kind in (OrderAccepted, AllOrdersCancelled, BookSnapshot, OrderUpdated):
        bus.subscribe(recorder, kind)
    client = KalshiRestClient(LoopbackTransport(exchange, ACCOUNT), max_attempts=2, backoff_base_s=0.1, backoff_cap_s=0.2, sleep=lambda s: None)
    rest = RestClientActor.start(
        clock=clock, bus=bus, tracker=tracker, client=client, executor=InlineExecutor(),
        read_rate=200, read_capacity=400, write_rate=100, write_capacity=100,
    )  # fmt: skip
    ws = WsConnectionActor.start(
        clock=clock, bus=bus, tracker=tracker, connector_factory=lambda ref: LoopbackConnector(exchange, ACCOUNT, frames.append)
    )
    assert tracker.wait_quiet(5)
    post(ws, SubscribeMarkets(tickers=(ticker,), ts=clock.now_ns()), tracker)
    assert tracker.wait_quiet(5)
    pump_frames()

    post(rest, PlaceOrder(client_order_id="mmd-run-1", ticker=ticker, side="bid", price=Decimal("0.05"), count=Decimal("3"), ts=clock.now_ns()), tracker)
    assert tracker.wait_quiet(5)
    pump_frames()
    post(rest, CancelAllOrders(reason="test over", ts=clock.now_ns()), tracker)
    assert tracker.wait_quiet(5)
    pump_frames()

    received = recorder.proxy().received().get()
    snapshot = next(m for m in received if isinstance(m, BookSnapshot))
    assert snapshot.ticker == ticker and snapshot.bids and snapshot.asks
    assert snapshot.bids[0][0] < snapshot.asks[0][0]  # NO bids became YES asks above the bids
    accepted = next(m for m in received if isinstance(m, OrderAccepted))
    assert (accepted.client_order_id, accepted.remaining) == ("mmd-run-1", Decimal("3"))
    updates = [m for m in received if isinstance(m, OrderUpdated) and m.client_order_id == "mmd-run-1"]
    assert [u.status for u in updates][-1] == "canceled" and updates[0].price == Decimal("0.05")
    done = next(m for m in received if isinstance(m, AllOrdersCancelled))
    assert (done.cancelled, done.still_resting) == (1, 0)
    status = ws.proxy().get_status().get()
    assert (status["malformed"], status["gaps"], status["unknown_types"]) == (0, 0, {})
