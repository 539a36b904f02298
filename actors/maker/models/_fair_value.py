"""Fair-value sources (SPEC 8 "Fair value"), each a plain object the maker feeds.

- `book_mid`: the mid of the book as others show it.
- `microprice`: the size-weighted mid (leans towards the side with less resting size).
- `ewma`: an exponentially weighted mid, half-life `ewma_halflife_s` of clock time.
- `reference_blend` (seed 003): w * reference mid + (1 - w) * Kalshi microprice, where w
  is 70% pre-match / 85% in-play, +5% when the reference spread is narrow, -10% when it
  is wide, clamped to [0, 1], and 0 when the reference is stale (older than 10 s
  pre-match / 3 s in play) or one-sided: the blend then is the Kalshi microprice alone.
- `model_nd2` (seed 004): for "above strike at expiry" markets, P = N(d2) with
  d2 = ln(S/K) / (sigma * sqrt(T)), T in years to expiry, S the latest spot price,
  clamped to [nd2_min, nd2_max]; unavailable when the spot price is stale.

All values are Decimal dollars; floats appear only inside exp/ln/erf and come back
rounded to 1e-9 (`_numeric.to_decimal`).
"""

from __future__ import annotations

import math
from decimal import Decimal

from config import FAIR_VALUE_SOURCES, FairValueConfig, MakerConfig, fair_value_config_problems
from messages import BookView, ReferencePriceUpdated, SpotPriceUpdated

from ._numeric import clamp, normal_cdf, to_decimal

__all__ = [
    "BookFairValue",
    "EwmaFairValue",
    "ReferenceBlendFairValue",
    "ModelNd2FairValue",
    "build_fair_value",
    "FAIR_VALUE_SOURCES",
    "fair_value_config_problems",
]

_NS_PER_S = 1_000_000_000
_SECONDS_PER_YEAR = 365 * 24 * 3600  # calendar year: crypto underlyings trade every day
_ZERO = Decimal(0)
_ONE = Decimal(1)


class _BookFed:
    """Shared plumbing: remember the latest book; ignore what this source does not use."""

    def __init__(self) -> None:
        self.book: BookView | None = None

    def on_book(self, book: BookView, ts_ns: int) -> None:
        self.book = book

    def on_trade(self, price: Decimal, count: Decimal, ts_ns: int) -> None:
        pass

    def on_reference(self, msg: ReferencePriceUpdated) -> None:
        pass

    def on_spot(self, msg: SpotPriceUpdated) -> None:
        pass

    def _book_problem(self) -> str:
        if self.book is None:
            return "no book yet"
        return "book empty or one-sided"


class BookFairValue(_BookFed):
    """book_mid or microprice of the latest book."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        if kind not in ("book_mid", "microprice"):
            raise ValueError(f"unknown book fair value {kind!r}")
        self.kind = kind

    def value(self, now_ns: int) -> Decimal | None:
        if self.book is None:
            return None
        return self.book.mid if self.kind == "book_mid" else self.book.microprice

    def why_unavailable(self, now_ns: int) -> str:
        return "" if self.value(now_ns) is not None else self._book_problem()


class EwmaFairValue(_BookFed):
    """Mid smoothed with a time-based half-life: weight of a new mid after dt seconds is
    1 - 2^(-dt / half_life), so bursts of updates do not speed the average up."""

    def __init__(self, half_life_s: float) -> None:
        super().__init__()
        if half_life_s <= 0:
            raise ValueError(f"ewma half-life must be > 0, got {half_life_s}")
        self.half_life_ns = half_life_s * _NS_PER_S
        self._value: Decimal | None = None
        self._ts: int | None = None

    def on_book(self, book: BookView, ts_ns: int) -> None:
        self.book = book
        mid = book.mid
        if mid is None:
            return
        if self._value is None or self._ts is None:
            self._value, self._ts = mid, ts_ns
            return
        dt = max(ts_ns - self._ts, 0)
        weight = to_decimal(1.0 - 2.0 ** (-dt / self.half_life_ns))
        self._value = self._value + weight * (mid - self._value)
        self._ts = max(self._ts, ts_ns)

    def value(self, now_ns: int) -> Decimal | None:
        return self._value

    def why_unavailable(self, now_ns: int) -> str:
        return "" if self._value is not None else "no two-sided book yet"


class ReferenceBlendFairValue(_BookFed):
    def __init__(self, cfg: FairValueConfig, *, ticker: str | None = None, inplay_from_ns: int | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.ticker = ticker
        self.inplay_from_ns = inplay_from_ns
        self.reference: ReferencePriceUpdated | None = None

    def on_reference(self, msg: ReferencePriceUpdated) -> None:
        if self.ticker is not None and msg.ticker != self.ticker:
            return
        if self.reference is not None and msg.ts_recv < self.reference.ts_recv:
            return  # an out-of-order poll result must not replace a newer quote
        self.reference = msg

    def in_play(self, now_ns: int) -> bool:
        return self.inplay_from_ns is not None and now_ns >= self.inplay_from_ns

    def reference_problem(self, now_ns: int) -> str:
        ref = self.reference
        if ref is None:
            return "no reference price yet"
        if ref.bid is None or ref.ask is None:
            return "reference one-sided"
        if ref.ask < ref.bid:
            return "reference crossed"
        stale_s = self.cfg.reference_stale_inplay_s if self.in_play(now_ns) else self.cfg.reference_stale_prematch_s
        if now_ns - ref.ts_recv > stale_s * _NS_PER_S:
            return "reference stale"
        return ""

    def weight(self, now_ns: int) -> Decimal:
        """The reference's weight in the blend now."""
        if self.reference_problem(now_ns):
            return _ZERO
        cfg = self.cfg
        ref = self.reference
        assert ref is not None and ref.bid is not None and ref.ask is not None
        weight = cfg.reference_weight_inplay if self.in_play(now_ns) else cfg.reference_weight_prematch
        spread = ref.ask - ref.bid
        if spread <= cfg.reference_narrow_spread:
            weight += cfg.reference_narrow_bonus
        elif spread >= cfg.reference_wide_spread:
            weight -= cfg.reference_wide_penalty
        return clamp(weight, _ZERO, _ONE)

    def value(self, now_ns: int) -> Decimal | None:
        local = self.book.microprice if self.book is not None else None
        if local is None:
            return None
        weight = self.weight(now_ns)
        if weight == 0:
            return local
        ref = self.reference
        assert ref is not None and ref.bid is not None and ref.ask is not None
        return weight * (ref.bid + ref.ask) / 2 + (_ONE - weight) * local

    def why_unavailable(self, now_ns: int) -> str:
        if self.book is None or self.book.microprice is None:
            return self._book_problem()
        return ""


class ModelNd2FairValue(_BookFed):
    def __init__(
        self, cfg: FairValueConfig, *, strike: Decimal, expiry_ns: int, symbol: str | None = None
    ) -> None:
        super().__init__()
        if strike <= 0:
            raise ValueError(f"model_nd2 needs a strike > 0, got {strike}")
        self.cfg = cfg
        self.strike = strike
        self.expiry_ns = expiry_ns
        self.symbol = symbol
        self.spot: SpotPriceUpdated | None = None

    def on_spot(self, msg: SpotPriceUpdated) -> None:
        if self.symbol is not None and msg.symbol != self.symbol:
            return
        if self.spot is not None and msg.ts_recv < self.spot.ts_recv:
            return
        self.spot = msg

    def probability(self, spot: Decimal, now_ns: int) -> Decimal:
        """N(d2), d2 = ln(S/K) / (sigma sqrt(T)), clamped; at or past expiry: 1 if S > K else 0."""
        if spot <= 0:
            raise ValueError(f"spot must be > 0, got {spot}")
        years = (self.expiry_ns - now_ns) / _NS_PER_S / _SECONDS_PER_YEAR
        if years <= 0:
            raw = _ONE if spot > self.strike else _ZERO
        else:
            d2 = math.log(float(spot) / float(self.strike)) / (self.cfg.nd2_sigma_annual * math.sqrt(years))
            raw = to_decimal(normal_cdf(d2))
        return clamp(raw, self.cfg.nd2_min, self.cfg.nd2_max)

    def value(self, now_ns: int) -> Decimal | None:
        if self.why_unavailable(now_ns):
            return None
        assert self.spot is not None
        return self.probability(self.spot.price, now_ns)

    def why_unavailable(self, now_ns: int) -> str:
        if self.spot is None:
            return "no spot price yet"
        if self.spot.price <= 0:
            return f"bad spot price {self.spot.price}"
        if now_ns - self.spot.ts_recv > self.cfg.spot_stale_s * _NS_PER_S:
            return "spot price stale"
        return ""


def build_fair_value(
    cfg: FairValueConfig | MakerConfig,
    *,
    strike: Decimal | None = None,
    expiry_ns: int | None = None,
    ticker: str | None = None,
    symbol: str | None = None,
    inplay_from_ns: int | None = None,
):
    """The configured source (maker.fair_value.source). model_nd2 needs strike and
    expiry_ns; reference_blend uses ticker to ignore other markets' reference prices and
    inplay_from_ns (None: always pre-match) to pick the phase weights."""
    fv = cfg.fair_value if isinstance(cfg, MakerConfig) else cfg
    problems = fair_value_config_problems(fv)
    if problems:
        raise ValueError("; ".join(problems))
    if fv.source in ("book_mid", "microprice"):
        return BookFairValue(fv.source)
    if fv.source == "ewma":
        return EwmaFairValue(fv.ewma_halflife_s)
    if fv.source == "reference_blend":
        return ReferenceBlendFairValue(fv, ticker=ticker, inplay_from_ns=inplay_from_ns)
    if fv.source == "model_nd2":
        if strike is None or expiry_ns is None:
            raise ValueError("model_nd2 fair value needs strike and expiry_ns")
        return ModelNd2FairValue(fv, strike=strike, expiry_ns=expiry_ns, symbol=symbol)
    raise ValueError(f"unknown fair value source {fv.source!r}; one of {', '.join(FAIR_VALUE_SOURCES)}")
