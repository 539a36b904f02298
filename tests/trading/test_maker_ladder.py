"""Ladders (SPEC 8 "one resting order per side and level"): the order manager works every
level of the quote plan, and the session turns a multi-level plan into snapped, in-book,
post-only levels."""

from dataclasses import replace
from decimal import Decimal as D

import pytest

from actors.maker import MakerSession, OrderManager
from messages import AmendOrder, CancelOrder, MarketConfig, PlaceOrder, QuoteSides

from .factories import T0, TICKER, accepted, book_view, cancelled, rejected
from .ledger_desk import deliver

BOOK = book_view(bids=(("0.45", 10),), asks=(("0.55", 10),))
RETRY_NS = 1_000_000_000
SECOND = 1_000_000_000


@pytest.fixture
def manager():
    return OrderManager(ticker=TICKER, session_id="s", keep_within=D("0.01"), retry_after_ns=RETRY_NS)


def ladder(bids=(), asks=()):
    return {
        "bid": [(D(p), D(n)) for p, n in bids] or None,
        "ask": [(D(p), D(n)) for p, n in asks] or None,
    }


THREE = ladder(bids=(("0.49", 5), ("0.48", 5), ("0.47", 5)), asks=(("0.51", 5), ("0.52", 5), ("0.53", 5)))


def working(manager, desired=THREE):
    places = manager.reconcile(desired, BOOK, T0)
    for n, cmd in enumerate(places, start=1):
        deliver(manager, accepted(cmd, f"ex-{n}"), T0)
    return places


def test_every_level_gets_its_own_post_only_order_best_first(manager):
    commands = manager.reconcile(THREE, BOOK, T0)

    assert [(type(c), c.side, c.price, c.count) for c in commands] == [
        (PlaceOrder, "bid", D("0.49"), D(5)),
        (PlaceOrder, "bid", D("0.48"), D(5)),
        (PlaceOrder, "bid", D("0.47"), D(5)),
        (PlaceOrder, "ask", D("0.51"), D(5)),
        (PlaceOrder, "ask", D("0.52"), D(5)),
        (PlaceOrder, "ask", D("0.53"), D(5)),
    ]
    assert all(c.post_only for c in commands)
    assert [manager.order("bid", level).price for level in range(3)] == [D("0.49"), D("0.48"), D("0.47")]


def test_a_one_cent_move_of_the_whole_ladder_keeps_every_level(manager):
    working(manager)

    moved = ladder(bids=(("0.48", 5), ("0.47", 5), ("0.46", 5)), asks=(("0.52", 5), ("0.53", 5), ("0.54", 5)))

    assert manager.reconcile(moved, BOOK, T0) == []


def test_only_the_levels_that_moved_past_keep_within_are_amended(manager):
    working(manager)
    # bid level 3 moves 2 cents, ask level 1 changes size; the rest stay put
    desired = ladder(bids=(("0.49", 5), ("0.48", 5), ("0.45", 5)), asks=(("0.51", 3), ("0.52", 5), ("0.53", 5)))

    commands = manager.reconcile(desired, BOOK, T0)

    assert [(type(c), c.side, c.order_id, c.price, c.count) for c in commands] == [
        (AmendOrder, "bid", "ex-3", D("0.45"), D(5)),
        (AmendOrder, "ask", "ex-4", D("0.51"), D(3)),
    ]


def test_levels_no_longer_wanted_are_cancelled_deepest_kept_in_order(manager):
    working(manager)
    fewer = ladder(bids=(("0.49", 5),), asks=(("0.51", 5), ("0.52", 5)))

    commands = manager.reconcile(fewer, BOOK, T0)

    assert [(type(c), c.order_id) for c in commands] == [(CancelOrder, "ex-2"), (CancelOrder, "ex-3"), (CancelOrder, "ex-6")]
    for order_id, client_order_id in (("ex-2", "s-2"), ("ex-3", "s-3"), ("ex-6", "s-6")):
        deliver(manager, cancelled(order_id, client_order_id), T0)
    assert manager.levels_working("bid") == 1 and manager.levels_working("ask") == 2


def test_a_level_with_a_command_in_flight_waits_while_the_others_move(manager):
    manager.reconcile(THREE, BOOK, T0)  # six places in flight, none acknowledged
    moved = ladder(bids=(("0.45", 5), ("0.44", 5), ("0.43", 5)))

    assert manager.reconcile(moved, BOOK, T0) == []
    assert manager.skipped["bid"] == "placing in flight"
    assert manager.skipped["bid level 3"] == "placing in flight"


def test_a_refused_amend_on_one_level_goes_cancel_and_place_for_that_level_only(manager):
    working(manager)
    desired = ladder(bids=(("0.49", 5), ("0.45", 5), ("0.47", 5)), asks=(("0.51", 5), ("0.52", 5), ("0.53", 5)))
    (amend,) = manager.reconcile(desired, BOOK, T0)
    deliver(manager, rejected(amend, "amend", code="invalid_order", reason="price band"), T0)

    (cancel,) = manager.reconcile(desired, BOOK, T0)
    deliver(manager, cancelled("ex-2", cancel.client_order_id), T0)
    (place,) = manager.reconcile(desired, BOOK, T0)

    assert (type(cancel), cancel.order_id) == (CancelOrder, "ex-2")
    assert (type(place), place.side, place.price) == (PlaceOrder, "bid", D("0.45"))
    assert manager.order("bid", 1) is not None and manager.order("bid", 1).client_order_id == place.client_order_id


def test_a_deeper_level_that_would_cross_the_full_book_is_skipped_alone(manager):
    book = book_view(bids=(("0.45", 10),), asks=(("0.48", 10),))
    desired = ladder(bids=(("0.47", 5), ("0.48", 5)))  # a bad plan: level 2 at the ask

    commands = manager.reconcile(desired, book, T0)

    assert [(c.side, c.price) for c in commands] == [("bid", D("0.47"))]
    assert manager.skipped == {"bid level 2": "would cross the book"}


# -- the session ------------------------------------------------------------------


def ladder_session(maker_config, levels=3, spacing="0.01", market_config=None):
    model = replace(maker_config.model, ladder_levels=levels, ladder_spacing=D(spacing))
    config = replace(maker_config, model=model)
    session = MakerSession(ticker=TICKER, session_id="s", config=config, market_config=market_config)
    session.start(T0)
    session.on_book(book_view(bids=(("0.45", 200),), asks=(("0.55", 200),)), T0)
    return session


def test_one_level_is_the_default_and_quotes_one_order_per_side(maker_config):
    assert maker_config.model.ladder_levels == 1
    session = ladder_session(maker_config, levels=1)

    commands = session.warmup_elapsed(T0 + 5 * SECOND)

    assert [(c.side, c.price) for c in commands] == [("bid", D("0.49")), ("ask", D("0.51"))]


def test_a_three_level_plan_places_three_orders_per_side_spaced_and_inside_the_book(maker_config):
    session = ladder_session(maker_config, levels=3, spacing="0.02")

    commands = session.warmup_elapsed(T0 + 5 * SECOND)

    bids = [c.price for c in commands if c.side == "bid"]
    asks = [c.price for c in commands if c.side == "ask"]
    assert bids == [D("0.49"), D("0.47"), D("0.45")]
    assert asks == [D("0.51"), D("0.53"), D("0.55")]
    assert all(isinstance(c, PlaceOrder) and c.post_only for c in commands)
    assert session.last_quote.deeper == (
        ("bid", D("0.47"), D(5)), ("bid", D("0.45"), D(5)), ("ask", D("0.53"), D(5)), ("ask", D("0.55"), D(5)),
    )


def test_levels_that_collapse_on_one_price_after_the_clamp_are_pushed_a_tick_apart(maker_config):
    # spacing under a tick: the model's levels floor onto the same cent
    session = ladder_session(maker_config, levels=3, spacing="0.001")

    commands = session.warmup_elapsed(T0 + 5 * SECOND)

    assert [c.price for c in commands if c.side == "bid"] == [D("0.49"), D("0.48"), D("0.47")]
    assert [c.price for c in commands if c.side == "ask"] == [D("0.51"), D("0.52"), D("0.53")]


def test_the_exposure_cap_counts_every_level_of_both_sides(maker_config):
    # $5 at risk, shared by the sides as risk counts them: $2.50 each. The bids cost
    # 0.49, 0.48, 0.47 per contract; 5 at 0.49 is $2.45, the next level gets no contract
    market = MarketConfig(
        ticker=TICKER, category="economics", profile="mean_reverting", max_exposure=D(5), size_factor=D(1),
        quote_sides=QuoteSides.BOTH, price_band="normal", k=D("1.5"), sigma=D("0.05"), gamma_multiplier=D(1),
        min_spread=D("0.02"), max_spread=D("0.20"), regime="MEAN_REVERTING", close_ts=None,
    )
    session = ladder_session(maker_config, levels=3, market_config=market)

    commands = session.warmup_elapsed(T0 + 5 * SECOND)

    bids = [(c.price, c.count) for c in commands if c.side == "bid"]
    asks = [(c.price, c.count) for c in commands if c.side == "ask"]
    assert bids == [(D("0.49"), D(5))]
    assert asks == [(D("0.51"), D(5))]  # 5 x (1 - 0.51) = $2.45


def test_stopping_cancels_every_level_of_both_sides(maker_config):
    session = ladder_session(maker_config, levels=3)
    places = session.warmup_elapsed(T0 + 5 * SECOND)
    for n, cmd in enumerate(places, start=1):
        deliver(session, accepted(cmd, f"ex-{n}"), T0 + 5 * SECOND)

    commands = session.stop(T0 + 6 * SECOND, "ttl")

    assert sorted(c.order_id for c in commands if isinstance(c, CancelOrder)) == [f"ex-{n}" for n in range(1, 7)]
    assert len(session.status()["open_orders"]) == 6
