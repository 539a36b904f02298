"""Order sizes (SPEC 8 "Sizes").

Each level starts at its ladder size times the market's size_factor, then is capped by:
- inventory: a full fill of every level on a side never takes |position| past
  max_position less a buffer (10% by default) on the side that builds inventory;
- contracts per order (size_max_contracts);
- notional per order: max_notional / cost, where a bid costs its price and an ask (a NO
  bid) costs 1 - price; max_notional 0 means no notional cap;
- 25% of visible depth (both sides' top size_depth_levels levels). Hazard: a book that
  is empty apart from us shows no depth; there the depth cap is skipped, not zero, so
  being alone at the touch does not stop quoting.
Sizes round down to size_quantum; a level that rounds to nothing ends its side.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from config import QuoteModelConfig

from ._types import QuoteContext, QuoteLevel

__all__ = ["size_levels"]

_ZERO = Decimal(0)
_ONE = Decimal(1)


def _floor(value: Decimal, quantum: Decimal) -> Decimal:
    return (value / quantum).to_integral_value(rounding=ROUND_FLOOR) * quantum


def depth_cap(cfg: QuoteModelConfig, book) -> Decimal | None:
    """The most a level may show: a fraction of the visible depth (None: no book or no depth)."""
    if book is None:
        return None
    depth = book.depth(cfg.size_depth_levels)
    return depth * cfg.size_depth_fraction if depth > 0 else None


def size_levels(cfg: QuoteModelConfig, ctx: QuoteContext, levels: list[QuoteLevel]) -> list[QuoteLevel]:
    room = Decimal(ctx.max_position) * (_ONE - cfg.size_inventory_buffer)
    capacity = {"bid": max(_ZERO, room - ctx.position), "ask": max(_ZERO, room + ctx.position)}
    cap = depth_cap(cfg, ctx.book)
    sized: list[QuoteLevel] = []
    closed: set[str] = set()
    for level in levels:
        if level.side in closed:
            continue
        size = min(level.size * ctx.size_factor, capacity[level.side], Decimal(cfg.size_max_contracts))
        if cap is not None:
            size = min(size, cap)
        if ctx.max_notional > 0:
            cost = level.price if level.side == "bid" else _ONE - level.price
            if cost > 0:
                size = min(size, ctx.max_notional / cost)
        size = _floor(size, cfg.size_quantum)
        if size <= 0:
            closed.add(level.side)
            continue
        capacity[level.side] -= size
        sized.append(QuoteLevel(level.side, level.price, size))
    return sized
