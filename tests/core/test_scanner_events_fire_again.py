"""When a market may fire a volatility event again: after its session stopped and the
re-arm cooldown passed, after an event nobody admitted lapsed, and once a paused market
is live again (activated, or listed as active by the next discovery)."""

from test_scanner_core import BASE, BUDGETS, NOW, OSCILLATION, discover, feed, of

from actors.scanner import ScannerCore
from messages import VolatilityDetected
from kernel.clock import seconds


def oscillate(core, ticker, start, seconds_long):
    return feed(core, ticker, [0.47 if i % 2 else 0.53 for i in range(seconds_long // 10)], start)


def test_an_event_fires_again_after_its_session_stopped_and_the_cooldown():
    core = ScannerCore(BASE, BUDGETS)
    discover(core)
    (first,) = of(oscillate(core, "KX-ECO", NOW, 120), VolatilityDetected)
    core.on_session_started("KX-ECO", "s1")
    oscillate(core, "KX-ECO", NOW + seconds(120), 300)
    stopped = NOW + seconds(420)
    core.on_session_stopped("KX-ECO", "s1", stopped)
    assert "KX-ECO" not in core.active_events
    cooldown = int(BASE.volatility.rearm_cooldown_s)
    assert not of(oscillate(core, "KX-ECO", stopped, cooldown), VolatilityDetected)  # still cooling down
    (again,) = of(oscillate(core, "KX-ECO", stopped + seconds(cooldown), 60), VolatilityDetected)
    assert again.event_id != first.event_id


def test_an_unadmitted_event_expires_and_may_fire_again():
    core = ScannerCore(BASE, BUDGETS)
    discover(core)
    out = oscillate(core, "KX-ECO", NOW, 1200)
    events = of(out, VolatilityDetected)
    assert len(events) >= 2  # nobody took the first: it lapsed and the market fired again
    gap = events[1].ts - events[0].ts
    assert gap >= seconds(BASE.regimes.event_publish_s + BASE.volatility.rearm_cooldown_s)


def test_an_activated_market_can_fire_again():
    core = ScannerCore(BASE, BUDGETS)
    discover(core)
    core.on_lifecycle("KX-ECO", "deactivated", NOW)
    assert not core.states["KX-ECO"].active
    core.on_lifecycle("KX-ECO", "activated", NOW + seconds(30))
    assert of(feed(core, "KX-ECO", OSCILLATION, NOW + seconds(30)), VolatilityDetected)


def test_rediscovery_resets_a_markets_active_flag_from_its_listing():
    core = ScannerCore(BASE, BUDGETS)
    discover(core)
    core.on_lifecycle("KX-ECO", "deactivated", NOW)
    discover(core, now=NOW + seconds(600))
    assert core.states["KX-ECO"].active
