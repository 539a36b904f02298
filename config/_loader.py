"""Load YAML over the shipped defaults and validate it into frozen Config objects.

Every error is collected (not just the first), each named by its key path, with a
"did you mean" for misspelt keys.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from ._profiles import NO_PROFILE, chosen_profile, deep_merge, profile_names, profile_settings
from ._rules import (
    fair_value_config_problems,
    feeds_config_problems,
    model_config_problems,
    profile_model_problems,
    status_host_problem,
)
from ._schema import Config

__all__ = ["ConfigError", "load_config", "default_config_path", "validate", "cross_checks"]

DEFAULT_PATH = Path(__file__).with_name("default.yaml")


class ConfigError(ValueError):
    """One or more configuration problems; .errors holds one line per problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


def default_config_path() -> Path:
    return DEFAULT_PATH


def _read_yaml(path: Path, errors: list[str]) -> dict:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        errors.append(f"{path}: file not found")
        return {}
    except yaml.YAMLError as exc:
        errors.append(f"{path}: not valid YAML: {exc}")
        return {}
    if not isinstance(data, dict):
        errors.append(f"{path}: top level must be a mapping, got {type(data).__name__}")
        return {}
    return data


_NONE = object()  # an optional field explicitly set to null (None itself means "invalid")


def _optional_of(kind: Any) -> Any:
    """`X | None` -> X; anything else -> None."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(kind)) == 2:
            return args[0]
    return None


def _coerce(value: Any, kind: Any, path: str, errors: list[str]) -> Any:
    origin = typing.get_origin(kind)
    inner = _optional_of(kind)
    if inner is not None:
        if value is None:
            return _NONE
        return _coerce(value, inner, path, errors)
    if origin is dict:
        # mappings keyed by name (category profiles, per-category numbers): keys are
        # strings, values are checked like any field; key order is kept (deterministic)
        key_kind, item_kind = typing.get_args(kind)
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a mapping, got {value!r}")
            return None
        result = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                errors.append(f"{path}: keys must be non-empty strings, got {key!r}")
                continue
            item_path = f"{path}.{key}"
            if dataclasses.is_dataclass(item_kind):
                built = _build(item_kind, item, item_path + ".", errors)
            else:
                built = _coerce(item, item_kind, item_path, errors)
            if built is not None:
                result[key] = None if built is _NONE else built
        return types.MappingProxyType(result)
    if origin is tuple:
        (item_kind, _) = typing.get_args(kind)
        if not isinstance(value, list | tuple):
            errors.append(f"{path}: expected a list, got {value!r}")
            return ()
        return tuple(_coerce(v, item_kind, f"{path}[{i}]", errors) for i, v in enumerate(value))
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if math.isfinite(value):
                return float(value)
            errors.append(f"{path}: must be a finite number, got {value!r}")
            return None
    elif kind is Decimal:
        if isinstance(value, str | int) and not isinstance(value, bool):
            try:
                d = Decimal(str(value))
                if d.is_finite():
                    return d
            except InvalidOperation:
                pass
        elif isinstance(value, float):
            errors.append(f"{path}: write money and prices as quoted strings (\"0.05\"), not {value!r}")
            return None
    elif kind is str:
        if isinstance(value, str):
            return value
    errors.append(f"{path}: expected {getattr(kind, '__name__', kind)}, got {value!r}")
    return None


def _build(cls: type, data: Any, path: str, errors: list[str]) -> Any:
    if not isinstance(data, dict):
        errors.append(f"{path or '<root>'}: expected a mapping, got {data!r}")
        return None
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            guess = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            errors.append(f"{path}{key}: unknown key{hint}")
    values = {}
    required = 0
    for name, f in fields.items():
        key_path = f"{path}{name}"
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        if name not in data:
            if not has_default:  # fields with a default may be left out (e.g. per-regime overrides)
                errors.append(f"{key_path}: missing")
                required += 1
            continue
        required += 1
        kind = hints[name]
        if dataclasses.is_dataclass(kind):
            values[name] = _build(kind, data[name], key_path + ".", errors)
            continue
        value = _coerce(data[name], kind, key_path, errors)
        if value is None:
            continue
        if value is _NONE:
            values[name] = None
            continue
        for rule in f.metadata.get("checks", ()):
            problem = rule(value)
            if problem:
                errors.append(f"{key_path}: {problem} (got {data[name]!r})")
        values[name] = value
    if len(values) != required:
        return None
    try:
        return cls(**values)
    except TypeError:
        return None


def cross_checks(cfg: Config) -> list[str]:
    errors = []
    if cfg.maker.min_spread > cfg.maker.max_spread:
        errors.append("maker.min_spread: must not exceed maker.max_spread")
    if cfg.risk.min_price >= cfg.risk.max_price:
        errors.append("risk.min_price: must be below risk.max_price")
    if cfg.ws.reconnect_base_s > cfg.ws.reconnect_cap_s:
        errors.append("ws.reconnect_base_s: must not exceed ws.reconnect_cap_s")
    rest = cfg.rest
    read_capacity = rest.read_tokens_per_s * rest.read_bucket_s
    write_capacity = rest.write_tokens_per_s * rest.write_bucket_s
    for name, cost in (("default_cost", rest.default_cost), ("cancel_cost", rest.cancel_cost)):
        if cost > min(read_capacity, write_capacity):
            errors.append(
                f"rest.{name}: {cost} tokens exceeds a bucket's capacity "
                f"(read {read_capacity:g}, write {write_capacity:g}): no request could ever be sent"
            )
    maker_exit = cfg.maker.exit
    stuck_after_s = maker_exit.mean_reversion_wait_s + maker_exit.soft_max_s + maker_exit.hard_max_s
    if cfg.supervisor.exit_timeout_s <= stuck_after_s:
        # Hazard: cut sooner, a passive exit's hard phase is stopped and swept before the maker
        # could say it is stuck (status, WARNING), and hard_max_s means nothing
        errors.append(
            f"supervisor.exit_timeout_s: {cfg.supervisor.exit_timeout_s:g} s must exceed the maker's passive exit "
            f"before it reports itself stuck (maker.exit mean_reversion_wait_s + soft_max_s + hard_max_s "
            f"= {stuck_after_s:g} s)"
        )
    errors.extend(_scanner_checks(cfg.scanner))
    errors.extend(model_config_problems(cfg.maker.model))
    errors.extend(fair_value_config_problems(cfg.maker.fair_value))
    errors.extend(feeds_config_problems(cfg.feeds))
    errors.extend(profile_model_problems(cfg.maker.model, cfg.risk.hybrid))
    if cfg.maker.profile not in (names := profile_names()):
        errors.append(f"maker.profile: unknown profile {cfg.maker.profile!r}; one of {', '.join(names)}")
    errors.extend(p for p in [status_host_problem(cfg.status.host, cfg.status.allow_remote)] if p)
    return errors


REGIMES = ("QUIET", "MEAN_REVERTING", "TRENDING", "CHAOTIC", "NOISE", "UNKNOWN")


def _scanner_checks(scanner: Any) -> list[str]:
    """Cross-field rules of the scanner section: names that must resolve, bands in order."""
    errors = []
    for key_path, mapping in (
        ("scanner.discovery.time_windows", scanner.discovery.time_windows),
        ("scanner.market_config.category_caps_dollars", scanner.market_config.category_caps_dollars),
        ("scanner.market_config.k_by_category", scanner.market_config.k_by_category),
        ("scanner.categories", scanner.categories),
    ):
        if "default" not in mapping:
            errors.append(f"{key_path}: needs a 'default' entry")
    for category, profile in scanner.categories.items():
        if profile not in scanner.profiles:
            errors.append(f"scanner.categories.{category}: unknown profile '{profile}'")
    for key_path, mapping in (
        ("scanner.regimes.gamma_multipliers", scanner.regimes.gamma_multipliers),
        ("scanner.regimes.k_multipliers", scanner.regimes.k_multipliers),
    ):
        missing = [r for r in REGIMES if r not in mapping]
        if missing:
            errors.append(f"{key_path}: missing {', '.join(missing)}")
    for name, profile in scanner.profiles.items():
        for regime in profile.by_regime:
            if regime not in REGIMES:
                errors.append(f"scanner.profiles.{name}.by_regime.{regime}: not a regime ({', '.join(REGIMES)})")
        if profile.spread_tight > profile.spread_wide:
            errors.append(f"scanner.profiles.{name}.spread_tight: must not exceed spread_wide")
    for name in scanner.regimes.drift_threshold_by_profile:
        if name not in scanner.profiles:
            errors.append(f"scanner.regimes.drift_threshold_by_profile.{name}: unknown profile")
    for regime in (*scanner.volatility.allowed_regimes,):
        if regime not in REGIMES:
            errors.append(f"scanner.volatility.allowed_regimes: '{regime}' is not a regime")
    rules = scanner.market_config
    if not rules.hard_band_low <= rules.normal_band_low < rules.normal_band_high <= rules.hard_band_high:
        errors.append("scanner.market_config: bands must satisfy hard_low <= normal_low < normal_high <= hard_high")
    if rules.sigma_floor > rules.sigma_cap:
        errors.append("scanner.market_config.sigma_floor: must not exceed sigma_cap")
    if scanner.regimes.mean_reversion_bad > scanner.regimes.mean_reversion_good:
        errors.append("scanner.regimes.mean_reversion_bad: must not exceed mean_reversion_good")
    if scanner.regimes.noise_spread_min > scanner.regimes.noise_spread_max:
        errors.append("scanner.regimes.noise_spread_min: must not exceed noise_spread_max")
    return errors


def validate(data: dict) -> Config:
    errors: list[str] = []
    cfg = _build(Config, data, "", errors)
    if cfg is not None and not errors:
        errors.extend(cross_checks(cfg))
    if errors:
        raise ConfigError(errors)
    return cfg


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> Config:
    """Defaults, then the chosen profile (maker.profile, config/profiles.yaml), then the
    user's file (if any), then programmatic overrides."""
    errors: list[str] = []
    defaults = _read_yaml(DEFAULT_PATH, errors)
    layers = [_read_yaml(Path(path), errors)] if path is not None else []
    if overrides:
        layers.append(overrides)
    profile = chosen_profile([defaults, *layers])
    data = defaults
    if isinstance(profile, str) and profile != NO_PROFILE:
        data = deep_merge(data, profile_settings(profile, errors))
    for layer in layers:
        data = deep_merge(data, layer)
    if errors:
        raise ConfigError(errors)
    return validate(data)
