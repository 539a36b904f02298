"""The intermediate quote every base model produces and every stage reshapes.

A base model says where the quotes centre (the reservation price) and how far each side
sits from it (half the total spread); stages then scale the skew (reservation - fair),
widen the spread, or switch a side off, before the ladder and sizing turn it into levels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from ._types import QuoteContext

__all__ = ["CoreQuote", "SessionWindow", "seconds_left"]

_NS = Decimal(1_000_000_000)


@dataclass(frozen=True, slots=True)
class CoreQuote:
    fair: Decimal
    reservation: Decimal
    half_spread: Decimal
    bid_on: bool = True
    ask_on: bool = True
    why_empty: str = ""
    force_exit: bool = False
    notes: tuple[str, ...] = ()

    @property
    def skew(self) -> Decimal:
        """How far the centre sits from fair (negative when long: quotes lowered)."""
        return self.reservation - self.fair

    def noted(self, note: str, **changes) -> "CoreQuote":
        return replace(self, notes=self.notes + (note,), **changes)


@dataclass(frozen=True, slots=True)
class SessionWindow:
    """How far through its time a session is: session end, else market close."""

    start_ns: int
    end_ns: int

    @classmethod
    def of(cls, ctx: QuoteContext) -> "SessionWindow | None":
        end = ctx.session_end_ns if ctx.session_end_ns is not None else ctx.market_close_ns
        if end is None or end <= ctx.session_start_ns:
            return None
        return cls(ctx.session_start_ns, end)

    def elapsed_fraction(self, now_ns: int) -> Decimal:
        total = self.end_ns - self.start_ns
        done = min(max(now_ns - self.start_ns, 0), total)
        return Decimal(done) / Decimal(total)


def seconds_left(until_ns: int | None, now_ns: int) -> Decimal | None:
    """Seconds from now until `until_ns` (negative once past); None when unknown."""
    if until_ns is None:
        return None
    return Decimal(until_ns - now_ns) / _NS
