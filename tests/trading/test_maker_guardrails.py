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


def test_sigma_below_one_cent_pauses_quoting_as_a_quiet_market_and_never_ends_the_session(check):
    assert check(sigma=D("0.0099")) == GuardrailVerdict(freeze="quiet market: sigma below 0.01")
    assert check(sigma=D("0.01")) == GuardrailVerdict()
    assert check(sigma=None) == GuardrailVerdict()  # not enough samples to judge


def test_stale_feed_freezes_after_5_seconds_and_ends_after_15(check):
    now = T0 + 100 * SECOND
    assert check(now=now, unhealthy_since=now - 5 * SECOND) == GuardrailVerdict()
    assert check(now=now, unhealthy_since=now - 6 * SECOND).freeze == "market data stale over 5 s"
    assert check(now=now, unhealthy_since=now - 16 * SECOND).end == "market data stale over 15 s"


def test_an_end_outranks_a_freeze(check):
    now = T0 + 100 * SECOND
    verdict = check(now=now, unhealthy_since=now - 16 * SECOND, sigma=D("0.001"))
    assert verdict == GuardrailVerdict(end="market data stale over 15 s")


def test_a_quiet_sigma_is_named_before_the_missing_trades(check):
    now = T0 + 100 * SECOND
    verdict = check(now=now, last_trade=now - 60 * SECOND, sigma=D("0.001"))
    assert verdict == GuardrailVerdict(freeze="quiet market: sigma below 0.01")


# -- the sigma floor inside a session: judged on a full window of the session's own mids --
from actors.maker import MakerSession, MakerState  # noqa: E402
from messages import TradePrinted  # noqa: E402

from .factories import TICKER, accepted, amended, book_view  # noqa: E402


def trade(now):
    return TradePrinted(ticker=TICKER, trade_id=f"t{now}", price=D("0.45"), count=D(1), taker_side="bid",
                        ts_event=now, ts_recv=now)


def calm_session(maker_config):
    """A session quoting a book that never moves (sigma 0), checked every second from the
    end of its 5 s warm-up; returns it and the time of its first sigma sample."""
    session = MakerSession(ticker=TICKER, session_id="s", config=maker_config)
    session.start(T0)
    session.on_book(book_view(), T0)
    for n, cmd in enumerate(session.warmup_elapsed(T0 + 5 * SECOND), start=1):
        deliver(session, accepted(cmd, f"ex-{n}"), T0 + 5 * SECOND)
    return session, T0 + 6 * SECOND


def test_a_calm_session_is_not_judged_on_sigma_before_its_mids_cover_the_window(maker_config):
    session, first = calm_session(maker_config)
    window = int(maker_config.guardrails.sigma_window_s)
    assert window == 600  # the scanner's sigma window

    for second in range(window):  # 0 .. 599 s of mids
        session.check(first + second * SECOND)
        assert "quiet market" not in session.why_not_quoting, f"judged after {second} s of mids"
    assert session.exit is None
    assert session.state in (MakerState.QUOTING, MakerState.PAUSED)


def test_a_calm_session_pauses_on_sigma_once_its_mids_cover_the_window_and_keeps_its_session(maker_config):
    session, first = calm_session(maker_config)
    window = int(maker_config.guardrails.sigma_window_s)
    for second in range(window):  # a trade each second: quiet only by its sigma
        now = first + second * SECOND
        session.on_trade(trade(now), now)
        for command in session.check(now):  # order refreshes, acknowledged at once
            deliver(session, amended(command), now)
    assert session.state == MakerState.QUOTING

    now = first + window * SECOND
    session.on_trade(trade(now), now)
    commands = session.check(now)

    assert session.exit is None and session.finished is None  # the session goes on
    assert (session.state, session.why_not_quoting) == (MakerState.PAUSED, "quiet market: sigma below 0.01")
    status = session.status()
    assert (status["why_not_quoting"], status["sigma"]) == ("quiet market: sigma below 0.01", "0.0000")
    assert commands and all(type(c).__name__ == "CancelOrder" for c in commands)  # its resting quotes are pulled


def test_a_quiet_pause_lifts_when_the_market_moves_again(maker_config):
    session, first = calm_session(maker_config)
    window = int(maker_config.guardrails.sigma_window_s)
    for second in range(window + 1):  # a trade each second: quiet only by its sigma
        now = first + second * SECOND
        session.on_trade(trade(now), now)
        session.check(now)
    assert session.why_not_quoting.startswith("quiet market")

    now = first + window * SECOND
    for second in range(1, 61):  # the market moves: a cent and a half each 5 s bucket
        now = first + (window + second) * SECOND
        wide = D("0.015") * (second // 5 % 2)
        session.on_book(book_view(bids=((str(D("0.40") + wide), 10),), asks=((str(D("0.50") + wide), 10),)), now)
        session.on_trade(trade(now), now)
        session.check(now)

    assert session.exit is None
    assert not session.why_not_quoting.startswith("quiet market")
    assert session.state == MakerState.QUOTING, session.why_not_quoting


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
        assert not session.why_not_quoting.startswith("quiet market"), f"paused at {second} s"

    for second in range(601, 661):
        session.check(first + second * SECOND)
    assert session.exit is None
    assert session.why_not_quoting == "quiet market: sigma below 0.01"
    assert session.status()["sigma"].startswith("0.00")
