"""Throttles with hysteresis and the adverse-selection protections (SPEC 8), as plain objects.

Each throttle is judged once per check (the maker's periodic tick). A throttle engages
after `bad_checks_to_trigger` consecutive bad checks and lets go after
`good_checks_to_recover` consecutive good ones, so a book that flickers around a
threshold does not make the quotes flicker with it.

- wide spread (book spread > 20 cents) -> widen 5 ticks;
- thin book (depth of the top 5 levels of both sides < 100) -> widen 3 ticks;
- adverse selection (>= 70% of the last 5 minutes' judged fills on the wrong side of the
  move that followed) -> widen, and flagged in MakerStatus.adverse_selection;
- spread shock -> freeze. Hazard: "spread above 15 cents freezes" read literally would
  make the wider 20-cent throttle dead code; the seed's rationale is that Kalshi
  "jumps the spread instantly", so a shock is the spread jumping more than 15 cents above
  its own recent baseline (an EWMA of the spread per check). A spread that stays wide
  becomes the new baseline, the shock clears and the wide-spread throttle takes over.

Protections (seed 002), judged on every input rather than per check:
- a volume spike (recent traded volume > 3x its average rate) pauses for a cooldown;
- a fair value move > 2 cents since the last quote reprices every order at once;
- an order older than 30 s is refreshed (moved to the current quote).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from config import MakerThrottleConfig
from messages import BookView
from kernel.clock import seconds

__all__ = [
    "Hysteresis",
    "ThrottleVerdict",
    "AdverseSelectionMonitor",
    "Throttles",
    "VolumeSpikeDetector",
    "SigmaEstimator",
]

_ZERO = Decimal(0)


class Hysteresis:
    """Engages after n consecutive bad checks, releases after m consecutive good ones."""

    def __init__(self, bad_to_trigger: int, good_to_recover: int) -> None:
        self.bad_to_trigger = bad_to_trigger
        self.good_to_recover = good_to_recover
        self.engaged = False
        self._bad_run = 0
        self._good_run = 0

    def check(self, bad: bool) -> bool:
        """Record one check; returns whether the throttle is engaged afterwards."""
        if bad:
            self._bad_run += 1
            self._good_run = 0
            if not self.engaged and self._bad_run >= self.bad_to_trigger:
                self.engaged = True
        else:
            self._good_run += 1
            self._bad_run = 0
            if self.engaged and self._good_run >= self.good_to_recover:
                self.engaged = False
        return self.engaged

    def settled(self, bad: bool) -> bool:
        """Whether more checks that are all `bad` (or all good) change nothing but the run."""
        return self.engaged == bad

    def skip(self, bad: bool, checks: int) -> None:
        """`checks` checks of a settled gate (see `settled`): only the run grows."""
        if bad:
            self._bad_run += checks
            self._good_run = 0
        else:
            self._good_run += checks
            self._bad_run = 0


@dataclass(frozen=True, slots=True)
class ThrottleVerdict:
    widen_ticks: int = 0
    freeze: str = ""  # why quoting is frozen ("" when not)
    adverse_selection: bool = False
    engaged: tuple[str, ...] = ()  # names of engaged throttles, in a fixed order


@dataclass(slots=True)
class _JudgedFill:
    ts_ns: int
    side: str  # our side: bid = we bought YES
    price: Decimal
    wrong_side: bool | None = None  # None until judged


class AdverseSelectionMonitor:
    """Our fills, each judged once by the mid `markout` after it: a buy followed by a
    lower mid (or a sell by a higher one) was on the wrong side of the move."""

    def __init__(self, *, window_ns: int, markout_ns: int) -> None:
        self.window_ns = window_ns
        self.markout_ns = markout_ns
        self._fills: deque[_JudgedFill] = deque()

    def on_fill(self, ts_ns: int, side: str, price: Decimal) -> None:
        self._fills.append(_JudgedFill(ts_ns, side, price))

    def judge(self, now_ns: int, mid: Decimal | None) -> None:
        while self._fills and self._fills[0].ts_ns < now_ns - self.window_ns:
            self._fills.popleft()
        if mid is None:
            return
        for fill in self._fills:
            if fill.wrong_side is None and now_ns - fill.ts_ns >= self.markout_ns:
                fill.wrong_side = mid < fill.price if fill.side == "bid" else mid > fill.price

    @property
    def pending(self) -> bool:
        """Whether a fill is in the window (it will be judged, or leave, as time passes)."""
        return bool(self._fills)

    def share(self) -> tuple[Decimal, int]:
        """(share of judged fills on the wrong side, number judged) in the window."""
        judged = [f.wrong_side for f in self._fills if f.wrong_side is not None]
        if not judged:
            return _ZERO, 0
        return Decimal(sum(judged)) / Decimal(len(judged)), len(judged)


def _measures(book: BookView | None) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """(spread, mid, depth of 5 levels) of a book, None each where there is none."""
    if book is None:
        return None, None, None
    spread = None
    if book.best_bid is not None and book.best_ask is not None:
        spread = book.best_ask - book.best_bid
    return spread, book.mid, book.depth(5)


class Throttles:
    """The four throttles of SPEC 8, one check at a time."""

    NAMES = ("spread_shock", "wide_spread", "thin_book", "adverse_selection")

    def __init__(self, config: MakerThrottleConfig) -> None:
        self.config = config
        self._gates = {
            name: Hysteresis(config.bad_checks_to_trigger, config.good_checks_to_recover) for name in self.NAMES
        }
        self.adverse = AdverseSelectionMonitor(
            window_ns=seconds(config.adverse_window_s), markout_ns=seconds(config.adverse_markout_s)
        )
        self._spread_baseline: Decimal | None = None
        self._alpha = Decimal(repr(config.spread_baseline_alpha))  # the baseline's step, as a Decimal
        self.verdict = ThrottleVerdict()
        self._measured: tuple = (None, None, None, None)  # (book, spread, mid, depth of 5 levels)

    def on_fill(self, ts_ns: int, side: str, price: Decimal) -> None:
        self.adverse.on_fill(ts_ns, side, price)

    def _bad(self, spread: Decimal | None, depth: Decimal | None) -> dict[str, bool]:
        cfg = self.config
        share, judged = self.adverse.share()
        return {
            "spread_shock": spread is not None
            and self._spread_baseline is not None
            and spread - self._spread_baseline > cfg.spread_shock,
            "wide_spread": spread is not None and spread > cfg.wide_spread,
            "thin_book": depth is not None and depth < cfg.thin_depth,
            "adverse_selection": judged >= cfg.adverse_min_fills and share >= cfg.adverse_share,
        }

    def _next_baseline(self, spread: Decimal | None, base: Decimal | None = None) -> Decimal | None:
        # the baseline follows the spread, so a lasting change stops being a shock
        if base is None:
            base = self._spread_baseline
        if spread is None:
            return base
        return spread if base is None else base + self._alpha * (spread - base)

    def check(self, book: BookView | None, now_ns: int) -> ThrottleVerdict:
        """One check against the market's book (others' orders only)."""
        cfg = self.config
        if self._measured[0] is not book:  # books are immutable: measured once each
            self._measured = (book, *_measures(book))
        _book, spread, mid, depth = self._measured
        self.adverse.judge(now_ns, mid)
        bad = self._bad(spread, depth)
        self._spread_baseline = self._next_baseline(spread)
        engaged = tuple(name for name in self.NAMES if self._gates[name].check(bad[name]))
        widen = 0
        if "wide_spread" in engaged:
            widen += cfg.wide_spread_widen_ticks
        if "thin_book" in engaged:
            widen += cfg.thin_depth_widen_ticks
        if "adverse_selection" in engaged:
            widen += cfg.adverse_widen_ticks
        freeze = "spread shock" if "spread_shock" in engaged else ""
        self.verdict = ThrottleVerdict(
            widen_ticks=widen, freeze=freeze, adverse_selection="adverse_selection" in engaged, engaged=engaged
        )
        return self.verdict


    def steady_checks(self, book: BookView | None) -> int | None:
        """How many more checks against this same book (the one last checked) change
        nothing but the gates' runs and the spread baseline (None: any number): no fill
        waits to be judged or to leave the window, and every gate already shows its
        verdict. The one flag that moves with no new book is the spread shock, as the
        baseline closes in on the spread: it only ever clears (the gap shrinks), so a
        shock flagged now lasts as many checks as the baseline takes to close it."""
        if self._measured[0] is not book or self.adverse.pending:
            return 0
        _book, spread, _mid, depth = self._measured
        bad = self._bad(spread, depth)
        if not all(self._gates[name].settled(bad[name]) for name in self.NAMES):
            return 0
        if not bad["spread_shock"]:
            return None
        assert spread is not None and self._spread_baseline is not None
        base, checks = self._spread_baseline, 0
        while spread - base > self.config.spread_shock and checks < 100_000:
            base = self._next_baseline(spread, base)
            checks += 1
        return checks

    def skip(self, checks: int) -> None:
        """`checks` steady checks (see `steady_checks`) at once: the gates' runs grow and
        the baseline moves as each check would have moved it; the verdict stays."""
        _book, spread, _mid, depth = self._measured
        bad = self._bad(spread, depth)
        for name in self.NAMES:
            self._gates[name].skip(bad[name], checks)
        base = self._spread_baseline
        for _ in range(checks):
            moved = self._next_baseline(spread, base)
            if moved == base and str(moved) == str(base):
                break  # settled: every further check leaves it as it is
            base = moved
        self._spread_baseline = base


class VolumeSpikeDetector:
    """Traded volume in the last `window` against its average rate since observation began.

    The baseline needs history: before `min_baseline` of it (or with no volume in it at
    all) nothing counts as a spike, so the first trades of a session do not pause it."""

    def __init__(self, *, factor: float, window_ns: int, baseline_ns: int, start_ns: int) -> None:
        self.factor = Decimal(repr(factor))
        self.window_ns = window_ns
        self.baseline_ns = baseline_ns
        self.min_baseline_ns = 2 * window_ns
        self.start_ns = start_ns
        self._trades: deque[tuple[int, Decimal]] = deque()

    def on_trade(self, ts_ns: int, count: Decimal) -> None:
        self._trades.append((ts_ns, count))

    def spike(self, now_ns: int) -> bool:
        horizon = now_ns - self.baseline_ns - self.window_ns
        while self._trades and self._trades[0][0] < horizon:
            self._trades.popleft()
        recent_from = now_ns - self.window_ns
        baseline_from = max(self.start_ns, horizon)
        baseline_span = recent_from - baseline_from
        if baseline_span < self.min_baseline_ns:
            return False
        recent = sum((c for t, c in self._trades if t >= recent_from), _ZERO)
        baseline = sum((c for t, c in self._trades if baseline_from <= t < recent_from), _ZERO)
        if recent == 0 or baseline == 0:
            return False
        expected = baseline * Decimal(self.window_ns) / Decimal(baseline_span)
        return recent > self.factor * expected


class SigmaEstimator:
    """Realised sigma for the guardrail (SPEC 8 sigma floor), on the scanner's measure
    (actors/scanner/_regimes.realised_sigma over the scanner's price history): the
    population standard deviation (dollars) of the mid levels, one per `bucket_ns` bucket
    of the clock (the last mid in a bucket wins), over the last `window_ns`.

    Judged only once our own observations cover the whole window (the first mid we saw is
    at least `window_ns` old). Hazard: judged after a handful of samples, sigma is that of
    the few seconds since the session began; right after a mean-reverting jump the mid is
    calm, so nearly every session ended on "sigma below 0.01" within a minute. Nothing is
    seeded: only mids seen here count.
    """

    def __init__(self, *, window_ns: int, bucket_ns: int) -> None:
        self.window_ns = window_ns
        self.bucket_ns = max(1, bucket_ns)
        self._mids: deque[tuple[int, Decimal]] = deque()
        self._first_ns: int | None = None
        # sigma is a function of the mids in the window alone: kept until one enters, leaves
        # or changes (a bucket's last mid replaced by an equal one changes nothing). Hazard:
        # recomputed every check it is 120 Decimal squares and a square root a second.
        self._sigma: Decimal | None = None
        self._sigma_fresh = False

    def sample(self, now_ns: int, mid: Decimal | None) -> None:
        mids = self._mids
        if mid is not None:
            if self._first_ns is None:
                self._first_ns = now_ns
            if mids and mids[-1][0] // self.bucket_ns == now_ns // self.bucket_ns:
                last = mids[-1][1]
                if last != mid or str(last) != str(mid):  # 0.5 and 0.50 are equal but print apart
                    self._sigma_fresh = False
                mids[-1] = (now_ns, mid)
            elif not mids or now_ns > mids[-1][0]:
                mids.append((now_ns, mid))
                self._sigma_fresh = False
        while mids and mids[0][0] < now_ns - self.window_ns:
            mids.popleft()
            self._sigma_fresh = False

    def catch_up(self, ticks: range, mid: Decimal | None) -> None:
        """The samples of checks skipped while the mid stood still (see `quiet_until`)."""
        for now_ns in ticks:
            self.sample(now_ns, mid)

    def quiet_until(
        self, check_ns: int, mid: Decimal | None, judged: Decimal | None, min_sigma: Decimal
    ) -> int | None:
        """While the mid stands at `mid` (sampled by the check at check_ns, which judged
        sigma `judged`), the first instant the guardrail's judgement of sigma ("below
        min_sigma", or not) may differ; None: never (until the mid moves). Sigma is a
        function of the mids in the window alone, so it stays as judged until they change
        (`next_window_change`). Hazard: they change as old mids leave the window and a new
        bucket takes the standing mid, even with the mid still; the judgement is "never"
        only when no window the mids can still make reaches min_sigma: such windows hold
        only mids already in it and `mid`, whose standard deviation is at most half their
        range (Popoviciu)."""
        if mid is None or not self._mids:
            return check_ns + 1
        last = self._mids[-1][1]
        if last != mid or str(last) != str(mid):  # not the mid sampled last: the next sample changes them
            return check_ns + 1
        if not self.covers_window(check_ns):
            assert self._first_ns is not None
            return self._first_ns + self.window_ns  # judged from then on
        if judged is None or not judged < min_sigma:
            return self.next_window_change(check_ns)
        lo = hi = mid
        for _t, m in self._mids:
            if m < lo:
                lo = m
            elif m > hi:
                hi = m
        # a margin far above Decimal's rounding of the standard deviation
        return None if (hi - lo) < 2 * min_sigma * Decimal("0.999999") else self.next_window_change(check_ns)

    def next_window_change(self, check_ns: int) -> int:
        """After a sample at check_ns, the first instant a sample of the same mid changes
        the mids in the window: the next bucket's start (the mid enters again) or the
        instant the oldest mid is out of it (sampling pops it then; a sample in the same
        bucket only moves the last mid's time, later or never earlier)."""
        next_bucket = (check_ns // self.bucket_ns + 1) * self.bucket_ns
        return min(next_bucket, self._mids[0][0] + self.window_ns + 1)

    def covers_window(self, now_ns: int) -> bool:
        return self._first_ns is not None and now_ns - self._first_ns >= self.window_ns

    def sigma(self, now_ns: int) -> Decimal | None:
        """None until the observations cover the window (or fewer than two mids are in it)."""
        if not self.covers_window(now_ns):
            return None
        since = now_ns - self.window_ns
        if self._mids and self._mids[0][0] < since:  # not sampled up to now: no memo
            return self._sigma_of([m for t, m in self._mids if t >= since])
        if not self._sigma_fresh:
            self._sigma = self._sigma_of([m for _t, m in self._mids])
            self._sigma_fresh = True
        return self._sigma

    @staticmethod
    def _sigma_of(mids: list[Decimal]) -> Decimal | None:
        n = len(mids)
        if n < 2:
            return None
        mean = sum(mids, _ZERO) / n
        variance = sum([(m - mean) ** 2 for m in mids], _ZERO) / n  # (a list: no generator to resume 120 times)
        return variance.sqrt()
