"""Cross-field rules of the maker's model settings, and the names they accept.

They live in config so that config validates itself without importing actors; the
maker's models import them from here (build_quoting_model / build_fair_value refuse a
config these rules reject, e.g. one built with dataclasses.replace that skipped loading).
The names must match the models the maker implements (a test holds them equal).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: _schema imports the names below
    from ._schema import FairValueConfig, HybridConfig, QuoteModelConfig

__all__ = [
    "QUOTING_MODELS",
    "FAIR_VALUE_SOURCES",
    "model_config_problems",
    "fair_value_config_problems",
    "profile_model_problems",
    "is_loopback_host",
    "status_host_problem",
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
