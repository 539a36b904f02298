"""Fault campaigns as plain data: which faults, in which order, with which arguments.

A seed fixes everything the harness chooses (order, counts, codes, abort-or-close, pause
lengths), so one seed is one reproducible schedule. Nothing here touches a process or a
socket: `mmd/chaos.py` runs what this plans.

Fault kinds and how recovery is judged:

| kind | injected as | recovered when (basis) |
| --- | --- | --- |
| ws_drop | `drop_ws_connections` (close 1011, or a TCP reset) | feed: reconnected, healthy |
| seq_skip | `skip_seq` on one of our markets | feed: the gap seen, healthy |
| malformed | `malformed_frames` | feed: the frames counted, healthy |
| channel_error | `channel_error` 10 / 17 / 25 | feed: subscriptions restored, healthy |
| burst_429 | `burst_429` (a count) | rest: from the burst's end to the first order after it, when one waited |
| burst_5xx | `burst_5xx` 500/502/503/504 (a count) | rest: likewise |
| slow_rest | `slow_responses` beyond `rest.timeout_s` (a count) | rest: likewise |
| kill9 | SIGKILL of the daemon, restarted at once | order: first order of the new run |
| pause_market | `pause_market`, held, then `resume_market` | order: first order on that market after the resume |
| close_market | `close_market_early` (always last: a close cannot be undone) | order: first order on another market |
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = [
    "FEED",
    "ORDER",
    "REST",
    "FEED_KINDS",
    "REST_KINDS",
    "Fault",
    "Phase",
    "Campaign",
    "plan_campaign",
    "CAMPAIGNS",
]

FEED = "feed healthy again"
ORDER = "first new order"
REST = "burst end to next order (one waiting)"  # how: mmd/chaos_checks.py, "a REST burst's recovery"
FEED_KINDS = ("ws_drop", "seq_skip", "malformed", "channel_error")
REST_KINDS = ("burst_429", "burst_5xx", "slow_rest")
CHANNEL_ERROR_CODES = (10, 17, 25)
CAMPAIGNS = ("short", "full")


@dataclass(frozen=True)
class Fault:
    """One fault. `admin` is what is POSTed to /_admin/faults (empty for a kill);
    `ticker` is the market a market fault or a per-market recovery concerns."""

    kind: str
    admin: tuple[dict, ...] = ()
    ticker: str | None = None
    hold_s: float = 0.0  # pause_market: seconds paused before the resume
    injected_429: int = 0  # 429 answers this fault makes the exchange give (burst_429's count)

    @property
    def basis(self) -> str:
        return FEED if self.kind in FEED_KINDS else REST if self.kind in REST_KINDS else ORDER

    @property
    def is_rest_burst(self) -> bool:
        return self.kind in REST_KINDS

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for spec in self.admin for k, v in spec.items() if k != "fault")
        where = f" on {self.ticker}" if self.ticker and "ticker" not in args else ""
        return f"{self.kind}({args}){where}"


@dataclass(frozen=True)
class Phase:
    """One run of a fresh simulated exchange and daemon, faults in order, checked at its end."""

    name: str
    faults: tuple[Fault, ...]
    markets: int  # pinned markets (sessions at once)
    ladder_levels: int  # maker.model.ladder_levels: resting orders allowed per market and side
    settle_s: tuple[float, float] = (1.0, 2.0)  # quiet time between a recovery and the next fault
    recovery_timeout_s: float = 45.0


@dataclass(frozen=True)
class Campaign:
    name: str
    seed: int
    phases: tuple[Phase, ...] = field(default_factory=tuple)

    @property
    def fault_count(self) -> int:
        return sum(len(p.faults) for p in self.phases)


def plan_campaign(name: str, seed: int, tickers: list[str], scale: float = 1.0) -> Campaign:
    """The campaign `name` for these markets. `scale` shrinks (or grows) the full campaign's
    fault counts, never below one of each; the short campaign ignores it."""
    if name not in CAMPAIGNS:
        raise ValueError(f"unknown campaign {name!r}; expected one of {', '.join(CAMPAIGNS)}")
    if scale <= 0:
        raise ValueError(f"scale must be positive, not {scale!r}")
    if name == "short":
        if len(tickers) < 2:
            raise ValueError("the short campaign needs two markets (one is closed at its end)")
        return Campaign(name, seed, (_short_phase(_Draws(random.Random(seed), tickers[:2])),))
    if len(tickers) < 3:
        raise ValueError("the full campaign needs three markets")
    rng = random.Random(seed)
    three = tickers[:3]

    def n(count: int) -> int:
        return max(1, round(count * scale))

    draws = _Draws(rng, three)
    phases = (
        Phase("drops", tuple(draws.ws_drop() for _ in range(n(100))), 3, 3, settle_s=(0.5, 1.5)),
        Phase("storms", draws.shuffled([draws.rest(kind) for kind in REST_KINDS for _ in range(n(12))]), 3, 3),
        Phase("kills", tuple(Fault("kill9") for _ in range(n(20))), 3, 3, settle_s=(2.0, 4.0), recovery_timeout_s=60.0),
        Phase("channel errors", draws.shuffled(
            [draws.channel_error(code) for code in CHANNEL_ERROR_CODES for _ in range(n(8))]
            + [draws.seq_skip() for _ in range(n(8))] + [draws.malformed() for _ in range(n(4))]), 3, 3),
        Phase("markets", draws.shuffled([draws.pause() for _ in range(n(6))]) + (draws.close(),), 3, 3,
              recovery_timeout_s=60.0),
    )
    return Campaign(name, seed, phases)


def _short_phase(draws: "_Draws") -> Phase:
    """A few faults of each kind on one daemon: two markets, one level per side."""
    faults = (
        [draws.ws_drop() for _ in range(2)]
        + [draws.seq_skip() for _ in range(2)]
        + [draws.channel_error(code) for code in CHANNEL_ERROR_CODES]
        + [draws.malformed()]
        + [draws.rest(kind) for kind in REST_KINDS for _ in range(2 if kind != "slow_rest" else 1)]
        + [Fault("kill9") for _ in range(2)]
        + [draws.pause()]
    )
    return Phase("short", draws.shuffled(faults) + (draws.close(),), 2, 1, settle_s=(0.5, 1.0),
                 recovery_timeout_s=40.0)


class _Draws:
    """Arguments drawn from one seeded generator, in call order."""

    def __init__(self, rng: random.Random, tickers: list[str]) -> None:
        self.rng = rng
        self.tickers = tickers

    def shuffled(self, faults: list[Fault]) -> tuple[Fault, ...]:
        faults = list(faults)
        self.rng.shuffle(faults)
        return tuple(faults)

    def ws_drop(self) -> Fault:
        return Fault("ws_drop", ({"fault": "drop_ws_connections", "abort": self.rng.random() < 0.5},))

    def seq_skip(self) -> Fault:
        ticker = self.rng.choice(self.tickers)
        return Fault("seq_skip", ({"fault": "skip_seq", "n": self.rng.randint(1, 3), "ticker": ticker},), ticker)

    def malformed(self) -> Fault:
        return Fault("malformed", ({"fault": "malformed_frames", "count": self.rng.randint(1, 6)},))

    def channel_error(self, code: int) -> Fault:
        return Fault("channel_error", ({"fault": "channel_error", "code": code},))

    def rest(self, kind: str) -> Fault:
        if kind == "burst_429":
            count = self.rng.randint(3, 20)
            return Fault(kind, ({"fault": "burst_429", "count": count},), injected_429=count)
        if kind == "burst_5xx":
            status = self.rng.choice((500, 502, 503, 504))
            return Fault(kind, ({"fault": "burst_5xx", "count": self.rng.randint(2, 8), "status": status},))
        # beyond the daemon's REST timeout (rest.timeout_s, 5 s by default): the call times out,
        # and the exchange still acts on it later
        delay = round(self.rng.uniform(5.5, 7.0), 2)
        return Fault(kind, ({"fault": "slow_responses", "delay_s": delay, "count": self.rng.randint(1, 4)},))

    def pause(self) -> Fault:
        ticker = self.rng.choice(self.tickers)
        return Fault("pause_market", ({"fault": "pause_market", "ticker": ticker},), ticker,
                     hold_s=round(self.rng.uniform(2.0, 5.0), 2))

    def close(self) -> Fault:
        ticker = self.tickers[-1]
        return Fault("close_market", ({"fault": "close_market_early", "ticker": ticker},), ticker)
