"""The maker sizes its quotes to the market's budget as the risk governor prices it, so
risk never refuses them `market_budget`; a side with no room quotes nothing and says why."""

from dataclasses import replace
from decimal import Decimal as D

import pytest

from actors.maker import MakerSession, MakerState
from actors.risk import RiskGovernor
from messages import CancelOrder, MarketConfig, PlaceOrder, QuoteSides

from actors.maker._budget import defer_growth

from .factories import T0, TICKER, accepted, amended, book_view, cancelled, fill, place, rejected, updated
from .ledger_desk import admitted, deliver, write_with

SECOND = 1_000_000_000
WARM = T0 + 5 * SECOND
DEEP_BOOK = dict(bids=(("0.45", 200),), asks=(("0.55", 200),))

# scenario turns_chaotic: a thin market whose session may put $1.02 at risk
CHAOTIC = MarketConfig(
    ticker=TICKER, category="economics", profile="mean_reverting", max_exposure=D("1.02"), size_factor=D(1),
    quote_sides=QuoteSides.BOTH, price_band="normal", k=D("1.5"), sigma=D("0.05"), gamma_multiplier=D(1),
    min_spread=D("0.02"), max_spread=D("0.20"), regime="MEAN_REVERTING", close_ts=None,
)


@pytest.fixture
def governor(risk_config):
    governor = RiskGovernor(risk_config)
    governor.budgets.learn(TICKER, CHAOTIC)
    return governor


def start(maker_config, market_config=CHAOTIC, market_budget=None, governor=None):
    """A session; given a governor, its ledger is the session's (the one writer)."""
    session = MakerSession(
        ticker=TICKER, session_id="s", config=maker_config, market_config=market_config, market_budget=market_budget
    )
    if governor is not None:
        write_with(session, governor.ledger)
    session.start(T0)
    session.on_book(book_view(**DEEP_BOOK), T0)
    return session


def acknowledge(session, commands, now):
    """The exchange acknowledges every command (and whatever those acks lead to)."""
    for cmd in commands:
        if isinstance(cmd, PlaceOrder):
            more = deliver(session, accepted(cmd, f"ex-{cmd.client_order_id}"), now)
        elif isinstance(cmd, CancelOrder):
            more = deliver(session, cancelled(cmd.order_id, cmd.client_order_id), now)
        else:
            order = session.orders.order(cmd.side)
            more = deliver(session, amended(cmd, filled=str(order.filled) if order else "0"), now)
        acknowledge(session, more, now)


def through_risk(governor, session, commands, now):
    """Each place goes through the governor as it would live (its ledger is the session's
    writer), then the exchange accepts those it sent on; returns the refusal codes."""
    refused, sent = [], []
    for cmd in commands:
        if not isinstance(cmd, PlaceOrder):
            continue
        verdict = governor.admit(cmd)
        if verdict.ok:
            admitted(session, cmd, now)
            sent.append(cmd)
        else:
            deliver(session, rejected(cmd, "place", code=verdict.code, source="risk"), now)
            refused.append(verdict.code)
    for n, cmd in enumerate(sent, start=1):
        deliver(session, accepted(cmd, f"ex-{now}-{n}"), now)
    return refused


def test_a_small_market_budget_is_quoted_in_sizes_risk_accepts(maker_config, governor):
    session = start(maker_config, governor=governor)

    places = session.warmup_elapsed(WARM)

    assert {c.side: c.count for c in places} == {"bid": D(1), "ask": D(1)}  # $0.49 + $0.49 <= $1.02
    assert through_risk(governor, session, places, WARM) == []
    assert governor.exposure(TICKER) == D("0.98")


def test_a_position_that_uses_the_budget_leaves_the_building_side_unquoted_with_a_reason(maker_config, governor):
    session = start(maker_config, governor=governor)
    bought = fill("bid", "0.49", 2, fill_id="f1", order_id="ex-earlier", client_order_id="s-0")
    deliver(session, bought, T0 + SECOND)  # one writer: risk and the session see one position

    places = session.warmup_elapsed(WARM)

    # long 2 holds $0.98 of $1.02: one more bid (0.49) would not fit; the ask closes the
    # position for free, and a third contract would cost 1 - ask > $0.04
    assert [(c.side, c.count) for c in places] == [("ask", D(2))]
    assert through_risk(governor, session, places, WARM) == []
    status = session.status()
    assert session.state == MakerState.QUOTING
    assert status["why_not_quoting"] == (
        "bid: not even 1 contract fits the $1.02 market budget (position exposure $0.98, $0.04 left)"
    )
    assert status["budget"] == "1.02"


def test_risk_refuses_the_default_5_lot_on_this_market(maker_config, governor):
    """The governor itself refuses a 5-lot on this market: the sizing above is what it takes."""
    assert governor.check_place(place("probe", "bid", "0.49", 5)).code == "market_budget"


def test_the_risk_per_market_budget_caps_a_session_without_a_market_config(maker_config):
    session = start(maker_config, market_config=None, market_budget=D("1.00"))

    places = session.warmup_elapsed(WARM)

    assert {c.side: c.count for c in places} == {"bid": D(1), "ask": D(1)}


def test_the_smaller_of_the_two_budgets_applies(maker_config):
    session = start(maker_config, market_config=replace(CHAOTIC, max_exposure=D("8")), market_budget=D("2.00"))

    places = session.warmup_elapsed(WARM)

    assert {c.side: c.count for c in places} == {"bid": D(2), "ask": D(2)}  # $1.00 a side


def quoting_one_by_one(maker_config, governor):
    """CHAOTIC quoting bid 1 / ask 1, both accepted by the exchange and known to risk."""
    session = start(maker_config, governor=governor)
    bid, ask = session.warmup_elapsed(WARM)
    assert through_risk(governor, session, [bid, ask], WARM) == []
    return session, bid, ask


def test_an_exit_order_reported_executed_before_its_fill_is_not_sold_again(maker_config):
    """The order update (executed) may come before the fill message: the order is gone but
    the position has not moved yet. The governor counts that fill already, and so does
    the maker: its exit does not sell the same contracts twice (risk would see a new short)."""
    session = start(maker_config, market_config=None)
    bid, ask = session.warmup_elapsed(WARM)
    acknowledge(session, [bid, ask], WARM)
    bought = fill("bid", "0.49", 2, fill_id="f1", order_id=f"ex-{bid.client_order_id}", client_order_id=bid.client_order_id)
    acknowledge(session, deliver(session, bought, WARM), WARM)
    acknowledge(session, session.stop(WARM, "ttl", "passive"), WARM)
    soft = WARM + int(maker_config.exit.mean_reversion_wait_s) * SECOND
    (exit_order,) = [c for c in session.requote(soft) if isinstance(c, PlaceOrder)]
    assert (exit_order.side, exit_order.count) == ("ask", D(2))
    deliver(session, accepted(exit_order, "ex-9"), soft)

    executed = updated("ex-9", exit_order.client_order_id, side="ask", price=str(exit_order.price),
                       filled="2", remaining="0", status="executed")
    commands = deliver(session, executed, soft + SECOND) + session.requote(soft + 2 * SECOND)

    assert [c for c in commands if isinstance(c, PlaceOrder)] == []
    assert session.orders.unseen_fills() == [("ask", exit_order.price, D(2))]
    late = fill("ask", str(exit_order.price), 2, fill_id="f2", order_id="ex-9", client_order_id=exit_order.client_order_id)
    deliver(session, late, soft + 3 * SECOND)
    assert session.orders.unseen_fills() == []  # the fill arrived: nothing counted twice
    assert (session.inventory.position, session.orders.open_orders(), session.state) == (0, [], MakerState.DONE)


def test_an_amend_refused_as_executed_counts_the_order_as_filled(maker_config, governor):
    session, bid, ask = quoting_one_by_one(maker_config, governor)
    amend = type("Amend", (), {"client_order_id": ask.client_order_id, "order_id": f"ex-{WARM}-2",
                               "ticker": TICKER, "side": "ask", "price": D("0.52"), "count": D(1)})()
    refusal = rejected(amend, "amend", reason="HTTP 400 invalid_order: invalid order (order is executed)")

    deliver(session, refusal, WARM + SECOND)  # into the governor's ledger, the session's writer

    assert session.orders.unseen_fills() == [("ask", ask.price, D(1))]
    assert through_risk(governor, session, session.check(WARM + 2 * SECOND), WARM + 2 * SECOND) == []


def test_a_side_grows_only_into_room_the_other_sides_change_has_freed():
    """Short 1 ($0.49 held of $0.99): the bid shrinks from 2 at 0.49 (one contract beyond
    the close: $0.49) to 1 at 0.51 (closing only: $0). Until that amend is confirmed the
    governor still counts the $0.49, so the new ask (1 - 0.54 = $0.46) must wait."""
    fitted = {"bid": [(D("0.51"), D(1))], "ask": [(D("0.54"), D(1))]}
    amending = {"bid": [((D("0.49"), D("0.51")), D(2))], "ask": []}
    settled = {"bid": [((D("0.51"),), D(1))], "ask": []}
    terms = dict(cap=D("0.99"), position=D(-1), held=D("0.49"))

    assert defer_growth(fitted, amending, **terms) == {"bid": [(D("0.51"), D(1))], "ask": []}
    assert defer_growth(fitted, settled, **terms) == fitted
