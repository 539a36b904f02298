"""A maker whose fair value needs an outside feed this run lacks never quotes: it would
otherwise quote around the Kalshi book alone without anyone knowing. Its status says why,
and a stop still ends the session."""

from actors.maker import MakerSession, MakerState
from messages import PlaceOrder

from .factories import T0, TICKER, book_view

SECOND = 1_000_000_000
WARM = T0 + 5 * SECOND
DEEP_BOOK = dict(bids=(("0.45", 200),), asks=(("0.55", 200),))
MISSING = "fair value (reference_blend) needs the polymarket feed, not configured (feeds.polymarket_url: off)"


def started(maker_config, problem: str) -> MakerSession:
    session = MakerSession(ticker=TICKER, session_id="s", config=maker_config, fair_value_feed_problem=problem)
    session.start(T0)
    session.on_book(book_view(**DEEP_BOOK), T0)
    return session


def test_a_maker_missing_its_fair_value_feed_places_nothing_and_says_why(maker_config):
    session = started(maker_config, MISSING)

    commands = session.warmup_elapsed(WARM) + session.requote(WARM + SECOND, force=True)

    assert commands == []
    assert session.state == MakerState.PAUSED
    assert session.status()["why_not_quoting"] == MISSING


def test_the_reason_shows_from_the_start_not_after_the_warm_up(maker_config):
    session = started(maker_config, MISSING)

    session.requote(T0)

    assert session.why_not_quoting == MISSING


def test_with_nothing_missing_the_same_maker_quotes(maker_config):
    session = started(maker_config, "")

    commands = session.warmup_elapsed(WARM)

    assert session.state == MakerState.QUOTING
    assert any(isinstance(c, PlaceOrder) for c in commands)


def test_a_stop_still_ends_a_session_held_by_a_missing_feed(maker_config):
    session = started(maker_config, MISSING)
    session.warmup_elapsed(WARM)

    session.stop(WARM + SECOND, "operator stop")

    assert session.state == MakerState.DONE
