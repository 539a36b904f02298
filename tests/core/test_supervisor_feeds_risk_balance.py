"""The supervisor's balance reads feed the risk governor's pre-trade balance check: each
GET /portfolio/balance is published as BalanceRead, which the real risk governor actor
keeps, so an order needing more collateral than the account holds is refused before it is
sent."""

from __future__ import annotations

from decimal import Decimal

from actors._base import MmdActor, handles
from actors.risk import RiskGovernorActor
from actors.supervisor import SessionSupervisorActor
from config import load_config
from messages import OrderRejected, PlaceOrder
from kernel.bus import Bus, InFlightTracker, post
from kernel.clock import ReplayClock, seconds
from kernel.directory import Directory
from test_supervisor_actor import FakeRest, Sink
from test_supervisor_factories import SAMPLE_INTERVAL_S, T0, supervisor_config, volatility_event

TICKER = "KX-A"


class Gateway(MmdActor):
    """Stands where the REST client stands below risk: records what risk lets through."""

    def __init__(self, **wiring) -> None:
        super().__init__(**wiring)
        self.got: list = []

    @handles(PlaceOrder, OrderRejected)
    def on_command(self, message) -> None:
        self.got.append(message)

    def received(self) -> list:
        return list(self.got)


def bid(client_order_id: str, count: int, ts: int) -> PlaceOrder:
    return PlaceOrder(
        client_order_id=client_order_id, ticker=TICKER, side="bid", price=Decimal("0.50"), count=Decimal(count),
        ts=ts, session_id="s-1",
    )


def available(risk) -> Decimal | None:
    return risk.proxy().exposure_snapshot().get()["totals"]["available_balance"]


def test_a_balance_the_supervisor_reads_is_the_balance_risk_checks_orders_against():
    tracker = InFlightTracker()
    clock = ReplayClock(T0, tracker)
    bus = Bus(tracker)
    wiring = {"clock": clock, "bus": bus, "tracker": tracker}
    gateway = Gateway.start(**wiring)
    risk = RiskGovernorActor.start(**wiring, config=load_config().risk, order_gateway=gateway)
    readers = Directory()
    rest = FakeRest.start(**wiring, balance=[300], readers=readers)  # $3.00 on the exchange
    supervisor = SessionSupervisorActor.start(
        **wiring, config=supervisor_config(), run_id="run-t", maker_factory=lambda *_: None,
        feed=Sink.start(**wiring), order_gateway=risk, rest=rest, regime_sample_interval_s=SAMPLE_INTERVAL_S,
        directory=readers,
    )
    supervisor.proxy().ping().get()
    assert available(risk) is None  # nothing read yet

    bus.publish(volatility_event(TICKER, ts=clock.now_ns()))  # an event wants a fresh balance
    assert tracker.wait_quiet(10)

    assert supervisor.proxy().get_status().get()["balance"] == "3"
    assert available(risk) == Decimal("3.00")
    post(risk, bid("too-big", 8, clock.now_ns()), tracker)  # $4.00 of collateral
    post(risk, bid("fits", 4, clock.now_ns()), tracker)  # $2.00
    assert tracker.wait_quiet(10)
    outcome = [(type(m).__name__, m.client_order_id) for m in gateway.proxy().received().get()]
    assert outcome == [("OrderRejected", "too-big"), ("PlaceOrder", "fits")]
    (refusal,) = [m for m in gateway.proxy().received().get() if isinstance(m, OrderRejected)]
    assert refusal.code == "insufficient_balance"


def test_each_later_read_replaces_the_balance_risk_holds():
    tracker = InFlightTracker()
    clock = ReplayClock(T0, tracker)
    bus = Bus(tracker)
    wiring = {"clock": clock, "bus": bus, "tracker": tracker}
    risk = RiskGovernorActor.start(**wiring, config=load_config().risk, order_gateway=Gateway.start(**wiring))
    balance = [20_000]
    readers = Directory()
    rest = FakeRest.start(**wiring, balance=balance, readers=readers)
    config = supervisor_config()
    supervisor = SessionSupervisorActor.start(
        **wiring, config=config, run_id="run-t", maker_factory=lambda *_: None,
        feed=Sink.start(**wiring), order_gateway=risk, rest=rest, regime_sample_interval_s=SAMPLE_INTERVAL_S,
        directory=readers,
    )
    supervisor.proxy().ping().get()
    bus.publish(volatility_event(TICKER, ts=clock.now_ns()))
    assert tracker.wait_quiet(10)
    assert available(risk) == Decimal("200")

    balance[0] = 12_345
    clock.advance_to(clock.now_ns() + seconds(config.balance_poll_interval_s))  # the balance is old now
    bus.publish(volatility_event("KX-B", ts=clock.now_ns()))  # the next event reads it again
    assert tracker.wait_quiet(10)

    assert available(risk) == Decimal("123.45")
