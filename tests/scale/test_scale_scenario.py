"""The scale_200 scenario is what bench/bench_memory.py measures memory per tracked market
with: its first 50 markets and all 200 must differ only by quiet background markets."""

from simex._scenario import load_scenario

DAY_S = 86_400
EVENT_KINDS = {"jump_revert", "burst"}


def test_two_hundred_distinct_markets_all_inside_the_tracked_horizon():
    scenario = load_scenario("scale_200")

    assert len(scenario.markets) == len(set(scenario.tickers)) == 200
    assert scenario.continuation is None  # the market set stays fixed for as long as it runs
    assert all(DAY_S < m.close_in_s <= 60 * DAY_S for m in scenario.markets)  # tracked: up to 1,440 h


def test_every_volatility_event_is_among_the_first_fifty_markets():
    markets = load_scenario("scale_200").markets

    with_event = [i for i, m in enumerate(markets) if {r.kind for r in m.regimes} & EVENT_KINDS]

    assert with_event == list(range(24))  # one event every 50 s from 60 s: ~3 sessions at a time
    assert all({r.kind for r in m.regimes} <= {"quiet", "oscillate"} for m in markets[24:])
