"""Scanner: discovery, scoring, dynamic market config, volatility events, regimes."""

from ._actor import ScannerActor
from ._discovery import MarketListing, parse_market, prefilter, score_markets, time_penalty, volume_band
from ._market_config import Budgets, blend_sigma, build_market_config, max_exposure, price_band, sigma_proxy
from ._profiles import CategoryProfiles, EffectiveProfile
from ._regimes import RegimeTracker, classify, drift_z, mean_reversion_score, realised_sigma
from ._scanner import RestRead, RetryDiscovery, ScannerCore, Subscribe
from ._selection import MarketCandidate, rank_markets
from ._volatility import MarketFacts, PriceHistory, PricePoint, check_event, ended_reason

__all__ = [
    "ScannerActor",
    "ScannerCore",
    "RestRead",
    "Subscribe",
    "RetryDiscovery",
    "MarketListing",
    "parse_market",
    "prefilter",
    "score_markets",
    "time_penalty",
    "volume_band",
    "Budgets",
    "blend_sigma",
    "build_market_config",
    "max_exposure",
    "price_band",
    "sigma_proxy",
    "CategoryProfiles",
    "EffectiveProfile",
    "RegimeTracker",
    "classify",
    "drift_z",
    "mean_reversion_score",
    "realised_sigma",
    "MarketFacts",
    "PriceHistory",
    "PricePoint",
    "check_event",
    "ended_reason",
    "MarketCandidate",
    "rank_markets",
]
