"""Dynamic market config: exposure, price bands, one-sided extremes, long-dated haircut,
k and gamma by category and regime, sigma blending and clamping, profile overrides."""

from decimal import Decimal as D

import pytest

from actors.scanner import Budgets, CategoryProfiles, blend_sigma, build_market_config, max_exposure, price_band, sigma_proxy
from config import load_config
from messages import QuoteSides

SCANNER = load_config().scanner
RULES = SCANNER.market_config
PROFILES = CategoryProfiles(SCANNER)
BUDGETS = Budgets(per_market=D("8"), global_budget=D("60"))


def build(**kw):
    args = dict(ticker="KX-A", category="economics", mid=D("0.50"), liquidity=D("400"), days_to_expiry=10.0,
                close_ts=123, regime="MEAN_REVERTING", event_sigma=D("0.03"), jump=D("0.02"), active_markets=1,
                budgets=BUDGETS, rules=RULES, regimes=SCANNER.regimes, profiles=PROFILES, sigma_base=SCANNER.discovery.sigma_base)
    args.update(kw)
    return build_market_config(**args)


def test_exposure_is_the_smallest_of_the_four_limits():
    assert max_exposure(D(4), "economics", 1, BUDGETS, RULES) == D("2.00")  # 0.1 * sqrt(400 cents)
    assert max_exposure(D(100), "economics", 1, BUDGETS, RULES) == D("8.00")  # per-market cap (10 > 8)
    assert max_exposure(D(100), "economics", 10, BUDGETS, RULES) == D("6.00")  # 60 / 10 markets
    tight = Budgets(per_market=D(100), global_budget=D(1000))
    assert max_exposure(D(100), "crypto", 1, tight, RULES) == D("8.00")  # category cap
    assert max_exposure(D("0.30"), "economics", 1, BUDGETS, RULES) == D("0.54")  # 0.1 * sqrt(30 cents) = 0.5477, down to the cent


@pytest.mark.parametrize("mid,band", [("0.15", "normal"), ("0.50", "normal"), ("0.85", "normal"), ("0.14", "soft_extreme"),
                                      ("0.05", "soft_extreme"), ("0.95", "soft_extreme"), ("0.04", "hard_extreme"), ("0.96", "hard_extreme")])
def test_price_bands(mid, band):
    assert price_band(D(mid), RULES) == band


def test_extremes_shrink_size_and_hard_extremes_quote_one_side():
    normal, soft = build(), build(mid=D("0.10"))
    cheap, dear = build(mid=D("0.03")), build(mid=D("0.97"))
    assert (normal.size_factor, normal.quote_sides) == (D(1), QuoteSides.BOTH)
    assert (soft.size_factor, soft.quote_sides, soft.price_band) == (D("0.3"), QuoteSides.BOTH, "soft_extreme")
    assert (cheap.size_factor, cheap.quote_sides) == (D("0.1"), QuoteSides.BID_ONLY)  # buy YES only when cheap
    assert (dear.size_factor, dear.quote_sides) == (D("0.1"), QuoteSides.ASK_ONLY)  # sell YES only when expensive


def test_long_dated_markets_get_a_haircut():
    assert build(days_to_expiry=31.0).size_factor == D("0.7") and build(days_to_expiry=31.0).long_dated
    assert build(days_to_expiry=30.0).size_factor == D(1)
    assert build(days_to_expiry=31.0, mid=D("0.10")).size_factor == D("0.3") * D("0.7")


@pytest.mark.parametrize("category,k", [("economics", "1.5"), ("sports", "2.0"), ("rates", "1.2"), ("crypto", "1.8"), ("weather", "1.5")])
def test_k_by_category_times_the_regime_multiplier(category, k):
    assert build(category=category).k == D(k) * D("1.0")
    assert build(category=category, regime="QUIET").k == D(k) * D("0.7")


def test_gamma_multiplier_comes_from_the_regime_and_no_regime_reads_as_unknown():
    assert build(regime="QUIET").gamma_multiplier == D("0.8")
    config = build(regime=None)
    assert (config.regime, config.gamma_multiplier, config.k) == ("UNKNOWN", D("1.5"), D("1.5") * D("0.5"))


def test_sigma_blend_uses_the_profile_weight_and_ignores_event_sigma_after_a_jump():
    estimated = sigma_proxy(D("0.50"), D("0.05"))
    assert estimated == D("0.075")
    # mean_reverting profile: weight 0.5
    assert build(event_sigma=D("0.03"), jump=D("0.02")).sigma == (D("0.5") * estimated + D("0.5") * D("0.03")).quantize(D("0.000001"))
    # a 10-cent jump: event sigma ignored
    assert build(event_sigma=D("0.03"), jump=D("-0.10")).sigma == estimated
    # crypto (medium_trending) in MEAN_REVERTING: the regime override's 0.3
    assert build(category="crypto", event_sigma=D("0.03")).sigma == (D("0.7") * estimated + D("0.3") * D("0.03")).quantize(D("0.000001"))


def test_sigma_is_clamped():
    assert blend_sigma(D("0.2"), None, D(0), D("0.5"), RULES) == D("0.08")
    assert blend_sigma(D("0.001"), D("0.001"), D(0), D("0.5"), RULES) == D("0.005")


def test_profiles_set_spreads_with_regime_overrides():
    assert (build().min_spread, build().max_spread, build().profile) == (D("0.02"), D("0.04"), "mean_reverting")
    assert build(regime="QUIET").min_spread == D("0.015")  # mean_reverting QUIET override
    crypto = build(category="crypto", regime="TRENDING")
    assert (crypto.profile, crypto.min_spread, crypto.max_spread, crypto.size_factor) == ("medium_trending", D("0.06"), D("0.12"), D("0.5"))
    assert build(category="sports").profile == "hard_trending"
    assert build(category="tech").min_spread == D("0.04") and build(category="tech").max_spread == D("0.12")


def test_profile_exclusion_per_regime():
    assert PROFILES.effective("sports", None).exclude  # hard_trending excluded outright
    assert not PROFILES.effective("rates", "MEAN_REVERTING").exclude
    assert PROFILES.effective("rates", "TRENDING").exclude
    assert PROFILES.effective("rates", "NOISE").max_position_factor == D(0)
    assert PROFILES.effective("", None).name == "mean_reverting"  # unknown category: default profile
