"""Named strategy profiles (config/profiles.yaml): a partial config chosen by `maker.profile`.

A profile sits between the shipped defaults and the user's own settings: defaults, then the
profile, then the config file, then programmatic overrides (`--set`). So a profile changes
what the defaults would have been, and anything the user writes still wins. Hazard: a
config file that copies every key of default.yaml also copies the profile's keys back to
their defaults; with a profile, write only the keys you change.

A profile may `extends` another (its settings first, then its own): the presets of one
strategy are variants of one base. Every problem is collected as a line for ConfigError.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["NO_PROFILE", "PROFILES_PATH", "profile_names", "profile_settings", "chosen_profile", "deep_merge"]

NO_PROFILE = "none"
PROFILES_PATH = Path(__file__).with_name("profiles.yaml")
_PROFILE_KEYS = {"about", "extends", "settings"}


def _read(path: Path, errors: list[str]) -> dict:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        errors.append(f"{path}: cannot read the profiles: {exc}")
        return {}
    if not isinstance(data, dict):
        errors.append(f"{path}: top level must be a mapping of profile names")
        return {}
    return data


def profile_names(path: Path = PROFILES_PATH) -> tuple[str, ...]:
    """Every name `maker.profile` accepts, `none` first."""
    return (NO_PROFILE, *(str(name) for name in _read(path, [])))


def deep_merge(base: dict, override: dict) -> dict:
    """`override` over `base`, mapping by mapping (a non-mapping value replaces)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def profile_settings(name: str, errors: list[str], path: Path = PROFILES_PATH) -> dict:
    """The partial config a profile lays over the defaults ({} for `none`)."""
    if name == NO_PROFILE:
        return {}
    profiles = _read(path, errors)
    chain: list[str] = []
    current: Any = name
    while current is not None:
        if current in chain:
            errors.append(f"{path}: profile {name!r} extends itself ({' -> '.join([*chain, current])})")
            return {}
        entry = profiles.get(current)
        if entry is None:
            if current == name:
                known = ", ".join((NO_PROFILE, *map(str, profiles)))
                errors.append(f"maker.profile: unknown profile {name!r}; one of {known}")
            else:
                errors.append(f"{path}: profile {chain[-1]!r} extends unknown profile {current!r}")
            return {}
        if not isinstance(entry, dict) or not isinstance(entry.get("settings", {}), dict):
            errors.append(f"{path}: profile {current!r} must be a mapping with a `settings` mapping")
            return {}
        unknown = sorted(set(entry) - _PROFILE_KEYS)
        if unknown:
            errors.append(f"{path}: profile {current!r}: unknown key {unknown[0]!r} (one of about, extends, settings)")
        chain.append(current)
        current = entry.get("extends")
    settings: dict = {}
    for link in reversed(chain):  # the base first, each variant over it
        settings = deep_merge(settings, profiles[link].get("settings") or {})
    maker = settings.get("maker")
    if isinstance(maker, dict) and "profile" in maker:
        errors.append(f"{path}: profile {name!r} sets maker.profile itself; a profile cannot choose a profile")
        return {}
    return settings


def chosen_profile(layers: list[dict]) -> Any:
    """maker.profile as the last layer that sets it says (defaults, file, overrides)."""
    chosen: Any = NO_PROFILE
    for layer in layers:
        maker = layer.get("maker") if isinstance(layer, dict) else None
        if isinstance(maker, dict) and "profile" in maker:
            chosen = maker["profile"]
    return chosen
