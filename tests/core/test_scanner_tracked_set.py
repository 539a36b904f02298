"""The tracked set has its own filter, apart from discovery's: busy markets up to the
tracking horizon, busiest first (discovery keeps to its 1-60 day window)."""

from dataclasses import replace

from test_scanner_core import BASE, BUDGETS, NOW, discover, listing, of

from actors.scanner import ScannerCore
from messages import DiscoveryCompleted


def test_a_busy_market_closing_in_twelve_hours_is_tracked():
    core = ScannerCore(BASE, BUDGETS)
    markets = [listing("KX-12H", "EV-ECO", volume_24h="500000", close_days=0.5), listing("KX-10D", "EV-ECO"),
               listing("KX-200D", "EV-ECO", close_days=200), listing("KX-GONE", "EV-ECO", close_days=-0.1)]
    (done,) = of(discover(core, markets=markets), DiscoveryCompleted)
    assert [m.ticker for m in done.markets] == ["KX-10D"]  # discovery: 1-60 days
    assert core.tracked == ["KX-12H", "KX-10D"]  # tracking: up to 60 days, busiest first
    core = ScannerCore(replace(BASE, volatility=replace(BASE.volatility, tracked_max_hours_to_expiry=24)), BUDGETS)
    discover(core, markets=markets)
    assert core.tracked == ["KX-12H"]  # seed 001's T_max


def test_a_market_that_left_the_listing_is_forgotten_unless_a_session_still_trades_it():
    # GET /markets?status=open drops a market once it closed or settled
    core = ScannerCore(BASE, BUDGETS)
    discover(core, markets=[listing("KX-A", "EV-ECO"), listing("KX-B", "EV-BTC"), listing("KX-C", "EV-ECO")])
    core.on_session_started("KX-B", "s1")

    discover(core, markets=[listing("KX-C", "EV-ECO")])

    assert set(core.markets) == {"KX-B", "KX-C"}  # KX-B: its session goes on
    assert set(core.event_category) == {"EV-BTC", "EV-ECO"}
    core.on_session_stopped("KX-B", "s1", 0)
    discover(core, markets=[listing("KX-C", "EV-ECO")])
    assert set(core.markets) == {"KX-C"} and set(core.event_category) == {"EV-ECO"}


def test_a_polled_markets_last_listing_is_forgotten_with_the_market():
    # a paper day polls ~400 markets in turn: their last listings go when they leave, not
    # when the cache of them fills
    from test_scanner_core import reply

    from actors.scanner import RestRead
    from kernel.clock import seconds

    core = ScannerCore(BASE, BUDGETS)
    markets = [listing("KX-A", "EV-ECO"), listing("KX-C", "EV-ECO")]
    discover(core, markets=markets)
    for tick in range(30):
        for read in of(core.sweep_tick(NOW + seconds(tick)), RestRead):
            core.on_reply(reply(read, {"markets": tuple(markets)}), NOW + seconds(tick))
    assert set(core.parsed) == {"KX-A", "KX-C"}

    discover(core, markets=[listing("KX-C", "EV-ECO")])

    assert set(core.parsed) == {"KX-C"}
