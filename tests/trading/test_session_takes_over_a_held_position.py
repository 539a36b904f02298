"""A position held from an earlier run (reconciled at start-up) is the market's, and no
live session's: the session that starts on the market takes it over, so a flatten risk
orders for the market is one the session can carry out (its exits and skew count it).

P&L stays honest: the held contracts enter the session's book at the price they were
reconciled at (their average cost), with no fill and no fee, so closing them realises
exit price - reconciled price in that session, and the market's position is unchanged."""

from decimal import Decimal as D

from actors.ledger import TradingLedger
from actors.maker import MakerActor, MakerSession, MakerState
from actors.market_state import MarketStateActor
from actors.risk import RiskCore, RiskGovernorActor
from kernel.effects import Publish
from messages import (
    BookUpdated,
    HeldPosition,
    PlaceOrder,
    PositionsReconciled,
    RiskDirective,
    SessionStarted,
    TradingStateChanged,
)

from .conftest import DummyGateway
from .factories import T0, TICKER, book_view, fill, snapshot
from .ledger_desk import deliver, write_with

SECOND = 1_000_000_000


def _held_ledger(position="10", price="0.40") -> TradingLedger:
    ledger = TradingLedger(seen_fill_ids_per_market=100)
    assert ledger.hold(TICKER, D(position), D(price), T0)
    return ledger


def test_a_held_position_is_the_markets_and_no_sessions_until_one_takes_it_over():
    ledger = _held_ledger()

    assert ledger.position(TICKER).position == D(10)
    assert ledger.session_position(TICKER, "s") is None


def test_the_session_starting_on_the_market_takes_over_the_held_position_at_its_reconciled_price():
    ledger = _held_ledger()

    assert ledger.take_over_held(TICKER, "s", T0 + 1)

    book = ledger.session_position(TICKER, "s")
    assert book.position == D(10) and book.vwap == D("0.40")
    assert book.fill_count == 0 and book.fees_paid == 0  # no fill of ours, no fee
    assert ledger.position(TICKER).position == D(10)  # the market's position is unchanged
    assert not ledger.take_over_held(TICKER, "s2", T0 + 2)  # taken over once


def test_what_a_session_leaves_of_a_held_position_it_took_over_is_held_again_for_the_next_session():
    ledger = _held_ledger()
    ledger.take_over_held(TICKER, "s", T0 + 1)
    ledger.apply(fill("ask", "0.45", 4, fill_id="x1", order_id="ex-1", client_order_id="s-1"))

    ledger.end_session(TICKER, "s")  # a cancel exit keeps the position
    assert ledger.take_over_held(TICKER, "s2", T0 + 2)

    book = ledger.session_position(TICKER, "s2")
    assert book.position == D(6) and book.vwap == D("0.40")
    assert ledger.position(TICKER).position == D(6)


def test_a_market_without_a_held_position_has_nothing_to_take_over():
    ledger = TradingLedger(seen_fill_ids_per_market=100)

    assert not ledger.take_over_held(TICKER, "s", T0)
    assert ledger.session_position(TICKER, "s") is None


def test_a_market_this_run_traded_first_is_not_held():
    ledger = TradingLedger(seen_fill_ids_per_market=100)
    ledger.apply(fill("bid", "0.50", 3, fill_id="f1", client_order_id="s-1"))

    assert not ledger.hold(TICKER, D(3), D("0.50"), T0)
    assert not ledger.take_over_held(TICKER, "s2", T0)


def test_risk_hands_the_held_position_to_the_session_that_starts_on_the_market(risk_config):
    core = RiskCore(risk_config)
    core.start(T0)
    core.handle(PositionsReconciled(positions=(HeldPosition(ticker=TICKER, position=D(10), price=D("0.40")),), ts=T0), T0)

    effects = core.handle(SessionStarted(session_id="s", ticker=TICKER, reason="test", ts=T0 + 1), T0 + 1)

    (change,) = [e.message for e in effects if isinstance(e, Publish) and isinstance(e.message, TradingStateChanged)]
    assert change.session("s").position.position == D(10)
    assert change.position.position == D(10)


def test_a_risk_flatten_of_a_market_with_a_held_position_sells_it_and_realises_from_its_reconciled_price(
    maker_config,
):
    ledger = _held_ledger(position="5", price="0.49")
    session = MakerSession(ticker=TICKER, session_id="s", config=maker_config)
    write_with(session, ledger)
    session.start(T0)
    ledger.take_over_held(TICKER, "s", T0)
    session.on_trading_state(ledger.changed(TICKER, SessionStarted(session_id="s", ticker=TICKER, reason="t", ts=T0), None, T0), T0)
    session.on_book(book_view(), T0)
    assert session.inventory.position == D(5)  # its exits and skew count it

    now = T0 + 7 * SECOND
    commands = session.on_risk_directive(RiskDirective(ticker=TICKER, action="flatten", reason="excursion", ts=now), now)

    (ioc,) = [c for c in commands if isinstance(c, PlaceOrder)]
    assert (ioc.side, ioc.price, ioc.count, ioc.reduce_only) == ("ask", D("0.45"), D(5), True)
    assert session.state == MakerState.FLATTENING
    deliver(session, fill("ask", "0.45", 5, fill_id="x1", order_id="ex-9", client_order_id=ioc.client_order_id), now)
    assert session.inventory.position == 0 and ledger.position(TICKER).position == 0
    assert session.inventory.realized_pnl == D("-0.20")  # 5 x (0.45 - 0.49)


def test_risk_sends_the_view_with_a_flatten_of_a_market_whose_session_took_over_a_held_position(risk_config):
    core = RiskCore(risk_config)
    core.start(T0)
    core.handle(PositionsReconciled(positions=(HeldPosition(ticker=TICKER, position=D(10), price=D("0.50")),), ts=T0), T0)
    core.handle(SessionStarted(session_id="s", ticker=TICKER, reason="test", ts=T0), T0)

    effects = []
    for second in range(0, 12):  # 10 cents under its cost, past the MAE persistence (8 s)
        now = T0 + second * SECOND
        effects += core.handle(_book_updated(now), now)

    published = [e.message for e in effects if isinstance(e, Publish)]
    flatten = next(i for i, m in enumerate(published) if isinstance(m, RiskDirective) and m.action == "flatten")
    view = published[flatten - 1]  # a maker that missed the take-over view still flattens what it holds
    assert isinstance(view, TradingStateChanged) and view.session("s").position.position == D(10)


def _book_updated(now):
    return BookUpdated(ticker=TICKER, book=book_view(bids=(("0.39", 50),), asks=(("0.41", 50),)), ts_event=now,
                       ts_recv=now)


def test_a_held_position_the_policy_flattens_is_flat_within_the_exits_time_not_the_flatten_timeout(
    harness, config, maker_config
):
    gateway = DummyGateway.start(**harness.wiring)
    MarketStateActor.start(**harness.wiring, config=config.market_state)
    risk = RiskGovernorActor.start(**harness.wiring, config=config.risk, order_gateway=gateway)
    harness.quiet()
    held = HeldPosition(ticker=TICKER, position=D(10), price=D("0.50"))
    harness.publish(PositionsReconciled(positions=(held,), ts=harness.clock.now_ns()))
    MakerActor.start(**harness.wiring, ticker=TICKER, session_id="s1", config=maker_config, order_sink=risk)
    harness.publish(SessionStarted(session_id="s1", ticker=TICKER, reason="test", ts=harness.clock.now_ns()))
    start = harness.clock.now_ns()

    harness.publish(snapshot(bids=(("0.39", 200),), asks=(("0.41", 200),)))  # 11 cents under its cost
    harness.run_for(10)  # past the MAE persistence (8 s)

    iocs = [c for c in gateway.proxy().commands().get() if isinstance(c, PlaceOrder) and c.reduce_only]
    assert [(c.side, c.price, c.count) for c in iocs] == [("ask", D("0.39"), D(10))]
    ioc = iocs[0]
    harness.publish(fill("ask", "0.39", 10, fill_id="x1", order_id="ex-9", client_order_id=ioc.client_order_id,
                         ts=harness.clock.now_ns()))

    status = risk.proxy().get_status().get()
    assert D(status["positions"].get(TICKER, "0")) == 0
    assert status["flattening"] == {}  # lifted once flat, 10 s in, not at the 120 s timeout
    assert harness.clock.now_ns() - start < 120 * SECOND
