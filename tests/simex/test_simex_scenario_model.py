"""Scenario files: parsing, validation, regime scripts, and their effect on the exchange."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from simex_testkit import START_NS, VirtualClock

from simex import Exchange
from simex._scenario import (
    LatentPath,
    ScenarioError,
    above_strike_probability,
    available_scenarios,
    install_scenario,
    load_scenario,
    parse_scenario,
)

NS = 1_000_000_000
SHIPPED = ("default", "mr_jump", "mr_jump_faults", "trending", "turns_trending", "turns_chaotic", "four_events",
           "near_close", "quiet_low_sigma")


def run(name: str, seconds: int, seed: int | None = None):
    clock = VirtualClock(START_NS)
    exchange = Exchange(now_ns=clock, seed=1)
    scenario = load_scenario(name)
    handle = install_scenario(exchange, scenario, seed)
    mids: dict[str, list[float]] = {t: [] for t in scenario.tickers}
    for _ in range(seconds):
        exchange.advance(clock.tick(1))
        for ticker in scenario.tickers:
            market = exchange.markets[ticker]
            bid, ask = market.book.best("bid"), market.book.best("ask")
            if bid is not None and ask is not None:
                mids[ticker].append(float((bid + ask) / 2) * 100)
    return exchange, handle, mids


def trade_stream(exchange) -> str:
    return json.dumps([t.to_json() for t in exchange.trades])


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_loads(name):
    scenario = load_scenario(name)
    assert scenario.name == name
    assert scenario.markets
    assert name in available_scenarios()


def test_default_scenario_spans_every_category_with_eight_to_twelve_markets():
    scenario = load_scenario("default")
    assert 8 <= len(scenario.markets) <= 12
    assert {"Rates", "Economics", "Crypto", "Sports", "Entertainment"} <= {m.category for m in scenario.markets}
    kinds = {r.kind for m in scenario.markets for r in m.regimes}
    assert {"jump_revert", "trend", "illiquid", "close"} <= kinds


def test_regimes_are_laid_end_to_end_and_the_close_regime_sets_close_time():
    market = load_scenario("near_close").markets[0]
    assert [(r.kind, r.start_s, r.end_s) for r in market.regimes] == [
        ("quiet", 0.0, 60.0), ("jump_revert", 60.0, 210.0), ("quiet", 210.0, 390.0), ("close", 390.0, 540.0)]
    assert market.close_in_s == 540
    assert market.regime_at(59.9).kind == "quiet" and market.regime_at(60).kind == "jump_revert"


def test_bad_scenario_lists_every_error_with_its_key_path():
    with pytest.raises(ScenarioError) as info:
        parse_scenario({
            "name": "bad", "colour": "red",
            "markets": [
                {"ticker": "KXA-1", "category": "Rates", "initial_cents": 150,
                 "regimes": [{"kind": "wobble", "for_s": 10}, {"kind": "quiet", "volatility": "high"}]},
                {"ticker": "KXB-1", "regimes": [{"kind": "close", "for_s": 60}, {"kind": "quiet"}]},
            ],
        })
    text = "\n".join(info.value.errors)
    assert "scenario.colour: unknown key" in text
    assert "markets[0].initial_cents: must be 1..99" in text
    assert "markets[0].regimes[0].kind: unknown regime 'wobble'" in text
    assert "markets[0].regimes[1].volatility: expected a number" in text
    assert "markets[1].category: required string" in text
    assert "markets[1].regimes[0].outcome: a close regime needs outcome" in text
    assert "markets[1].regimes: close must be the last regime" in text


def test_unknown_scenario_name_says_which_exist():
    with pytest.raises(ScenarioError, match="known: .*mr_jump"):
        load_scenario("no_such_scenario")


def test_spot_link_must_name_a_declared_spot_symbol():
    with pytest.raises(ScenarioError, match=r"markets\[0\].spot.symbol"):
        parse_scenario({"markets": [{"ticker": "KXBTC-1", "category": "Crypto",
                                     "spot": {"symbol": "BTCUSDT", "strike": "95000", "sigma_annual": 0.5},
                                     "regimes": [{"kind": "quiet"}]}]})


def test_same_seed_gives_identical_trades_and_another_seed_differs():
    first, _, _ = run("mr_jump", 180)
    second, _, _ = run("mr_jump", 180)
    other, _, _ = run("mr_jump", 180, seed=99)
    assert len(first.trades) > 20
    assert trade_stream(first) == trade_stream(second)
    assert trade_stream(first) != trade_stream(other)


def test_mean_reverting_jump_moves_the_book_twelve_cents_then_comes_back_within_six_of_the_three_minute_mean():
    _, _, mids = run("mr_jump", 300)
    path = mids["KXFED-26DEC-T4.00"]
    before, during = path[:85], path[85:200]
    assert max(during) - sum(before) / len(before) >= 12  # SPEC §6 jump threshold
    three_minute_mean = sum(path[-180:]) / 180
    assert abs(path[-1] - three_minute_mean) <= 6  # SPEC §6 mean-reversion condition
    assert abs(path[-1] - sum(before) / len(before)) <= 4


def test_trend_regime_drifts_by_its_rate():
    _, _, mids = run("trending", 420)
    path = mids["KXPAYROLLS-26NOV-T150"]
    assert 24 <= path[-1] - path[59] <= 36  # 5 c/min for 6 min = 30 c


def test_illiquid_regime_thins_and_widens_the_book():
    exchange, _, _ = run("turns_chaotic", 300)
    book = exchange.markets["KXGDP-26Q4-T2.0"].book
    depth = sum(size for _, size in book.levels("bid")) + sum(size for _, size in book.levels("ask"))
    assert depth < 50  # SPEC §6: depth < 50 is CHAOTIC
    assert book.best("ask") - book.best("bid") >= Decimal("0.07")


def test_close_regime_runs_to_the_outcome_then_closes_determines_and_settles():
    exchange, _, mids = run("near_close", 545)
    market = exchange.markets["KXFEDDECISION-26NOV-H0"]
    assert mids["KXFEDDECISION-26NOV-H0"][-1] >= 90  # outcome yes: priced near $1 before close
    assert market.status in ("finalized", "settled")
    assert market.result == "yes"
    assert exchange.markets["KXFEDDECISION-26NOV-H0"].close_ns == START_NS + 540 * NS


def test_markets_are_listed_before_the_start_with_prior_volume():
    exchange, _, _ = run("mr_jump", 0)
    market = exchange.markets["KXFED-26DEC-T4.00"]
    assert market.created_ns == START_NS - 3600 * NS  # old enough for the scanner's 60 s minimum
    assert market.volume >= 50_000


def test_background_taker_sizes_have_a_median_near_the_tapes_and_a_long_tail():
    exchange, _, _ = run("mr_jump", 600)
    sizes = sorted(int(t.count) for t in exchange.trades)
    assert 8 <= sizes[len(sizes) // 2] <= 40
    assert sizes[-1] >= 60


def test_latent_path_is_a_pure_function_of_its_seed():
    import random

    regimes = load_scenario("mr_jump").markets[0].regimes
    a = [LatentPath(regimes, 40, random.Random(3), 1, 99).step() for _ in range(1)]
    b = [LatentPath(regimes, 40, random.Random(3), 1, 99).step() for _ in range(1)]
    assert a == b


def test_above_strike_probability_is_n_of_d2_clamped():
    assert above_strike_probability(95_000, 95_000, 0.5, 86_400) == pytest.approx(0.5)
    assert above_strike_probability(96_000, 95_000, 0.3, 2 * 86_400) == pytest.approx(0.6817, abs=1e-3)
    assert above_strike_probability(200_000, 95_000, 0.5, 86_400) == 0.99
    assert above_strike_probability(94_000, 95_000, 0.5, 0) == 0.01


def spec6_fires(mids: list[float], until_s: int) -> bool:
    """SPEC §6's price conditions on a 1 s mid series: a >= 12 c jump within 5 minutes, or realised
    σ >= 0.02 (dollars, std of the level) over 10 minutes, while the price is within 6 c of its
    3-minute mean."""
    for t in range(180, min(until_s, len(mids))):
        window5, window10 = mids[max(0, t - 300):t + 1], mids[max(0, t - 600):t + 1]
        jump = max(window5) - min(window5)
        mean10 = sum(window10) / len(window10)
        sigma = (sum((m - mean10) ** 2 for m in window10) / len(window10)) ** 0.5 / 100
        reverted = abs(mids[t] - sum(mids[t - 180:t + 1]) / 181) <= 6
        if (jump >= 12 or sigma >= 0.02) and reverted:
            return True
    return False


def test_default_scenario_gives_the_detector_several_rates_economics_and_crypto_events_in_ten_minutes():
    _, _, mids = run("default", 600)
    scenario = load_scenario("default")
    fired = [m.ticker for m in scenario.markets
             if m.category in ("Rates", "Economics", "Crypto") and spec6_fires(mids[m.ticker], 600)]
    assert len(fired) >= 4, fired
    quiet = [m.ticker for m in load_scenario("quiet_low_sigma").markets]
    _, _, quiet_mids = run("quiet_low_sigma", 600)
    assert not spec6_fires(quiet_mids[quiet[0]], 600)


def test_trade_stream_does_not_depend_on_how_often_the_exchange_is_advanced():
    """Paper mode advances every ~100 ms of wall time, replays to each event: same market either way."""
    streams = []
    for step_s in (1, 7, 60):
        clock = VirtualClock(START_NS)
        exchange = Exchange(now_ns=clock, seed=1)
        install_scenario(exchange, load_scenario("four_events"))
        for _ in range(240 // step_s):
            exchange.advance(clock.tick(step_s))
        exchange.advance(START_NS + 240 * NS)
        streams.append(trade_stream(exchange))
    assert streams[0] == streams[1] == streams[2]
