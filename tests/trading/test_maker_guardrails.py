"""Guardrails: each condition on its own, and the one that wins when several hold."""

from decimal import Decimal as D

import pytest

from actors.maker._guardrails import GuardrailVerdict, check_guardrails

from .factories import T0
from .ledger_desk import deliver

SECOND = 1_000_000_000


@pytest.fixture
def check(maker_config):
    def run(now=T0 + 100 * SECOND, close=None, last_trade=T0 + 100 * SECOND, unhealthy_since=None, sigma=None):
        return check_guardrails(
            maker_config.guardrails,
            now_ns=now,
            close_ns=close,
            last_trade_ns=last_trade,
            feed_unhealthy_since_ns=unhealthy_since,
            sigma=sigma,
        )

    return run


def test_all_clear(check):
    assert check(sigma=D("0.03")) == GuardrailVerdict()


def test_quoting_stops_180_seconds_before_the_market_closes(check):
    now = T0 + 100 * SECOND
    assert check(now=now, close=now + 181 * SECOND).freeze == ""
    assert check(now=now, close=now + 180 * SECOND) == GuardrailVerdict(freeze="market close near")


def test_no_trades_for_15_seconds_freezes(check):
    now = T0 + 100 * SECOND
    assert check(now=now, last_trade=now - 14 * SECOND).freeze == ""
    assert check(now=now, last_trade=now - 15 * SECOND) == GuardrailVerdict(freeze="no trades for 15 s")


def test_sigma_below_one_cent_ends_the_session(check):
    assert check(sigma=D("0.0099")).end.startswith("sigma 0.0099 below 0.01")
    assert check(sigma=D("0.01")).end == ""
    assert check(sigma=None).end == ""  # not enough samples to judge


def test_stale_feed_freezes_after_5_seconds_and_ends_after_15(check):
    now = T0 + 100 * SECOND
    assert check(now=now, unhealthy_since=now - 5 * SECOND) == GuardrailVerdict()
    assert check(now=now, unhealthy_since=now - 6 * SECOND).freeze == "market data stale over 5 s"
    assert check(now=now, unhealthy_since=now - 16 * SECOND).end == "market data stale over 15 s"


def test_an_end_outranks_a_freeze(check):
    now = T0 + 100 * SECOND
    verdict = check(now=now, last_trade=now - 60 * SECOND, sigma=D("0.001"))
    assert verdict.end.startswith("sigma") and verdict.freeze == ""


# -- the sigma floor inside a session: judged on a full window of the session's own mids --
from actors.maker import MakerSession, MakerState  # noqa: E402
from messages import ExitUrgency  # noqa: E402

from .factories import TICKER, accepted, book_view  # noqa: E402


def calm_session(maker_config):
    """A session quoting a book that never moves (sigma 0), checked every second from the
    end of its 5 s warm-up; returns it and the time of its first sigma sample."""
    session = MakerSession(ticker=TICKER, session_id="s", config=maker_config)
    session.start(T0)
    session.on_book(book_view(), T0)
    for n, cmd in enumerate(session.warmup_elapsed(T0 + 5 * SECOND), start=1):
        deliver(session, accepted(cmd, f"ex-{n}"), T0 + 5 * SECOND)
    return session, T0 + 6 * SECOND


def test_a_calm_session_is_not_ended_on_sigma_before_its_mids_cover_the_window(maker_config):
    session, first = calm_session(maker_config)
    window = int(maker_config.guardrails.sigma_window_s)
    assert window == 600  # the scanner's sigma window

    for second in range(window):  # 0 .. 599 s of mids
        session.check(first + second * SECOND)
        assert session.exit is None, f"ended after {second} s of mids: {session.exit.reason}"
    assert session.state in (MakerState.QUOTING, MakerState.PAUSED)


def test_a_calm_session_is_ended_on_sigma_once_its_mids_cover_the_window(maker_config):
    session, first = calm_session(maker_config)
    window = int(maker_config.guardrails.sigma_window_s)
    for second in range(window):
        session.check(first + second * SECOND)

    session.check(first + window * SECOND)

    assert session.exit is not None
    assert (session.exit.urgency, session.exit.reason) == (ExitUrgency.PASSIVE, "sigma 0.0000 below 0.01")


def test_a_jump_inside_the_window_keeps_sigma_above_the_floor(maker_config):
    """The case the floor misjudged: a jump early in the window, calm since. Over the whole
    window the jump counts (one minute at 0.40, nine at 0.50: sigma 0.03); only once it
    has left the window is the market calm."""
    session, first = calm_session(maker_config)
    jumped = book_view(bids=(("0.35", 10),), asks=(("0.45", 10),))
    for second in range(int(maker_config.guardrails.sigma_window_s) + 1):
        if second == 0:
            session.on_book(jumped, first)
        elif second == 60:
            session.on_book(book_view(), first + second * SECOND)
        session.check(first + second * SECOND)
        assert session.exit is None, f"ended at {second} s: {session.exit.reason}"

    for second in range(601, 661):
        session.check(first + second * SECOND)
    assert session.exit is not None and session.exit.reason.startswith("sigma 0.00")
