"""Discovery (SPEC 6): parse the open-market listing, pre-filter, measure, score, select.

Money conventions: a contract's notional is $1 (`notional_value_dollars`), so dollar
volume = contracts × notional; liquidity (dollars) = what rests at the touch:
bid size × bid price + ask size × (1 − ask price) (the NO side's collateral).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from config import DiscoveryConfig, MarketConfigRules, VolatilityScanConfig
from kernel.clock import NS_PER_SECOND
from kalshi.wire import WireFormatError, ns_from_rfc3339, parse_count, parse_dollars

from ._market_config import price_band, sigma_proxy
from ._profiles import by_category, in_categories

__all__ = [
    "MarketListing",
    "parse_market",
    "LISTING_FIELDS",
    "prefilter",
    "track_filter",
    "ScoredCandidate",
    "score_markets",
    "time_penalty",
    "volume_band",
    "DAY_NS",
]

ZERO = Decimal(0)
ONE = Decimal(1)
DAY_NS = 86_400 * NS_PER_SECOND
HOUR_NS = 3_600 * NS_PER_SECOND
_LIVE_STATUSES = ("active", "open")


@dataclass(frozen=True, slots=True)
class MarketListing:
    ticker: str
    event_ticker: str
    series_ticker: str
    title: str
    status: str
    market_type: str
    created_ns: int | None
    close_ns: int | None
    yes_bid: Decimal | None
    yes_ask: Decimal | None
    bid_size: Decimal
    ask_size: Decimal
    last_price: Decimal | None
    volume: Decimal
    volume_24h: Decimal
    notional: Decimal

    @property
    def spread(self) -> Decimal | None:
        if self.yes_bid is None or self.yes_ask is None:
            return None
        return self.yes_ask - self.yes_bid

    @property
    def mid(self) -> Decimal | None:
        if self.yes_bid is not None and self.yes_ask is not None:
            return (self.yes_bid + self.yes_ask) / 2
        return self.last_price

    @property
    def liquidity(self) -> Decimal:
        bid = self.bid_size * self.yes_bid if self.yes_bid is not None else ZERO
        ask = self.ask_size * (ONE - self.yes_ask) if self.yes_ask is not None else ZERO
        return bid + ask

    @property
    def depth(self) -> Decimal:
        return (self.bid_size if self.yes_bid is not None else ZERO) + (
            self.ask_size if self.yes_ask is not None else ZERO
        )

    @property
    def volume_24h_dollars(self) -> Decimal:
        return self.volume_24h * self.notional

    def days_to_expiry(self, now_ns: int) -> float | None:
        return None if self.close_ns is None else (self.close_ns - now_ns) / DAY_NS


def _time(market: Mapping[str, object], key: str) -> int | None:
    value = market.get(key)
    if not value:
        return None
    if not isinstance(value, str):
        raise WireFormatError(f"{key}: expected an RFC3339 string, got {value!r}")
    try:
        return ns_from_rfc3339(value)
    except ValueError:
        raise WireFormatError(f"{key}: not an RFC3339 time: {value!r}") from None


def _price(market: Mapping[str, object], key: str) -> Decimal | None:
    value = market.get(key)
    return None if value in (None, "") else parse_dollars(value, key)


def _count(market: Mapping[str, object], key: str) -> Decimal:
    value = market.get(key)
    return ZERO if value in (None, "") else parse_count(value, key)


# every field parse_market reads: a listing is a function of these alone
LISTING_FIELDS = (
    "ticker", "event_ticker", "series_ticker", "title", "yes_sub_title", "status", "market_type", "open_time",
    "created_time", "close_time", "yes_bid_dollars", "yes_ask_dollars", "yes_bid_size_fp", "yes_ask_size_fp",
    "last_price_dollars", "volume_fp", "volume_24h_fp", "notional_value_dollars",
)


def parse_market(market: object) -> MarketListing:
    """One Market object of GET /markets. Raises ValueError with the reason when unusable."""
    if not isinstance(market, Mapping):  # a REST read's markets are frozen (read-only mappings)
        raise ValueError(f"market entry is not an object: {type(market).__name__}")
    ticker = market.get("ticker")
    if not isinstance(ticker, str) or not ticker:
        raise ValueError("market without a ticker")
    bid = _price(market, "yes_bid_dollars")
    ask = _price(market, "yes_ask_dollars")
    # an empty side is listed as bid 0 / ask 1: no quote there
    bid = None if bid is not None and bid <= 0 else bid
    ask = None if ask is not None and ask >= 1 else ask
    last = _price(market, "last_price_dollars")
    notional = _price(market, "notional_value_dollars") or ONE
    return MarketListing(
        ticker=ticker,
        event_ticker=str(market.get("event_ticker") or ""),
        series_ticker=str(market.get("series_ticker") or ""),
        title=str(market.get("title") or market.get("yes_sub_title") or ""),
        status=str(market.get("status") or ""),
        market_type=str(market.get("market_type") or "binary"),
        created_ns=_time(market, "open_time") or _time(market, "created_time"),
        close_ns=_time(market, "close_time"),
        yes_bid=bid,
        yes_ask=ask,
        bid_size=_count(market, "yes_bid_size_fp"),
        ask_size=_count(market, "yes_ask_size_fp"),
        last_price=None if last is None or last <= 0 else last,
        volume=_count(market, "volume_fp"),
        volume_24h=_count(market, "volume_24h_fp"),
        notional=notional,
    )


def prefilter(
    market: MarketListing,
    category: str,
    now_ns: int,
    recent_trades: int,
    config: DiscoveryConfig,
    rules: MarketConfigRules,
    *,
    skip_price_bands: Iterable[str] | None = None,
) -> tuple[str, ...]:
    """Names of the pre-filters the market fails; () = it passes."""
    failed = []
    if market.market_type != "binary":
        failed.append("not_binary")
    if market.status not in _LIVE_STATUSES:
        failed.append("not_active")
    if market.created_ns is not None and now_ns - market.created_ns < config.min_age_s * NS_PER_SECOND:
        failed.append("too_new")
    window = by_category(config.time_windows, category)
    if market.close_ns is None:
        failed.append("no_close_time")
    else:
        left = market.close_ns - now_ns
        if left < window.min_hours * HOUR_NS or left > window.max_days * DAY_NS:
            failed.append("expiry_window")
    if in_categories(category, config.excluded_categories):
        failed.append("category_excluded")
    if market.volume_24h_dollars < config.activity_bypass_volume_24h_dollars and recent_trades < config.min_recent_trades:
        failed.append("no_recent_activity")
    mid = market.mid
    bands = config.skip_price_bands if skip_price_bands is None else tuple(skip_price_bands)
    if mid is None:
        failed.append("no_price")
    elif price_band(mid, rules) in bands:
        failed.append("extreme_price")
    return tuple(failed)


def track_filter(
    market: MarketListing,
    category: str | None,
    now_ns: int,
    recent_trades: int,
    discovery: DiscoveryConfig,
    volatility: VolatilityScanConfig,
) -> tuple[str, ...]:
    """Names of the tracked-set filters the market fails; () = it may be tracked.

    The volatility scanner's own filter (seed 001 3.6: binary, active, scored by activity),
    not discovery's expiry windows: binary; live; discovery's activity rule; category known
    (None: the lookup has not answered yet) and not in discovery's excluded categories;
    time to expiry within [tracked_min_hours_to_expiry, tracked_max_hours_to_expiry].
    """
    failed = []
    if market.market_type != "binary":
        failed.append("not_binary")
    if market.status not in _LIVE_STATUSES:
        failed.append("not_active")
    if market.volume_24h_dollars < discovery.activity_bypass_volume_24h_dollars and recent_trades < discovery.min_recent_trades:
        failed.append("no_recent_activity")
    if category is None:
        failed.append("category_unknown")
    elif in_categories(category, discovery.excluded_categories):
        failed.append("category_excluded")
    if market.close_ns is None:
        failed.append("no_close_time")
    else:
        left = market.close_ns - now_ns
        if left <= 0 or left < volatility.tracked_min_hours_to_expiry * HOUR_NS or left > volatility.tracked_max_hours_to_expiry * HOUR_NS:
            failed.append("expiry_window")
    return tuple(failed)


def time_penalty(days_to_expiry: float | None, config: DiscoveryConfig) -> float:
    """1 under `time_penalty_full_days`, 0 over `time_penalty_zero_days`, linear between."""
    if days_to_expiry is None:
        return 1.0
    full, zero = config.time_penalty_full_days, config.time_penalty_zero_days
    if days_to_expiry <= full:
        return 1.0
    if days_to_expiry >= zero:
        return 0.0
    return (zero - days_to_expiry) / (zero - full)


def volume_band(normalised_volume: float, config: DiscoveryConfig) -> str:
    names = ("very_low", "low", "medium", "high")
    for name, edge in zip(names, config.volume_bands):
        if normalised_volume < edge:
            return name
    return names[min(len(config.volume_bands), len(names) - 1)]


def _normalise(values: list[float]) -> list[float]:
    lo, hi = min(values), max(values)
    if hi == lo:
        return [0.5] * len(values)  # nothing to tell apart (one market, all equal): the middle, not the worst
    return [(v - lo) / (hi - lo) for v in values]


@dataclass(frozen=True, slots=True)
class ScoredCandidate:
    market: MarketListing
    score: float
    rank: int
    volume_band: str
    sigma_proxy: Decimal
    eligible: bool  # meets the minimum 24 h volume
    selected: bool


def score_markets(
    markets: list[MarketListing],
    volume_1h_dollars: Mapping[str, Decimal],
    now_ns: int,
    config: DiscoveryConfig,
    top_n: int | None = None,
) -> list[ScoredCandidate]:
    """Min-max normalised composite score over `markets`, best first (ties by ticker)."""
    if not markets:
        return []
    w = config.weights
    v24 = _normalise([float(m.volume_24h_dollars) for m in markets])
    v1h = _normalise([float(volume_1h_dollars.get(m.ticker, ZERO)) for m in markets])
    liq = _normalise([float(m.liquidity) for m in markets])
    spr = _normalise([float(m.spread if m.spread is not None else ONE) for m in markets])
    rows = []
    for i, m in enumerate(markets):
        penalty = time_penalty(m.days_to_expiry(now_ns), config)
        score = w.volume_24h * v24[i] + w.volume_1h * v1h[i] + w.liquidity * liq[i] - w.spread * spr[i] - w.time_penalty * penalty
        rows.append((round(score, 9), m, v24[i]))
    rows.sort(key=lambda r: (-r[0], r[1].ticker))
    limit = config.top_n if top_n is None else top_n
    result, chosen = [], 0
    for rank, (score, m, norm_volume) in enumerate(rows, start=1):
        eligible = m.volume_24h_dollars >= config.min_volume_24h_dollars
        selected = eligible and chosen < limit
        chosen += selected
        mid = m.mid if m.mid is not None else Decimal("0.5")
        result.append(
            ScoredCandidate(m, score, rank, volume_band(norm_volume, config), sigma_proxy(mid, config.sigma_base), eligible, selected)
        )
    return result
