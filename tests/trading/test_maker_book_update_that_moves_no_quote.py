"""A book update that moves the fair value but not the snapped quote takes no action,
and leaves the session exactly as the full computation would (the quote, its notes and
counters, the orders); one that moves the level the quote is kept inside of requotes.
What the quoting model does not read (reduce-only, the working orders, depth the size
cap cannot bind by) does not make it plan again.
"""

from __future__ import annotations

from actors.maker import MakerSession, MakerState
from messages import RiskDirective

from .factories import T0, TICKER, book_view
from .test_maker_quote_reuse import counting_plans, deep_book, quoting_session

SECOND = 1_000_000_000


def full_path(session: MakerSession) -> MakerSession:
    """The session computing every desire in full: no memo survives a pass."""
    desired = session._desired

    def afresh():
        session._desired_memo = session._plan_memo = session._sides_memo = None
        return desired()

    session._desired = afresh
    return session


def outcome(session: MakerSession) -> tuple:
    return (
        session.state, session.why_not_quoting, session.last_quote, session.quote_updates, session.plan_note,
        session.budget_note, session.orders.open_orders(), session._desired(),
    )


def fed(session: MakerSession, books: list) -> list:
    return [session.on_book(book, T0 + (7 + n) * SECOND) for n, book in enumerate(books)]


def test_a_book_update_that_moves_the_fair_value_but_not_the_snapped_quote_takes_no_action(maker_config):
    # the top sizes move the microprice (the fair value) by a hair: not the quote's prices
    books = [book_view(bids=(("0.45", bid),), asks=(("0.55", 2000),)) for bid in (2002, 2003, 2004)]
    start = book_view(bids=(("0.45", 2001),), asks=(("0.55", 2000),))
    reused, full = quoting_session(maker_config, book=start), full_path(quoting_session(maker_config, book=start))
    before, fair = reused._desired(), reused.last_quote.fair_value
    assert fed(reused, books) == fed(full, books) == [[], [], []]
    assert reused.state == MakerState.QUOTING
    assert reused.last_quote.fair_value != fair
    assert reused._desired() == before
    assert outcome(reused) == outcome(full)


def test_depth_the_size_cap_cannot_bind_by_is_not_read_and_a_thin_book_is(maker_config):
    # a quarter of the visible depth caps a level's size (5 contracts by default)
    sizes = ((199, 199), (198, 198), (8, 8))
    books = [book_view(bids=(("0.45", bid),), asks=(("0.55", ask),)) for bid, ask in sizes]
    reused, full = quoting_session(maker_config), full_path(quoting_session(maker_config))
    plans = counting_plans(reused)
    assert fed(reused, books) == fed(full, books)
    assert plans == [T0 + 9 * SECOND]  # only the thin book: 16 visible, a level's size capped at 4
    assert reused._desired()["bid"][1] == 4
    assert outcome(reused) == outcome(full)


def test_a_book_update_that_moves_the_level_the_quote_is_kept_inside_of_requotes(maker_config):
    # the best ask comes down to 0.47: the bid must stay below it
    books = [book_view(bids=(("0.45", 200),), asks=(("0.47", 200),))]
    reused, full = quoting_session(maker_config), full_path(quoting_session(maker_config))
    before = reused._desired()
    assert fed(reused, books) == fed(full, books)  # (the first orders are still in flight)
    after = reused._desired()
    assert after != before and after["bid"][0] < books[0].best_ask
    assert outcome(reused) == outcome(full)


def test_a_change_the_quoting_model_does_not_read_requotes_without_planning_again(maker_config):
    session = quoting_session(maker_config, book=deep_book())
    plans = counting_plans(session)
    session.on_risk_directive(RiskDirective(ticker=TICKER, action="reduce_only", reason="test", ts=T0), T0 + 7 * SECOND)
    assert plans == []
    assert session.last_quote is not None
    assert session._desired() == {"bid": None, "ask": None}  # flat: reduce-only quotes neither side
