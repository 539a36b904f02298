"""Maker, risk governor and market state as real Pykka actors on a replay clock.

The dummy gateway stands in for the REST client and acknowledges every command on the bus;
the maker sends to the risk governor in front of it, whose ledger views it reads.
"""

from decimal import Decimal as D

import pytest

from actors.maker import MakerActor, MakerState
from actors.market_state import MarketStateActor
from actors.risk import TradingState
from messages import (
    AmendOrder,
    BookUntrusted,
    CancelAllOrders,
    CancelOrder,
    KillSwitchEngaged,
    KillSwitchReleased,
    OrderRejected,
    PlaceOrder,
    RequoteWarmupOverDue,
    RiskStateChanged,
    StopSession,
)

from .conftest import CommandTap
from .factories import TICKER, fill, place, snapshot

# Microprice of 0.45 x 30 / 0.55 x 10 = (0.45*10 + 0.55*30) / 40 = 0.525.
LEANING_BOOK = {"bids": (("0.45", 30),), "asks": (("0.55", 10),)}


@pytest.fixture
def market_state(harness, market_state_config):
    return MarketStateActor.start(**harness.wiring, config=market_state_config)


@pytest.fixture
def maker(harness, market_state, risk, maker_config):
    ref = MakerActor.start(**harness.wiring, ticker=TICKER, session_id="s1", config=maker_config, order_sink=risk)
    harness.quiet()
    return ref


def commands(gateway, kind=object):
    return [c for c in gateway.proxy().commands().get() if isinstance(c, kind)]


def quoting(harness, maker, book=LEANING_BOOK):
    harness.publish(snapshot(**book))
    harness.run_for(5)
    assert maker.proxy().get_status().get()["state"] == MakerState.QUOTING


def test_maker_waits_out_the_warm_up_then_quotes_around_the_microprice(harness, maker, gateway):
    harness.publish(snapshot(**LEANING_BOOK))
    harness.run_for(4.9)
    during_warm_up = commands(gateway)

    harness.run_for(0.1)

    assert during_warm_up == []
    places = commands(gateway, PlaceOrder)
    # r = 0.525, half spread 0.01: bid floor(0.515), ask ceil(0.535)
    assert [(p.side, p.price, p.count) for p in places] == [("bid", D("0.51"), D(5)), ("ask", D("0.54"), D(5))]
    assert {p.client_order_id for p in places} == {"s1-1", "s1-2"}
    status = maker.proxy().get_status().get()
    assert status["last_quote"]["fair_value"] == "0.525"
    assert len(status["open_orders"]) == 2


def test_a_book_move_amends_both_orders_in_place(harness, market_state, risk, maker_config):
    # what the maker sends, before risk: the governor refuses the bid's amend (0.56 would
    # sit above our own ask, at 0.54 until its amend is acknowledged)
    tap = CommandTap.start(**harness.wiring, target=risk)
    maker = MakerActor.start(**harness.wiring, ticker=TICKER, session_id="s1", config=maker_config, order_sink=tap)
    quoting(harness, maker)

    harness.publish(snapshot(bids=(("0.50", 30),), asks=(("0.60", 10),), seq=5))  # microprice 0.575

    amends = commands(tap, AmendOrder)
    assert [(a.side, a.price, a.count) for a in amends] == [("bid", D("0.56"), D(5)), ("ask", D("0.59"), D(5))]
    assert maker.proxy().get_status().get()["counters"]["amends"] == 2


def test_a_buy_fill_moves_the_reservation_price_down(harness, maker, gateway):
    quoting(harness, maker, book={"bids": (("0.45", 10),), "asks": (("0.55", 10),)})  # 0.49 / 0.51
    bid = commands(gateway, PlaceOrder)[0]

    harness.publish(fill("bid", "0.49", 5, fee="0.02", order_id="ex-1", client_order_id=bid.client_order_id))

    status = maker.proxy().get_status().get()
    assert status["position"] == "5"
    assert status["last_quote"]["reservation"] == "0.497079497"  # 0.50 - 5 x 0.3e^-0.25 x 0.05^2
    replacement = commands(gateway, PlaceOrder)[-1]
    assert (replacement.side, replacement.price) == ("bid", D("0.48"))  # floor(0.487079)


def test_the_requote_timer_keeps_working_after_the_warm_up(harness, maker, gateway):
    quoting(harness, maker)

    harness.run_for(3)

    assert maker.proxy().get_status().get()["counters"]["places"] == 2  # nothing changed: kept


def test_an_untrusted_book_pauses_the_maker_and_cancels_its_orders(harness, maker, gateway):
    quoting(harness, maker)

    harness.publish(BookUntrusted(ticker=TICKER, reason="seq gap", ts_recv=harness.clock.now_ns()))

    status = maker.proxy().get_status().get()
    assert status["state"] == MakerState.PAUSED
    assert "untrusted" in status["why_not_quoting"]
    assert len(commands(gateway, CancelOrder)) == 2
    assert status["open_orders"] == []


def test_stop_session_cancels_both_orders(harness, maker, gateway):
    quoting(harness, maker)

    harness.tell(maker, StopSession(ticker=TICKER, reason="ttl", ts=harness.clock.now_ns()))

    cancels = commands(gateway, CancelOrder)
    assert sorted(c.order_id for c in cancels) == ["ex-1", "ex-2"]
    status = maker.proxy().get_status().get()
    assert (status["state"], status["open_orders"]) == (MakerState.DONE, [])
    assert status["why_not_quoting"] == "stopped: ttl"


def test_risk_actor_refuses_an_oversized_order_and_forwards_a_good_one(harness, risk, gateway, recorder):
    harness.tell(risk, place("big", "bid", "0.10", 51))
    harness.tell(risk, place("good", "bid", "0.40", 5))

    assert [c.client_order_id for c in commands(gateway, PlaceOrder)] == ["good"]
    [refusal] = [m for m in recorder.proxy().messages().get() if isinstance(m, OrderRejected)]
    assert (refusal.client_order_id, refusal.source, refusal.code) == ("big", "risk", "order_too_large")
    status = risk.proxy().get_status().get()
    assert status["exposure"][TICKER] == "2.00"  # accepted and resting: 0.40 x 5
    assert status["rejections"] == {"order_too_large": 1}


def test_kill_switch_halts_trading_cancels_everything_and_needs_a_release(harness, risk, gateway, recorder):
    harness.publish(KillSwitchEngaged(reason="operator", ts=harness.clock.now_ns()))
    harness.tell(risk, place("after-kill", "bid", "0.40", 5))
    harness.publish(KillSwitchReleased(reason="operator", ts=harness.clock.now_ns()))
    harness.tell(risk, place("after-release", "bid", "0.40", 5))

    assert [type(c) for c in commands(gateway)] == [CancelAllOrders, PlaceOrder]
    assert commands(gateway, PlaceOrder)[0].client_order_id == "after-release"
    states = [m.state for m in recorder.proxy().messages().get() if isinstance(m, RiskStateChanged)]
    assert states == [TradingState.HALTED, TradingState.ACTIVE]


def test_maker_quotes_through_the_risk_governor(harness, market_state, gateway, risk, maker_config):
    maker = MakerActor.start(**harness.wiring, ticker=TICKER, session_id="s2", config=maker_config, order_sink=risk)
    harness.quiet()

    quoting(harness, maker)

    assert len(commands(gateway, PlaceOrder)) == 2
    assert risk.proxy().get_status().get()["exposure"][TICKER] == "4.85"  # 0.51 x 5 + (1 - 0.54) x 5


def test_the_warm_up_timer_names_its_market_so_equal_deadlines_fire_in_a_fixed_order(
    harness, market_state, risk, maker_config
):
    scheduled = []
    call_at = harness.clock.call_at

    def recording(deadline_ns, target, message):
        scheduled.append(message)
        return call_at(deadline_ns, target, message)

    harness.clock.call_at = recording
    MakerActor.start(**harness.wiring, ticker=TICKER, session_id="s1", config=maker_config, order_sink=risk)
    harness.quiet()

    [warm_up] = [m for m in scheduled if isinstance(m, RequoteWarmupOverDue)]
    assert warm_up.ticker == TICKER


# -- one writer: the risk governor's ledger ------------------------------------------------


def test_a_fill_on_the_bus_moves_the_maker_only_through_the_ledger(harness, market_state, gateway, maker_config):
    maker = MakerActor.start(**harness.wiring, ticker=TICKER, session_id="s1", config=maker_config, order_sink=gateway)
    harness.quiet()
    quoting(harness, maker, book={"bids": (("0.45", 10),), "asks": (("0.55", 10),)})
    bid = commands(gateway, PlaceOrder)[0]

    harness.publish(fill("bid", "0.49", 5, order_id="ex-1", client_order_id=bid.client_order_id))

    # no risk governor, no ledger: the raw fill is nothing to the maker
    assert maker.proxy().get_status().get()["position"] == "0"


def test_the_maker_and_risk_read_one_position_and_a_fill_reported_twice_counts_once(harness, maker, risk, gateway):
    quoting(harness, maker, book={"bids": (("0.45", 10),), "asks": (("0.55", 10),)})
    bid, ask = commands(gateway, PlaceOrder)[:2]
    bought = fill("bid", "0.49", 3, fee="0.01", fill_id="f1", order_id="ex-1", client_order_id=bid.client_order_id)
    sold = fill("ask", "0.51", 1, fee="0.01", fill_id="f2", order_id="ex-2", client_order_id=ask.client_order_id)

    for report in (bought, sold, bought):  # the first fill again, as the REST reconcile reports it
        harness.publish(report)

    maker_status = maker.proxy().get_status().get()
    risk_status = risk.proxy().get_status().get()
    assert maker_status["position"] == risk_status["positions"][TICKER] == "2"
    assert maker_status["counters"]["fills"] == 2
