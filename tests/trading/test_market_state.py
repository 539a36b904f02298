"""Market state: books from snapshots and deltas, trust, staleness, bounded buffers."""

from dataclasses import replace
from decimal import Decimal as D

import pytest

from actors.market_state import MarketStateActor, MarketStore
from messages import (
    BookDelta,
    BookUntrusted,
    BookUpdated,
    MarketLifecycleChanged,
    TickerUpdated,
    TradePrinted,
)

from .factories import T0, TICKER, levels, snapshot

SECOND = 1_000_000_000


@pytest.fixture
def store(market_state_config):
    return MarketStore(market_state_config)


def delta(side, price, change, ts=T0, seq=2, ticker=TICKER):
    return BookDelta(ticker=ticker, side=side, price=D(price), delta=D(change), seq=seq, ts_event=ts, ts_recv=ts)


def trade(n, ts=T0):
    return TradePrinted(
        ticker=TICKER, trade_id=f"t{n}", price=D("0.50"), count=D(1), taker_side="bid", ts_event=ts, ts_recv=ts
    )


def test_a_snapshot_becomes_a_trusted_view_best_first(store):
    view = store.apply(snapshot(bids=(("0.44", 3), ("0.45", 10)), asks=(("0.56", 4), ("0.55", 10))), T0)

    assert view.trusted
    assert view.bids == levels(("0.45", 10), ("0.44", 3))
    assert view.asks == levels(("0.55", 10), ("0.56", 4))
    assert (view.best_bid, view.best_ask, view.mid) == (D("0.45"), D("0.55"), D("0.50"))


def test_a_delta_changes_a_level_and_drops_it_at_zero(store):
    store.apply(snapshot(bids=(("0.45", 10),), asks=(("0.55", 10),)), T0)

    store.apply(delta("bid", "0.46", 4), T0)
    view = store.apply(delta("ask", "0.55", -10), T0)

    assert view.bids == levels(("0.46", 4), ("0.45", 10))
    assert view.asks == ()
    assert view.mid is None


def test_a_delta_before_any_snapshot_is_ignored(store):
    assert store.apply(delta("bid", "0.45", 5), T0) is None
    assert store.view(TICKER, T0) is None
    assert store.ignored_deltas == 1


def test_an_untrusted_book_stays_untrusted_until_the_next_snapshot(store):
    store.apply(snapshot(), T0)

    untrusted = store.apply(BookUntrusted(ticker=TICKER, reason="seq gap", ts_recv=T0), T0)
    after_delta = store.apply(delta("bid", "0.46", 1), T0)
    after_snapshot = store.apply(snapshot(seq=9), T0)

    assert (untrusted.trusted, after_delta.trusted, after_snapshot.trusted) == (False, False, True)


def test_a_book_not_refreshed_within_the_threshold_reads_untrusted(store):
    store.apply(snapshot(ts=T0), T0)

    assert store.view(TICKER, T0 + 10 * SECOND).trusted
    assert not store.view(TICKER, T0 + 10 * SECOND + 1).trusted
    assert store.status(T0 + 11 * SECOND)["markets"][TICKER]["stale"]


def test_stale_ticker_fields_read_as_absent(store):
    fields = TickerUpdated(
        ticker=TICKER,
        last_price=D("0.5"),
        yes_bid=D("0.49"),
        yes_ask=D("0.51"),
        yes_bid_size=None,
        yes_ask_size=None,
        volume=D(100),
        open_interest=None,
        ts_event=T0,
        ts_recv=T0,
    )
    store.apply(fields, T0)

    assert store.market(TICKER).ticker_fields(T0 + 10 * SECOND) == fields
    assert store.market(TICKER).ticker_fields(T0 + 10 * SECOND + 1) is None


def test_the_trade_buffer_keeps_only_the_most_recent_trades(market_state_config):
    store = MarketStore(replace(market_state_config, trade_buffer=3))

    for n in range(5):
        store.apply(trade(n), T0)

    assert [t.trade_id for t in store.market(TICKER).trades] == ["t2", "t3", "t4"]


def test_mid_history_is_sampled_and_bounded_by_the_window(market_state_config):
    store = MarketStore(replace(market_state_config, history_window_s=10, history_max_points=5))  # one per 2 s

    for second in range(30):
        store.apply(snapshot(ts=T0 + second * SECOND), T0 + second * SECOND)
    history = store.market(TICKER).history_since(T0 + 29 * SECOND)

    assert [p.ts for p in history] == [T0 + s * SECOND for s in (20, 22, 24, 26, 28)]
    assert {(p.mid, p.spread) for p in history} == {(D("0.50"), D("0.10"))}


def test_a_settled_market_is_forgotten(store):
    store.apply(snapshot(), T0)

    store.apply(
        MarketLifecycleChanged(ticker=TICKER, event_type="settled", result="yes", close_ts=None, ts_event=T0, ts_recv=T0),
        T0,
    )

    assert store.view(TICKER, T0) is None
    assert len(store) == 0


def test_the_actor_publishes_each_book_change_and_serves_views(harness, recorder, market_state_config):
    actor = MarketStateActor.start(**harness.wiring, config=market_state_config)
    harness.quiet()

    harness.publish(snapshot())
    harness.publish(delta("bid", "0.46", 2))

    updates = [m for m in recorder.proxy().messages().get() if isinstance(m, BookUpdated)]
    assert [u.book.best_bid for u in updates] == [D("0.45"), D("0.46")]
    view = actor.proxy().get_view(TICKER).get()
    assert view.best_bid == D("0.46") and view.trusted
    status = actor.proxy().get_status().get()
    assert status["markets_tracked"] == 1
    assert status["markets"][TICKER]["best_ask"] == "0.55"
