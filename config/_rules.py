"""Cross-field rules of the maker's model settings, and the names they accept.

They live in config so that config validates itself without importing actors; the
maker's models import them from here (build_quoting_model / build_fair_value refuse a
config these rules reject, e.g. one built with dataclasses.replace that skipped loading).
The names must match the models the maker implements (a test holds them equal).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:  # annotations only: _schema imports the names below
    from ._schema import FairValueConfig, FeedsConfig, HybridConfig, QuoteModelConfig

__all__ = [
    "QUOTING_MODELS",
    "FAIR_VALUE_SOURCES",
    "model_config_problems",
    "fair_value_config_problems",
    "profile_model_problems",
    "is_loopback_host",
    "status_host_problem",
    "FEED_OFF",
    "FAIR_VALUE_FEEDS",
    "feeds_config_problems",
    "reference_token_map",
    "fair_value_feed_problem",
]

QUOTING_MODELS = ("avellaneda_stoikov", "glft", "fixed_spread", "nhl_hybrid")  # maker.model.name
FAIR_VALUE_SOURCES = ("book_mid", "microprice", "ewma", "reference_blend", "model_nd2")  # maker.fair_value.source


def model_config_problems(cfg: QuoteModelConfig) -> list[str]:
    """Cross-field checks of maker.model the per-field schema cannot express."""
    problems = []
    if cfg.name not in QUOTING_MODELS:
        problems.append(f"maker.model.name: unknown quoting model {cfg.name!r}; one of {', '.join(QUOTING_MODELS)}")
    if cfg.decay_skew_at_1 > cfg.decay_skew_at_2:
        problems.append("maker.model.decay_skew_at_1: must not exceed decay_skew_at_2")
    if cfg.decay_late_left_2 > cfg.decay_late_left_1:
        problems.append("maker.model.decay_late_left_2: must not exceed decay_late_left_1")
    if cfg.decay_extreme_low >= cfg.decay_extreme_high:
        problems.append("maker.model.decay_extreme_low: must be below decay_extreme_high")
    return problems


def profile_model_problems(model: QuoteModelConfig, hybrid: HybridConfig) -> list[str]:
    """The nhl_hybrid model and the risk governor's hybrid policy must agree on when
    quoting turns one-sided: a model threshold above the governor's would keep placing
    building orders the governor refuses (reduce-only beyond its threshold)."""
    if model.name != "nhl_hybrid" or model.nhl_one_sided_above <= hybrid.skew_threshold_contracts:
        return []
    return [
        f"maker.model.nhl_one_sided_above: {model.nhl_one_sided_above} must not exceed "
        f"risk.hybrid.skew_threshold_contracts ({hybrid.skew_threshold_contracts}) with maker.model.name nhl_hybrid"
    ]


def fair_value_config_problems(fv: FairValueConfig) -> list[str]:
    """Cross-field checks of maker.fair_value the per-field schema cannot express."""
    problems = []
    if fv.source not in FAIR_VALUE_SOURCES:
        problems.append(f"maker.fair_value.source: unknown {fv.source!r}; one of {', '.join(FAIR_VALUE_SOURCES)}")
    if fv.nd2_min >= fv.nd2_max:
        problems.append("maker.fair_value.nd2_min: must be below nd2_max")
    if fv.reference_narrow_spread >= fv.reference_wide_spread:
        problems.append("maker.fair_value.reference_narrow_spread: must be below reference_wide_spread")
    return problems


def is_loopback_host(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1 (an IP literal or the name localhost; no other name)."""
    text = host.strip().strip("[]").rstrip(".").lower()
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def status_host_problem(host: object, allow_remote: bool = False) -> str | None:
    """Why `status.host` is refused, or None. The status server speaks plain HTTP and its GET
    needs no token: it listens on loopback only, unless `allow_remote` says otherwise."""
    if not isinstance(host, str) or not host.strip():
        return "status.host: must be a host name or IP address, e.g. 127.0.0.1"
    if is_loopback_host(host) or allow_remote:
        return None
    return (
        f"status.host: {host!r} is not a loopback address; the status server (plain HTTP, status "
        "readable without a token) listens on 127.0.0.1, ::1 or localhost only "
        "(set status.allow_remote: true to listen elsewhere)"
    )


# -- outside price feeds (feeds.*) -----------------------------------------------------------
FEED_OFF = "off"  # feeds.polymarket_url / feeds.binance_url: the venue is not used in any mode
# the outside feed each fair-value source cannot do without (maker.fair_value.source -> venue)
FAIR_VALUE_FEEDS = {"reference_blend": "polymarket", "model_nd2": "binance"}
# venue -> (its key under feeds, the URL schemes it is read over: secure first)
_FEED_URLS = {"polymarket": ("polymarket_url", ("https", "http")), "binance": ("binance_url", ("wss", "ws"))}
_EXCHANGE_DOMAINS = ("kalshi.com", "kalshi.co")  # the bug this guards: feeds derived from the exchange's host


def feed_url_problem(key: str, value: str, schemes: tuple[str, str]) -> str | None:
    """Why feeds.<key> is refused, or None. `value` is "off" or the venue's root URL
    (scheme, host, optional port and path prefix; no credentials, query or fragment)."""
    secure, plain = schemes
    got = f"(got {value!r})"
    text = value.strip()
    if text == FEED_OFF:
        return None
    try:
        parts = urlsplit(text)
        port = parts.port  # a bad port raises here
    except ValueError as exc:
        return f"feeds.{key}: not a URL: {exc} {got}"
    if parts.scheme not in schemes or not parts.hostname:
        return f"feeds.{key}: expected {secure}://host[:port][/path] or {FEED_OFF!r} {got}"
    if parts.username is not None or parts.password is not None:
        # never echo them: a credential must not reach a log or a terminal
        shown = f"{parts.scheme}://<credentials>@{parts.netloc.rpartition('@')[2]}{parts.path}"
        return f"feeds.{key}: must not carry credentials (user:password@) (got {shown!r})"
    if parts.query or parts.fragment or text.endswith("?") or text.endswith("#"):
        return f"feeds.{key}: the venue's root URL takes no query or fragment {got}"
    host = parts.hostname.rstrip(".").lower()
    if any(host == domain or host.endswith("." + domain) for domain in _EXCHANGE_DOMAINS):
        return f"feeds.{key}: {host} is the Kalshi exchange, not the outside venue {got}"
    if parts.scheme == plain and not is_loopback_host(host):
        return f"feeds.{key}: plain {plain}:// to {host}; use {secure}:// ({plain} only to loopback, e.g. a local mmd sim) {got}"
    if port == 0:
        return f"feeds.{key}: port 0 {got}"
    return None


def reference_token_map(pairs: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """feeds.reference_tokens ("TICKER=token_id", ...) -> ({ticker: token_id}, problems)."""
    tokens: dict[str, str] = {}
    problems = []
    for i, pair in enumerate(pairs):
        ticker, sep, token = pair.partition("=")
        if not sep or not ticker.strip() or not token.strip():
            problems.append(f"feeds.reference_tokens[{i}]: expected TICKER=token_id, got {pair!r}")
            continue
        tokens[ticker.strip()] = token.strip()
    return tokens, problems


def feeds_config_problems(feeds: FeedsConfig) -> list[str]:
    """Cross-field checks of feeds: the venues' URLs and the token pairs."""
    problems = []
    for key, schemes in _FEED_URLS.values():
        problem = feed_url_problem(key, getattr(feeds, key), schemes)
        if problem:
            problems.append(problem)
    problems.extend(reference_token_map(feeds.reference_tokens)[1])
    if feeds.spot_reconnect_base_s > feeds.spot_reconnect_cap_s:
        problems.append("feeds.spot_reconnect_base_s: must not exceed feeds.spot_reconnect_cap_s")
    return problems


def fair_value_feed_problem(source: str, feeds: FeedsConfig, ticker: str) -> str:
    """Why a market on `ticker` cannot have the fair value `source` names, for want of an
    outside feed ("" when it can, or needs none). The run must not quote it: the fair
    value would silently be the Kalshi book alone."""
    venue = FAIR_VALUE_FEEDS.get(source)
    if venue is None:
        return ""
    key, _schemes = _FEED_URLS[venue]
    needs = f"fair value ({source}) needs the {venue} feed, not configured"
    if getattr(feeds, key).strip() == FEED_OFF:
        return f"{needs} (feeds.{key}: {FEED_OFF})"
    if venue == "polymarket" and ticker not in reference_token_map(feeds.reference_tokens)[0]:
        return f"{needs} for this market (no feeds.reference_tokens entry {ticker}=<token id>)"
    if venue == "binance" and not feeds.spot_symbols:
        return f"{needs} (feeds.spot_symbols is empty)"
    return ""
