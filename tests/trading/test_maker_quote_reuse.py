"""The maker computes its desired quote once per change of what it reads: the book less
our orders, the fair value, the position, the budgets and working orders, the throttles'
widening, and the clock only as the quoting model reads it (`QuotePipeline.time_phase`).
A requote with none of those changed (a periodic check, an order event that moves
nothing) reuses the last desire."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from actors.maker import MakerSession, MakerState
from actors.maker.models import QuoteContext, build_quoting_model
from messages import TradePrinted

from .factories import T0, TICKER, book_view

SECOND = 1_000_000_000
HOUR = 3600 * SECOND


def counting_plans(session: MakerSession) -> list:
    calls: list = []
    plan = session.model.plan

    def counted(ctx):
        calls.append(ctx.now_ns)
        return plan(ctx)

    session.model.plan = counted
    return calls


def deep_book(bid="0.45"):
    """Deep enough that no throttle widens the quote."""
    return book_view(bids=((bid, 200),), asks=(("0.55", 200),))


def trade(now):
    return TradePrinted(ticker=TICKER, trade_id=f"t{now}", price=D("0.50"), count=D(1), taker_side="bid",
                        ts_event=now, ts_recv=now)


def quoting_session(maker_config, close_ns=None, book=None):
    """A session quoting since its warm-up ended at 5 s, checked once since (its first
    orders now work: the next desire sees them in flight)."""
    session = MakerSession(ticker=TICKER, session_id="s", config=maker_config)
    session.close_ns = close_ns
    session.start(T0)
    session.on_book(book or deep_book(), T0)
    session.warmup_elapsed(T0 + 5 * SECOND)
    session.check(T0 + 6 * SECOND)
    assert session.state == MakerState.QUOTING
    return session


def test_a_check_with_nothing_changed_reuses_the_last_quote(maker_config):
    session = quoting_session(maker_config)
    plans = counting_plans(session)
    quote, updates = session.last_quote, session.quote_updates
    for second in range(7, 12):
        assert session.check(T0 + second * SECOND) == []
    assert plans == []
    assert (session.last_quote, session.quote_updates) == (quote, updates)


def test_a_new_book_computes_the_quote_again(maker_config):
    session = quoting_session(maker_config)
    plans = counting_plans(session)
    session.on_book(deep_book(bid="0.46"), T0 + 7 * SECOND)
    assert plans == [T0 + 7 * SECOND]


def test_a_new_book_that_moves_neither_the_touch_nor_the_depth_the_model_reads_reuses_the_quote(maker_config):
    five = (("0.45", 200), ("0.40", 1), ("0.39", 1), ("0.38", 1), ("0.37", 1))
    session = quoting_session(maker_config, book=book_view(bids=five, asks=(("0.55", 200),)))
    plans = counting_plans(session)
    quote = session.last_quote
    six = book_view(bids=(*five, ("0.36", 1)), asks=(("0.55", 200),))
    session.on_book(six, T0 + 7 * SECOND)  # a sixth bid level: beyond the depth sizing reads
    assert plans == []
    assert session.last_quote == quote


def test_the_clock_computes_the_quote_again_only_where_time_decay_moves_on(maker_config):
    # the session's window is 200 s: its skew doubles at 140 s (time decay's first phase);
    # traded every second, so the no-trade guardrail never freezes it
    config = replace(maker_config, guardrails=replace(maker_config.guardrails, stop_before_close_s=0.0))
    session = quoting_session(config, close_ns=T0 + 200 * SECOND)
    plans = counting_plans(session)
    for second in range(7, 143):
        session.on_trade(trade(T0 + second * SECOND), T0 + second * SECOND)
        session.check(T0 + second * SECOND)
    assert session.state == MakerState.QUOTING
    assert plans == [T0 + 140 * SECOND]


def test_contexts_alike_but_for_the_clock_get_the_same_plan_within_a_time_phase(maker_config):
    model = build_quoting_model(maker_config)
    ctx = QuoteContext(
        fair=D("0.50"), book=book_view(), position=D(3), max_position=20, sigma=D("0.05"), gamma=D("0.1"),
        k=D("1.5"), now_ns=T0, session_start_ns=T0, session_end_ns=None, market_close_ns=T0 + 10 * HOUR,
        tick=D("0.01"), maker_fee_series=False,
    )
    phases: dict = {}
    for minute in range(0, 600, 7):
        at = replace(ctx, now_ns=T0 + minute * 60 * SECOND)
        phase = model.time_phase(at)
        phases.setdefault(phase, model.plan(at))
        assert model.plan(at) == phases[phase]
    assert len(phases) >= 4  # the skew steps at 70% and 90%, the late widening at 80% and 90%
