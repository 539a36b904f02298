"""Rate and loss limits as plain objects: the fill-rate limiter, warning levels, the
drawdown breaker and the daily loss limit. All money is Decimal; time is ns handed in."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["FillRateLimiter", "WarningLevels", "LevelCrossing", "PnlLimits", "PnlBreach", "trading_day"]

_ZERO = Decimal(0)
_NS_PER_HOUR = 3_600_000_000_000
_NS_PER_DAY = 24 * _NS_PER_HOUR


class FillRateLimiter:
    """Filled value (contracts x price) per market over a rolling window.

    `record` answers True on the rising edge: the fill that takes the window's total over
    the limit; the owner then pauses the market. Fills inside a pause still count but do
    not fire again. The limiter re-arms once the window has come back to the limit or
    under it, including when it empties (every fill expired): the next fill that takes it
    over fires again."""

    def __init__(self, limit: Decimal, window_ns: int) -> None:
        self.limit = limit
        self.window_ns = window_ns
        self._fills: dict[str, deque[tuple[int, Decimal]]] = {}
        self._totals: dict[str, Decimal] = {}
        self._tripped: set[str] = set()

    def _expire(self, ticker: str, now_ns: int) -> None:
        fills = self._fills.get(ticker)
        if not fills:
            return
        while fills and fills[0][0] <= now_ns - self.window_ns:
            _, value = fills.popleft()
            self._totals[ticker] -= value
        if self._totals[ticker] <= self.limit:
            self._tripped.discard(ticker)  # back under (or empty): the next excess fires
        if not fills:
            del self._fills[ticker]
            del self._totals[ticker]

    def rate(self, ticker: str, now_ns: int) -> Decimal:
        self._expire(ticker, now_ns)
        return self._totals.get(ticker, _ZERO)

    def tripped(self, ticker: str) -> bool:
        return ticker in self._tripped

    def record(self, ticker: str, value: Decimal, now_ns: int) -> bool:
        self._expire(ticker, now_ns)
        self._fills.setdefault(ticker, deque()).append((now_ns, value))
        total = self._totals[ticker] = self._totals.get(ticker, _ZERO) + value
        if total <= self.limit:
            self._tripped.discard(ticker)
            return False
        if ticker in self._tripped:
            return False
        self._tripped.add(ticker)
        return True

    def forget(self, ticker: str) -> None:
        self._fills.pop(ticker, None)
        self._totals.pop(ticker, None)
        self._tripped.discard(ticker)


@dataclass(frozen=True, slots=True)
class LevelCrossing:
    kind: str
    key: str  # ticker, or "" when global
    level: Decimal
    used: Decimal  # fraction of the limit used now


class WarningLevels:
    """Reports each configured fraction of a limit once per crossing, as usage rises
    through it (the highest level newly reached: one warning, not one per level).

    A reported level re-arms only when usage has fallen `rearm_margin` (a fraction of the
    limit) below it AND stayed there `rearm_ns`. The hold time is what makes the
    hysteresis hold in practice: a maker replacing its quotes at the budget drops the
    market's exposure far below the level for a moment (an order confirmed cancelled
    before its replacement is admitted) and back; with a margin alone every replacement
    re-armed the level and warned again (7 warnings in 20 s in a paper run). Usage is
    only seen at updates, so a dip counts as lasting from the first update below the
    re-arm point to the first update back above it."""

    def __init__(self, levels: tuple[Decimal, ...], rearm_margin: Decimal = _ZERO, rearm_ns: int = 0) -> None:
        self.levels = tuple(sorted(levels))
        self.rearm_margin = rearm_margin
        self.rearm_ns = rearm_ns
        # (kind, key) -> {reported level: ns usage went under its re-arm point, or None}
        self._reported: dict[tuple[str, str], dict[Decimal, int | None]] = {}

    def update(self, kind: str, key: str, used: Decimal, limit: Decimal, now_ns: int = 0) -> LevelCrossing | None:
        """The highest newly crossed level, or None."""
        fraction = used / limit if limit > 0 else _ZERO
        reported = self._reported.get((kind, key))
        if reported is None:
            if not self.levels or fraction < self.levels[0]:
                return None  # below every level, none reported: the usual case, checked often
            reported = {}
        for level, below_since in list(reported.items()):
            if fraction < level - self.rearm_margin:
                if below_since is None:
                    reported[level] = below_since = now_ns
                if now_ns - below_since >= self.rearm_ns:
                    del reported[level]  # fell far enough for long enough: armed again
            elif below_since is not None and now_ns - below_since >= self.rearm_ns:
                del reported[level]  # the dip, seen from both ends, lasted long enough
            else:
                reported[level] = None
        reached = [level for level in self.levels if fraction >= level]
        top = reached[-1] if reached else None
        if top is None or top in reported:
            if not reported:
                self._reported.pop((kind, key), None)
            return None
        for level in reached:  # the lower levels are passed too: they warn no more
            reported[level] = None
        self._reported[(kind, key)] = reported
        return LevelCrossing(kind, key, top, fraction)

    def reset(self, kind: str, key: str = "") -> None:
        self._reported.pop((kind, key), None)

    def clear(self) -> None:
        self._reported.clear()


def trading_day(now_ns: int, start_hour_utc: int) -> int:
    """Index of the trading day that contains now_ns (days start at start_hour_utc UTC)."""
    return (now_ns - start_hour_utc * _NS_PER_HOUR) // _NS_PER_DAY


@dataclass(frozen=True, slots=True)
class PnlBreach:
    kind: str  # drawdown | daily_loss
    amount: Decimal  # dollars lost (drawdown from peak, or loss today)
    limit: Decimal


class PnlLimits:
    """Drawdown from the running peak of total P&L, and the loss since the trading day
    began. Total P&L is realised plus marked open positions, net of fees, all markets."""

    def __init__(self, max_drawdown: Decimal, daily_loss_limit: Decimal, day_start_hour_utc: int) -> None:
        self.max_drawdown = max_drawdown
        self.daily_loss_limit = daily_loss_limit
        self.day_start_hour_utc = day_start_hour_utc
        self.peak: Decimal | None = None
        self.day: int | None = None
        self.day_open_pnl = _ZERO
        self.last_pnl = _ZERO

    def update(self, total_pnl: Decimal, now_ns: int) -> tuple[bool, Decimal, Decimal]:
        """Feed the current total P&L. Returns (new_day, drawdown, daily_loss)."""
        day = trading_day(now_ns, self.day_start_hour_utc)
        new_day = self.day is not None and day != self.day
        if self.day is None or new_day:
            # the day opens at the last P&L seen before it (or this one at the very start)
            self.day_open_pnl = self.last_pnl if new_day else total_pnl
            self.day = day  # the drawdown peak is kept across days: a high-water mark
        self.last_pnl = total_pnl
        self.peak = total_pnl if self.peak is None else max(self.peak, total_pnl)
        return new_day, self.drawdown, self.daily_loss

    def rebase(self, total_pnl: Decimal, now_ns: int) -> None:
        """An operator's resume: the peak and the day's opening P&L start again from here."""
        self.day = trading_day(now_ns, self.day_start_hour_utc)
        self.day_open_pnl = self.peak = self.last_pnl = total_pnl

    @property
    def drawdown(self) -> Decimal:
        return _ZERO if self.peak is None else self.peak - self.last_pnl

    @property
    def daily_loss(self) -> Decimal:
        return max(_ZERO, self.day_open_pnl - self.last_pnl)

    def breaches(self) -> list[PnlBreach]:
        found = []
        if self.drawdown >= self.max_drawdown:
            found.append(PnlBreach("drawdown", self.drawdown, self.max_drawdown))
        if self.daily_loss >= self.daily_loss_limit:
            found.append(PnlBreach("daily_loss", self.daily_loss, self.daily_loss_limit))
        return found
