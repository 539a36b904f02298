"""Discovery: parsing the listing, the pre-filters, the score, bands and top-N selection."""

from decimal import Decimal as D

import pytest

from actors.scanner._discovery import LISTING_FIELDS
from actors.scanner import parse_market, prefilter, score_markets, time_penalty, volume_band
from config import load_config
from kernel.clock import seconds
from kalshi.wire import rfc3339_from_ns

SCANNER = load_config().scanner
DISC, RULES = SCANNER.discovery, SCANNER.market_config
NOW = seconds(1_800_000_000)
DAY = seconds(86_400)


def market(ticker="KX-A", bid="0.45", ask="0.47", bid_size="300", ask_size="200", volume_24h="20000", volume="50000",
           close_days=10.0, age_s=3600, status="active", market_type="binary", event="EV-A", **extra):
    return {
        "ticker": ticker, "event_ticker": event, "market_type": market_type, "status": status,
        "yes_bid_dollars": bid, "yes_ask_dollars": ask, "yes_bid_size_fp": bid_size, "yes_ask_size_fp": ask_size,
        "last_price_dollars": "0.4600", "volume_fp": volume, "volume_24h_fp": volume_24h,
        "notional_value_dollars": "1.0000",
        "open_time": rfc3339_from_ns(NOW - seconds(age_s)),
        "close_time": rfc3339_from_ns(NOW + int(close_days * DAY)),
        **extra,
    }


def fails(raw, category="economics", recent_trades=0):
    return prefilter(parse_market(raw), category, NOW, recent_trades, DISC, RULES)


def test_parse_reads_touch_sizes_and_dollar_measures():
    m = parse_market(market())
    assert (m.yes_bid, m.yes_ask, m.spread, m.mid) == (D("0.45"), D("0.47"), D("0.02"), D("0.46"))
    assert m.liquidity == D("300") * D("0.45") + D("200") * D("0.53")
    assert m.depth == D(500) and m.volume_24h_dollars == D(20000)
    assert m.days_to_expiry(NOW) == pytest.approx(10.0)


def test_an_empty_side_listed_as_zero_or_one_is_no_quote():
    m = parse_market(market(bid="0.0000", ask="1.0000"))
    assert m.spread is None and m.mid == D("0.46")  # falls back to the last price


@pytest.mark.parametrize("bad", ["not a dict", {"ticker": ""}, market(yes_bid_dollars=0.45), market(close_time="soon")])
def test_malformed_markets_are_refused_with_a_reason(bad):
    with pytest.raises(ValueError):
        parse_market(bad)


def test_a_good_market_passes_every_prefilter():
    assert fails(market()) == ()


def test_prefilters_name_what_failed():
    assert fails(market(market_type="scalar")) == ("not_binary",)
    assert fails(market(status="closed")) == ("not_active",)
    assert fails(market(age_s=30)) == ("too_new",)
    assert fails(market(close_days=0.5)) == ("expiry_window",)  # default needs >= 1 day
    assert fails(market(close_days=61)) == ("expiry_window",)  # ...and <= 60 days
    assert fails(market(), category="long-tail-politics") == ("category_excluded",)
    assert fails(market(bid="0.90", ask="0.92")) == ("extreme_price",)  # soft extreme
    assert fails(market(bid="0.01", ask="0.03")) == ("extreme_price",)  # hard extreme


def test_time_windows_depend_on_the_category():
    assert fails(market(close_days=0.1), category="sports") == ()  # 2.4 hours: sports allows 1 h - 7 days
    assert fails(market(close_days=8), category="sports") == ("expiry_window",)
    assert fails(market(close_days=80), category="crypto") == ()  # rates and crypto: up to 90 days
    assert fails(market(close_days=80), category="rates") == ()
    assert fails(market(close_days=80), category="economics") == ("expiry_window",)


def test_activity_filter_needs_big_24h_volume_or_recent_trades_when_configured():
    from dataclasses import replace

    strict = replace(DISC, min_recent_trades=3)
    quiet = parse_market(market(volume_24h="9000"))
    assert prefilter(quiet, "economics", NOW, 2, strict, RULES) == ("no_recent_activity",)
    assert prefilter(quiet, "economics", NOW, 3, strict, RULES) == ()
    busy = parse_market(market(volume_24h="10000"))
    assert prefilter(busy, "economics", NOW, 0, strict, RULES) == ()


@pytest.mark.parametrize("days,penalty", [(0.5, 1.0), (1, 1.0), (30.5, 0.5), (60, 0.0), (90, 0.0), (None, 1.0)])
def test_time_penalty_is_one_under_a_day_zero_over_sixty_linear_between(days, penalty):
    assert time_penalty(days, DISC) == pytest.approx(penalty)


@pytest.mark.parametrize("value,band", [(0.0, "very_low"), (0.24, "very_low"), (0.25, "low"), (0.5, "medium"), (0.75, "high"), (1.0, "high")])
def test_volume_bands(value, band):
    assert volume_band(value, DISC) == band


def test_score_is_the_weighted_sum_of_min_max_normalised_features():
    best = parse_market(market("KX-BEST", volume_24h="30000", bid_size="1000", ask_size="1000", bid="0.49", ask="0.50", close_days=60))
    worst = parse_market(market("KX-WORST", volume_24h="10000", bid_size="10", ask_size="10", bid="0.40", ask="0.50", close_days=1))
    middle = parse_market(market("KX-MID", volume_24h="20000", bid_size="505", ask_size="505", bid="0.445", ask="0.50", close_days=30.5))
    volume_1h = {"KX-BEST": D(500), "KX-MID": D(250), "KX-WORST": D(0)}
    scored = score_markets([worst, middle, best], volume_1h, NOW, DISC)
    assert [s.market.ticker for s in scored] == ["KX-BEST", "KX-MID", "KX-WORST"]
    assert [s.rank for s in scored] == [1, 2, 3]
    assert scored[0].score == pytest.approx(0.30 + 0.25 + 0.20)  # all best, no penalty
    assert scored[2].score == pytest.approx(-0.15 - 0.10)  # all worst, full penalty
    assert scored[0].volume_band == "high" and scored[2].volume_band == "very_low"
    assert scored[0].sigma_proxy == D("0.05") * (1 + 2 * D("0.495") * D("0.505"))


def test_selection_needs_the_minimum_24h_volume_and_keeps_the_top_n():
    from dataclasses import replace

    markets = [parse_market(market(f"KX-{i:02d}", volume_24h=str(1000 * i))) for i in range(1, 31)]
    scored = score_markets(markets, {}, NOW, replace(DISC, top_n=20))
    selected = [s.market.ticker for s in scored if s.selected]
    assert selected == [f"KX-{i:02d}" for i in range(30, 10, -1)]
    assert all(not s.selected for s in scored if s.market.volume_24h_dollars < 5000)
    few = score_markets(markets[:6], {}, NOW, DISC)  # 1000..6000: only 5000 and 6000 qualify
    assert [s.market.ticker for s in few if s.selected] == ["KX-06", "KX-05"]


def test_equal_features_normalise_to_one_half_and_ties_break_by_ticker():
    scored = score_markets([parse_market(market("KX-B")), parse_market(market("KX-A"))], {}, NOW, DISC)
    assert [s.market.ticker for s in scored] == ["KX-A", "KX-B"]
    assert scored[0].score == pytest.approx(0.5 * (0.30 + 0.25 + 0.20 - 0.15) - 0.10 * time_penalty(10.0, DISC))


def test_a_listing_is_a_function_of_the_fields_named_in_listing_fields():
    """The scanner reuses a polled market's listing while these fields repeat: parse_market
    must read nothing else."""
    read: list[str] = []

    class Recording(dict):
        def get(self, key, default=None):
            read.append(key)
            return super().get(key, default)

    parse_market(Recording(market(title="T", created_time=rfc3339_from_ns(NOW))))
    assert set(read) <= set(LISTING_FIELDS)
