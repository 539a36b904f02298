"""Message factories shared by the supervisor tests (this module holds no tests)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from config import load_config
from messages import MarketConfig, RegimeUpdated, VolatilityDetected
from kernel.clock import seconds


def supervisor_config(**overrides):
    return load_config(overrides={"supervisor": overrides}).supervisor if overrides else load_config().supervisor


def market_config(ticker="KX-A", close_ts=None, **fields) -> MarketConfig:
    base = MarketConfig(
        ticker=ticker,
        category="economics",
        profile="mean_reverting",
        max_exposure=Decimal("8.00"),
        size_factor=Decimal("1"),
        quote_sides="both",
        price_band="normal",
        k=Decimal("1.5"),
        sigma=Decimal("0.03"),
        gamma_multiplier=Decimal("1.0"),
        min_spread=Decimal("0.02"),
        max_spread=Decimal("0.04"),
        regime="MEAN_REVERTING",
        close_ts=close_ts,
    )
    return replace(base, **fields)


def volatility_event(ticker="KX-A", ts=0, event_id=None, regime="MEAN_REVERTING", close_ts=None) -> VolatilityDetected:
    return VolatilityDetected(
        event_id=event_id or f"ev-{ticker}-{ts}",
        ticker=ticker,
        category="economics",
        strength=Decimal("0.8"),
        sigma=Decimal("0.03"),
        jump=Decimal("0.12"),
        direction="up",
        regime=regime,
        config=market_config(ticker, close_ts=close_ts),
        ts=ts,
    )


def regime_update(
    ticker="KX-A", regime="MEAN_REVERTING", *, stable=True, sigma="0.03", ts=0, data_ts=None
) -> RegimeUpdated:
    """A regime view published at `ts` whose newest observation is from `data_ts` (default: ts)."""
    return RegimeUpdated(
        ticker=ticker,
        regime=regime,
        candidate=regime,
        stable=stable,
        sigma=Decimal(sigma),
        drift_z=Decimal("0.01"),
        mr_score=Decimal("0.7"),
        gamma_multiplier=Decimal("1.0"),
        k_multiplier=Decimal("1.0"),
        ts=ts,
        data_ts=ts if data_ts is None else data_ts,
    )


SAMPLE_INTERVAL_S = load_config().scanner.volatility.sample_interval_s  # what the wiring passes the supervisor
T0 = seconds(1_000)
