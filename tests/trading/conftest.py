"""Fixtures for the trading actors: configs, a replay harness and a dummy REST gateway."""

from __future__ import annotations

import itertools
import logging
from decimal import Decimal as D

import pykka
import pytest

from actors._base import MmdActor, handles
from actors.risk import RiskGovernorActor
from config import load_config
from messages import (
    AmendOrder,
    BookUpdated,
    CancelAllOrders,
    CancelOrder,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderRejected,
    PlaceOrder,
    RiskStateChanged,
)
from kernel.bus import Bus, InFlightTracker, post
from kernel.clock import ReplayClock

from .factories import T0


@pytest.fixture(autouse=True)
def _stop_all_actors(caplog):
    """No actor outlives its test, and a handler error (logged, not raised) fails it."""
    caplog.set_level(logging.WARNING)
    yield
    pykka.ActorRegistry.stop_all()
    records = [*caplog.get_records("setup"), *caplog.get_records("call"), *caplog.records]
    errors = [r.getMessage() for r in records if r.levelno >= logging.ERROR]
    assert errors == [], f"actors logged errors: {errors}"


@pytest.fixture(scope="session")
def config():
    return load_config()


@pytest.fixture
def maker_config(config):
    return config.maker


@pytest.fixture
def risk_config(config):
    return config.risk


@pytest.fixture
def market_state_config(config):
    return config.market_state


class Harness:
    """Replay wiring: virtual clock, bus and in-flight tracker, driven like the replay driver."""

    def __init__(self) -> None:
        self.tracker = InFlightTracker()
        self.clock = ReplayClock(T0, tracker=self.tracker)
        self.bus = Bus(self.tracker)

    @property
    def wiring(self) -> dict:
        return {"clock": self.clock, "bus": self.bus, "tracker": self.tracker}

    def quiet(self) -> None:
        assert self.tracker.wait_quiet(timeout=10), "actors did not go quiet"

    def tell(self, ref, message) -> None:
        post(ref, message, self.tracker)
        self.quiet()

    def publish(self, message) -> None:
        self.bus.publish(message)
        self.quiet()

    def run_for(self, seconds: float) -> None:
        """Fire every timer due in the next `seconds` in time order, then move time there."""
        until = self.clock.now_ns() + int(seconds * 1_000_000_000)
        self.quiet()
        while self.clock.fire_next_due(until):
            self.quiet()
        self.clock.advance_to(until)


@pytest.fixture
def harness() -> Harness:
    return Harness()


class DummyGateway(MmdActor):
    """Stands in for the REST client: records commands and acknowledges them on the bus."""

    def __init__(self, **wiring) -> None:
        super().__init__(**wiring)
        self.received: list = []
        self._ids = itertools.count(1)
        self._filled: dict[str, D] = {}

    @handles(OrderRejected)
    def _on_refusal(self, refusal: OrderRejected) -> None:
        self.publish(refusal)  # as the REST client relays the risk governor's refusals

    @handles(PlaceOrder)
    def _on_place(self, cmd: PlaceOrder) -> None:
        self.received.append(cmd)
        self.publish(
            OrderAccepted(
                client_order_id=cmd.client_order_id,
                order_id=f"ex-{next(self._ids)}",
                ticker=cmd.ticker,
                side=cmd.side,
                price=cmd.price,
                count=cmd.count,
                filled=D(0),
                remaining=cmd.count,
                ts_event=cmd.ts,
                ts_recv=self.clock.now_ns(),
                session_id=cmd.session_id,
            )
        )

    @handles(AmendOrder)
    def _on_amend(self, cmd: AmendOrder) -> None:
        self.received.append(cmd)
        filled = self._filled.get(cmd.order_id, D(0))
        self.publish(
            OrderAmended(
                order_id=cmd.order_id,
                client_order_id=cmd.updated_client_order_id,
                previous_client_order_id=cmd.client_order_id,
                ticker=cmd.ticker,
                side=cmd.side,
                price=cmd.price,
                count=cmd.count,
                filled=filled,
                remaining=cmd.count - filled,
                ts_event=cmd.ts,
                ts_recv=self.clock.now_ns(),
                session_id=cmd.session_id,
            )
        )

    @handles(CancelOrder)
    def _on_cancel(self, cmd: CancelOrder) -> None:
        self.received.append(cmd)
        self.publish(
            OrderCancelled(
                order_id=cmd.order_id,
                client_order_id=cmd.client_order_id,
                ticker=cmd.ticker,
                reduced_by=D(0),
                reason="requested",
                ts_event=cmd.ts,
                ts_recv=self.clock.now_ns(),
                session_id=cmd.session_id,
            )
        )

    @handles(CancelAllOrders)
    def _on_cancel_all(self, cmd: CancelAllOrders) -> None:
        self.received.append(cmd)

    def note_fill(self, order_id: str, count: D) -> None:
        """Tell the dummy exchange an order filled, so later amends report it."""
        self._filled[order_id] = self._filled.get(order_id, D(0)) + count

    def commands(self) -> list:
        return list(self.received)


class CommandTap(MmdActor):
    """Records the commands a maker sends and passes them on to `target` (the governor)."""

    def __init__(self, *, target, **wiring) -> None:
        super().__init__(**wiring)
        self.target = target
        self.received: list = []

    @handles(PlaceOrder, AmendOrder, CancelOrder, CancelAllOrders)
    def _pass_on(self, command) -> None:
        self.received.append(command)
        self.send(self.target, command)

    def commands(self) -> list:
        return list(self.received)


class Recorder(MmdActor):
    """Records the bus events a test wants to see."""

    def __init__(self, **wiring) -> None:
        super().__init__(**wiring)
        self.seen: list = []

    @handles(OrderRejected, RiskStateChanged, BookUpdated)
    def _record(self, message) -> None:
        self.seen.append(message)

    def messages(self) -> list:
        return list(self.seen)


@pytest.fixture
def gateway(harness):
    return DummyGateway.start(**harness.wiring)


@pytest.fixture
def risk(harness, gateway, risk_config):
    """The risk governor in front of the dummy gateway: a maker's order sink, and the one
    writer of the trading ledger whose views the maker reads its orders and fills from."""
    ref = RiskGovernorActor.start(**harness.wiring, config=risk_config, order_gateway=gateway)
    harness.quiet()
    return ref


@pytest.fixture
def recorder(harness):
    ref = Recorder.start(**harness.wiring)
    for message_type in (OrderRejected, RiskStateChanged, BookUpdated):
        harness.bus.subscribe(ref, message_type)
    return ref
