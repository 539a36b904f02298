"""Scenarios: scripted, seeded market activity for the simulated exchange.

A scenario (YAML under simex/scenarios/, format in simex/scenarios/README.md) lists markets
across categories; each market's latent fair price follows a script of regimes (quiet,
oscillate, burst, trend, jump_revert, jump_stay, illiquid, close). Crypto "above strike"
markets instead take their fair value from a spot symbol: P = N(d2), d2 = ln(S/K)/(σ√T).

`load_scenario(name_or_path)` parses and validates a file (every error at once, with its key
path). `install_scenario(exchange, scenario, seed)` lists the markets on an `Exchange` and
schedules their drivers on it (one fair step per simulated second, background liquidity
providers and takers from `_participants.py`, settlement at the end of a `close` regime),
returning a `ScenarioRun` whose latent prices feed the reference venues (`_reference.py`).

After the script: a scenario with a `continue:` block (paper mode's `default` has one) goes
on for as long as the exchange runs, in episodes of `episode_s` from `duration_s` on. Each
episode lists `markets_per_episode` fresh markets modelled on scripted ones (same series
and category, a new event, a newly drawn script: quiet lead-in, one volatility event, an
oscillating tail; crypto ones struck at the spot price of the moment), gives every spot
symbol a new event, and closes early, determines and settles the listings (scripted ones
included) that have lived `lifetime_episodes` episodes. See `_Episodes`.

Determinism: every random draw comes from `random.Random` seeded by (seed, name, stream);
scheduling goes through `Exchange.schedule`, which orders equal times by insertion, and
markets are installed in file order. Same file + same seed -> identical trade stream.
The latent prices are floats (a model state); only whole-cent Decimal prices reach a book.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable

import yaml

from ._exchange import Exchange
from ._model import NS_PER_S, MarketSpec

log = logging.getLogger(__name__)

__all__ = [
    "REGIME_KINDS",
    "SCENARIO_DIR",
    "BookProfile",
    "Continuation",
    "FaultAt",
    "LatentPath",
    "MarketScenario",
    "ReferenceLink",
    "Regime",
    "Scenario",
    "ScenarioError",
    "ScenarioRun",
    "SpotLink",
    "SpotScenario",
    "available_scenarios",
    "build_scenario_exchange",
    "install_scenario",
    "load_scenario",
    "parse_scenario",
    "above_strike_probability",
]

SCENARIO_DIR = Path(__file__).with_name("scenarios")
SECONDS_PER_YEAR = 365 * 86_400
STEP_S = 1  # latent prices move once per simulated second

REGIME_KINDS = ("quiet", "oscillate", "burst", "trend", "jump_revert", "jump_stay", "illiquid", "close")


class ScenarioError(ValueError):
    """A scenario file that does not validate. `errors` lists every problem with its key path."""

    def __init__(self, source: str, errors: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class BookProfile:
    """How the background liquidity providers quote in a regime (see _participants.py).

    half_spread_cents: the tight provider's distance from the centre (spread = 2x).
    levels: price levels per side of the tight provider; the deep one adds 2 behind it.
    min_size/max_size: contracts per provider order, uniform.
    trade_gap_s: mean seconds between background taker orders (exponential).
    take_median/take_sigma: taker order size, log-normal (median contracts, sigma of log).
    """

    half_spread_cents: int = 1
    levels: int = 4
    min_size: int = 40
    max_size: int = 200
    trade_gap_s: float = 6.0
    take_median: float = 30.0
    take_sigma: float = 1.2
    take_max: int = 400


# Per-regime book defaults. Sizes/rates calibrated on data/kalshi NHL tapes: in-game taker
# orders (same second, same side) have median 24-50 contracts, p90 ~300; seconds with a trade
# are ~3-7 s apart in-game. Non-sports markets trade less often, hence gaps of 5-10 s.
_BOOK_DEFAULTS: dict[str, BookProfile] = {
    "quiet": BookProfile(half_spread_cents=1, levels=4, trade_gap_s=6.0, take_median=20.0),
    "oscillate": BookProfile(half_spread_cents=1, levels=4, trade_gap_s=4.0),
    "burst": BookProfile(half_spread_cents=2, levels=3, trade_gap_s=3.0),
    "trend": BookProfile(half_spread_cents=1, levels=4, trade_gap_s=4.0),
    "jump_revert": BookProfile(half_spread_cents=1, levels=4, trade_gap_s=3.0),
    "jump_stay": BookProfile(half_spread_cents=1, levels=4, trade_gap_s=3.0),
    "illiquid": BookProfile(half_spread_cents=5, levels=1, min_size=3, max_size=12, trade_gap_s=20.0,
                            take_median=5.0, take_sigma=0.6, take_max=20),
    "close": BookProfile(half_spread_cents=1, levels=3, trade_gap_s=3.0),
}

# Per-regime latent-price defaults (units: cents for markets, basis points of log price for spots).
_PATH_DEFAULTS: dict[str, dict[str, float]] = {
    "quiet": {"volatility": 0.15, "reversion": 0.05},
    "oscillate": {"volatility": 0.4, "reversion": 0.3, "amplitude": 4.0, "period_s": 90.0},
    "burst": {"volatility": 2.5, "reversion": 0.2},
    "trend": {"volatility": 0.2, "reversion": 0.1, "drift_per_min": 3.0},
    "jump_revert": {"volatility": 0.3, "reversion": 0.05, "jump": 15.0, "jump_over_s": 1.0, "half_life_s": 12.0},
    "jump_stay": {"volatility": 0.3, "reversion": 0.05, "jump": 15.0, "jump_over_s": 1.0},
    "illiquid": {"volatility": 1.0, "reversion": 0.02},
    "close": {"volatility": 0.3, "reversion": 0.0},
}
_PATH_KEYS = ("volatility", "reversion", "amplitude", "period_s", "drift_per_min", "jump", "jump_over_s", "half_life_s")
_BOOK_KEYS = ("half_spread_cents", "levels", "min_size", "max_size", "trade_gap_s", "take_median", "take_sigma",
              "take_max")


@dataclass(frozen=True)
class Regime:
    """One stretch of a price script. `start_s`/`end_s` are seconds from scenario start;
    end_s is None for an open-ended last regime."""

    kind: str
    start_s: float
    end_s: float | None
    params: tuple[tuple[str, float], ...]  # merged path parameters, sorted by name
    book: BookProfile
    outcome: str | None = None  # close: "yes" or "no"

    def param(self, name: str) -> float:
        return dict(self.params).get(name, 0.0)


@dataclass(frozen=True)
class ReferenceLink:
    """A Polymarket-shaped reference token tracking this market's latent fair price."""

    token_id: str
    lead_s: int = 2  # the Kalshi book follows the fair value this many seconds late
    noise_cents: float = 0.5
    half_spread_cents: int = 1


@dataclass(frozen=True)
class SpotLink:
    """An "above strike" market: fair = N(d2) from a spot symbol."""

    symbol: str
    strike: Decimal
    sigma_annual: float


@dataclass(frozen=True)
class MarketScenario:
    ticker: str
    event_ticker: str
    series_ticker: str
    category: str
    title: str
    initial_cents: float
    close_in_s: int  # seconds from scenario start to close_time
    listed_s_before_start: int
    prior_volume: int
    fee_type: str
    regimes: tuple[Regime, ...]
    reference: ReferenceLink | None = None
    spot: SpotLink | None = None

    def regime_at(self, t_s: float) -> Regime:
        return _regime_at(self.regimes, t_s)

    def spec(self) -> MarketSpec:
        return MarketSpec(ticker=self.ticker, event_ticker=self.event_ticker, series_ticker=self.series_ticker,
                          category=self.category, title=self.title, initial_fair_cents=round(self.initial_cents),
                          close_offset_s=self.close_in_s + self.listed_s_before_start, fee_type=self.fee_type)


@dataclass(frozen=True)
class SpotScenario:
    """A spot price (Binance-shaped bookTicker); its regimes are in basis points of log price."""

    symbol: str
    initial: Decimal
    tick: Decimal
    regimes: tuple[Regime, ...]


@dataclass(frozen=True)
class FaultAt:
    """A fault from the scenario's timeline, handed to simex/_faults.py (part 2) at `at_s`."""

    at_s: float
    kind: str
    params: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Continuation:
    """What happens after the script: a new episode every `episode_s` seconds from the
    script's end, listing `markets_per_episode` fresh markets; a listing (a scripted market
    too) is closed early and settled `lifetime_episodes` episodes after it listed."""

    episode_s: int = 900
    markets_per_episode: int = 4
    lifetime_episodes: int = 2


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    seed: int
    duration_s: int
    markets: tuple[MarketScenario, ...]
    spots: tuple[SpotScenario, ...] = ()
    faults: tuple[FaultAt, ...] = ()
    source: str = ""
    continuation: Continuation | None = None  # None: the markets stay in their last regime

    @property
    def tickers(self) -> tuple[str, ...]:
        return tuple(m.ticker for m in self.markets)

    def market(self, ticker: str) -> MarketScenario:
        for m in self.markets:
            if m.ticker == ticker:
                return m
        raise KeyError(ticker)


def _regime_at(regimes: tuple[Regime, ...], t_s: float) -> Regime:
    current = regimes[0]
    for regime in regimes:
        if regime.start_s <= t_s:
            current = regime
    return current


# ----------------------------------------------------------------------------- latent paths
class LatentPath:
    """A price that follows a regime script, one step per second (pure, seeded).

    Each step: value += reversion * (anchor - value) + drift + volatility * N(0, 1), where the
    anchor is the regime's level (plus a sine for `oscillate`). Regimes act on the level:
    trend moves it by drift_per_min/60 a second; jump_stay shifts it by `jump` over
    `jump_over_s` seconds; jump_revert pushes the value by `jump` over `jump_over_s` seconds
    and then reverts with `half_life_s`; close pulls the level to the outcome (99 or 1) so it
    gets there by the regime's end.
    """

    def __init__(self, regimes: tuple[Regime, ...], initial: float, rng: random.Random,
                 low: float | None = None, high: float | None = None) -> None:
        self.regimes = regimes
        self.value = float(initial)
        self.level = float(initial)
        self.rng = rng
        self.low, self.high = low, high
        self.t_s = 0

    def extend(self, regimes: tuple[Regime, ...]) -> None:
        """Regimes that follow from their start_s on (after an open-ended last one too)."""
        self.regimes = self.regimes + regimes

    def step(self) -> float:
        self.t_s += STEP_S
        t = self.t_s
        regime = _regime_at(self.regimes, t - STEP_S)  # the regime in force during the second just gone
        p = regime.param
        elapsed = t - regime.start_s  # seconds into the regime, 1 on its first step
        reversion, drift = p("reversion"), 0.0
        kind = regime.kind
        if kind == "trend":
            self.level += p("drift_per_min") / 60.0
        elif kind == "jump_stay" and elapsed <= max(1.0, p("jump_over_s")):
            self.level += p("jump") / max(1.0, p("jump_over_s"))
            reversion = max(reversion, 0.5)
        elif kind == "jump_revert":
            if elapsed <= max(1.0, p("jump_over_s")):
                drift, reversion = p("jump") / max(1.0, p("jump_over_s")), 0.0
            else:
                reversion = 1.0 - 0.5 ** (1.0 / max(1.0, p("half_life_s")))
        elif kind == "close" and regime.end_s is not None and self.high is not None and self.low is not None:
            target = self.high if regime.outcome == "yes" else self.low
            left = max(1.0, regime.end_s - (t - STEP_S))
            self.level += (target - self.level) / left
            reversion = max(reversion, 0.5)
        anchor = self.level
        if kind == "oscillate" and p("period_s") > 0:
            anchor += p("amplitude") * math.sin(2 * math.pi * elapsed / p("period_s"))
        noise = self.rng.gauss(0.0, 1.0)
        self.value += reversion * (anchor - self.value) + drift + p("volatility") * noise
        if self.low is not None:
            self.value = max(self.low, self.value)
            self.level = max(self.low, self.level)
        if self.high is not None:
            self.value = min(self.high, self.value)
            self.level = min(self.high, self.level)
        return self.value


def above_strike_probability(spot: float, strike: float, sigma_annual: float, seconds_left: float) -> float:
    """N(d2), d2 = ln(S/K) / (σ√T), T in years, clamped to [0.01, 0.99] (SPEC §8 model price)."""
    if seconds_left <= 0 or sigma_annual <= 0:
        return 0.99 if spot > strike else 0.01
    d2 = math.log(spot / strike) / (sigma_annual * math.sqrt(seconds_left / SECONDS_PER_YEAR))
    p = 0.5 * (1.0 + math.erf(d2 / math.sqrt(2.0)))
    return min(0.99, max(0.01, p))


# ----------------------------------------------------------------------------- parsing
class _Errors:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path}: {message}")


def _num(raw: Any, path: str, errors: _Errors, default: float | None = None, *, minimum: float | None = None,
         integer: bool = False) -> float | None:
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        errors.add(path, f"expected a number, got {raw!r}")
        return default
    if integer and int(raw) != raw:
        errors.add(path, f"expected a whole number, got {raw!r}")
        return default
    if minimum is not None and raw < minimum:
        errors.add(path, f"must be at least {minimum}, got {raw!r}")
        return default
    return int(raw) if integer else float(raw)


def _dec(raw: Any, path: str, errors: _Errors) -> Decimal | None:
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        errors.add(path, f"expected a decimal string, got {raw!r}")
        return None
    if not value.is_finite() or value <= 0:
        errors.add(path, f"must be positive, got {raw!r}")
        return None
    return value


def _unknown(raw: dict, allowed: tuple[str, ...], path: str, errors: _Errors) -> None:
    for key in raw:
        if key not in allowed:
            errors.add(f"{path}.{key}", f"unknown key (allowed: {', '.join(allowed)})")


def _regimes(raw: Any, path: str, errors: _Errors) -> tuple[Regime, ...]:
    if not isinstance(raw, list) or not raw:
        errors.add(path, "expected a non-empty list of regimes")
        return (Regime("quiet", 0.0, None, tuple(sorted(_PATH_DEFAULTS["quiet"].items())), _BOOK_DEFAULTS["quiet"]),)
    out: list[Regime] = []
    start = 0.0
    for i, item in enumerate(raw):
        rpath = f"{path}[{i}]"
        if not isinstance(item, dict):
            errors.add(rpath, "expected a mapping")
            continue
        _unknown(item, ("kind", "for_s", "outcome", "book") + _PATH_KEYS, rpath, errors)
        kind = item.get("kind")
        if kind not in REGIME_KINDS:
            errors.add(f"{rpath}.kind", f"unknown regime {kind!r} (known: {', '.join(REGIME_KINDS)})")
            kind = "quiet"
        duration = _num(item.get("for_s"), f"{rpath}.for_s", errors, minimum=1)
        if duration is None and i != len(raw) - 1:
            errors.add(f"{rpath}.for_s", "required on every regime but the last")
            duration = 60.0
        params = dict(_PATH_DEFAULTS[kind])
        for key in _PATH_KEYS:
            value = _num(item.get(key), f"{rpath}.{key}", errors)
            if value is not None:
                params[key] = value
        if not 0.0 <= params.get("reversion", 0.0) <= 1.0:
            errors.add(f"{rpath}.reversion", "must be between 0 and 1")
        book = _book(item.get("book"), kind, f"{rpath}.book", errors)
        outcome = item.get("outcome")
        if kind == "close":
            if outcome not in ("yes", "no"):
                errors.add(f"{rpath}.outcome", "a close regime needs outcome: yes or no")
                outcome = "no"
            if duration is None:
                errors.add(f"{rpath}.for_s", "a close regime needs for_s (it ends with settlement)")
                duration = 60.0
        elif outcome is not None:
            errors.add(f"{rpath}.outcome", "only a close regime has an outcome")
        end = None if duration is None else start + duration
        out.append(Regime(kind, start, end, tuple(sorted(params.items())), book, outcome if kind == "close" else None))
        if end is not None:
            start = end
    for regime in out[:-1]:
        if regime.kind == "close":
            errors.add(path, "close must be the last regime")
    return tuple(out)


def _book(raw: Any, kind: str, path: str, errors: _Errors) -> BookProfile:
    base = _BOOK_DEFAULTS[kind]
    if raw is None:
        return base
    if not isinstance(raw, dict):
        errors.add(path, "expected a mapping")
        return base
    _unknown(raw, _BOOK_KEYS, path, errors)
    changes: dict[str, Any] = {}
    for key in _BOOK_KEYS:
        integer = key in ("half_spread_cents", "levels", "min_size", "max_size", "take_max")
        value = _num(raw.get(key), f"{path}.{key}", errors, minimum=1 if integer else 0.01, integer=integer)
        if value is not None:
            changes[key] = value
    book = replace(base, **changes)
    if book.min_size > book.max_size:
        errors.add(path, "min_size exceeds max_size")
        return base
    return book


def _market(raw: Any, path: str, errors: _Errors, spot_symbols: set[str]) -> MarketScenario | None:
    if not isinstance(raw, dict):
        errors.add(path, "expected a mapping")
        return None
    allowed = ("ticker", "event", "series", "category", "title", "initial_cents", "close_in_s", "listed_s_before_start",
               "prior_volume", "fee_type", "regimes", "reference", "spot")
    _unknown(raw, allowed, path, errors)
    ticker = raw.get("ticker")
    if not isinstance(ticker, str) or not ticker:
        errors.add(f"{path}.ticker", "required string")
        return None
    event = raw.get("event") or ticker.rsplit("-", 1)[0]
    series = raw.get("series") or event.split("-", 1)[0]
    category = raw.get("category")
    if not isinstance(category, str) or not category:
        errors.add(f"{path}.category", "required string (e.g. Rates, Economics, Crypto, Sports, Entertainment)")
        category = "Economics"
    initial = _num(raw.get("initial_cents"), f"{path}.initial_cents", errors, 50.0, minimum=1)
    if initial is not None and initial > 99:
        errors.add(f"{path}.initial_cents", "must be 1..99")
    regimes = _regimes(raw.get("regimes"), f"{path}.regimes", errors)
    last = regimes[-1]
    close_in = _num(raw.get("close_in_s"), f"{path}.close_in_s", errors, None, minimum=1, integer=True)
    if last.kind == "close":
        if close_in is not None:
            errors.add(f"{path}.close_in_s", "set by the close regime's end; leave it out")
        close_in = int(last.end_s)
    elif close_in is None:
        close_in = 30 * 86_400
    reference = None
    if raw.get("reference") is not None:
        ref = raw["reference"]
        if not isinstance(ref, dict) or not isinstance(ref.get("token_id"), str):
            errors.add(f"{path}.reference", "expected a mapping with a token_id string")
        else:
            _unknown(ref, ("token_id", "lead_s", "noise_cents", "half_spread_cents"), f"{path}.reference", errors)
            reference = ReferenceLink(
                token_id=ref["token_id"],
                lead_s=int(_num(ref.get("lead_s"), f"{path}.reference.lead_s", errors, 2, minimum=0, integer=True)),
                noise_cents=_num(ref.get("noise_cents"), f"{path}.reference.noise_cents", errors, 0.5, minimum=0),
                half_spread_cents=int(_num(ref.get("half_spread_cents"), f"{path}.reference.half_spread_cents",
                                           errors, 1, minimum=1, integer=True)),
            )
    spot = None
    if raw.get("spot") is not None:
        link = raw["spot"]
        if not isinstance(link, dict):
            errors.add(f"{path}.spot", "expected a mapping with symbol, strike, sigma_annual")
        else:
            _unknown(link, ("symbol", "strike", "sigma_annual"), f"{path}.spot", errors)
            if link.get("symbol") not in spot_symbols:
                errors.add(f"{path}.spot.symbol", f"{link.get('symbol')!r} is not among spots {sorted(spot_symbols)}")
            strike = _dec(link.get("strike"), f"{path}.spot.strike", errors)
            sigma = _num(link.get("sigma_annual"), f"{path}.spot.sigma_annual", errors, 0.5, minimum=0.01)
            if strike is not None:
                spot = SpotLink(str(link.get("symbol")), strike, sigma)
    fee_type = raw.get("fee_type", "quadratic")
    return MarketScenario(
        ticker=ticker, event_ticker=str(event), series_ticker=str(series), category=category,
        title=str(raw.get("title") or f"Simulated {ticker}"), initial_cents=initial or 50.0, close_in_s=int(close_in),
        listed_s_before_start=int(_num(raw.get("listed_s_before_start"), f"{path}.listed_s_before_start", errors,
                                       3600, minimum=0, integer=True)),
        prior_volume=int(_num(raw.get("prior_volume"), f"{path}.prior_volume", errors, 50_000, minimum=0,
                              integer=True)),
        fee_type=str(fee_type), regimes=regimes, reference=reference, spot=spot,
    )


def _spot(raw: Any, path: str, errors: _Errors) -> SpotScenario | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("symbol"), str):
        errors.add(path, "expected a mapping with a symbol string")
        return None
    _unknown(raw, ("symbol", "initial", "tick", "regimes"), path, errors)
    initial = _dec(raw.get("initial"), f"{path}.initial", errors)
    tick = _dec(raw.get("tick", "0.01"), f"{path}.tick", errors)
    regimes = _regimes(raw.get("regimes", [{"kind": "quiet"}]), f"{path}.regimes", errors)
    if any(r.kind == "close" for r in regimes):
        errors.add(f"{path}.regimes", "a spot symbol has no close regime")
    if initial is None or tick is None:
        return None
    return SpotScenario(raw["symbol"].upper(), initial, tick, regimes)


def _fault(raw: Any, path: str, errors: _Errors) -> FaultAt | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("kind"), str):
        errors.add(path, "expected a mapping with at_s and kind")
        return None
    at_s = _num(raw.get("at_s"), f"{path}.at_s", errors, None, minimum=0)
    if at_s is None:
        errors.add(f"{path}.at_s", "required")
        return None
    known = _known_fault_kinds()
    if known and raw["kind"] not in known:
        errors.add(f"{path}.kind", f"unknown fault {raw['kind']!r} (known: {', '.join(sorted(known))})")
        return None
    params = tuple(sorted((k, v) for k, v in raw.items() if k not in ("at_s", "kind")))
    return FaultAt(at_s, raw["kind"], params)


def _known_fault_kinds() -> frozenset[str]:
    """Fault names simex/_faults.py (part 2) accepts; empty if it does not say."""
    try:
        from . import _faults
    except ImportError:
        return frozenset()
    return frozenset(getattr(_faults, "_ADMIN_FAULTS", ()))  # its admin-endpoint whitelist


def _continuation(raw: Any, errors: _Errors) -> Continuation | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors.add("continue", "expected a mapping (episode_s, markets_per_episode, lifetime_episodes)")
        return None
    _unknown(raw, ("episode_s", "markets_per_episode", "lifetime_episodes"), "continue", errors)
    default = Continuation()
    return Continuation(
        episode_s=int(_num(raw.get("episode_s"), "continue.episode_s", errors, default.episode_s, minimum=60,
                           integer=True)),
        markets_per_episode=int(_num(raw.get("markets_per_episode"), "continue.markets_per_episode", errors,
                                     default.markets_per_episode, minimum=1, integer=True)),
        lifetime_episodes=int(_num(raw.get("lifetime_episodes"), "continue.lifetime_episodes", errors,
                                   default.lifetime_episodes, minimum=1, integer=True)),
    )


def parse_scenario(data: Any, source: str = "<scenario>") -> Scenario:
    """Validate a scenario mapping (as loaded from YAML). Raises ScenarioError listing every problem."""
    errors = _Errors()
    if not isinstance(data, dict):
        raise ScenarioError(source, ["top level: expected a mapping"])
    _unknown(data, ("name", "description", "seed", "duration_s", "spots", "markets", "faults", "continue"), "scenario",
             errors)
    spots = []
    for i, raw in enumerate(data.get("spots") or []):
        spot = _spot(raw, f"spots[{i}]", errors)
        if spot is not None:
            spots.append(spot)
    symbols = {s.symbol for s in spots}
    markets = []
    raw_markets = data.get("markets")
    if not isinstance(raw_markets, list) or not raw_markets:
        errors.add("markets", "expected a non-empty list")
        raw_markets = []
    for i, raw in enumerate(raw_markets):
        market = _market(raw, f"markets[{i}]", errors, symbols)
        if market is not None:
            markets.append(market)
    seen: set[str] = set()
    for m in markets:
        if m.ticker in seen:
            errors.add("markets", f"duplicate ticker {m.ticker}")
        seen.add(m.ticker)
    faults = []
    for i, raw in enumerate(data.get("faults") or []):
        fault = _fault(raw, f"faults[{i}]", errors)
        if fault is not None:
            faults.append(fault)
    seed = _num(data.get("seed"), "seed", errors, 0, integer=True)
    duration = _num(data.get("duration_s"), "duration_s", errors, 600, minimum=1, integer=True)
    continuation = _continuation(data.get("continue"), errors)
    if errors.items:
        raise ScenarioError(source, errors.items)
    return Scenario(
        name=str(data.get("name") or Path(source).stem), description=str(data.get("description") or ""),
        seed=int(seed), duration_s=int(duration), markets=tuple(markets), spots=tuple(spots),
        faults=tuple(sorted(faults, key=lambda f: f.at_s)), source=source, continuation=continuation,
    )


def available_scenarios() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A scenario by name (a file in simex/scenarios/, e.g. "mr_jump") or by path to a YAML file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIO_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ScenarioError(str(name_or_path), [f"no such scenario (known: {', '.join(available_scenarios())})"])
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ScenarioError(str(path), [f"not valid YAML: {exc}"]) from None
    return parse_scenario(data, str(path))


# ----------------------------------------------------------------------------- running
@dataclass
class _SpotState:
    scenario: SpotScenario
    path: LatentPath
    price: Decimal
    update_id: int = 0

    def step(self, now_ns: int) -> None:
        bps = self.path.step()
        raw = float(self.scenario.initial) * math.exp(bps / 10_000.0)
        tick = self.scenario.tick
        self.price = max(tick, (Decimal(repr(raw)) / tick).to_integral_value() * tick)
        self.update_id += 1


class ScenarioRun:
    """A scenario installed on an exchange: its markets' drivers and its spot prices.

    Read by the reference venues: `fair_cents(ticker)` is the latent fair value now;
    `spot(symbol)` the spot price and update id. Mutated only inside Exchange.advance.
    """

    def __init__(self, exchange: Exchange, scenario: Scenario, seed: int) -> None:
        self.exchange = exchange
        self.scenario = scenario
        self.seed = seed
        self.start_ns = exchange.now()
        self.spots: dict[str, _SpotState] = {}
        self.markets: dict[str, Any] = {}  # ticker -> ScenarioMarket (participants module)
        self.fired_faults: list[FaultAt] = []
        self.fault_handler: Callable[[Exchange, FaultAt], None] | None = None

    def rng(self, *names: object) -> random.Random:
        return random.Random(":".join(str(n) for n in (self.seed, self.scenario.name) + names))

    def elapsed_s(self, now_ns: int | None = None) -> float:
        return ((self.exchange.now() if now_ns is None else now_ns) - self.start_ns) / NS_PER_S

    def forget_market(self, ticker: str) -> None:
        """A settled market's history was dropped: its driver and its background participants'
        accounts go (memory over a day of paper). A market the reference venues quote keeps its
        driver (they read its fair value for ever; the scenario file bounds them)."""
        driver = self.markets.get(ticker)
        if driver is None or driver.scenario.reference is not None:
            return
        del self.markets[ticker]
        for account_id in driver.participant_accounts():
            self.exchange.forget_account(account_id)

    def fair_cents(self, ticker: str) -> float:
        return self.markets[ticker].fair_cents

    def regime(self, ticker: str) -> str:
        """The regime in force now (a listing of a later episode counts from its listing)."""
        return self.markets[ticker].regime(self.exchange.now()).kind

    def spot(self, symbol: str) -> tuple[Decimal, int]:
        state = self.spots[symbol.upper()]
        return state.price, state.update_id


def install_scenario(exchange: Exchange, scenario: Scenario, seed: int | None = None,
                     fault_handler: Callable[[Exchange, FaultAt], None] | None = None) -> ScenarioRun:
    """List the scenario's markets on `exchange` and schedule their drivers from now on.

    seed None -> the scenario's own seed. fault_handler(exchange, fault) is called at each
    fault's time (default: simex._faults.apply_scenario_fault when part 2 provides it, else
    the fault is logged and recorded in run.fired_faults only).
    """
    from ._participants import ScenarioMarket  # participants import this module's types

    run = ScenarioRun(exchange, scenario, scenario.seed if seed is None else seed)
    run.fault_handler = fault_handler or _default_fault_handler()
    start = run.start_ns
    for spot in scenario.spots:
        path = LatentPath(spot.regimes, 0.0, run.rng("spot", spot.symbol))
        state = _SpotState(spot, path, spot.initial)
        run.spots[spot.symbol] = state
        _every_second(exchange, start, state.step)
    for market in scenario.markets:  # file order: scheduling order is part of determinism
        run.markets[market.ticker] = ScenarioMarket(run, market)
    for fault in scenario.faults:
        exchange.schedule(start + int(fault.at_s * NS_PER_S), lambda _now, f=fault: _fire_fault(run, f))
    if scenario.continuation is not None:
        _Episodes(run, scenario.continuation).schedule_first()
    exchange.on_history_dropped.append(run.forget_market)
    exchange.scenario_run = run  # the simulator's reference routes find it here (see _reference.py)
    return run


def _every_second(exchange: Exchange, start_ns: int, action: Callable[[int], None]) -> None:
    def run(now_ns: int) -> None:
        action(now_ns)
        exchange.schedule(now_ns + STEP_S * NS_PER_S, run)

    exchange.schedule(start_ns + STEP_S * NS_PER_S, run)


def _fire_fault(run: ScenarioRun, fault: FaultAt) -> None:
    run.fired_faults.append(fault)
    if run.fault_handler is None:
        log.info("scenario %s: fault %s at %ss (no fault handler installed)", run.scenario.name, fault.kind, fault.at_s)
        return
    try:
        run.fault_handler(run.exchange, fault)
    except Exception:  # hazard: a bad fault entry must not stop the market clock
        log.exception("scenario %s: fault %s failed", run.scenario.name, fault.kind)


def _default_fault_handler() -> Callable[[Exchange, FaultAt], None] | None:
    try:
        from . import _faults  # part 2's plain fault API
    except ImportError:
        return None
    return getattr(_faults, "apply_scenario_fault", None)


# ----------------------------------------------------------------------------- after the script
# The volatility event each fresh listing gets, with its weight: mostly what the scanner's
# detector fires on (jumps that revert, bursts), sometimes what must keep it out (a trend,
# an illiquid spell) or a move that stays.
_EPISODE_EVENTS = (("jump_revert", 4), ("burst", 3), ("trend", 2), ("jump_stay", 1), ("illiquid", 1))
_OPEN_STATUSES = ("initialized", "active", "inactive")


def _regime(kind: str, start_s: float, for_s: float | None, **params: float) -> Regime:
    merged = {**_PATH_DEFAULTS[kind], **params}
    end_s = None if for_s is None else start_s + for_s
    return Regime(kind, float(start_s), end_s, tuple(sorted(merged.items())), _BOOK_DEFAULTS[kind])


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([name for name, _ in choices], weights=[weight for _, weight in choices])[0]


def _drawn_market_script(rng: random.Random) -> tuple[Regime, ...]:
    """A fresh listing's script (cents, from its listing): quiet lead-in long enough for the
    scanner's minimum age and windows, one event, an oscillating tail that never ends."""
    lead = rng.randint(90, 240)
    kind = _weighted(rng, _EPISODE_EVENTS)
    sign = rng.choice((-1.0, 1.0))
    if kind == "jump_revert":
        event = _regime(kind, lead, rng.randint(180, 300), jump=sign * rng.uniform(14, 22), half_life_s=rng.uniform(8, 18))
    elif kind == "jump_stay":
        event = _regime(kind, lead, rng.randint(120, 240), jump=sign * rng.uniform(10, 18))
    elif kind == "trend":
        event = _regime(kind, lead, rng.randint(180, 360), drift_per_min=sign * rng.uniform(3, 6))
    else:  # burst, illiquid
        event = _regime(kind, lead, rng.randint(150, 300))
    tail_start = event.end_s
    assert tail_start is not None
    tail = _regime("oscillate", tail_start, None, amplitude=rng.uniform(2, 4), period_s=float(rng.randint(60, 150)))
    return _regime("quiet", 0, lead), event, tail


def _drawn_spot_script(rng: random.Random, from_s: float) -> tuple[Regime, ...]:
    """A spot symbol's next regimes (basis points of log price, from the run's start)."""
    lead = from_s + rng.randint(60, 240)
    sign = rng.choice((-1.0, 1.0))
    if rng.random() < 0.6:
        event = _regime("jump_revert", lead, 240, jump=sign * rng.uniform(120, 250), half_life_s=rng.uniform(20, 45),
                        volatility=2.0)
    else:
        event = _regime("trend", lead, 300, drift_per_min=sign * rng.uniform(8, 20), volatility=2.0, reversion=0.3)
    assert event.end_s is not None
    quiet = _regime("quiet", from_s, lead - from_s, volatility=1.5, reversion=0.02)
    tail = _regime("oscillate", event.end_s, None, amplitude=25.0, period_s=120.0, volatility=2.0)
    return quiet, event, tail


def _round_strike(price: Decimal) -> Decimal:
    """A round strike near the spot: 95,123 -> 95,000; 3,412 -> 3,400 (steps of 5 in the third digit)."""
    step = Decimal(5) * Decimal(10) ** (len(str(int(price))) - 3)
    return max(step, (price / step).to_integral_value() * step)


class _Episodes:
    """The scenario after its script: an episode every `episode_s` from `duration_s` on.

    Generation g is listed at episode g (generation 0: the scripted markets) and settles at
    episode g + lifetime_episodes: closed early (its scheduled close stays days away, so
    the scanner's expiry windows admit it while it lives), determined one second later on
    the side of its fair value, settled a second after that. Draws come from
    run.rng("episode", k, ...) and each listing's own streams, so the stream depends only
    on the seed and the scenario; scheduling goes through the exchange, in order.
    """

    def __init__(self, run: ScenarioRun, continuation: Continuation) -> None:
        self.run = run
        self.continuation = continuation
        self.generations: dict[int, list[str]] = {0: [m.ticker for m in run.scenario.markets]}
        # a scripted close settles itself; it is no model for a listing that must live a while
        self.templates = [m for m in run.scenario.markets if m.regimes[-1].kind != "close"]

    def schedule_first(self) -> None:
        self._schedule(1)

    def _schedule(self, k: int) -> None:
        at_s = self.run.scenario.duration_s + (k - 1) * self.continuation.episode_s
        self.run.exchange.schedule(self.run.start_ns + at_s * NS_PER_S, lambda now_ns: self._episode(k, now_ns))

    def _episode(self, k: int, now_ns: int) -> None:
        self._settle(self.generations.pop(k - self.continuation.lifetime_episodes, []), now_ns)
        elapsed_s = self.run.elapsed_s(now_ns)
        for symbol, state in self.run.spots.items():
            state.path.extend(_drawn_spot_script(self.run.rng("episode", k, "spot", symbol), elapsed_s))
        rng = self.run.rng("episode", k)
        count = min(self.continuation.markets_per_episode, len(self.templates))
        self.generations[k] = [self._list(template, k, rng) for template in rng.sample(self.templates, count)]
        log.info("scenario %s: episode %d lists %s", self.run.scenario.name, k, ", ".join(self.generations[k]))
        self._schedule(k + 1)

    def _list(self, template: MarketScenario, k: int, rng: random.Random) -> str:
        from ._participants import ScenarioMarket  # participants import this module's types

        event = f"{template.event_ticker}G{k}"
        suffix = template.ticker.rsplit("-", 1)[-1]
        spot = template.spot
        if spot is not None:  # struck at the spot of the moment, so the fair value starts near 50
            strike = _round_strike(self.run.spot(spot.symbol)[0])
            spot = replace(spot, strike=strike)
            suffix = f"T{strike:f}"
        market = replace(
            template, ticker=f"{event}-{suffix}", event_ticker=event, title=f"{template.title} (episode {k})",
            initial_cents=float(rng.randint(25, 75)), listed_s_before_start=0, regimes=_drawn_market_script(rng),
            reference=None, spot=spot,
        )
        # the listing's own run: its script counts from now; spot prices are shared
        listing_run = ScenarioRun(self.run.exchange, replace(self.run.scenario, name=f"{self.run.scenario.name}:{market.ticker}",
                                                             markets=(market,), faults=(), continuation=None), self.run.seed)
        listing_run.spots = self.run.spots
        self.run.markets[market.ticker] = ScenarioMarket(listing_run, market)
        return market.ticker

    def _settle(self, tickers: list[str], now_ns: int) -> None:
        exchange = self.run.exchange
        for ticker in tickers:
            driver = self.run.markets[ticker]
            if driver.scenario.regimes[-1].kind == "close" or exchange.markets[ticker].status not in (*_OPEN_STATUSES, "closed"):
                continue  # its own script settles it, or it is settled already
            outcome = "yes" if driver.fair_cents >= 50 else "no"
            if exchange.markets[ticker].status != "closed":
                exchange.close_market(ticker)
            exchange.schedule(now_ns + NS_PER_S, lambda _now, t=ticker, o=outcome: _settle_step(exchange.determine_market, t, o))
            exchange.schedule(now_ns + 2 * NS_PER_S, lambda _now, t=ticker: _settle_step(exchange.settle_market, t))


def _settle_step(action: Callable[..., Any], *args: Any) -> None:
    try:
        action(*args)
    except Exception:  # hazard: a market moved on by a fault must not stop the market clock
        log.exception("scenario: %s%r failed", getattr(action, "__name__", action), args)


def build_scenario_exchange(scenario: Scenario | str | Path, seed: int | None = None,
                            now_ns: Callable[[], int] | None = None) -> tuple[Exchange, ScenarioRun]:
    """A fresh exchange running `scenario` (default clock: wall time, for `mmd sim`/paper)."""
    import time

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    run_seed = scenario.seed if seed is None else seed
    exchange = Exchange(now_ns=now_ns or time.time_ns, seed=run_seed)
    return exchange, install_scenario(exchange, scenario, run_seed)

