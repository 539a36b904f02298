"""MakerSession state machine, driven synchronously: warm-up, pause, stop, status."""

from decimal import Decimal as D

import pytest

from actors.maker import MakerSession, MakerState
from messages import CancelAllOrders, CancelOrder, PlaceOrder

from .factories import T0, TICKER, accepted, book_view, cancelled, fill, rejected, updated
from .ledger_desk import deliver

SECOND = 1_000_000_000


@pytest.fixture
def session(maker_config):
    session = MakerSession(ticker=TICKER, session_id="s", config=maker_config)
    session.start(T0)
    return session


def quoting(session):
    """Warm up on a 0.45/0.55 book and have both places accepted."""
    session.on_book(book_view(), T0)
    places = session.warmup_elapsed(T0 + 5 * SECOND)
    for n, cmd in enumerate(places, start=1):
        deliver(session, accepted(cmd, f"ex-{n}"), T0 + 5 * SECOND)
    return places


def test_no_quotes_during_the_warm_up_even_with_a_good_book(session):
    commands = session.on_book(book_view(), T0 + SECOND)

    assert commands == []
    assert (session.state, session.why_not_quoting) == (MakerState.WAIT_DATA, "warming up")


def test_after_the_warm_up_without_a_book_it_keeps_waiting_for_data(session):
    assert session.warmup_elapsed(T0 + 5 * SECOND) == []
    assert (session.state, session.why_not_quoting) == (MakerState.WAIT_DATA, "no book yet")


def test_after_the_warm_up_it_quotes_both_sides(session):
    places = quoting(session)

    assert [(type(c), c.side, c.price) for c in places] == [(PlaceOrder, "bid", D("0.49")), (PlaceOrder, "ask", D("0.51"))]
    assert session.state == MakerState.QUOTING


def test_an_untrusted_book_pauses_quoting_and_cancels_the_orders(session):
    quoting(session)

    commands = session.on_book(book_view(trusted=False), T0 + 6 * SECOND)

    assert [type(c) for c in commands] == [CancelOrder, CancelOrder]
    assert session.state == MakerState.PAUSED
    assert "untrusted" in session.status()["why_not_quoting"]


def test_a_one_sided_book_pauses_with_its_reason(session):
    quoting(session)

    session.on_book(book_view(asks=()), T0 + 6 * SECOND)

    assert (session.state, session.why_not_quoting) == (MakerState.PAUSED, "book empty or one-sided")


def test_a_fresh_book_resumes_quoting_after_a_pause(session):
    quoting(session)
    session.on_book(book_view(trusted=False), T0 + 6 * SECOND)

    session.on_book(book_view(), T0 + 7 * SECOND)

    assert session.state == MakerState.QUOTING


def test_stop_cancels_resting_orders_and_a_late_accepted_place(session):
    session.on_book(book_view(), T0)
    bid, ask = session.warmup_elapsed(T0 + 5 * SECOND)
    deliver(session, accepted(bid, "ex-1"), T0 + 5 * SECOND)

    on_stop = session.stop(T0 + 6 * SECOND, "ttl")
    on_late_accept = deliver(session, accepted(ask, "ex-2"), T0 + 6 * SECOND)

    assert [(type(c), c.order_id) for c in on_stop] == [(CancelOrder, "ex-1")]
    assert [(type(c), c.order_id) for c in on_late_accept] == [(CancelOrder, "ex-2")]
    assert session.status()["state"] == MakerState.FLATTENING  # cancels not yet confirmed

    for order_id, cmd in (("ex-1", bid), ("ex-2", ask)):
        deliver(session, cancelled(order_id, cmd.client_order_id), T0 + 6 * SECOND)

    assert session.status()["state"] == MakerState.DONE
    assert session.finished is not None and session.finished.reason == "ttl"


def test_shutdown_cancels_a_place_without_exchange_id_by_cancelling_the_market(session):
    session.on_book(book_view(), T0)
    bid, _ask = session.warmup_elapsed(T0 + 5 * SECOND)
    deliver(session, accepted(bid, "ex-1"), T0 + 5 * SECOND)

    commands = session.shutdown(T0 + 6 * SECOND, "maker stopped")

    assert [type(c) for c in commands] == [CancelOrder, CancelAllOrders]
    assert commands[1].ticker == TICKER


def test_status_reports_position_pnl_orders_and_counters_as_json_friendly_values(session):
    quoting(session)
    deliver(session, fill("bid", "0.49", 2, fee="0.01", order_id="ex-1", client_order_id="s-1"), T0 + 6 * SECOND)

    status = session.status()

    assert status["position"] == "2"
    assert status["vwap"] == "0.490000"
    assert status["fees"] == "0.01"
    assert status["unrealized_pnl"] == "0.01"  # 2 x (0.50 - 0.49) - 0.01 entry fee
    assert status["last_quote"]["reservation"] == "0.498642744"  # 0.50 - 2 x 0.3e^-0.1 x 0.05^2
    assert [o["side"] for o in status["open_orders"]] == ["bid", "ask"]
    assert status["counters"] == {
        "writes_sent": 3,
        "places": 2,
        "amends": 1,
        "cancels": 0,
        "adopted": 0,
        "quote_updates": 2,
        "fills": 1,
        "foreign_fills": 0,
        "risk_flattens": 0,
    }


@pytest.mark.parametrize("fill_first", [False, True], ids=["user_order then fill", "fill then user_order"])
def test_a_partial_fill_reported_twice_counts_once_in_position_and_order(session, fill_first):
    bid, _ask = quoting(session)
    total = updated("ex-1", bid.client_order_id, price=str(bid.price), filled="2", remaining=str(bid.count - 2))
    execution = fill("bid", str(bid.price), 2, order_id="ex-1", client_order_id=bid.client_order_id)
    events = [execution, total] if fill_first else [total, execution]

    commands = [c for event in events for c in deliver(session, event, T0 + 6 * SECOND)]

    working_bid = session.orders.order("bid")
    assert session.inventory.position == D(2)
    assert working_bid is not None and working_bid.order_id == "ex-1"
    assert (working_bid.filled, working_bid.remaining) == (D(2), bid.count - 2)
    assert not any(isinstance(c, PlaceOrder) for c in commands)  # the resting order was not forgotten


def test_fair_value_ignores_our_own_quotes_at_the_touch(session):
    quoting(session)  # our 0.49 bid and 0.51 ask now are the touch
    book_with_ours = book_view(bids=(("0.49", 5), ("0.45", 10)), asks=(("0.51", 5), ("0.55", 10)))

    assert session.market_book().best_bid is not None
    session.on_book(book_with_ours, T0 + 6 * SECOND)
    market = session.market_book()

    assert (market.best_bid, market.best_ask) == (D("0.45"), D("0.55"))
    assert session.last_quote.fair_value == D("0.50")


def test_the_maker_follows_the_market_when_others_move_even_though_our_quotes_are_the_touch(session):
    quoting(session)  # ours: 0.49 bid, 0.51 ask
    others_moved_up = book_view(bids=(("0.50", 10), ("0.49", 5)), asks=(("0.51", 5), ("0.60", 10)))

    commands = session.on_book(others_moved_up, T0 + 6 * SECOND)

    # the rest of the market shows 0.50/0.60: fair value 0.55, and our ask moves up to it
    # (the bid follows once our own 0.51 ask no longer stands in its way)
    assert session.last_quote.fair_value == D("0.55")
    assert [(c.side, c.price) for c in commands] == [("ask", D("0.56"))]


def test_a_side_empty_only_because_our_quote_is_alone_there_keeps_quoting(session):
    quoting(session)  # ours: 0.49 bid, 0.51 ask around a fair value of 0.50
    alone_on_the_ask = book_view(bids=(("0.49", 5), ("0.45", 20)), asks=(("0.51", 5),))  # deep: sizes stay

    commands = session.on_book(alone_on_the_ask, T0 + 6 * SECOND)

    assert (session.state, session.why_not_quoting) == (MakerState.QUOTING, "")
    assert commands == []  # our quotes stay: fair value holds at the last one
    assert session.last_quote.fair_value == D("0.50")


def test_an_order_cancelled_before_the_book_shows_it_is_not_taken_for_others_liquidity(session):
    quoting(session)  # ours: 0.49 bid (ex-1, s-1), 0.51 ask (ex-2, s-2)
    session.on_book(book_view(bids=(("0.49", 5), ("0.45", 10)), asks=(("0.51", 5), ("0.55", 10))), T0 + 6 * SECOND)
    session.stop(T0 + 6 * SECOND, "ttl")

    for order_id, client_order_id in (("ex-1", "s-1"), ("ex-2", "s-2")):
        deliver(session, cancelled(order_id, client_order_id), T0 + 6 * SECOND)
    stale = session.market_book()  # the book has not caught up with the cancels yet

    assert (stale.best_bid, stale.best_ask) == (D("0.45"), D("0.55"))


def test_a_book_holding_only_our_own_quotes_pauses_and_cancels_them(session):
    quoting(session)  # ours: 0.49 bid, 0.51 ask
    only_ours = book_view(bids=(("0.49", 5),), asks=(("0.51", 5),))

    commands = session.on_book(only_ours, T0 + 6 * SECOND)

    assert (session.state, session.why_not_quoting) == (MakerState.PAUSED, "no other liquidity in the book")
    assert [type(c) for c in commands] == [CancelOrder, CancelOrder]


def test_quoting_resumes_once_others_show_liquidity_again(session):
    quoting(session)
    session.on_book(book_view(bids=(("0.49", 5),), asks=(("0.51", 5),)), T0 + 6 * SECOND)

    session.on_book(book_view(bids=(("0.47", 10),), asks=(("0.53", 10),)), T0 + 7 * SECOND)

    assert (session.state, session.why_not_quoting) == (MakerState.QUOTING, "")


def test_the_book_less_our_orders_follows_an_order_event_at_the_same_instant(session):
    # market_book() is reused within a pass (speed); an order event must still show at once
    session.on_book(book_view(bids=(("0.49", 5), ("0.45", 10)), asks=(("0.51", 5), ("0.55", 10))), T0)
    bid, ask = session.warmup_elapsed(T0 + 5 * SECOND)
    before = session.market_book()
    assert (before.best_bid, before.best_ask) == (D("0.49"), D("0.51"))  # nothing of ours rests yet

    deliver(session, accepted(bid, "ex-1"), T0 + 5 * SECOND)
    deliver(session, accepted(ask, "ex-2"), T0 + 5 * SECOND)
    after = session.market_book()

    assert (after.best_bid, after.best_ask) == (D("0.45"), D("0.55"))
    assert session.market_book() is after  # same book, instant and orders: the same object


# -- whose fills count --------------------------------------------------------------


def test_a_fill_of_another_sessions_or_a_manual_order_on_the_market_is_not_ours(session):
    quoting(session)

    # the bus hands the maker every fill on its market
    deliver(session, fill("bid", "0.50", 7, fill_id="x1", order_id="ex-old", client_order_id="s1-4"), T0 + 6 * SECOND)
    deliver(session, fill("bid", "0.50", 3, fill_id="x2", order_id="ex-manual", client_order_id=""), T0 + 6 * SECOND)
    deliver(session, fill("ask", "0.50", 1, fill_id="x3", order_id="ex-9", client_order_id="s-x1"), T0 + 6 * SECOND)

    assert session.inventory.position == 0
    assert session.status()["counters"]["foreign_fills"] == 3


def test_a_fill_is_ours_by_this_sessions_client_id_or_by_an_exchange_id_we_know(session):
    bid, ask = quoting(session)

    deliver(session, fill("bid", str(bid.price), 2, fill_id="a", order_id="ex-1", client_order_id=""), T0 + 6 * SECOND)
    deliver(
        session,
        fill("ask", str(ask.price), 1, fill_id="b", order_id="ex-unknown", client_order_id=ask.client_order_id),
        T0 + 6 * SECOND,
    )

    assert session.inventory.position == D(1)
    assert session.status()["counters"]["foreign_fills"] == 0


def test_a_late_fill_of_an_order_already_gone_still_counts_by_its_exchange_id(session):
    bid, _ = quoting(session)
    deliver(session, cancelled("ex-1", bid.client_order_id), T0 + 6 * SECOND)
    assert session.orders.order("bid") is None or session.orders.order("bid").order_id != "ex-1"

    deliver(session, fill("bid", str(bid.price), 2, fill_id="late", order_id="ex-1", client_order_id=""), T0 + 7 * SECOND)

    assert session.inventory.position == D(2)


# -- a refused cancel -----------------------------------------------------------------


def test_a_refused_cancel_of_a_working_order_is_retried_at_the_backoff_cadence_not_per_input(session, maker_config):
    quoting(session)
    retry = int(maker_config.requote_interval_s * SECOND)
    t = T0 + 6 * SECOND
    cancels = session.on_book(book_view(trusted=False), t)  # paused: both orders go
    for cancel in cancels:  # refused, not gone: the orders still rest
        deliver(session, rejected(cancel, "cancel", code="rate_limited", source="risk"), t)

    sent = []
    for step in range(1, 10):  # inputs every tenth of the backoff
        now = t + step * retry // 10
        sent += [c for c in session.on_book(book_view(trusted=False), now) if isinstance(c, CancelOrder)]
    assert sent == []
    assert session.orders.skipped == {"bid": "cancel refused recently", "ask": "cancel refused recently"}

    again = session.on_book(book_view(trusted=False), t + retry)
    assert sorted(c.client_order_id for c in again if isinstance(c, CancelOrder)) == sorted(
        c.client_order_id for c in cancels
    )
