"""The shapes every quoting model and fair-value source shares (the contract with the maker).

Units: prices, spreads and fair values are YES-leg dollars as Decimal; positions and sizes
are contracts as Decimal (signed position: + long YES); times are integer nanoseconds from
the maker's injected clock. Prices in a `QuotePlan` are MODEL prices: the maker (part 5)
snaps them to the tick grid and clamps them inside the book.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from messages import BookView, QuoteSides, ReferencePriceUpdated, SpotPriceUpdated

__all__ = [
    "QuoteContext",
    "QuoteLevel",
    "QuotePlan",
    "QuotingModel",
    "FairValueSource",
    "Side",
]

Side = Literal["bid", "ask"]


@dataclass(frozen=True, slots=True, kw_only=True)
class QuoteContext:
    """Everything a quoting model may look at for one quote decision."""

    fair: Decimal  # fair value, YES-leg dollars
    book: BookView | None  # the book as others show it (our own orders removed)
    position: Decimal  # signed YES contracts
    max_position: int  # contracts
    sigma: Decimal  # dollars per sqrt(risk horizon)
    gamma: Decimal  # gamma0 x regime multiplier (risk aversion per dollar)
    k: Decimal  # order-arrival decay per `k_price_unit` of distance (config: maker.model)
    now_ns: int
    session_start_ns: int
    session_end_ns: int | None  # None: open-ended session
    market_close_ns: int | None  # None: unknown close
    tick: Decimal
    maker_fee_series: bool  # the series charges the 0.0175 maker fee
    quote_sides: str = QuoteSides.BOTH  # messages.QuoteSides
    size_factor: Decimal = Decimal(1)  # MarketConfig.size_factor
    base_size: Decimal = Decimal(1)  # contracts per side (per level before ladder sizing)
    max_notional: Decimal = Decimal(0)  # dollars per order; 0 = no notional cap
    min_spread: Decimal = Decimal(0)  # total spread bounds, dollars
    max_spread: Decimal = Decimal(1)
    extra_widen_ticks: int = 0  # throttles (part 5): widen each side by this many ticks
    liquidity: Decimal | None = None  # market liquidity in dollars (fixed-spread low-liquidity rule)


@dataclass(frozen=True, slots=True)
class QuoteLevel:
    side: Side
    price: Decimal  # model price, not yet snapped to the tick grid
    size: Decimal  # contracts, > 0


@dataclass(frozen=True, slots=True)
class QuotePlan:
    """What to quote. `levels` best first per side; empty with `why_empty` when not quoting.

    `force_exit` is the fixed-spread model's signal (seed 002): too close to resolution
    with too much inventory; the maker should exit rather than quote.
    """

    levels: tuple[QuoteLevel, ...]
    reservation: Decimal | None
    half_spread: Decimal | None
    why_empty: str = ""
    force_exit: bool = False
    notes: tuple[str, ...] = ()  # which adjustments fired, for status and analytics

    def side(self, side: Side) -> tuple[QuoteLevel, ...]:
        return tuple(level for level in self.levels if level.side == side)

    @property
    def best_bid(self) -> QuoteLevel | None:
        bids = self.side("bid")
        return bids[0] if bids else None

    @property
    def best_ask(self) -> QuoteLevel | None:
        asks = self.side("ask")
        return asks[0] if asks else None


class QuotingModel(Protocol):
    def plan(self, ctx: QuoteContext) -> QuotePlan: ...


class FairValueSource(Protocol):
    """Fed by the maker with what it sees; asked for a value at each quote decision."""

    def on_book(self, book: BookView, ts_ns: int) -> None: ...

    def on_trade(self, price: Decimal, count: Decimal, ts_ns: int) -> None: ...

    def on_reference(self, msg: ReferencePriceUpdated) -> None: ...

    def on_spot(self, msg: SpotPriceUpdated) -> None: ...

    def value(self, now_ns: int) -> Decimal | None: ...

    def why_unavailable(self, now_ns: int) -> str: ...
