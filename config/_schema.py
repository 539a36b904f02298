"""Frozen configuration objects. Field types drive validation in config._loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ._rules import FAIR_VALUE_SOURCES, QUOTING_MODELS

__all__ = [
    "Config",
    "MetricsConfig",
    "AlertsConfig",
    "PathsConfig",
    "ExchangeConfig",
    "PaperConfig",
    "RestConfig",
    "WsConfig",
    "MarketStateConfig",
    "ScannerConfig",
    "DiscoveryConfig",
    "MarketConfigRules",
    "VolatilityScanConfig",
    "RegimeConfig",
    "CategoryProfileConfig",
    "RegimeOverrideConfig",
    "SupervisorConfig",
    "MakerConfig",
    "FairValueConfig",
    "ShockConfig",
    "QuoteModelConfig",
    "FeedsConfig",
    "MakerThrottleConfig",
    "MakerGuardrailConfig",
    "MakerExitConfig",
    "RiskConfig",
    "HybridConfig",
    "HybridPresetConfig",
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
    # the simulated exchange (simex) itself: `mmd sim` and paper mode
    rate_limit_tier: str = check(one_of("off", "basic", "advanced", "expert", "premier", "paragon", "prime", "prestige"))
    admin: bool
    ws_ping_interval_s: float = check(non_negative)
    ws_max_commands_per_s: int = check(positive)
    ws_max_markets_per_subscription: int = check(positive)
    ws_max_backlog_frames: int = check(positive)
    ws_sequence_trade_and_lifecycle: bool


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
    headroom_s: float = check(non_negative)
    unanswered_hold_s: float = check(non_negative)
    batch_max_items: int = check(positive)
    batch_gather_s: float = check(positive)


@frozen
class WsConfig:
    reconnect_base_s: float = check(positive)
    reconnect_cap_s: float = check(positive)
    ping_interval_s: float = check(positive)
    liveness_timeout_s: float = check(positive)
    silence_window_s: float = check(positive)


@frozen
class MarketStateConfig:
    ticker_stale_s: float = check(positive)
    book_stale_s: float = check(positive)
    trade_buffer: int = check(positive)
    history_window_s: float = check(positive)
    history_max_points: int = check(positive)


def optional(*rules):
    """A field that may be left out (None): per-regime overrides of a category profile."""
    return field(default=None, metadata={"checks": rules})


@frozen
class TimeWindowConfig:
    """scanner.discovery.time_windows.<category>: allowed time to expiry."""

    min_hours: float = check(non_negative)
    max_days: float = check(positive)


@frozen
class ScoringWeightsConfig:
    """scanner.discovery.weights: score = w.f over min-max normalised features."""

    volume_24h: float
    volume_1h: float
    liquidity: float
    spread: float  # subtracted: tighter is better
    time_penalty: float  # subtracted: near expiry is riskier


@frozen
class DiscoveryConfig:
    """scanner.discovery: SPEC 6 "Discovery" (seed 001 3.3-3.4)."""

    page_limit: int = check(positive)
    min_age_s: float = check(non_negative)
    time_windows: dict[str, TimeWindowConfig]  # must hold "default"
    excluded_categories: tuple[str, ...]
    activity_bypass_volume_24h_dollars: Decimal = check(non_negative)
    min_recent_trades: int = check(non_negative)
    recent_trades_window_s: float = check(positive)
    skip_price_bands: tuple[str, ...]
    sigma_base: Decimal = check(positive, price)
    weights: ScoringWeightsConfig
    time_penalty_full_days: float = check(non_negative)
    time_penalty_zero_days: float = check(positive)
    volume_bands: tuple[float, ...]
    min_volume_24h_dollars: Decimal = check(non_negative)
    top_n: int = check(positive)
    max_category_lookups: int = check(non_negative)


@frozen
class MarketConfigRules:
    """scanner.market_config: SPEC 6 "Dynamic market config" (seed 001 3.5)."""

    alpha: Decimal = check(positive)
    category_caps_dollars: dict[str, Decimal]  # must hold "default"
    normal_band_low: Decimal = check(price)
    normal_band_high: Decimal = check(price)
    hard_band_low: Decimal = check(price)
    hard_band_high: Decimal = check(price)
    soft_extreme_factor: Decimal = check(non_negative)
    hard_extreme_factor: Decimal = check(non_negative)
    long_dated_days: float = check(positive)
    long_dated_factor: Decimal = check(non_negative)
    k_by_category: dict[str, Decimal]  # must hold "default"
    jump_ignores_event_sigma: Decimal = check(price)
    default_sigma_blend: Decimal = check(price)
    sigma_floor: Decimal = check(positive, price)
    sigma_cap: Decimal = check(positive, price)


@frozen
class VolatilityScanConfig:
    """scanner.volatility: SPEC 6 "Volatility scanning" (seed 001 3.6)."""

    track_top: int = check(positive)
    sweep_cycle_s: float = check(positive)
    sweep_tick_s: float = check(positive)
    max_requests_per_s: int = check(positive)
    tickers_per_request: int = check(positive)
    rediscover_interval_s: float = check(positive)
    subscribe_tracked: bool
    ws_fresh_s: float = check(positive)
    sample_interval_s: float = check(positive)
    history_window_s: float = check(positive)
    max_points: int = check(positive)
    min_points: int = check(positive)
    excluded_categories: tuple[str, ...]
    max_spread: Decimal = check(price)
    jump_threshold: Decimal = check(positive, price)
    jump_window_s: float = check(positive)
    sigma_threshold: Decimal = check(positive, price)
    sigma_window_s: float = check(positive)
    mean_window_s: float = check(positive)
    mean_reversion_tolerance: Decimal = check(price)
    min_volume_24h_dollars: Decimal = check(non_negative)
    allowed_regimes: tuple[str, ...]
    direction_threshold: Decimal = check(price)
    tracked_min_hours_to_expiry: float = check(non_negative)
    tracked_max_hours_to_expiry: float = check(positive)
    sigma_floor: Decimal = check(non_negative)
    rearm_cooldown_s: float = check(non_negative)


@frozen
class RegimeConfig:
    """scanner.regimes: SPEC 6 "Regimes"."""

    window_s: float = check(positive)
    min_observations: int = check(positive)
    drift_threshold: Decimal = check(positive)
    drift_threshold_by_profile: dict[str, Decimal]
    drift_min_sigma: Decimal = check(positive)
    jump_step: Decimal = check(positive)
    jump_retrace: Decimal = check(price)
    min_sigma: Decimal = check(non_negative)
    mean_reversion_good: Decimal = check(price)
    mean_reversion_bad: Decimal = check(price)
    mean_reversion_lag: int = check(positive)
    depth_threshold: Decimal = check(non_negative)
    noise_spread_min: Decimal = check(price)
    noise_spread_max: Decimal = check(price)
    stability_required: int = check(positive)
    publish_interval_s: float = check(positive)
    event_publish_s: float = check(positive)
    stale_s: float = check(positive)
    gamma_multipliers: dict[str, Decimal]
    k_multipliers: dict[str, Decimal]


@frozen
class RegimeOverrideConfig:
    """scanner.profiles.<name>.by_regime.<REGIME>: only what it names changes."""

    exclude: bool | None = None
    sigma_blend: Decimal | None = optional(price)
    spread_tight: Decimal | None = optional(price)
    spread_wide: Decimal | None = optional(price)
    max_position_factor: Decimal | None = optional(non_negative)


@frozen
class CategoryProfileConfig:
    """scanner.profiles.<name>: a behavioural class of categories (seed 001)."""

    sigma_blend: Decimal = check(price)
    spread_tight: Decimal = check(price)
    spread_wide: Decimal = check(price)
    exclude: bool
    max_position_factor: Decimal = check(non_negative)
    by_regime: dict[str, RegimeOverrideConfig]


@frozen
class ScannerConfig:
    tickers: tuple[str, ...]
    max_markets: int = check(positive)
    status: str
    style: str = check(one_of("volatility", "discovery"))
    model_version: str
    retry_after_s: float = check(positive)
    discovery: DiscoveryConfig
    market_config: MarketConfigRules
    volatility: VolatilityScanConfig
    regimes: RegimeConfig
    profiles: dict[str, CategoryProfileConfig]
    categories: dict[str, str]  # category (lower case) -> profile; "default" for the rest


@frozen
class SupervisorConfig:
    max_concurrent_sessions: int = check(positive)
    session_ttl_s: float = check(non_negative)
    explicit_session_ttl_s: float = check(non_negative)
    explicit_restart_s: float = check(non_negative)
    close_buffer_s: float = check(non_negative)
    min_available_balance_dollars: Decimal = check(non_negative)
    max_resting_order_value_dollars: Decimal = check(positive)
    balance_hysteresis_ratio: Decimal = check(positive)
    balance_poll_interval_s: float = check(positive)
    regime_wait_s: float = check(non_negative)
    allowed_regimes: tuple[str, ...]
    pending_event_max_age_s: float = check(positive)
    regime_stale_s: float = check(positive)
    sigma_floor: Decimal = check(non_negative)
    regime_kill_enabled: bool
    regime_kill_requires_adverse_selection: bool
    soft_kill_regimes: tuple[str, ...]
    hard_kill_regimes: tuple[str, ...]
    exit_timeout_s: float = check(positive)
    monitor_interval_s: float = check(positive)
    close_time_retry_s: float = check(positive)
    max_long_lived_sessions: int = check(positive)


@frozen
class FairValueConfig:
    """maker.fair_value: which fair-value source a maker quotes around (SPEC 8)."""

    source: str = check(one_of(*FAIR_VALUE_SOURCES))
    ewma_halflife_s: float = check(positive)
    reference_weight_prematch: Decimal = check(price)
    reference_weight_inplay: Decimal = check(price)
    reference_narrow_spread: Decimal = check(price)
    reference_wide_spread: Decimal = check(price)
    reference_narrow_bonus: Decimal = check(price)
    reference_wide_penalty: Decimal = check(price)
    reference_stale_prematch_s: float = check(positive)
    reference_stale_inplay_s: float = check(positive)
    nd2_sigma_annual: float = check(positive)
    nd2_min: Decimal = check(price)
    nd2_max: Decimal = check(price)
    spot_stale_s: float = check(positive)


@frozen
class ShockConfig:
    """maker.shock: EWMA score of price changes; pause when it reaches the threshold."""

    alpha: float = check(positive)
    threshold: float = check(positive)
    min_samples: int = check(non_negative)
    floor: Decimal = check(positive, price)
    pause_s: float = check(non_negative)


@frozen
class QuoteModelConfig:
    """maker.model: the quoting model and the stages wrapped around it (SPEC 8)."""

    name: str = check(one_of(*QUOTING_MODELS))
    k_price_unit: Decimal = check(positive)
    horizon_s: float = check(positive)
    horizon_mode: str = check(one_of("fixed", "remaining"))
    dynamic_gamma: bool
    glft_arrival_rate: float = check(positive)
    fixed_base_spread: Decimal = check(price)
    fixed_low_liquidity_dollars: Decimal = check(non_negative)
    fixed_low_liquidity_widen: Decimal = check(price)
    fixed_near_resolution_s: float = check(non_negative)
    fixed_near_resolution_multiplier: Decimal = check(positive)
    fixed_skew_threshold: int = check(non_negative)
    fixed_skew_multiplier: Decimal = check(positive)
    fixed_shift_every: int = check(positive)
    fixed_shift: Decimal = check(price)
    fixed_force_exit_s: float = check(non_negative)
    fixed_force_exit_contracts: int = check(non_negative)
    ladder_levels: int = check(positive)
    ladder_spacing: Decimal = check(price)
    ladder_size_per_level: Decimal = check(non_negative)
    time_decay: bool
    decay_skew_at_1: Decimal = check(price)
    decay_skew_multiplier_1: Decimal = check(positive)
    decay_skew_at_2: Decimal = check(price)
    decay_skew_multiplier_2: Decimal = check(positive)
    decay_extreme_low: Decimal = check(price)
    decay_extreme_high: Decimal = check(price)
    decay_extreme_widen: Decimal = check(non_negative)
    decay_late_left_1: Decimal = check(price)
    decay_late_widen_1: Decimal = check(non_negative)
    decay_late_left_2: Decimal = check(price)
    decay_late_widen_2: Decimal = check(non_negative)
    decay_losing_side_left: Decimal = check(price)
    decay_stop_before_expiry_s: float = check(non_negative)
    fee_aware: bool
    taker_fee_rate: Decimal = check(price)
    maker_fee_rate: Decimal = check(price)
    fee_exit_leg: str = check(one_of("maker", "taker"))
    adverse_selection_buffer: Decimal = check(price)
    size_inventory_buffer: Decimal = check(price)
    size_depth_fraction: Decimal = check(price)
    size_depth_levels: int = check(positive)
    size_max_contracts: int = check(positive)
    size_quantum: Decimal = check(positive)
    nhl_quote_offset: Decimal = check(positive, price)  # nhl_hybrid (seed 000): each side this far from fair
    nhl_one_sided_above: Decimal = check(positive)  # |net| above this: only the reducing side quotes
    nhl_exit_widen: Decimal = check(non_negative)  # ...that far out x (1 + this x excess / threshold)


@frozen
class MakerConfig:
    profile: str  # a named strategy profile (config/profiles.yaml) laid over the defaults; "none"
    warmup_s: float = check(non_negative)
    requote_interval_s: float = check(positive)
    refusal_backoff_cap_s: float = check(positive)
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
    fair_value: FairValueConfig  # part 4 (actors/maker/models)
    shock: ShockConfig
    model: QuoteModelConfig
    # --- maker session (part 5): protections, throttles, guardrails, exit -------------
    pause_cooldown_s: float = check(positive)
    requote_move: Decimal = check(price)
    refresh_after_s: float = check(positive)
    volume_spike_factor: float = check(positive)
    volume_spike_window_s: float = check(positive)
    volume_baseline_s: float = check(positive)
    throttles: MakerThrottleConfig
    guardrails: MakerGuardrailConfig
    exit: MakerExitConfig


@frozen
class MakerThrottleConfig:
    bad_checks_to_trigger: int = check(positive)
    good_checks_to_recover: int = check(positive)
    wide_spread: Decimal = check(price)
    wide_spread_widen_ticks: int = check(non_negative)
    thin_depth: Decimal = check(non_negative)
    thin_depth_widen_ticks: int = check(non_negative)
    adverse_share: Decimal = check(price)
    adverse_window_s: float = check(positive)
    adverse_markout_s: float = check(positive)
    adverse_min_fills: int = check(positive)
    adverse_widen_ticks: int = check(non_negative)
    spread_shock: Decimal = check(price)
    spread_baseline_alpha: float = check(positive)


@frozen
class MakerGuardrailConfig:
    stop_before_close_s: float = check(non_negative)
    no_trade_freeze_s: float = check(positive)
    min_sigma: Decimal = check(non_negative)
    sigma_window_s: float = check(positive)
    sigma_bucket_s: float = check(positive)
    stale_freeze_s: float = check(positive)
    stale_stop_s: float = check(positive)


@frozen
class MakerExitConfig:
    close_at_once_below: Decimal = check(non_negative)
    mean_reversion_wait_s: float = check(non_negative)
    max_slippage: Decimal = check(price)
    soft_max_s: float = check(non_negative)
    hard_max_s: float = check(positive)
    cancel_confirm_s: float = check(positive)
    fills_reconcile_timeout_s: float = check(positive)


@frozen
class FeedsConfig:
    """feeds: the reference-venue poller and the spot WebSocket client (actors/feeds).
    polymarket_url / binance_url: the real venues' roots, read in demo and prod ("off": the
    venue is used in no mode); paper reads the simulator's stand-ins on the exchange's port."""

    polymarket_url: str  # Polymarket CLOB root: GET <url>/book?token_id=<id>
    binance_url: str  # Binance market-data stream root: <url>/ws/<symbol>@bookTicker
    reference_poll_s: float = check(positive)
    reference_source: str
    reference_timeout_s: float = check(positive)
    reference_tokens: tuple[str, ...]  # "KALSHI_TICKER=token_id" pairs; empty = no poller
    spot_symbols: tuple[str, ...]  # e.g. BTCUSDT; empty = no spot client
    spot_reconnect_base_s: float = check(positive)
    spot_reconnect_cap_s: float = check(positive)


def fractions(levels) -> str | None:
    return None if all(Decimal("0") < v <= Decimal("1") for v in levels) else "every level must be within (0, 1]"


@frozen
class HybridPresetConfig:
    duration_limit_contract_minutes: Decimal = check(positive)  # flatten when sum(contracts x age min) exceeds
    mae_dollars: Decimal = check(positive)  # adverse excursion vs VWAP entry that arms the failsafe
    persistence_s: float = check(non_negative)  # ...and must persist this long


@frozen
class HybridConfig:
    preset: str = check(one_of("conservative", "default", "aggressive"))
    skew_threshold_contracts: Decimal = check(positive)  # |net| above: quote only the reducing side
    conservative: HybridPresetConfig
    default: HybridPresetConfig
    aggressive: HybridPresetConfig

    @property
    def selected(self) -> HybridPresetConfig:
        return getattr(self, self.preset)


@frozen
class RiskConfig:
    max_position_contracts: int = check(positive)
    per_market_budget_dollars: Decimal = check(positive)
    global_budget_dollars: Decimal = check(positive)
    min_price: Decimal = check(price)
    max_price: Decimal = check(price)
    max_order_contracts: int = check(positive)
    per_category_budget_dollars: Decimal = check(positive)
    min_quote_spread: Decimal = check(price)
    max_inventory_value_per_side_dollars: Decimal = check(positive)
    balance_reserve_dollars: Decimal = check(non_negative)
    fill_rate_limit_dollars: Decimal = check(positive)
    fill_rate_window_s: float = check(positive)
    fill_rate_pause_s: float = check(positive)
    max_drawdown_dollars: Decimal = check(positive)
    daily_loss_limit_dollars: Decimal = check(positive)
    trading_day_start_utc_hour: int = check(lambda v: None if 0 <= v <= 23 else "must be an hour within [0, 23]")
    daily_loss_warning_levels: tuple[Decimal, ...] = check(fractions)
    drawdown_warning_levels: tuple[Decimal, ...] = check(fractions)
    position_warning_levels: tuple[Decimal, ...] = check(fractions)
    exposure_warning_levels: tuple[Decimal, ...] = check(fractions)
    warning_rearm_margin: Decimal = check(price)  # a level warns again only after usage fell this far below it
    warning_rearm_s: float = check(non_negative)  # ...and stayed there this long
    flatten_timeout_s: float = check(positive)  # a policy flatten not flat by then is ordered again
    seen_fill_ids_per_market: int = check(positive)  # fill ids kept per market to drop duplicate reports
    kill_switch_file: str
    kill_cancel_retry_s: float = check(positive)
    hybrid: HybridConfig


@frozen
class AnalyticsConfig:
    flush_interval_s: float = check(positive)
    batch_size: int = check(positive)
    snapshot_interval_s: float = check(positive)
    # the last fills GET /status lists (the dashboard's Recent fills), kept in memory
    recent_fills: int = field(default=50, metadata={"checks": (positive,)})


@frozen
class StatusConfig:
    host: str
    port: int = check(non_negative)
    print_interval_s: float = check(positive)
    allow_remote: bool = False  # listen beyond loopback (status readable without a token there)


@frozen
class MetricsConfig:
    port: int = check(non_negative)  # GET /metrics on 127.0.0.1; 0: no metrics
    max_markets: int = check(positive)  # markets whose series are kept (idle ones beyond are dropped)


@frozen
class AlertsConfig:
    format: str = check(one_of("auto", "slack", "discord"))  # the webhook URL is a secret: env MMD_ALERT_WEBHOOK_URL
    min_interval_s: float = check(positive)  # per alert kind
    feed_down_s: float = check(positive)
    no_fills_s: float = check(positive)
    timeout_s: float = check(positive)  # one webhook post
    risk_warning_kinds: tuple[str, ...]


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
    feeds: FeedsConfig
    risk: RiskConfig
    analytics: AnalyticsConfig
    status: StatusConfig
    metrics: MetricsConfig
    alerts: AlertsConfig
