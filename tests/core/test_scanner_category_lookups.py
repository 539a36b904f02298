"""A market's category comes from its event (or series) lookup. A failed lookup caches
nothing: the market stays out of scoring, tracking and events until the next discovery
asks again and gets an answer."""

from decimal import Decimal as D

from test_scanner_core import BASE, BUDGETS, NOW, OSCILLATION, discover, feed, listing, of, reply

from actors.scanner import MarketFacts, PriceHistory, PricePoint, RestRead, ScannerCore, check_event
from messages import DiscoveryCompleted, VolatilityDetected
from kernel.clock import seconds


NBA = [listing("KX-NBA", "EV-NBA", volume_24h="40000", close_days=3)]


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
