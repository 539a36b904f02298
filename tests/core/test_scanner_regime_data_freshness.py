"""Regime data carries the time of its newest observation. A session's market whose WS
feed is quiet is read over REST once a sample interval, so its data stays fresh; a
one-sided WS book is not fresh data and does not spare the market its REST sweep."""

from decimal import Decimal as D

from test_scanner_core import BASE, BUDGETS, NOW, OSCILLATION, discover, feed, listing, of, reply

from actors.scanner import RestRead, ScannerCore
from kernel.clock import seconds


def test_regime_updates_carry_the_time_of_the_newest_observation():
    core = ScannerCore(BASE, BUDGETS)
    discover(core)
    feed(core, "KX-ECO", OSCILLATION, NOW)
    last = NOW + seconds(10 * (len(OSCILLATION) - 1))
    core.on_session_started("KX-ECO", "s1")
    (update,) = core.regime_updates(last + seconds(600))  # the feed died 10 minutes ago
    assert update.ts == last + seconds(600) and update.data_ts == last


def test_a_quiet_session_market_is_polled_so_its_regime_data_stays_fresh():
    core = ScannerCore(BASE, BUDGETS)
    discover(core)
    feed(core, "KX-ECO", OSCILLATION, NOW)
    last = NOW + seconds(10 * (len(OSCILLATION) - 1))
    core.on_session_started("KX-ECO", "s1")
    assert core.poll_regime_markets(last + seconds(1)) == []  # data younger than a sample
    later = last + seconds(BASE.volatility.sample_interval_s + 1)  # WS still "fresh" (10 s) but silent
    (read,) = core.poll_regime_markets(later)
    assert dict(read.query)["tickers"] == "KX-ECO"
    assert core.poll_regime_markets(later + seconds(1)) == []  # one read per sample interval
    core.on_reply(reply(read, {"markets": [listing("KX-ECO", "EV-ECO", bid="0.49", ask="0.51")]}, now=later), later)
    (update,) = core.regime_updates(later)
    assert update.data_ts == later


def test_a_one_sided_ws_book_does_not_skip_the_rest_sweep():
    core = ScannerCore(BASE, BUDGETS)
    discover(core, markets=[listing("KX-ECO", "EV-ECO")])
    core.on_touch("KX-ECO", D("0.45"), None, D(100), None, NOW)
    (read,) = of(core.sweep_tick(NOW + seconds(1)), RestRead)
    assert dict(read.query)["tickers"] == "KX-ECO"
