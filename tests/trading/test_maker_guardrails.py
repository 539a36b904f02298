"""Guardrails: each condition on its own, and the one that wins when several hold."""

from decimal import Decimal as D

import pytest

from actors.maker._guardrails import GuardrailVerdict, check_guardrails

from .factories import T0

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
