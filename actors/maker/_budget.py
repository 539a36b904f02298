"""Sizing quotes to the session's budget, priced as the risk governor prices exposure.

The risk governor (actors/risk/_governor.py `exposure`, limits from actors/risk/_budgets.py)
refuses an order (`market_budget`) when the market's exposure after it exceeds
min(per_market_budget_dollars, MarketConfig.max_exposure). Exposure there is:

- the open position: a long layer costs qty x its price, a short one qty x (1 - price);
- plus every resting order, both sides: a bid costs price per contract, an ask 1 - price,
  except the contracts of the closing side (asks when long, bids when short) that only
  close the position, which cost nothing.

So the two sides share one room: cap - position exposure. They take whole contracts from
it in turn, best level first, so neither side starves the other and what one cannot use
the other may. Contracts beyond the close on the closing side, like every building one,
are priced at the dearest of their side's levels (the governor may count a different
order as the closing one). A side left with no contract says why.

The market's room is also bounded by the budgets it shares with other markets: the
category budget (every market of its category) and the global one. The governor refuses
(`category_budget`, `global_budget`) an order that takes the sum past them, so the cap a
session sizes to is the lowest of its market budget and its room in each shared budget
(`shared_room`), read from the exposure the governor last published (ExposureChanged).
Hazard: two sessions reading the same view would each grow into the whole free room and
one be refused; so the free room is split evenly between this market and the others that
hold or rest something in that budget: each may grow by its share only, which the others'
shares leave free whatever order their commands arrive in.

Hazard: the governor checks each command as it arrives, against what it still counts
then: an order being cancelled until the cancel is confirmed, an order being amended at
the worse of its old and new terms. A pass that shrinks one side and grows the other
would have the growth refused (`market_budget`) while the shrink is in flight, so a side
grows only into room free both now and after the pass (`defer_growth`): the rest of its
growth waits for a later pass, once the other side's change is confirmed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Sequence

from messages import ExposureChanged

from ..ledger import position_exposure

__all__ = ["BudgetFit", "fit_to_budget", "position_exposure", "defer_growth", "SharedRoom", "shared_room"]

_ZERO = Decimal(0)
_ONE = Decimal(1)

Levels = list[tuple[Decimal, Decimal]]  # (price, size), best first


def _cost(side: str, price: Decimal) -> Decimal:
    return price if side == "bid" else _ONE - price


@dataclass(frozen=True, slots=True)
class BudgetFit:
    levels: dict[str, Levels]
    notes: dict[str, str] = field(default_factory=dict)  # side -> why it quotes nothing


@dataclass(frozen=True, slots=True)
class SharedRoom:
    cap: Decimal  # the most this market's exposure may reach
    budget: str  # which shared budget binds, for the note: "category rates budget" | "global budget"


def _room(budget: Decimal, own: Decimal, others: list[Decimal]) -> Decimal:
    """Own exposure plus an even share of the free room (or less than own when the others
    already took more: never more than the budget minus theirs)."""
    used = sum(others, _ZERO)
    free = budget - used - own
    if free <= 0:
        return max(_ZERO, budget - used)
    return own + free / (len(others) + 1)


def shared_room(view: ExposureChanged | None, *, ticker: str, category: str) -> SharedRoom | None:
    """This market's cap under the category (when its category is known) and global
    budgets, beside the other markets' exposure in the governor's last published view;
    None when there is no view (or it carries no budgets)."""
    if view is None:
        return None
    own = next((m.exposure for m in view.markets if m.ticker == ticker), _ZERO)
    others = [m for m in view.markets if m.ticker != ticker and m.exposure > 0]
    rooms: list[SharedRoom] = []
    if category and view.category_budget is not None:
        same = [m.exposure for m in others if m.category == category]
        rooms.append(SharedRoom(_room(view.category_budget, own, same), f"category {category} budget"))
    if view.global_budget is not None:
        rooms.append(SharedRoom(_room(view.global_budget, own, [m.exposure for m in others]), "global budget"))
    return min(rooms, key=lambda room: room.cap) if rooms else None


def fit_to_budget(
    wanted: dict[str, Levels], *, cap: Decimal, position: Decimal, held: Decimal, budget: str = "market budget"
) -> BudgetFit:
    """`wanted`: each side's levels, best first; `held`: the position's exposure.

    The closing side's contracts up to the position are free; then the sides take one
    contract at a time in turn (in `wanted`'s order), each at its dearest level's cost,
    while it fits in what is left of the room; a side stops at its first contract that
    does not fit (a ladder side ends at its first cut level)."""
    room = max(_ZERO, cap - held)
    closing = "ask" if position > 0 else "bid" if position < 0 else None
    unit = {side: max((_cost(side, p) for p, _ in levels), default=_ZERO) for side, levels in wanted.items()}
    taken: dict[str, list[Decimal]] = {side: [] for side in wanted}
    cursor: dict[str, tuple[int, Decimal]] = {}  # side -> (level, contracts taken at it)
    for side, levels in wanted.items():
        level, at, free = 0, _ZERO, abs(position) if side == closing else _ZERO
        while level < len(levels) and free > 0:
            step = min(free, levels[level][1] - at)
            at, free = at + step, free - step
            if at == levels[level][1]:
                taken[side].append(at)
                level, at = level + 1, _ZERO
        cursor[side] = (level, at)
    open_sides = [side for side in wanted if cursor[side][0] < len(wanted[side]) and unit[side] > 0]
    while open_sides:
        for side in list(open_sides):
            level, at = cursor[side]
            if unit[side] > room:
                open_sides.remove(side)
                continue
            room -= unit[side]
            at += 1
            if at >= wanted[side][level][1]:
                taken[side].append(at)
                level, at = level + 1, _ZERO
            cursor[side] = (level, at)
            if level >= len(wanted[side]):
                open_sides.remove(side)
    for side in wanted:  # a level cut part way ends the side there
        level, at = cursor[side]
        if at > 0:
            taken[side].append(at)

    fitted: dict[str, Levels] = {}
    notes: dict[str, str] = {}
    for side, levels in wanted.items():
        fitted[side] = [(price, size) for (price, _), size in zip(levels, taken[side])]
        if levels and not fitted[side]:
            notes[side] = (
                f"{side}: not even 1 contract fits the ${cap:.2f} {budget}"
                f" (position exposure ${held:.2f}, ${room:.2f} left)"
            )
    return BudgetFit(fitted, notes)


Terms = list[tuple[tuple[Decimal, ...], Decimal]]  # (prices an order may rest at, contracts)


def _side_cost(side: str, terms: Terms, free: Decimal) -> Decimal:
    """What a side's orders may cost, every contract beyond the free ones at the dearest price."""
    contracts = sum((n for _, n in terms), _ZERO)
    unit = max((_cost(side, p) for prices, _ in terms for p in prices), default=_ZERO)
    return max(_ZERO, contracts - free) * unit


def defer_growth(
    fitted: dict[str, Levels], working: dict[str, Terms], *, cap: Decimal, position: Decimal, held: Decimal
) -> dict[str, Levels]:
    """Cut a growing side to the room left beside the worse of the other side's orders
    now (`working`, as the governor counts them) and after this pass (`fitted`)."""
    closing = "ask" if position > 0 else "bid" if position < 0 else None
    free = {side: abs(position) if side == closing else _ZERO for side in fitted}
    out = dict(fitted)
    sides = list(fitted)
    for side in sides:
        after = _side_cost(side, [((p,), n) for p, n in out[side]], free[side])
        now = _side_cost(side, working.get(side, []), free[side])
        if after <= now:
            continue  # not growing: never held back
        beside = _ZERO
        for other in sides:
            if other != side:
                beside += max(
                    _side_cost(other, working.get(other, []), free[other]),
                    _side_cost(other, [((p,), n) for p, n in out[other]], free[other]),
                )
        allowed = cap - held - beside
        if after <= allowed:
            continue
        unit = max((_cost(side, p) for p, _ in out[side]), default=_ZERO)
        budget = max(_ZERO, allowed)
        paid_max = _ZERO if unit == 0 else Decimal(math.floor(budget / unit))
        left = free[side] + paid_max
        cut: Levels = []
        for price, size in out[side]:
            size = min(size, left)
            if size <= 0:
                break
            cut.append((price, size))
            left -= size
        out[side] = cut
    return out
