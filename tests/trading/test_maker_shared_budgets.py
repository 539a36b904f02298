"""The maker sizes to the budgets it shares with other markets (category, global), read
from the risk governor's published ExposureChanged: its cap is its market budget or its
room beside the other markets, whichever is lower; the free room is split evenly between
the markets using that budget, so two makers reading the same view never overfill it."""

from dataclasses import replace
from decimal import Decimal as D

from actors.maker import MakerSession
from actors.maker._budget import SharedRoom, shared_room
from messages import ExposureChanged, MarketConfig, MarketExposure, PlaceOrder, QuoteSides

from .factories import T0, TICKER, book_view

SECOND = 1_000_000_000
OTHER, THIRD = "KXOTHER-26JAN01-T50", "KXTHIRD-26JAN01-T50"

RATES = MarketConfig(
    ticker=TICKER, category="Rates", profile="mean_reverting", max_exposure=D("8"), size_factor=D(1),
    quote_sides=QuoteSides.BOTH, price_band="normal", k=D("1.5"), sigma=D("0.05"), gamma_multiplier=D(1),
    min_spread=D("0.02"), max_spread=D("0.20"), regime="MEAN_REVERTING", close_ts=None,
)


def market(ticker, exposure, category="rates"):
    return MarketExposure(ticker=ticker, position=D(0), resting_orders=2, resting_order_value=D(exposure),
                          exposure=D(exposure), category=category)


def view(*markets, category_budget="8", global_budget="60", market_budget="8"):
    total = sum((m.exposure for m in markets), D(0))
    return ExposureChanged(
        markets=tuple(markets), resting_order_value=total, global_exposure=total, state="ACTIVE", ts=T0,
        market_budget=D(market_budget), category_budget=D(category_budget), global_budget=D(global_budget),
    )


def test_no_view_no_shared_cap():
    assert shared_room(None, ticker=TICKER, category="rates") is None


def test_alone_in_its_category_a_market_may_take_what_the_others_leave():
    room = shared_room(view(market(OTHER, "3", category="crypto")), ticker=TICKER, category="rates")
    assert room == SharedRoom(D("8"), "category rates budget")


def test_the_free_room_of_a_category_is_split_evenly_with_the_markets_using_it():
    room = shared_room(view(market(TICKER, "2"), market(OTHER, "4")), ticker=TICKER, category="rates")
    # $2 free: this market's $2 plus half of it
    assert room == SharedRoom(D("3"), "category rates budget")


def test_a_category_already_over_its_budget_leaves_only_what_the_others_do_not_use():
    room = shared_room(view(market(TICKER, "5"), market(OTHER, "6")), ticker=TICKER, category="rates")
    assert room == SharedRoom(D("2"), "category rates budget")  # shrink to $8 - $6


def test_the_global_budget_binds_across_categories():
    markets = (market(OTHER, "7", category="crypto"), market(THIRD, "2", category="economics"))
    room = shared_room(view(*markets, global_budget="10"), ticker=TICKER, category="rates")
    assert room == SharedRoom(D("1") / 3, "global budget")


def test_a_market_of_unknown_category_is_bound_by_the_global_budget_only():
    room = shared_room(view(market(OTHER, "7")), ticker=TICKER, category="")
    assert room == SharedRoom(D("53") / 2, "global budget")  # an even share of the $53 free


def test_two_makers_reading_one_view_never_take_more_than_the_free_room_together():
    shared = view(market(TICKER, "3"), market(OTHER, "1"))
    mine = shared_room(shared, ticker=TICKER, category="rates").cap
    theirs = shared_room(shared, ticker=OTHER, category="rates").cap
    assert mine + theirs <= D("8")


# -- the session sizing its quotes -------------------------------------------------------
def quote(session, now):
    return [c for c in session.warmup_elapsed(now) if isinstance(c, PlaceOrder)]


def started(maker_config, market_config=RATES):
    session = MakerSession(ticker=TICKER, session_id="s", config=maker_config, market_config=market_config)
    session.start(T0)
    session.on_book(book_view(bids=(("0.45", 200),), asks=(("0.55", 200),)), T0)
    return session


def cost(orders):
    return sum((o.price if o.side == "bid" else 1 - o.price) * o.count for o in orders)


def test_a_session_sizes_its_quotes_to_the_room_another_rates_market_leaves(maker_config):
    session = started(maker_config)
    session.on_exposure(view(market(OTHER, "6.50")))

    orders = quote(session, T0 + 5 * SECOND)

    assert orders and cost(orders) <= D("1.50")


def test_a_session_with_no_room_in_its_category_quotes_nothing_and_says_which_budget(maker_config):
    session = started(maker_config)
    session.on_exposure(view(market(OTHER, "8")))

    assert quote(session, T0 + 5 * SECOND) == []
    assert "fits the $0.00 category rates budget" in session.status()["why_not_quoting"]


def test_the_published_market_budget_caps_a_session_that_has_no_market_config(maker_config):
    session = started(replace(maker_config, base_size=50), market_config=None)
    session.on_exposure(view(market_budget="3"))

    orders = quote(session, T0 + 5 * SECOND)

    assert session.budget == D("3") and orders and cost(orders) <= D("3")
