"""A sweep's spec (YAML): the settings to try and what to replay under each.

    name: gamma                       # optional; default: the file's stem
    grid:                             # every combination of the listed values
      maker.model.gamma: [0.1, 0.3, 1.0]
    # or
    random:                           # `samples` settings drawn with `seed`
      maker.model.gamma: {low: 0.05, high: 2.0, log: true}
      maker.model.name: [as, glft]    # a list: one of these choices
    samples: 8
    seed: 7
    set: [maker.min_spread=0.03]      # fixed overrides under every setting (optional)
    config: my.yaml                   # a config file over the defaults (optional)
    tapes: [../shared/data/kalshi/TRADES_*.csv]    # files, folders, globs
    scenarios: [mr_jump]              # and/or scenarios x seeds
    seeds: 1-4                        # `mmd backtest --seeds` syntax, or a list
    duration: 60                      # scenario seconds (optional)
    fill_models: [pessimistic]        # tapes only (default pessimistic)
    queue_share: 0.5                  # the calibrated fill model's share (optional)

A setting is a set of `--set key=value` overrides; the backtest validates them against the
config schema. Raises SpecError (one line) on anything malformed.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Setting", "SweepSpec", "SpecError", "load_spec"]

_KNOWN_KEYS = {"name", "grid", "random", "samples", "seed", "set", "config", "tapes", "scenarios", "seeds",
               "duration", "fill_models", "queue_share"}


class SpecError(Exception):
    """A malformed spec: one line."""


@dataclass(frozen=True)
class Setting:
    """One point of the sweep: dotted config key -> value, in the spec's key order."""

    values: tuple[tuple[str, Any], ...]

    @property
    def assignments(self) -> list[str]:
        """As `--set key=value` strings."""
        return [f"{key}={_as_text(value)}" for key, value in self.values]

    @property
    def label(self) -> str:
        return " ".join(self.assignments) or "(defaults)"


@dataclass(frozen=True)
class SweepSpec:
    name: str
    settings: tuple[Setting, ...]
    base_set: tuple[str, ...]
    config: str | None
    tapes: tuple[str, ...]
    scenarios: tuple[str, ...]
    seeds: str | None
    duration: float | None
    fill_models: tuple[str, ...]
    queue_share: str


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def _grid(grid: Any) -> list[Setting]:
    if not isinstance(grid, dict) or not grid:
        raise SpecError("grid: give at least one config key with a list of values")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise SpecError(f"grid: {key}: give a non-empty list of values")
    keys = list(grid)
    return [Setting(tuple(zip(keys, combo))) for combo in itertools.product(*(grid[k] for k in keys))]


def _draw(key: str, domain: Any, rng: random.Random) -> Any:
    if isinstance(domain, list):
        if not domain:
            raise SpecError(f"random: {key}: an empty list of choices")
        return rng.choice(domain)
    if not isinstance(domain, dict) or set(domain) - {"low", "high", "log"} or not {"low", "high"} <= set(domain):
        raise SpecError(f"random: {key}: give {{low, high, log?}} or a list of choices")
    low, high, log = domain["low"], domain["high"], bool(domain.get("log", False))
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)) or low > high:
        raise SpecError(f"random: {key}: low and high are numbers, low <= high")
    if log and low <= 0:
        raise SpecError(f"random: {key}: log needs low > 0")
    if isinstance(low, int) and isinstance(high, int) and not log:
        return rng.randint(low, high)
    value = math.exp(rng.uniform(math.log(low), math.log(high))) if log else rng.uniform(low, high)
    return float(f"{value:.6g}")  # readable, and the same text on every machine


def _random(domains: Any, samples: Any, seed: Any) -> list[Setting]:
    if not isinstance(domains, dict) or not domains:
        raise SpecError("random: give at least one config key with {low, high, log?} or a list of choices")
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
        raise SpecError("random: give samples: N (a whole number >= 1)")
    rng = random.Random(0 if seed is None else seed)
    settings = [Setting(tuple((k, _draw(k, d, rng)) for k, d in domains.items())) for _ in range(samples)]
    return list(dict.fromkeys(settings))  # a repeated draw (of choices) is one setting


def _strings(raw: Any, field: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, (str, int)):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, (str, int)) for x in raw):
        raise SpecError(f"{field}: give a name or a list of names")
    return tuple(str(x) for x in raw)


def load_spec(path: str | Path) -> SweepSpec:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: a sweep spec is a mapping (grid: or random:, tapes:/scenarios:)")
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise SpecError(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_KNOWN_KEYS))})")
    if ("grid" in raw) == ("random" in raw):
        raise SpecError(f"{path}: give exactly one of grid: or random:")
    if "grid" in raw:
        settings = _grid(raw["grid"])
    else:
        settings = _random(raw["random"], raw.get("samples"), raw.get("seed"))
    seeds = raw.get("seeds")
    if isinstance(seeds, list):
        seeds = ",".join(str(s) for s in seeds)
    duration = raw.get("duration")
    if duration is not None and (not isinstance(duration, (int, float)) or isinstance(duration, bool)):
        raise SpecError("duration: a number of seconds")
    return SweepSpec(
        name=str(raw.get("name") or path.stem),
        settings=tuple(settings),
        base_set=_strings(raw.get("set"), "set"),
        config=None if raw.get("config") is None else str(raw["config"]),
        tapes=_strings(raw.get("tapes"), "tapes"),  # as the command line gives them: from the working folder
        scenarios=_strings(raw.get("scenarios"), "scenarios"),
        seeds=None if seeds is None else str(seeds),
        duration=None if duration is None else float(duration),
        fill_models=_strings(raw.get("fill_models"), "fill_models") or ("pessimistic",),
        queue_share=str(raw.get("queue_share", "0.5")),
    )
