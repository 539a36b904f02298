"""Paper mode never runs dry: after its script the `default` scenario goes on in episodes.

The script of `default` lasts 900 s. From then on, for as long as the exchange runs, every
episode lists fresh markets modelled on the scripted ones, each with a newly drawn script
(a quiet lead-in, then a volatility event: a jump that reverts or stays, a burst, a trend
or an illiquid spell, then an oscillating tail), gives the spot symbols new regimes, and
closes early, determines and settles the listings whose life is over. All of it is seeded:
the same seed gives the same stream.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from simex import Exchange
from simex._scenario import build_scenario_exchange, install_scenario, load_scenario, parse_scenario

NS = 1_000_000_000
START = 1_795_000_000 * NS
HOUR_S = 3600
SCRIPT_S = 900
EVENT_REGIMES = {"jump_revert", "jump_stay", "burst", "trend", "illiquid"}


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> int:
        return self.now


def advance(exchange: Exchange, clock: Clock, until_s: int, every_s: int = 60, on_step=None) -> None:
    while clock.now < START + until_s * NS:
        clock.now += every_s * NS
        exchange.advance(clock.now)
        if on_step is not None:
            on_step((clock.now - START) // NS)


@pytest.fixture(scope="module")
def three_hours():
    """The default scenario run for three hours of virtual time, watched minute by minute."""
    clock = Clock()
    exchange, run = build_scenario_exchange("default", seed=7, now_ns=clock)
    exchange.settled_history_s = None  # the tests read every trade of the three hours
    regimes: dict[str, set[tuple[int, str]]] = defaultdict(set)  # ticker -> (hour, regime kind)

    def watch(t_s: int) -> None:
        for ticker, market in exchange.markets.items():
            if market.status == "active":
                regimes[ticker].add((t_s // HOUR_S, run.regime(ticker)))

    advance(exchange, clock, 3 * HOUR_S, on_step=watch)
    return exchange, run, regimes


def listed_s(market) -> float:
    return (market.created_ns - START) / NS


def settled_s(market) -> float | None:
    return None if market.settled_ns is None else (market.settled_ns - START) / NS


def hours_after_the_script():
    return [(max(SCRIPT_S, h * HOUR_S), (h + 1) * HOUR_S) for h in range(3)]


def test_new_markets_list_in_every_hour_after_the_script(three_hours):
    exchange, _, _ = three_hours
    for start_s, end_s in hours_after_the_script():
        listed = [t for t, m in exchange.markets.items() if start_s <= listed_s(m) < end_s]
        assert len(listed) >= 2, (start_s, end_s)


def test_old_markets_settle_in_every_hour_after_the_first_episodes(three_hours):
    exchange, _, _ = three_hours
    for start_s, end_s in hours_after_the_script()[1:]:
        settled = [t for t, m in exchange.markets.items() if settled_s(m) is not None and start_s <= settled_s(m) < end_s]
        assert settled, (start_s, end_s)
    scripted = load_scenario("default").tickers
    assert all(exchange.markets[t].status == "finalized" for t in scripted)  # the script's markets too
    assert all(exchange.markets[t].result in ("yes", "no") for t in scripted)


def test_volatility_regimes_keep_coming_in_every_hour(three_hours):
    _, _, regimes = three_hours
    for hour in range(3):
        kinds = {kind for seen in regimes.values() for h, kind in seen if h == hour}
        assert len(kinds & EVENT_REGIMES) >= 2, (hour, kinds)


def test_prices_keep_jumping_in_every_hour(three_hours):
    """What the scanner's detector sees: some market's trades move 10 c within two minutes."""
    exchange, _, _ = three_hours
    for start_s, end_s in hours_after_the_script():
        assert _largest_two_minute_move(exchange, start_s, end_s) >= Decimal("0.10"), (start_s, end_s)


def _largest_two_minute_move(exchange: Exchange, start_s: float, end_s: float) -> Decimal:
    by_ticker: dict[str, list] = defaultdict(list)
    for trade in exchange.trades:
        if start_s <= (trade.ts_ns - START) / NS < end_s:
            by_ticker[trade.ticker].append(trade)
    largest = Decimal(0)
    for trades in by_ticker.values():
        left = 0
        for right, trade in enumerate(trades):
            while trade.ts_ns - trades[left].ts_ns > 120 * NS:
                left += 1
            window = [t.price for t in trades[left:right + 1]]
            largest = max(largest, max(window) - min(window))
    return largest


def test_the_live_market_count_stays_bounded(three_hours):
    exchange, _, _ = three_hours
    live = [t for t, m in exchange.markets.items() if m.status in ("initialized", "active", "inactive")]
    assert 4 <= len(live) <= 20


def test_the_same_seed_gives_the_same_stream_and_another_seed_another():
    def stream(seed: int):
        clock = Clock()
        exchange, _ = build_scenario_exchange("default", seed=seed, now_ns=clock)
        advance(exchange, clock, SCRIPT_S + 2 * 900 + 60)
        listings = [(t, m.created_ns, m.status, m.result) for t, m in exchange.markets.items()]
        return listings, [(t.ticker, t.price, t.count, t.taker_side, t.ts_ns) for t in exchange.trades]

    first = stream(7)
    assert first == stream(7)
    assert len(first[0]) > len(load_scenario("default").markets)
    assert first != stream(8)


def test_a_scenario_without_a_continuation_ends_with_its_script():
    clock = Clock()
    exchange = Exchange(now_ns=clock, seed=11)
    install_scenario(exchange, load_scenario("mr_jump"), 11)
    advance(exchange, clock, 3 * 600)
    assert list(exchange.markets) == ["KXFED-26DEC-T4.00"]


def test_a_continuation_block_is_validated():
    base = {"markets": [{"ticker": "KXA-1", "category": "Rates", "regimes": [{"kind": "quiet"}]}]}
    with pytest.raises(ValueError) as err:
        parse_scenario({**base, "continue": {"episode_s": 0, "markets_per_episode": "x", "lifetime_episodes": 1,
                                             "colour": 1}})
    text = str(err.value)
    assert "continue.episode_s" in text and "continue.markets_per_episode" in text and "continue.colour" in text
    parsed = parse_scenario({**base, "continue": {}})
    assert parsed.continuation is not None and parsed.continuation.episode_s == 900


def test_a_day_of_episodes_forgets_settled_listings_drivers_and_participant_accounts():
    # memory over a day of paper: a listing's driver and its three background accounts go
    # at its settled market's cut-off; the scripted markets' drivers (reference venues read
    # their fair value) and every account that keeps history stay
    clock = Clock()
    exchange, run = build_scenario_exchange("default", seed=7, now_ns=clock)
    exchange.register_account("daemon", 1_000_000)
    advance(exchange, clock, 6 * HOUR_S)

    settled_long_ago = [t for t, m in exchange.markets.items()
                        if m.settled_ns is not None and m.settled_ns + (HOUR_S + 60) * NS <= clock.now]
    assert settled_long_ago
    scripted = {m.ticker for m in run.scenario.markets if m.reference is not None}
    forgotten = [t for t in settled_long_ago if t not in scripted]
    assert forgotten and not any(t in run.markets for t in forgotten)
    assert not any(a.endswith(":" + t) for t in forgotten for a in exchange.accounts)
    assert scripted <= set(run.markets) and "daemon" in exchange.accounts
    live = [t for t, m in exchange.markets.items() if m.settled_ns is None]
    assert all(t in run.markets for t in live)
