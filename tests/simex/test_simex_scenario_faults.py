"""A scenario's fault timeline fires at its times through simex/_faults.py."""

from __future__ import annotations

import pytest
from simex_testkit import START_NS, VirtualClock

from simex import Exchange, install_scenario
from simex._scenario import ScenarioError, parse_scenario

TICKER = "KXFED-26DEC-T4.00"


def scenario(faults):
    return parse_scenario({
        "name": "faulty", "seed": 3,
        "markets": [{"ticker": TICKER, "category": "Rates", "initial_cents": 40, "regimes": [{"kind": "quiet"}]}],
        "faults": faults,
    })


def test_pause_and_resume_faults_fire_at_their_times_and_the_market_comes_back_with_a_book():
    clock = VirtualClock(START_NS)
    exchange = Exchange(now_ns=clock, seed=1)
    run = install_scenario(exchange, scenario([
        {"at_s": 10, "kind": "resume_market", "ticker": TICKER},
        {"at_s": 5, "kind": "pause_market", "ticker": TICKER},
    ]))
    market = exchange.markets[TICKER]
    for _ in range(4):
        exchange.advance(clock.tick(1))
    assert market.status == "active" and run.fired_faults == []
    exchange.advance(clock.tick(2))
    assert market.status == "inactive"
    assert [f.kind for f in run.fired_faults] == ["pause_market"]
    for _ in range(7):
        exchange.advance(clock.tick(1))
    assert market.status == "active"
    assert [f.kind for f in run.fired_faults] == ["pause_market", "resume_market"]
    assert market.book.best("bid") is not None and market.book.best("ask") is not None  # providers re-quoted
    assert run.markets[TICKER].path.t_s == 13  # the price script kept time through the pause


def test_close_early_fault_stops_the_market_and_its_background_activity():
    clock = VirtualClock(START_NS)
    exchange = Exchange(now_ns=clock, seed=1)
    install_scenario(exchange, scenario([{"at_s": 20, "kind": "close_market_early", "ticker": TICKER}]))
    for _ in range(30):
        exchange.advance(clock.tick(1))
    trades = len(exchange.trades)
    for _ in range(30):
        exchange.advance(clock.tick(1))
    assert exchange.markets[TICKER].status == "closed"
    assert len(exchange.trades) == trades


def test_unknown_fault_kind_is_a_scenario_error():
    with pytest.raises(ScenarioError, match=r"faults\[0\].kind: unknown fault 'meteor'"):
        scenario([{"at_s": 1, "kind": "meteor"}])


def test_a_fault_that_fails_when_fired_is_logged_and_the_market_carries_on(caplog):
    clock = VirtualClock(START_NS)
    exchange = Exchange(now_ns=clock, seed=1)
    install_scenario(exchange, scenario([{"at_s": 2, "kind": "pause_market", "ticker": "KXNOPE"}]))
    for _ in range(10):
        exchange.advance(clock.tick(1))
    assert "fault pause_market failed" in caplog.text
    assert exchange.markets[TICKER].status == "active" and exchange.trades
