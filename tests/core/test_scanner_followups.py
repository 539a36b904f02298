"""Scanner follow-ups: category lookups that fail, events that re-arm, regime data age,
the sigma floor at detection, reactivated markets, the tracked set's own filter, the
sign of a reverting jump, degenerate min-max features and one-sided WS books."""

from dataclasses import replace
from decimal import Decimal as D

from test_scanner_core import BASE, BUDGETS, NOW, OSCILLATION, discover, feed, listing, of, reply

from actors.scanner import MarketFacts, PriceHistory, PricePoint, RestRead, ScannerCore, check_event, parse_market, score_markets
from actors.scanner._volatility import _jump
from messages import DiscoveryCompleted, VolatilityDetected
from kernel.clock import seconds

NBA = [listing("KX-NBA", "EV-NBA", volume_24h="40000", close_days=3)]


# -- 1. a failed category lookup is retried, and the market waits for its category ---------
def test_a_failed_event_lookup_caches_nothing_keeps_the_market_out_and_is_retried():
    core = ScannerCore(BASE, BUDGETS)
    (listing_read,) = of(core.start(NOW), RestRead)
    (lookup,) = of(core.on_reply(reply(listing_read, {"markets": NBA}), NOW), RestRead)
    out = core.on_reply(reply(lookup, None, status=503), NOW)
    assert "EV-NBA" not in core.event_category
    (done,) = of(out, DiscoveryCompleted)
    assert done.markets == () and core.tracked == []  # unknown category: not scored, not tracked
    assert not of(feed(core, "KX-NBA", OSCILLATION, NOW), VolatilityDetected)
    discover(core, now=NOW + seconds(600), markets=NBA)  # the next discovery asks again
    assert core.event_category == {"EV-NBA": "sports"} and core.tracked == ["KX-NBA"]


def test_a_failed_series_lookup_caches_nothing_either():
    core = ScannerCore(BASE, BUDGETS)
    (listing_read,) = of(core.start(NOW), RestRead)
    (event_read,) = of(core.on_reply(reply(listing_read, {"markets": NBA}), NOW), RestRead)
    body = {"event": {"event_ticker": "EV-NBA", "series_ticker": "SER-NBA"}}
    (series_read,) = of(core.on_reply(reply(event_read, body), NOW), RestRead)
    core.on_reply(reply(series_read, None, status=500), NOW)
    assert core.event_category == {} and core.series_category == {} and core.tracked == []


def test_the_event_rules_refuse_a_market_whose_category_is_unknown():
    history = PriceHistory(5, 900, 1000)
    for i, mid in enumerate([0.50, 0.50, 0.50, 0.65, 0.60, 0.55, 0.52, 0.50, 0.50, 0.51, 0.50, 0.50]):
        history.add(PricePoint(seconds(10 * i), D(str(mid)), D("0.02"), D(200)))
    facts = MarketFacts(category="", volume_24h_dollars=D(20_000), regime="MEAN_REVERTING", profile_excluded=False,
                        in_session=False, category_known=False)
    assert check_event(history, seconds(110), facts, BASE.volatility).failed == ("category_unknown",)


# -- 2. an event re-arms after its session stops or when nobody admits it -----------------
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


# -- 3. regime data carries the time of its newest observation -----------------------------
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


# -- 4. no event while the regime window's sigma is under the floor -------------------------
def test_a_market_flat_now_after_a_move_ten_minutes_ago_does_not_fire():
    # the reviewer's path: 5 minutes of ramp, then flat: sigma over 10 min >= 0.02, over the
    # 5-minute regime window ~0 (QUIET, allowed); the supervisor's sigma floor would kill it at once
    core = ScannerCore(BASE, BUDGETS)
    discover(core)
    path = [D("0.30") + D("0.005") * i for i in range(60)] + [D("0.60")] * 70
    events = []
    for i, mid in enumerate(path):
        t = NOW + seconds(5 * (i + 1))
        events += of(core.on_touch("KX-ECO", mid - D("0.01"), mid + D("0.01"), D(300), D(300), t), VolatilityDetected)
    assert events == []
    assert core.states["KX-ECO"].regime.accepted == "QUIET"


def test_the_sigma_floor_is_a_named_event_condition():
    history = PriceHistory(5, 900, 1000)
    for i, mid in enumerate([0.50, 0.50, 0.50, 0.65, 0.60, 0.55, 0.52, 0.50, 0.50, 0.51, 0.50, 0.50]):
        history.add(PricePoint(seconds(10 * i), D(str(mid)), D("0.02"), D(200)))
    facts = MarketFacts(category="economics", volume_24h_dollars=D(20_000), regime="MEAN_REVERTING",
                        profile_excluded=False, in_session=False, regime_sigma=D("0.009"))
    assert check_event(history, seconds(110), facts, BASE.volatility).failed == ("sigma_floor",)
    assert check_event(history, seconds(110), replace(facts, regime_sigma=D("0.01")), BASE.volatility).fires


# -- 5. a paused market that resumes is live again ------------------------------------------
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


# -- 6. the tracked set has its own filter ---------------------------------------------------
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


# -- 7. a reverting jump keeps the sign of its excursion --------------------------------------
def points(mids):
    return [PricePoint(i, D(m), D("0.02"), D(100)) for i, m in enumerate(mids)]


def test_a_reverting_jump_is_signed_by_its_excursion_from_the_first_mid():
    assert _jump(points(["0.40", "0.40", "0.58", "0.50", "0.45", "0.40"])) == D("0.18")
    assert _jump(points(["0.60", "0.60", "0.42", "0.50", "0.55", "0.60"])) == D("-0.18")
    history = PriceHistory(5, 900, 1000)
    for i, mid in enumerate(["0.40", "0.40", "0.58", "0.50", "0.45", "0.40"]):
        history.add(PricePoint(seconds(10 * i), D(mid), D("0.02"), D(200)))
    facts = MarketFacts(category="economics", volume_24h_dollars=D(20_000), regime="MEAN_REVERTING",
                        profile_excluded=False, in_session=False)
    check = check_event(history, seconds(50), facts, BASE.volatility)
    assert check.jump == D("0.18") and check.direction == "up"


# -- 8. a degenerate feature maps to the middle -----------------------------------------------
def test_one_market_or_all_equal_values_normalise_to_one_half():
    (only,) = score_markets([parse_market(listing("KX-BIG", "EV", volume_24h="5000000"))], {}, NOW, BASE.discovery)
    assert only.volume_band == "medium"
    w = BASE.discovery.weights
    from actors.scanner import time_penalty

    expected = 0.5 * (w.volume_24h + w.volume_1h + w.liquidity - w.spread) - w.time_penalty * time_penalty(10.0, BASE.discovery)
    assert abs(only.score - expected) < 1e-9
    pair = [parse_market(listing(t, "EV", volume_24h="900000")) for t in ("KX-A", "KX-B")]
    assert [s.volume_band for s in score_markets(pair, {}, NOW, BASE.discovery)] == ["medium", "medium"]


# -- 9. a one-sided WS book does not count as fresh data --------------------------------------
def test_a_one_sided_ws_book_does_not_skip_the_rest_sweep():
    core = ScannerCore(BASE, BUDGETS)
    discover(core, markets=[listing("KX-ECO", "EV-ECO")])
    core.on_touch("KX-ECO", D("0.45"), None, D(100), None, NOW)
    (read,) = of(core.sweep_tick(NOW + seconds(1)), RestRead)
    assert dict(read.query)["tickers"] == "KX-ECO"
