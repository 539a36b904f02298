"""Every StopSession ends in MakerFinished within a bounded time, through the actor:
a cancel stops an exit already running, an unanswered REST fill read or unconfirmed
cancels hold the finish at most their timeouts (maker.exit), and fills the read finds
are in the finished position."""

from decimal import Decimal as D

import pytest

from actors._base import MmdActor, handles
from actors.maker import MakerActor, MakerState
from actors.market_state import MarketStateActor
from actors.risk import RiskGovernorActor
from messages import (
    CancelOrder,
    ExitUrgency,
    MakerFinished,
    PlaceOrder,
    RestReadCompleted,
    RestReadRequested,
    RiskDirective,
    StopSession,
)
from kernel.bus import post
from kernel.directory import Directory

from .conftest import DummyGateway
from .factories import TICKER, fill, snapshot

DEEP = {"bids": (("0.45", 200),), "asks": (("0.55", 200),)}


class Finishes(MmdActor):
    def __init__(self, **wiring) -> None:
        super().__init__(**wiring)
        self.seen: list = []

    @handles(MakerFinished)
    def _record(self, message) -> None:
        self.seen.append((self.clock.now_ns(), message))

    def finished(self) -> list:
        return list(self.seen)


class SilentRest(MmdActor):
    """A REST client whose reads never come back (a slow, paginated fills read)."""

    def __init__(self, readers: Directory | None = None, **wiring) -> None:
        super().__init__(**wiring)
        self.readers = readers  # where a reply's reader is found by its name
        self.requests: list = []

    @handles(RestReadRequested)
    def _read(self, request: RestReadRequested) -> None:
        self.requests.append(request)

    def seen(self) -> list:
        return list(self.requests)


class AnsweringRest(SilentRest):
    """Answers a fills read at once with what the exchange holds."""

    fills: list = []

    @handles(RestReadRequested)
    def _read(self, request: RestReadRequested) -> None:
        self.requests.append(request)
        reply = RestReadCompleted(
            request_id=request.request_id, path=request.path, status=200, body={"fills": list(self.fills)},
            error="", ts_recv=0,
        )
        post(self.readers.resolve(request.reply_to), reply, self.tracker)


class DeafGateway(DummyGateway):
    """Acknowledges places but never confirms a cancel."""

    @handles(CancelOrder)
    def _on_cancel(self, cmd: CancelOrder) -> None:
        self.received.append(cmd)


@pytest.fixture
def finishes(harness):
    ref = Finishes.start(**harness.wiring)
    harness.bus.subscribe(ref, MakerFinished)
    return ref


@pytest.fixture
def readers():
    return Directory()


@pytest.fixture
def long_maker(harness, maker_config, config, readers):
    """A quoting maker long 3 contracts (too many to close at once: a passive exit waits),
    sending to the risk governor in front of `gateway`."""

    def start(gateway, rest=None):
        MarketStateActor.start(**harness.wiring, config=config.market_state)
        risk = RiskGovernorActor.start(**harness.wiring, config=config.risk, order_gateway=gateway)
        maker = MakerActor.start(
            **harness.wiring, ticker=TICKER, session_id="s1", config=maker_config, order_sink=risk, rest=rest,
            directory=readers,
        )
        harness.quiet()
        harness.publish(snapshot(**DEEP))
        harness.run_for(5)
        bid = next(c for c in gateway.proxy().commands().get() if isinstance(c, PlaceOrder))
        harness.publish(fill("bid", "0.49", 3, fill_id="f1", order_id="ex-1", client_order_id=bid.client_order_id))
        return maker, bid

    return start


def stop(harness, maker, urgency, reason):
    harness.tell(maker, StopSession(ticker=TICKER, reason=reason, ts=0, urgency=urgency))


SECOND = 1_000_000_000


def test_a_cancel_during_a_passive_exit_finishes_once_the_orders_are_gone(harness, long_maker, finishes):
    maker, _ = long_maker(DummyGateway.start(**harness.wiring))
    stop(harness, maker, ExitUrgency.PASSIVE, "ttl")
    assert maker.proxy().get_status().get()["state"] == MakerState.FLATTENING  # waiting for mean reversion
    t_cancel = harness.clock.now_ns()

    stop(harness, maker, ExitUrgency.CANCEL, "shutdown")

    ((at, finished),) = finishes.proxy().finished().get()
    assert at == t_cancel  # the dummy exchange confirms cancels at once
    assert (finished.reason, finished.position) == ("shutdown", D(3))  # a cancel keeps the position


def test_a_cancel_during_a_risk_flatten_finishes(harness, long_maker, finishes):
    gateway = DummyGateway.start(**harness.wiring)
    maker, _ = long_maker(gateway)
    harness.publish(RiskDirective(ticker=TICKER, action="flatten", reason="excursion", ts=0))
    assert maker.proxy().get_status().get()["state"] == MakerState.FLATTENING  # its IOC is still in flight

    stop(harness, maker, ExitUrgency.CANCEL, "shutdown")
    harness.run_for(1)

    ((_, finished),) = finishes.proxy().finished().get()
    assert finished.reason == "shutdown"


def test_an_unanswered_fill_read_holds_the_finish_only_until_its_timeout(harness, long_maker, finishes, maker_config):
    rest = SilentRest.start(**harness.wiring)
    maker, _ = long_maker(DummyGateway.start(**harness.wiring), rest=rest)
    timeout = maker_config.exit.fills_reconcile_timeout_s
    stop(harness, maker, ExitUrgency.PASSIVE, "ttl")
    stop(harness, maker, ExitUrgency.CANCEL, "shutdown")
    assert len(rest.proxy().seen().get()) == 1  # the session-end fills read, never answered

    harness.run_for(timeout - 0.001)
    assert finishes.proxy().finished().get() == []
    assert "reconciling fills" in maker.proxy().get_status().get()["why_not_quoting"]
    harness.run_for(0.001)

    ((_, finished),) = finishes.proxy().finished().get()
    assert (finished.reason, finished.position) == ("shutdown", D(3))


def test_fills_found_by_the_session_end_read_are_in_the_finished_position(harness, long_maker, finishes, readers):
    rest = AnsweringRest.start(readers=readers, **harness.wiring)
    maker, bid = long_maker(DummyGateway.start(**harness.wiring), rest=rest)
    rest.proxy().fills.get().append(
        {
            "fill_id": "f-lost", "order_id": "ex-1", "client_order_id": bid.client_order_id, "market_ticker": TICKER,
            "book_side": "bid", "yes_price_dollars": "0.4900", "count_fp": "2.00", "fee_cost": "0.00",
            "is_taker": False, "ts_ms": 1_700_000_006_000,
        }
    )

    stop(harness, maker, ExitUrgency.CANCEL, "shutdown")

    ((_, finished),) = finishes.proxy().finished().get()
    assert finished.position == D(5)  # 3 seen on WS + 2 only the read found
    assert maker.proxy().get_status().get()["counters"]["fills"] == 2  # the bus copy was not applied twice


def test_cancels_never_confirmed_hold_the_finish_only_until_their_timeout(harness, long_maker, finishes, maker_config):
    gateway = DeafGateway.start(**harness.wiring)
    maker, _ = long_maker(gateway)
    wait = maker_config.exit.cancel_confirm_s

    stop(harness, maker, ExitUrgency.CANCEL, "shutdown")
    harness.run_for(wait - 0.001)
    assert finishes.proxy().finished().get() == []
    harness.run_for(0.001)

    ((_, finished),) = finishes.proxy().finished().get()
    assert finished.reason == "shutdown (2 orders not confirmed cancelled)"
