"""Positions from our fills: FIFO layers, realised P&L and fees, all Decimal.

Fills are the single source of truth and may arrive twice (WS `fill` and the REST
reconcile), so every fill is de-duplicated by fill id (the ids kept may be bounded:
see `BoundedIds` for what stays exact).

Fees are charged on both legs: each open layer carries the part of its entry fee not yet
released, and closing contracts release their share of the entry fee and of the exit fee
into realised P&L. So realised + unrealised(mark) is the whole P&L net of every fee paid.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence

from messages import BookSide, OpenLayer, OrderFilled, PositionView, Realization

__all__ = ["Inventory", "BoundedIds", "position_exposure"]

_ZERO = Decimal(0)
_ONE = Decimal(1)
# Fee shares are rounded to the exchange's fee precision; the last share takes the rest,
# so the fees released always add up exactly to the fees paid.
_FEE_QUANTUM = Decimal("0.000001")


@dataclass(slots=True)
class _Layer:
    """Contracts still open from one fill: qty signed (+ long YES, - short YES)."""

    qty: Decimal
    price: Decimal
    fee: Decimal  # entry fee not yet released into realised P&L
    ts: int


class BoundedIds:
    """The fill ids kept to drop a fill reported twice, at most `limit` of them (None: all).

    What can report a fill again: the WS `fill` channel delivers each fill once per
    subscription, but a session's REST read-back (on feed reconnect, at the session's
    end) brings back every fill of the session since it began, however old, and so does
    every later read-back. Forgetting the oldest id alone would count such a fill again.
    So forgetting moves a horizon, the newest exchange time among the ids forgotten, and a
    fill at or before it counts as seen: de-duplication is exact for every fill after the
    horizon. Hazard: a fill first delivered only after `limit` newer fills were counted
    (a WS outage during which `limit` fills happened) would be taken for a duplicate;
    an age bound instead would drop a fill missed during any outage longer than it."""

    __slots__ = ("_ids", "limit", "horizon_ns")

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self._ids: dict[str, int] = {}  # fill id -> its exchange time, oldest first
        self.horizon_ns: int | None = None  # newest exchange time among the ids forgotten

    def __contains__(self, fill_id: object) -> bool:
        return fill_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self):
        return iter(self._ids)

    def seen(self, fill_id: str, ts_event: int) -> bool:
        """Whether a fill was counted already: its id is kept, or it is no newer than the horizon."""
        return fill_id in self._ids or (self.horizon_ns is not None and ts_event <= self.horizon_ns)

    def add(self, fill_id: str, ts_event: int) -> None:
        self._ids[fill_id] = ts_event
        if self.limit is None:
            return
        while len(self._ids) > self.limit:
            oldest = next(iter(self._ids))
            forgotten = self._ids.pop(oldest)
            if self.horizon_ns is None or forgotten > self.horizon_ns:
                self.horizon_ns = forgotten


def _signed(side: BookSide, count: Decimal) -> Decimal:
    return count if side == "bid" else -count


class _FeeSplitter:
    """Hands out a fee in proportion to contracts; the final piece gets the remainder."""

    def __init__(self, fee: Decimal, count: Decimal) -> None:
        self._fee_left = fee
        self._count_left = count

    def take(self, count: Decimal) -> Decimal:
        if count >= self._count_left:
            share = self._fee_left
        else:
            share = (self._fee_left * count / self._count_left).quantize(_FEE_QUANTUM)
        self._fee_left -= share
        self._count_left -= count
        return share


class Inventory:
    """One position. `seen_limit`: how many fill ids are kept to drop a duplicate (None:
    all of them)."""

    def __init__(self, seen_limit: int | None = None) -> None:
        self._layers: deque[_Layer] = deque()
        self._seen_fill_ids = BoundedIds(seen_limit)
        self.realized_pnl = _ZERO
        self.fees_paid = _ZERO
        self.fill_count = 0
        self.settled_at: Decimal | None = None  # settlement price once the market resolved
        self._realizations: list[Realization] = []

    def drain_realizations(self) -> list[Realization]:
        """Round trips closed since the last call (oldest first)."""
        out, self._realizations = self._realizations, []
        return out

    def settle(self, price: Decimal, ts: int) -> bool:
        """The market resolved: every open layer closes at `price` ($1 YES, $0 NO), no fee.
        False when already settled."""
        if self.settled_at is not None:
            return False
        self.settled_at = price
        position = self.position
        if position != 0:
            self._trade(-position, price, _ZERO, ts)
        return True

    @property
    def position(self) -> Decimal:
        return sum((layer.qty for layer in self._layers), _ZERO)

    @property
    def vwap(self) -> Decimal | None:
        """Volume-weighted entry price of the open position; None when flat."""
        size = sum((abs(layer.qty) for layer in self._layers), _ZERO)
        if size == 0:
            return None
        return sum((abs(layer.qty) * layer.price for layer in self._layers), _ZERO) / size

    @property
    def layers(self) -> tuple[OpenLayer, ...]:
        return tuple(OpenLayer(qty=lay.qty, price=lay.price, fee=lay.fee, ts=lay.ts) for lay in self._layers)

    def view(self) -> PositionView:
        """This position as an immutable value."""
        return PositionView(
            position=self.position,
            layers=self.layers,
            realized_pnl=self.realized_pnl,
            fees_paid=self.fees_paid,
            fill_count=self.fill_count,
            settled_at=self.settled_at,
        )

    def unrealized_pnl(self, mark: Decimal | None) -> Decimal:
        """Open layers marked at `mark`, less their entry fees already paid."""
        if mark is None or not self._layers:
            return _ZERO
        return sum((layer.qty * (mark - layer.price) - layer.fee for layer in self._layers), _ZERO)

    def has_fill(self, fill_id: str) -> bool:
        """Whether this fill id is kept (see `counted` for whether a fill was applied)."""
        return fill_id in self._seen_fill_ids

    def counted(self, fill: OrderFilled) -> bool:
        """Whether this fill was applied already (BoundedIds: exact after the horizon)."""
        return self._seen_fill_ids.seen(fill.fill_id, fill.ts_event)

    def fill_ids(self) -> frozenset[str]:
        """The fill ids kept (all of them unless bounded)."""
        return frozenset(self._seen_fill_ids)

    @property
    def fills_forgotten_through_ns(self) -> int | None:
        """Fills at or before this exchange time count as applied, their ids forgotten."""
        return self._seen_fill_ids.horizon_ns

    def apply_fill(self, fill: OrderFilled) -> bool:
        """Apply one fill. False (and no change) when this fill was already applied."""
        if self.counted(fill):
            return False
        self._seen_fill_ids.add(fill.fill_id, fill.ts_event)
        self.fill_count += 1
        self.fees_paid += fill.fee
        self._trade(_signed(fill.side, fill.count), fill.price, fill.fee, fill.ts_event)
        return True

    def open_held(self, qty: Decimal, price: Decimal, ts: int) -> None:
        """Trade `qty` contracts that are no fill of ours (a position held before this run,
        or one taken over from the market) at `price`: no fee, no fill counted."""
        self._trade(qty, price, _ZERO, ts)

    def _trade(self, qty: Decimal, price: Decimal, fee: Decimal, ts: int) -> None:
        exit_fee = _FeeSplitter(fee, abs(qty))
        remaining = qty
        # Close the oldest layers of the opposite sign first (FIFO).
        while remaining != 0 and self._layers and (self._layers[0].qty > 0) != (remaining > 0):
            layer = self._layers[0]
            matched = min(abs(layer.qty), abs(remaining))
            direction = Decimal(1) if layer.qty > 0 else Decimal(-1)
            entry_fee = _FeeSplitter(layer.fee, abs(layer.qty)).take(matched)
            exit_share = exit_fee.take(matched)
            pnl = direction * matched * (price - layer.price) - entry_fee - exit_share
            self.realized_pnl += pnl
            self._realizations.append(
                Realization(
                    side="long" if direction > 0 else "short",
                    count=matched,
                    entry_price=layer.price,
                    exit_price=price,
                    entry_ts=layer.ts,
                    exit_ts=ts,
                    pnl=pnl,
                    fees=entry_fee + exit_share,
                )
            )
            layer.fee -= entry_fee
            layer.qty -= direction * matched
            remaining += direction * matched
            if layer.qty == 0:
                self._layers.popleft()
        if remaining != 0:  # what is left opens (or, after a flip, re-opens) a layer
            self._layers.append(_Layer(remaining, price, exit_fee.take(abs(remaining)), ts))


def position_exposure(
    layers: Sequence[OpenLayer], unseen: Sequence[tuple[str, Decimal, Decimal]] = ()
) -> tuple[Decimal, Decimal]:
    """(signed position, what it can cost): the open layers, long at their price, short at
    1 - price, with the fills reported but not yet seen (side, price, contracts) matched
    against the oldest opposite layers first (FIFO).

    One rule for the maker's sizing and the risk governor's budget: if they disagreed,
    risk would refuse what the maker sized."""
    book = [[lay.qty, lay.price] for lay in layers]
    for side, price, count in unseen:
        qty = count if side == "bid" else -count
        while qty != 0 and book and (book[0][0] > 0) != (qty > 0):
            matched = min(abs(book[0][0]), abs(qty))
            direction = 1 if book[0][0] > 0 else -1
            book[0][0] -= direction * matched
            qty += direction * matched
            if book[0][0] == 0:
                book.pop(0)
        if qty != 0:
            book.append([qty, price])
    position = sum((q for q, _ in book), _ZERO)
    return position, sum((q * p if q > 0 else -q * (_ONE - p) for q, p in book), _ZERO)
