"""When a running session must end, and how urgently (SPEC 7). Pure functions.

Reasons recorded in volatility_sessions.end_reason:
  ttl, market_close, volatility_ended, sigma_floor, regime_trending / regime_chaotic
  (regime_<name> for any configured kill regime), regime_stale, risk:<reason>,
  kill_switch, shutdown, crashed, rotated_out, or maker:<its reason> when the maker
  finished by itself (its own guardrails).
"""

from __future__ import annotations

from dataclasses import dataclass

from config import SupervisorConfig
from messages import ExitUrgency, MarketConfig, RegimeUpdated
from mmd.clock import seconds

__all__ = [
    "EndDecision",
    "regime_end",
    "regime_is_stale",
    "close_deadline_ns",
    "risk_end",
    "TTL",
    "MARKET_CLOSE",
    "VOLATILITY_ENDED",
    "SIGMA_FLOOR",
    "REGIME_STALE",
    "KILL_SWITCH",
    "SHUTDOWN",
    "CRASHED",
    "ROTATED_OUT",
]

TTL = "ttl"
MARKET_CLOSE = "market_close"
VOLATILITY_ENDED = "volatility_ended"
SIGMA_FLOOR = "sigma_floor"
REGIME_STALE = "regime_stale"
KILL_SWITCH = "kill_switch"
SHUTDOWN = "shutdown"
CRASHED = "crashed"
ROTATED_OUT = "rotated_out"
_NO_DATA_REGIME = "UNKNOWN"  # too few observations: its sigma says nothing yet


@dataclass(frozen=True, slots=True)
class EndDecision:
    reason: str
    urgency: str  # messages.ExitUrgency


def regime_end(update: RegimeUpdated, config: SupervisorConfig, *, adverse_selection: bool) -> EndDecision | None:
    """What a regime update means for a running volatility session."""
    if update.regime != _NO_DATA_REGIME and update.sigma < config.sigma_floor:
        return EndDecision(SIGMA_FLOOR, ExitUrgency.PASSIVE)
    if not config.regime_kill_enabled:
        return None
    if config.regime_kill_requires_adverse_selection and not adverse_selection:
        return None  # a bad regime alone is tolerated until the maker is being picked off
    if update.regime in config.hard_kill_regimes:
        return EndDecision(f"regime_{update.regime.lower()}", ExitUrgency.IMMEDIATE)
    if update.regime in config.soft_kill_regimes:
        return EndDecision(f"regime_{update.regime.lower()}", ExitUrgency.PASSIVE)
    return None


def regime_is_stale(last_regime_ns: int, now_ns: int, config: SupervisorConfig) -> bool:
    return now_ns - last_regime_ns > seconds(config.regime_stale_s)


def close_deadline_ns(market_config: MarketConfig | None, config: SupervisorConfig) -> int | None:
    """When a session on this market must end: close_buffer_s before the market closes."""
    if market_config is None or market_config.close_ts is None:
        return None
    return market_config.close_ts - seconds(config.close_buffer_s)


def risk_end(reason: str) -> EndDecision:
    """The risk governor ended the session: exit now."""
    return EndDecision(f"risk:{reason}", ExitUrgency.IMMEDIATE)
