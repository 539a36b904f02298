"""ScannerCore driven synchronously: discovery with category lookups, the tracked set,
sweeps within the read budget, WS-first data, events, ends, regimes per session."""

from dataclasses import replace
from decimal import Decimal as D

from actors.scanner import Budgets, RestRead, RetryDiscovery, ScannerCore, Subscribe
from config import load_config
from messages import DiscoveryCompleted, MarketSelected, RegimeUpdated, RestReadCompleted, VolatilityDetected, VolatilityEnded
from kernel.clock import seconds
from kalshi.wire import rfc3339_from_ns

BASE = load_config().scanner
BUDGETS = Budgets(per_market=D(8), global_budget=D(60))
NOW = seconds(1_800_000_000)


def listing(ticker, event, volume_24h="20000", bid="0.45", ask="0.47", close_days=10, status="active"):
    return {
        "ticker": ticker, "event_ticker": event, "market_type": "binary", "status": status,
        "yes_bid_dollars": bid, "yes_ask_dollars": ask, "yes_bid_size_fp": "300", "yes_ask_size_fp": "300",
        "last_price_dollars": "0.46", "volume_fp": volume_24h, "volume_24h_fp": volume_24h,
        "open_time": rfc3339_from_ns(NOW - seconds(3600)), "close_time": rfc3339_from_ns(NOW + seconds(close_days * 86400)),
    }


def reply(read, body, status=200, now=NOW):
    return RestReadCompleted(request_id=read.request_id, path=read.path, status=status, body=body, error="", ts_recv=now)


def of(outputs, kind):
    return [o for o in outputs if isinstance(o, kind)]


MARKETS = [
    listing("KX-ECO", "EV-ECO", volume_24h="30000"),
    listing("KX-BTC", "EV-BTC", volume_24h="20000"),
    listing("KX-NBA", "EV-NBA", volume_24h="40000", close_days=3),  # sports: 1 h - 7 days
    listing("KX-THIN", "EV-ECO", volume_24h="100"),
    listing("KX-OLD", "EV-ECO", close_days=200),
]
CATEGORIES = {"EV-ECO": ("SER-ECO", "Economics"), "EV-BTC": ("SER-BTC", "Crypto"), "EV-NBA": ("SER-NBA", "Sports")}


def discover(core, now=NOW, markets=MARKETS):
    """Answer the listing and every event/series lookup; returns all outputs."""
    out = core.start(now) if not core.counters["discoveries"] and not core.discovering else core.rediscover(now)
    (read,) = of(out, RestRead)
    assert read.path == "/markets" and read.all_pages
    pending = core.on_reply(reply(read, {"markets": markets}, now=now), now)
    outputs = []
    while True:
        reads = of(pending, RestRead)
        outputs.extend(o for o in pending if not isinstance(o, RestRead))
        if not reads:
            break
        pending = []
        for r in reads:
            kind, key = r.path.split("/")[1:3]
            if kind == "events":
                series, _ = CATEGORIES[key]
                body = {"event": {"event_ticker": key, "series_ticker": series}}
            else:
                body = {"series": {"ticker": key, "category": next(c for s, c in CATEGORIES.values() if s == key)}}
            pending.extend(core.on_reply(reply(r, body, now=now), now))
    return outputs


def test_discovery_reads_categories_once_scores_and_tracks():
    core = ScannerCore(BASE, BUDGETS)
    out = discover(core)
    (done,) = of(out, DiscoveryCompleted)
    assert (done.total_markets, done.binary_markets) == (5, 5)
    assert core.event_category == {"EV-NBA": "sports", "EV-ECO": "economics", "EV-BTC": "crypto"}
    scored = {m.ticker: m for m in done.markets}
    assert "KX-OLD" not in scored  # 200 days: outside the window
    assert scored["KX-NBA"].category == "sports" and scored["KX-NBA"].config.profile == "hard_trending"
    assert scored["KX-THIN"].selected is False and scored["KX-THIN"].config is None  # under $5,000
    assert scored["KX-ECO"].selected and scored["KX-ECO"].config.max_exposure > 0
    assert of(out, MarketSelected) == []  # volatility style: sessions come from events
    (subscribe,) = of(out, Subscribe)
    assert set(subscribe.tickers) == {"KX-ECO", "KX-BTC", "KX-NBA", "KX-THIN"} == set(core.tracked)
    # a second run needs no lookups: the categories are cached
    out = core.rediscover(NOW + seconds(600))
    (read,) = of(out, RestRead)
    second = core.on_reply(reply(read, {"markets": MARKETS}), NOW + seconds(600))
    assert of(second, DiscoveryCompleted) and not of(second, RestRead)


def test_discovery_style_selects_the_top_markets():
    core = ScannerCore(replace(BASE, style="discovery"), BUDGETS)
    picks = of(discover(core), MarketSelected)
    assert [p.ticker for p in picks] == ["KX-NBA", "KX-ECO", "KX-BTC"]


def test_configured_tickers_are_announced_without_any_read():
    core = ScannerCore(replace(BASE, tickers=("KX-1", "KX-2", "KX-3"), max_markets=2), BUDGETS)
    out = core.start(NOW)
    assert [o.ticker for o in of(out, MarketSelected)] == ["KX-1", "KX-2"] and not of(out, RestRead)


def test_a_failed_listing_asks_for_a_retry_and_bad_entries_are_skipped():
    core = ScannerCore(BASE, BUDGETS)
    (read,) = of(core.start(NOW), RestRead)
    assert of(core.on_reply(reply(read, None, status=503), NOW), RetryDiscovery)
    (read,) = of(core.rediscover(NOW), RestRead)
    out = core.on_reply(reply(read, {"markets": ["junk", {"ticker": 5}]}), NOW)
    assert of(out, DiscoveryCompleted)[0].markets == () and core.counters["bad_markets"] == 2


def test_sweeps_cover_the_tracked_set_in_a_cycle_and_skip_markets_with_fresh_ws_data():
    core = ScannerCore(BASE, BUDGETS)
    many = [listing(f"KX-{i:03d}", "EV-ECO") for i in range(60)]
    discover(core, markets=many)
    assert len(core.tracked) == 60
    tickers = []
    for tick in range(30):  # one tick per second for a 30 s cycle
        for read in of(core.sweep_tick(NOW + seconds(tick)), RestRead):
            tickers.extend(dict(read.query)["tickers"].split(","))
    assert sorted(tickers) == sorted(core.tracked)  # 2 per tick, each once per cycle
    assert core.tracked[:2] == ["KX-000", "KX-001"]  # the next cycle starts here
    core.on_touch("KX-000", D("0.45"), D("0.47"), D(100), D(100), NOW + seconds(30))
    (read,) = of(core.sweep_tick(NOW + seconds(31)), RestRead)
    assert dict(read.query)["tickers"] == "KX-001"  # KX-000 has fresh WS data


def test_reads_stay_within_the_scanners_request_budget():
    core = ScannerCore(replace(BASE, volatility=replace(BASE.volatility, max_requests_per_s=2)), BUDGETS)
    (read,) = of(core.start(NOW), RestRead)
    markets = [listing(f"KX-{i}", f"EV-{i}") for i in range(5)]
    out = core.on_reply(reply(read, {"markets": markets}), NOW)
    assert len(of(out, RestRead)) == 1  # the listing used one of the two this second
    assert len(core.queue) == 4
    assert len(of(core.sweep_tick(NOW + seconds(1)), RestRead)) == 2  # a second later: two more


def feed(core, ticker, mids, start, step_s=10, spread="0.02", size=100):
    out = []
    for i, mid in enumerate(mids):
        mid = D(str(mid))
        half = D(spread) / 2
        out.extend(core.on_touch(ticker, mid - half, mid + half, D(size), D(size), start + seconds(i * step_s)))
    return out


OSCILLATION = [0.47 if i % 2 else 0.53 for i in range(12)]


def test_a_mean_reverting_market_fires_once_then_ends_when_calm():
    core = ScannerCore(BASE, BUDGETS)
    discover(core)
    out = feed(core, "KX-ECO", OSCILLATION, NOW)
    (event,) = of(out, VolatilityDetected)
    assert (event.ticker, event.category, event.regime) == ("KX-ECO", "economics", "MEAN_REVERTING")
    assert event.config.ticker == "KX-ECO" and event.config.regime == "MEAN_REVERTING" and event.sigma >= D("0.02")
    assert core.active_events == {"KX-ECO": event.event_id}
    core.on_session_started("KX-ECO", "s1")  # admitted: the event lasts while its session runs
    calm = feed(core, "KX-ECO", [0.50] * 70, NOW + seconds(120))  # 11+ minutes flat
    (ended,) = of(calm, VolatilityEnded)
    assert (ended.event_id, ended.reason) == (event.event_id, "sigma_below_threshold")


def test_no_event_for_sports_or_a_trend_or_a_ticker_in_session():
    core = ScannerCore(BASE, BUDGETS)
    discover(core)
    assert not of(feed(core, "KX-NBA", OSCILLATION, NOW), VolatilityDetected)  # sports excluded
    trend = [0.30 + 0.02 * i for i in range(20)]
    assert not of(feed(core, "KX-BTC", trend, NOW), VolatilityDetected)
    assert core.states["KX-BTC"].regime.accepted == "TRENDING"
    core.on_session_started("KX-ECO", "s1")
    assert not of(feed(core, "KX-ECO", OSCILLATION, NOW), VolatilityDetected)


def test_an_event_ends_when_its_market_leaves_the_tracked_set_or_goes_inactive():
    core = ScannerCore(BASE, BUDGETS)
    discover(core)
    feed(core, "KX-ECO", OSCILLATION, NOW)
    feed(core, "KX-BTC", OSCILLATION, NOW)
    assert set(core.active_events) == {"KX-ECO", "KX-BTC"}
    (ended,) = of(core.on_lifecycle("KX-BTC", "determined", NOW + seconds(200)), VolatilityEnded)
    assert ended.reason == "market_inactive"
    out = discover(core, now=NOW + seconds(600), markets=[m for m in MARKETS if m["ticker"] != "KX-ECO"])
    (ended,) = of(out, VolatilityEnded)
    assert (ended.ticker, ended.reason) == ("KX-ECO", "left_tracked_set")
    assert Subscribe(("KX-ECO",), remove=True) in out


def test_regime_updates_cover_every_market_with_a_session():
    core = ScannerCore(BASE, BUDGETS)
    core.on_session_started("KX-X", "s1")  # not tracked: still gets a regime
    assert [u.regime for u in core.regime_updates(NOW)] == ["UNKNOWN"]
    feed(core, "KX-X", OSCILLATION, NOW)
    (update,) = core.regime_updates(NOW + seconds(200))
    assert isinstance(update, RegimeUpdated)
    assert (update.ticker, update.regime, update.stable, update.ts) == ("KX-X", "MEAN_REVERTING", True, NOW + seconds(200))
    assert update.mr_score > D("0.9") and update.gamma_multiplier == D("1.0") and update.k_multiplier == D("1.0")
    core.on_session_stopped("KX-X", "s1", NOW)
    assert core.regime_updates(NOW) == [] and "KX-X" not in core.states


def test_an_event_publishes_a_regime_consistent_with_it_from_the_moment_it_fires():
    core = ScannerCore(BASE, BUDGETS)
    discover(core)
    out = feed(core, "KX-ECO", OSCILLATION, NOW)
    (event,) = of(out, VolatilityDetected)
    (update,) = of(out, RegimeUpdated)  # right behind the event, same instant, same tracker state
    assert out.index(update) == out.index(event) + 1
    assert (update.ticker, update.regime, update.stable, update.ts) == ("KX-ECO", event.regime, True, event.ts)
    # no session yet: the heartbeat covers the event's market (the supervisor waits on it)
    assert [u.ticker for u in core.regime_updates(event.ts + seconds(1))] == ["KX-ECO"]
    until = event.ts + seconds(BASE.regimes.event_publish_s)
    assert [u.ticker for u in core.regime_updates(until)] == ["KX-ECO"]
    assert core.regime_updates(until + 1) == []  # nobody started a session: it expires


def test_an_events_regime_stops_with_its_session_or_its_end():
    core = ScannerCore(BASE, BUDGETS)
    discover(core)
    (eco,) = of(feed(core, "KX-ECO", OSCILLATION, NOW), VolatilityDetected)
    (btc,) = of(feed(core, "KX-BTC", OSCILLATION, NOW), VolatilityDetected)
    later = max(eco.ts, btc.ts) + seconds(1)
    assert [u.ticker for u in core.regime_updates(later)] == ["KX-ECO", "KX-BTC"]
    core.on_session_started("KX-ECO", "s1")
    core.on_session_stopped("KX-ECO", "s1", later)
    assert [u.ticker for u in core.regime_updates(later)] == ["KX-BTC"]  # its session ended
    core.on_lifecycle("KX-BTC", "closed", later)
    assert core.regime_updates(later) == []  # the event ended


def test_an_event_waits_until_the_accepted_regime_is_stable():
    core = ScannerCore(BASE, BUDGETS)
    discover(core)
    tracker = core.states["KX-ECO"].regime
    feed(core, "KX-ECO", [0.50] * 10, NOW)
    assert tracker.accepted == "QUIET" and tracker.stable
    # a 14-cent drop straight back: the jump and mean-reversion conditions hold at once, while
    # QUIET (allowed) is still accepted and MEAN_REVERTING only a candidate; the event waits
    out = feed(core, "KX-ECO", [0.36] + [0.50] * 6, NOW + seconds(100))
    events = of(out, VolatilityDetected)
    assert events and events[0].regime == "MEAN_REVERTING"
    (update,) = [u for u in of(out, RegimeUpdated) if u.ts == events[0].ts]
    assert update.stable and update.candidate == update.regime == "MEAN_REVERTING"


def test_reads_left_over_by_the_budget_have_a_time_to_go_out():
    core = ScannerCore(replace(BASE, volatility=replace(BASE.volatility, max_requests_per_s=2)), BUDGETS)
    (read,) = of(core.start(NOW), RestRead)
    assert core.next_pump_ns() is None  # nothing waits
    markets = [listing(f"KX-{i}", f"EV-{i}") for i in range(5)]
    core.on_reply(reply(read, {"markets": markets}), NOW)
    assert len(core.queue) == 4 and core.next_pump_ns() == NOW + seconds(1)
    assert len(of(core.pump(NOW + seconds(1)), RestRead)) == 2


def test_categories_match_case_insensitively_in_every_config_lookup():
    from actors.scanner._discovery import parse_market, prefilter
    from actors.scanner._profiles import CategoryProfiles, by_category, in_categories

    cfg = replace(BASE, categories={**BASE.categories, "Weather": "low_liquidity"})
    profiles = CategoryProfiles(cfg)
    assert profiles.profile_name("weather") == "low_liquidity"  # config key "Weather"
    assert profiles.profile_name("Economics") == profiles.profile_name("economic") == "mean_reverting"
    assert profiles.profile_name("Crypto") == "medium_trending"
    assert by_category(BASE.market_config.k_by_category, "Rates") == D("1.2")
    assert in_categories("Sports", BASE.volatility.excluded_categories)
    discovery = replace(BASE.discovery, excluded_categories=("Long-Tail-Politics",))
    market = parse_market(listing("KX-P", "EV-P"))
    assert "category_excluded" in prefilter(market, "long-tail-politics", NOW, 0, discovery, BASE.market_config)


def test_a_sweep_reads_each_polled_listing_as_it_is_now():
    core = ScannerCore(BASE, BUDGETS)
    discover(core, markets=[listing("KX-000", "EV-ECO")])
    sweep = RestRead(request_id="scanner-sweep-900", path="/markets", query=(("tickers", "KX-000"),))
    for n, (bid, volume_24h) in enumerate((("0.45", "20000"), ("0.45", "20000"), ("0.40", "20000"), ("0.40", "30000"))):
        core.on_reply(reply(sweep, {"markets": [listing("KX-000", "EV-ECO", bid=bid, volume_24h=volume_24h)]}), NOW + n)
        assert (core.markets["KX-000"].yes_bid, core.markets["KX-000"].volume_24h) == (D(bid), D(volume_24h))
    # an entry with a number for a text is parsed afresh, and so is the next one
    core.on_reply(reply(sweep, {"markets": [{**listing("KX-000", "EV-ECO", bid="0.40"), "volume_24h_fp": 35000}]}), NOW + 9)
    assert core.markets["KX-000"].volume_24h == D(35000)
    core.on_reply(reply(sweep, {"markets": [listing("KX-000", "EV-ECO", bid="0.40", volume_24h="30000")]}), NOW + 10)
    assert core.markets["KX-000"].volume_24h == D(30000)
