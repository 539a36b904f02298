"""The maker session's state machine and rules, driven synchronously on hand-made inputs:
market config, pauses and cooldowns, risk directives, kill switch, guardrails, throttles,
placement inside the book, refresh, settlement."""

from dataclasses import replace
from decimal import Decimal as D

import pytest

from actors.maker import MakerSession, MakerState
from actors.maker._session import inside_book
from messages import (
    AmendOrder,
    CancelOrder,
    MarketConfig,
    MarketLifecycleChanged,
    PlaceOrder,
    QuoteSides,
    RiskDirective,
    TradePrinted,
)

from .factories import T0, TICKER, accepted, amended, book_view, cancelled, fill
from .ledger_desk import deliver

SECOND = 1_000_000_000
WARM = T0 + 5 * SECOND
DEEP_BOOK = dict(bids=(("0.45", 200),), asks=(("0.55", 200),))


def market_config(**changes) -> MarketConfig:
    base = MarketConfig(
        ticker=TICKER,
        category="economics",
        profile="mean_reverting",
        max_exposure=D("8"),
        size_factor=D("1"),
        quote_sides=QuoteSides.BOTH,
        price_band="normal",
        k=D("1.5"),
        sigma=D("0.05"),
        gamma_multiplier=D("1"),
        min_spread=D("0.02"),
        max_spread=D("0.20"),
        regime="MEAN_REVERTING",
        close_ts=None,
    )
    return replace(base, **changes)


def start(maker_config, mc=None, book=None):
    session = MakerSession(ticker=TICKER, session_id="s", config=maker_config, market_config=mc)
    session.start(T0)
    session.on_book(book or book_view(**DEEP_BOOK), T0)
    return session


def accept_all(session, commands, now):
    """The exchange acknowledges every command (and whatever those acks lead to)."""
    for cmd in commands:
        if isinstance(cmd, PlaceOrder):
            more = deliver(session, accepted(cmd, f"ex-{cmd.client_order_id}"), now)
        elif isinstance(cmd, CancelOrder):
            more = deliver(session, cancelled(cmd.order_id, cmd.client_order_id), now)
        else:
            order = session.orders.order(cmd.side)
            more = deliver(session, amended(cmd, filled=str(order.filled) if order else "0"), now)
        accept_all(session, more, now)


def trade(now, count="1", price="0.50"):
    return TradePrinted(
        ticker=TICKER, trade_id=f"t{now}", price=D(price), count=D(count), taker_side="bid", ts_event=now, ts_recv=now
    )


def sides(commands):
    return [(type(c).__name__, c.side if hasattr(c, "side") else None) for c in commands]


# -- placement ----------------------------------------------------------------------


def test_prices_snap_to_the_tick_grid_bids_down_asks_up():
    assert inside_book("bid", D("0.4970"), D("0.01"), None) == D("0.49")
    assert inside_book("ask", D("0.5030"), D("0.01"), None) == D("0.51")


def test_a_bid_that_would_cross_others_ask_improves_it_by_a_tick_instead():
    book = book_view(bids=(("0.40", 10),), asks=(("0.45", 10),))
    assert inside_book("bid", D("0.47"), D("0.01"), book) == D("0.44")
    assert inside_book("ask", D("0.39"), D("0.01"), book) == D("0.41")


def test_a_price_off_the_grid_ends_is_not_quoted():
    assert inside_book("bid", D("0.004"), D("0.01"), None) is None
    assert inside_book("ask", D("0.996"), D("0.01"), None) is None


# -- market config ------------------------------------------------------------------


def test_the_market_configs_min_spread_widens_the_quotes(maker_config):
    session = start(maker_config, market_config(min_spread=D("0.06"), max_spread=D("0.20")))

    places = session.warmup_elapsed(WARM)

    assert [(c.side, c.price) for c in places] == [("bid", D("0.47")), ("ask", D("0.53"))]


def test_bid_only_markets_quote_only_the_bid(maker_config):
    session = start(maker_config, market_config(quote_sides=QuoteSides.BID_ONLY))

    assert sides(session.warmup_elapsed(WARM)) == [("PlaceOrder", "bid")]


def test_a_zero_size_factor_pauses_with_its_reason(maker_config):
    session = start(maker_config, market_config(size_factor=D("0")))

    assert session.warmup_elapsed(WARM) == []
    assert (session.state, session.why_not_quoting) == (MakerState.PAUSED, "size factor leaves no size to quote")


def test_max_exposure_caps_the_size_that_builds_the_position(maker_config):
    session = start(maker_config, market_config(max_exposure=D("1.00")))

    places = session.warmup_elapsed(WARM)

    # risk counts both sides' resting orders: $0.50 each, 1 x 0.49 and 1 x (1 - 0.51)
    assert {c.side: c.count for c in places} == {"bid": D(1), "ask": D(1)}


def test_the_markets_tick_is_preferred_to_the_default_one(maker_config):
    """A-S quotes 0.49 / 0.51 on the cent grid; on a 2-cent grid the bid is snapped
    down and the ask up."""
    session = start(maker_config, market_config(tick=D("0.02")))

    places = session.warmup_elapsed(WARM)

    assert [(c.side, c.price) for c in places] == [("bid", D("0.48")), ("ask", D("0.52"))]


def test_without_a_market_tick_the_default_one_is_used(maker_config):
    session = start(maker_config, market_config())

    assert [(c.side, c.price) for c in session.warmup_elapsed(WARM)] == [("bid", D("0.49")), ("ask", D("0.51"))]


# -- pauses, cooldowns, directives ------------------------------------------------------


def test_a_risk_pause_holds_until_its_deadline_then_quoting_resumes(maker_config):
    session = start(maker_config)
    accept_all(session, session.warmup_elapsed(WARM), WARM)
    pause = RiskDirective(ticker=TICKER, action="pause", reason="fill rate", ts=WARM, until_ts=WARM + 120 * SECOND)

    commands = session.on_risk_directive(pause, WARM)

    assert sides(commands) == [("CancelOrder", None), ("CancelOrder", None)]
    assert (session.state, session.why_not_quoting) == (MakerState.PAUSED, "risk pause: fill rate")
    assert session.next_deadline_ns(WARM) == WARM + 120 * SECOND
    accept_all(session, commands, WARM)

    session.requote(WARM + 119 * SECOND)
    assert session.state == MakerState.PAUSED
    resumed = session.requote(WARM + 120 * SECOND)
    assert session.state == MakerState.QUOTING
    assert sides(resumed) == [("PlaceOrder", "bid"), ("PlaceOrder", "ask")]


def test_the_kill_switch_pauses_until_released(maker_config):
    session = start(maker_config)
    accept_all(session, session.warmup_elapsed(WARM), WARM)

    engaged = session.on_kill_switch(True, "operator", WARM + SECOND)
    assert [type(c) for c in engaged] == [CancelOrder, CancelOrder]
    assert session.why_not_quoting == "kill switch engaged: operator"
    accept_all(session, engaged, WARM + SECOND)

    session.requote(WARM + 600 * SECOND)
    assert session.state == MakerState.PAUSED  # no deadline: only a release resumes
    session.on_kill_switch(False, "operator", WARM + 601 * SECOND)
    assert session.state == MakerState.QUOTING


def test_reduce_only_quotes_only_the_side_that_brings_the_position_back(maker_config):
    session = start(maker_config)
    places = session.warmup_elapsed(WARM)
    accept_all(session, places, WARM)
    bid = places[0]
    requoted = deliver(
        session,
        fill("bid", str(bid.price), 3, order_id=f"ex-{bid.client_order_id}", client_order_id=bid.client_order_id),
        WARM,
    )
    accept_all(session, requoted, WARM)
    assert session.orders.order("bid") is not None

    commands = session.on_risk_directive(RiskDirective(ticker=TICKER, action="reduce_only", reason="r", ts=WARM), WARM)

    assert [(type(c), c.order_id) for c in commands] == [(CancelOrder, session.orders.order("bid").order_id)]
    accept_all(session, commands, WARM)
    assert session.orders.order("bid") is None and session.orders.order("ask") is not None
    assert session.state == MakerState.QUOTING


def long_three(maker_config):
    """Quoting, long 3 contracts, both sides working again."""
    session = start(maker_config)
    places = session.warmup_elapsed(WARM)
    accept_all(session, places, WARM)
    bid = places[0]
    requoted = deliver(
        session,
        fill("bid", str(bid.price), 3, order_id=f"ex-{bid.client_order_id}", client_order_id=bid.client_order_id),
        WARM,
    )
    accept_all(session, requoted, WARM)
    return session


def test_reduce_only_after_an_open_ended_pause_works_the_reducing_side(maker_config):
    session = long_three(maker_config)
    paused = session.on_risk_directive(RiskDirective(ticker=TICKER, action="pause", reason="kill switch: op", ts=WARM), WARM)
    accept_all(session, paused, WARM)
    assert session.state == MakerState.PAUSED and session.orders.open_orders() == []

    commands = session.on_risk_directive(
        RiskDirective(ticker=TICKER, action="reduce_only", reason="hybrid_long_beyond_20", ts=WARM), WARM + SECOND
    )

    assert (session.state, session.why_not_quoting) == (MakerState.QUOTING, "")
    assert sides(commands) == [("PlaceOrder", "ask")]  # selling brings the long back


def test_a_pause_after_reduce_only_holds_and_the_next_reduce_only_lifts_it(maker_config):
    session = long_three(maker_config)
    accept_all(session, session.on_risk_directive(RiskDirective(ticker=TICKER, action="reduce_only", reason="r", ts=WARM), WARM), WARM)

    held = session.on_risk_directive(RiskDirective(ticker=TICKER, action="pause", reason="fill rate", ts=WARM), WARM)
    assert session.state == MakerState.PAUSED and sides(held) == [("CancelOrder", None)]  # the ask goes
    accept_all(session, held, WARM)

    again = session.on_risk_directive(RiskDirective(ticker=TICKER, action="reduce_only", reason="r", ts=WARM), WARM)
    assert session.state == MakerState.QUOTING and sides(again) == [("PlaceOrder", "ask")]


def test_no_directive_lifts_the_kill_switch(maker_config):
    session = long_three(maker_config)
    accept_all(session, session.on_kill_switch(True, "operator", WARM), WARM)

    for action in ("reduce_only", "resume"):
        commands = session.on_risk_directive(RiskDirective(ticker=TICKER, action=action, reason="r", ts=WARM), WARM)
        assert commands == [] and session.why_not_quoting == "kill switch engaged: operator"


def test_a_volume_spike_pauses_for_the_cooldown(maker_config):
    session = start(maker_config)
    accept_all(session, session.warmup_elapsed(WARM), WARM)
    for n in range(1, 40):  # a steady contract a second
        session.on_trade(trade(T0 + n * SECOND), T0 + n * SECOND)
    assert session.state == MakerState.QUOTING

    session.on_trade(trade(T0 + 40 * SECOND, count="50"), T0 + 40 * SECOND)

    assert (session.state, session.why_not_quoting) == (MakerState.PAUSED, "volume spike: cooling down")
    assert session.next_deadline_ns(T0 + 40 * SECOND) == T0 + 50 * SECOND


def test_a_feed_outage_freezes_after_5_s_and_asks_for_a_fill_reconciliation_when_back(maker_config):
    session = start(maker_config)
    accept_all(session, session.warmup_elapsed(WARM), WARM)
    session.on_trade(trade(WARM), WARM)

    _, reconcile = session.on_feed_health(False, WARM)
    assert reconcile is False
    session.on_trade(trade(WARM + 6 * SECOND), WARM + 6 * SECOND)
    session.check(WARM + 6 * SECOND)
    assert (session.state, session.why_not_quoting) == (MakerState.PAUSED, "market data stale over 5 s")

    _, reconcile = session.on_feed_health(True, WARM + 7 * SECOND)
    assert reconcile is True


# -- guardrails and throttles through the periodic check ----------------------------------


def test_no_trades_for_15_seconds_freezes_and_a_trade_resumes(maker_config):
    session = start(maker_config)
    accept_all(session, session.warmup_elapsed(WARM), WARM)

    accept_all(session, session.check(T0 + 15 * SECOND), T0 + 15 * SECOND)
    assert (session.state, session.why_not_quoting) == (MakerState.PAUSED, "no trades for 15 s")

    session.on_trade(trade(T0 + 16 * SECOND), T0 + 16 * SECOND)
    session.check(T0 + 16 * SECOND)
    assert session.state == MakerState.QUOTING


def test_quoting_stops_180_s_before_the_market_closes(maker_config):
    session = start(maker_config, market_config(close_ts=T0 + 200 * SECOND))
    accept_all(session, session.warmup_elapsed(WARM), WARM)
    session.on_trade(trade(T0 + 19 * SECOND), T0 + 19 * SECOND)

    commands = session.check(T0 + 20 * SECOND)

    assert [type(c) for c in commands] == [CancelOrder, CancelOrder]
    assert (session.state, session.why_not_quoting) == (MakerState.PAUSED, "market close near")
    assert session.exit is None  # ending the session is the supervisor's call


def test_a_thin_book_widens_the_quotes_by_three_ticks_after_three_checks(maker_config):
    session = start(maker_config, book=book_view())  # 10 + 10 contracts: thin
    accept_all(session, session.warmup_elapsed(WARM), WARM)
    before = (session.last_quote.bid, session.last_quote.ask)

    for n in range(3):
        now = WARM + n * SECOND
        session.on_trade(trade(now), now)
        accept_all(session, session.check(now), now)

    assert session.throttles.verdict.engaged == ("thin_book",)
    assert (session.last_quote.bid, session.last_quote.ask) == (before[0] - D("0.03"), before[1] + D("0.03"))


def test_an_order_older_than_30_s_is_refreshed_to_the_exact_target(maker_config):
    session = start(maker_config)
    accept_all(session, session.warmup_elapsed(WARM), WARM)
    # others move one cent: our orders are within keep_within and stay ...
    session.on_book(book_view(bids=(("0.46", 200),), asks=(("0.56", 200),)), WARM + SECOND)
    assert session.orders.order("bid").price == D("0.49")
    session.on_trade(trade(WARM + 31 * SECOND), WARM + 31 * SECOND)

    commands = session.check(WARM + 31 * SECOND)  # ... until they are 30 s old

    assert [(type(c), c.side, c.price) for c in commands] == [(AmendOrder, "bid", D("0.50")), (AmendOrder, "ask", D("0.52"))]


# -- settlement -----------------------------------------------------------------------


def test_settlement_closes_the_position_at_one_dollar_and_ends_the_session(maker_config):
    session = start(maker_config)
    places = session.warmup_elapsed(WARM)
    accept_all(session, places, WARM)
    bid = places[0]
    requoted = deliver(
        session,
        fill("bid", "0.49", 5, fee="0.02", order_id=f"ex-{bid.client_order_id}", client_order_id=bid.client_order_id),
        WARM,
    )
    accept_all(session, requoted, WARM)
    determined = MarketLifecycleChanged(
        ticker=TICKER, event_type="determined", result="yes", close_ts=None, ts_event=WARM + SECOND, ts_recv=WARM + SECOND
    )

    accept_all(session, deliver(session, determined, WARM + SECOND), WARM + SECOND)  # settled by the ledger

    assert session.inventory.position == 0
    assert session.inventory.realized_pnl == D("2.53")  # 5 x (1 - 0.49) - 0.02 fee
    (realization,) = session.drain_realizations()
    assert (realization.side, realization.exit_price, realization.count) == ("long", D(1), D(5))
    assert session.exit_reason == "settlement"
    assert session.state == MakerState.DONE
