"""When a running session must end, and how urgently (SPEC 7). Pure functions.

Reasons recorded in volatility_sessions.end_reason:
  ttl, market_close, volatility_ended, sigma_floor, regime_trending / regime_chaotic
  (regime_<name> for any configured kill regime), regime_stale, risk:<reason>,
  kill_switch, shutdown, crashed, rotated_out, or maker:<its reason> when the maker
  finished by itself (its own guardrails: a dead feed; a quiet market only pauses it).
"""

from __future__ import annotations

from dataclasses import dataclass

from config import SupervisorConfig
from messages import ExitUrgency, MarketConfig, RegimeUpdated
from kernel.clock import seconds

__all__ = [
    "EndDecision",
    "regime_end",
    "regime_is_stale",
    "regime_stale_after_ns",
    "close_deadline_ns",
    "close_deadline_from",
    "risk_end",
    "is_real_end",
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


def regime_stale_after_ns(config: SupervisorConfig, sample_interval_s: float) -> int:
    """How old the newest observation behind a regime may get: regime_stale_s, plus one
    scanner sample interval (scanner.volatility.sample_interval_s), since observations of
    a market come at most that often even when its data is perfectly healthy."""
    return seconds(config.regime_stale_s) + seconds(sample_interval_s)


def regime_is_stale(data_ts: int, now_ns: int, config: SupervisorConfig, sample_interval_s: float) -> bool:
    """Judged on RegimeUpdated.data_ts (the newest observation classified), never on when
    the update arrived: the scanner re-publishes an unchanged regime as a heartbeat. A
    data_ts of 0 (no observation yet) is always stale."""
    return data_ts <= 0 or now_ns - data_ts > regime_stale_after_ns(config, sample_interval_s)


def close_deadline_ns(market_config: MarketConfig | None, config: SupervisorConfig) -> int | None:
    """When a session on this market must end: close_buffer_s before the market closes."""
    return close_deadline_from(None if market_config is None else market_config.close_ts, config)


def close_deadline_from(close_ns: int | None, config: SupervisorConfig) -> int | None:
    """The same deadline from a close time learned later (REST read, lifecycle event)."""
    return None if close_ns is None else close_ns - seconds(config.close_buffer_s)


def risk_end(reason: str) -> EndDecision:
    """The risk governor ended the session: exit now."""
    return EndDecision(f"risk:{reason}", ExitUrgency.IMMEDIATE)


def is_real_end(reason: str | None) -> bool:
    """An end rule that means the market is not to be made now (its close, a regime kill,
    the risk governor, a kill switch, shutdown), as against a session lost on the way (a
    crash, a TTL, the maker's own stop): a pinned market is never restarted after one."""
    reason = reason or ""
    return reason in (MARKET_CLOSE, KILL_SWITCH, SHUTDOWN) or reason.startswith(("regime_", "risk:"))
