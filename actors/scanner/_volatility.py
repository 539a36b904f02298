"""Per-market price history and the volatility-event rules (SPEC 6 "Volatility scanning").

History keeps at most one point per `sample_interval_s` bucket (the last observation in
a bucket wins), inside a rolling window and a hard point cap, so memory is bounded and
the statistics do not depend on how chatty the feed is (a WS book update per delta vs a
REST sweep every 30 s).

Definitions used by the event rules (all prices YES-leg mids, dollars):
- jump: over the jump window, max − min, signed by the extreme that lies farther from
  the window's first mid (+ when the maximum does: the price went up, whether or not it
  has come back since; ties go to the later extreme);
- move: that extreme's offset from the first mid (decides up/down, so the direction
  always agrees with the jump's sign: a spike up that reverted is an up move);
- σ: realised σ over the sigma window (see _regimes.realised_sigma);
- mean reversion: |current − mean of the mean window| ≤ tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from config import VolatilityScanConfig
from kernel.clock import seconds

from ..market_state import DecimalColumn, FloatColumn, IntColumn, PackedRing

from ._profiles import in_categories
from ._regimes import realised_sigma, to_decimal

__all__ = ["PricePoint", "PriceHistory", "VolatilityCheck", "MarketFacts", "check_event", "ended_reason", "strength"]

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class PricePoint:
    ts_ns: int
    mid: Decimal
    spread: Decimal | None
    depth: Decimal  # contracts at the touch (bid size + ask size)


class PriceHistory:
    """Points packed into arrays (~60 bytes a point, not a ~430-byte PricePoint), read back
    as equal PricePoints; the newest is kept as the object (it is read on every sample)."""

    def __init__(self, sample_interval_s: float, window_s: float, max_points: int) -> None:
        self._bucket_ns = max(1, seconds(sample_interval_s))
        self._window_ns = seconds(window_s)
        # ts_ns, mid, spread, depth and float(mid): the regime classifier reads the whole
        # window as floats on every sample
        self._rows = PackedRing(
            max_points, IntColumn(), DecimalColumn(narrow=True), DecimalColumn(narrow=True), DecimalColumn(), FloatColumn()
        )
        self._latest: PricePoint | None = None

    def add(self, point: PricePoint) -> bool:
        """Record an observation; True when it opened a new bucket (a new sample)."""
        rows, latest = self._rows, self._latest
        row = (point.ts_ns, point.mid, point.spread, point.depth, float(point.mid))
        if latest is not None and point.ts_ns < latest.ts_ns:
            return False  # out of order: never rewrite the past
        self._latest = point
        if latest is not None and point.ts_ns // self._bucket_ns == latest.ts_ns // self._bucket_ns:
            rows.replace_last(row)
            return False
        rows.append(row)
        cutoff = point.ts_ns - self._window_ns
        while rows and rows.value(0, 0) < cutoff:
            rows.popleft()
        return True

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def latest(self) -> PricePoint | None:
        return self._latest

    @property
    def points(self) -> list[PricePoint]:
        return self.since(-(2**63))

    def _first_from(self, start_ns: int) -> int:
        """Index of the first point at or after start_ns (points are in time order)."""
        return self._rows.first_index_at_least(0, start_ns)

    def since(self, start_ns: int) -> list[PricePoint]:
        return [PricePoint(ts_ns, mid, spread, depth) for ts_ns, mid, spread, depth, _ in self._rows.rows(self._first_from(start_ns))]

    def decimal_mids_since(self, start_ns: int) -> list[Decimal]:
        return list(self._rows.values(1, self._first_from(start_ns)))

    def mids_since(self, start_ns: int) -> list[float]:
        return self._rows.number_values(4, self._first_from(start_ns))


@dataclass(frozen=True, slots=True)
class MarketFacts:
    """What the event rules need besides the price path."""

    category: str
    volume_24h_dollars: Decimal
    regime: str  # accepted regime
    profile_excluded: bool  # the category profile (with regime override) excludes it
    in_session: bool
    active: bool = True
    regime_stable: bool = True  # the latest classification agrees with the accepted regime
    category_known: bool = True  # the category lookup answered (unknown: no event, the profile could be wrong)
    regime_sigma: Decimal | None = None  # σ on the regime window (what RegimeUpdated publishes); None: not checked
    cooling_down: bool = False  # a previous event on the ticker ended less than rearm_cooldown_s ago


@dataclass(frozen=True, slots=True)
class VolatilityCheck:
    failed: tuple[str, ...]  # names of the conditions that did not hold; () = event
    jump: Decimal
    move: Decimal
    sigma: Decimal
    mean_gap: Decimal
    direction: str
    strength: Decimal

    @property
    def fires(self) -> bool:
        return not self.failed


def _excursion(points: list[PricePoint]) -> tuple[Decimal, Decimal]:
    return _mid_excursion([p.mid for p in points])


def _mid_excursion(mids: list[Decimal]) -> tuple[Decimal, Decimal]:
    """(jump, move): max − min signed by the extreme farther from the first mid, and that
    extreme's offset from the first mid (module docstring)."""
    if not mids:
        return ZERO, ZERO
    hi = max(range(len(mids)), key=lambda i: (mids[i], i))  # latest maximum
    lo = min(range(len(mids)), key=lambda i: (mids[i], -i))  # latest minimum
    first = mids[0]
    up, down = mids[hi] - first, mids[lo] - first  # up >= 0 >= down
    size = mids[hi] - mids[lo]
    if up > -down or (up == -down and hi > lo):
        return size, up
    return -size, down


def _jump(points: list[PricePoint]) -> Decimal:
    return _excursion(points)[0]


def strength(jump: Decimal, sigma: Decimal, config: VolatilityScanConfig) -> Decimal:
    jump_score = min(ONE, abs(jump) / (2 * config.jump_threshold))
    sigma_score = min(ONE, sigma / (2 * config.sigma_threshold))
    return ((jump_score + sigma_score) / 2).quantize(Decimal("0.0001"))


def _measures(history: PriceHistory, now_ns: int, config: VolatilityScanConfig):
    jump, move = _mid_excursion(history.decimal_mids_since(now_ns - seconds(config.jump_window_s)))
    current = history.latest.mid if history.latest else ZERO
    sigma = to_decimal(realised_sigma(history.mids_since(now_ns - seconds(config.sigma_window_s))))
    recent = history.decimal_mids_since(now_ns - seconds(config.mean_window_s))
    mean = sum(recent, ZERO) / len(recent) if recent else current
    return jump, move, sigma, abs(current - mean)


def check_event(history: PriceHistory, now_ns: int, facts: MarketFacts, config: VolatilityScanConfig) -> VolatilityCheck:
    """Every condition of SPEC 6; the check lists each one that failed, by name."""
    jump, move, sigma, mean_gap = _measures(history, now_ns, config)
    failed: list[str] = []
    if len(history) < config.min_points:
        failed.append("warmup")
    if not facts.category_known:
        failed.append("category_unknown")
    if in_categories(facts.category, config.excluded_categories):
        failed.append("category_excluded")
    if facts.profile_excluded:
        failed.append("profile_excluded")
    latest = history.latest
    if latest is None or latest.spread is None or latest.spread > config.max_spread:
        failed.append("spread")
    if abs(jump) < config.jump_threshold and sigma < config.sigma_threshold:
        failed.append("volatility")
    if facts.regime_sigma is not None and facts.regime_sigma < config.sigma_floor:
        # σ over 10 minutes can hold up a market that is flat now; the supervisor ends a
        # session at once when the regime window's σ is under its floor
        failed.append("sigma_floor")
    if mean_gap > config.mean_reversion_tolerance:
        failed.append("mean_reversion")
    if facts.volume_24h_dollars < config.min_volume_24h_dollars:
        failed.append("volume_24h")
    if facts.regime not in config.allowed_regimes or not facts.regime_stable:
        # an accepted regime the latest windows already disagree with may flip right after
        # the event: the supervisor, which waits for a stable allowed regime, would drop it
        failed.append("regime")
    if facts.in_session:
        failed.append("session")
    if not facts.active:
        failed.append("inactive")
    if facts.cooling_down:
        failed.append("cooldown")
    if move > config.direction_threshold:
        direction = "up"
    elif move < -config.direction_threshold:
        direction = "down"
    else:
        direction = ""
    return VolatilityCheck(tuple(failed), jump, move, sigma, mean_gap, direction, strength(jump, sigma, config))


def ended_reason(
    history: PriceHistory, now_ns: int, *, active: bool, tracked: bool, config: VolatilityScanConfig
) -> str:
    """Why an active event is over, or "" while it goes on."""
    if not tracked:
        return "left_tracked_set"
    if not active:
        return "market_inactive"
    jump, _, sigma, _ = _measures(history, now_ns, config)
    if sigma < config.sigma_threshold and abs(jump) < config.jump_threshold:
        return "sigma_below_threshold"
    return ""
