"""Frozen configuration objects. Field types drive validation in config._loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "Config",
    "PathsConfig",
    "ExchangeConfig",
    "PaperConfig",
    "RestConfig",
    "WsConfig",
    "MarketStateConfig",
    "ScannerConfig",
    "SupervisorConfig",
    "MakerConfig",
    "RiskConfig",
    "AnalyticsConfig",
    "StatusConfig",
    "MODES",
]

MODES = ("paper", "demo", "prod", "backtest")

frozen = dataclass(frozen=True, slots=True, kw_only=True)


def positive(v) -> str | None:
    return None if v > 0 else "must be > 0"


def non_negative(v) -> str | None:
    return None if v >= 0 else "must be >= 0"


def price(v) -> str | None:
    return None if Decimal("0") <= v <= Decimal("1") else "must be a dollar price within [0, 1]"


def one_of(*allowed):
    def rule(v) -> str | None:
        return None if v in allowed else f"must be one of {', '.join(allowed)}"

    return rule


def check(*rules):
    return field(metadata={"checks": rules})


@frozen
class PathsConfig:
    data_dir: str
    database: str


@frozen
class ExchangeConfig:
    prod_rest_url: str
    prod_ws_url: str
    demo_rest_url: str
    demo_ws_url: str


@frozen
class PaperConfig:
    host: str
    port: int = check(non_negative)
    seed: int
    balance_dollars: Decimal = check(positive)


@frozen
class RestConfig:
    read_tokens_per_s: int = check(positive)
    write_tokens_per_s: int = check(positive)
    read_bucket_s: float = check(positive)
    write_bucket_s: float = check(positive)
    default_cost: int = check(positive)
    cancel_cost: int = check(positive)
    timeout_s: float = check(positive)
    max_attempts: int = check(positive)
    backoff_base_s: float = check(positive)
    backoff_cap_s: float = check(positive)
    workers: int = check(positive)


@frozen
class WsConfig:
    reconnect_base_s: float = check(positive)
    reconnect_cap_s: float = check(positive)
    ping_interval_s: float = check(positive)
    liveness_timeout_s: float = check(positive)


@frozen
class MarketStateConfig:
    ticker_stale_s: float = check(positive)
    book_stale_s: float = check(positive)
    trade_buffer: int = check(positive)
    history_window_s: float = check(positive)
    history_max_points: int = check(positive)


@frozen
class ScannerConfig:
    tickers: tuple[str, ...]
    max_markets: int = check(positive)
    status: str


@frozen
class SupervisorConfig:
    max_concurrent_sessions: int = check(positive)
    session_ttl_s: float = check(non_negative)


@frozen
class MakerConfig:
    warmup_s: float = check(non_negative)
    requote_interval_s: float = check(positive)
    base_size: int = check(positive)
    max_position: int = check(positive)
    gamma: float = check(positive)
    kappa: float = check(positive)
    sigma: float = check(positive)
    horizon_s: float = check(positive)
    min_spread: Decimal = check(price)
    max_spread: Decimal = check(price)
    keep_within: Decimal = check(price)
    tick: Decimal = check(positive, price)


@frozen
class RiskConfig:
    max_position_contracts: int = check(positive)
    per_market_budget_dollars: Decimal = check(positive)
    global_budget_dollars: Decimal = check(positive)
    min_price: Decimal = check(price)
    max_price: Decimal = check(price)
    max_order_contracts: int = check(positive)


@frozen
class AnalyticsConfig:
    flush_interval_s: float = check(positive)
    batch_size: int = check(positive)
    snapshot_interval_s: float = check(positive)


@frozen
class StatusConfig:
    host: str
    port: int = check(non_negative)
    print_interval_s: float = check(positive)


@frozen
class Config:
    mode: str = check(one_of(*MODES))
    paths: PathsConfig
    exchange: ExchangeConfig
    paper: PaperConfig
    rest: RestConfig
    ws: WsConfig
    market_state: MarketStateConfig
    scanner: ScannerConfig
    supervisor: SupervisorConfig
    maker: MakerConfig
    risk: RiskConfig
    analytics: AnalyticsConfig
    status: StatusConfig
