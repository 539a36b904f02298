"""Inventory and P&L of one market from our fills: FIFO layers, all Decimal.

Fills are the single source of truth and may arrive twice (WS `fill` and the REST
reconcile), so every fill is de-duplicated by fill id.

Fees are charged on both legs: each open layer carries the part of its entry fee not yet
released, and closing contracts release their share of the entry fee and of the exit fee
into realised P&L. So realised + unrealised(mark) is the whole P&L net of every fee paid.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence

from messages import BookSide, OrderFilled

__all__ = ["Layer", "Inventory", "Realization", "position_exposure"]

_ZERO = Decimal(0)
_ONE = Decimal(1)
# Fee shares are rounded to the exchange's fee precision; the last share takes the rest,
# so the fees released always add up exactly to the fees paid.
_FEE_QUANTUM = Decimal("0.000001")


@dataclass(slots=True)
class Layer:
    """Contracts still open from one fill: qty signed (+ long YES, - short YES)."""

    qty: Decimal
    price: Decimal
    fee: Decimal  # entry fee not yet released into realised P&L
    ts: int


@dataclass(frozen=True, slots=True)
class Realization:
    """One FIFO match: `count` contracts of an open layer closed by a later trade."""

    side: str  # the position closed: long | short
    count: Decimal
    entry_price: Decimal
    exit_price: Decimal
    entry_ts: int
    exit_ts: int
    pnl: Decimal  # net of both legs' fee shares
    fees: Decimal  # the entry and exit fee shares in it


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
    def __init__(self) -> None:
        self._layers: deque[Layer] = deque()
        self._seen_fill_ids: set[str] = set()
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
    def layers(self) -> tuple[Layer, ...]:
        return tuple(Layer(layer.qty, layer.price, layer.fee, layer.ts) for layer in self._layers)

    def unrealized_pnl(self, mark: Decimal | None) -> Decimal:
        """Open layers marked at `mark`, less their entry fees already paid."""
        if mark is None or not self._layers:
            return _ZERO
        return sum((layer.qty * (mark - layer.price) - layer.fee for layer in self._layers), _ZERO)

    def has_fill(self, fill_id: str) -> bool:
        return fill_id in self._seen_fill_ids

    def apply_fill(self, fill: OrderFilled) -> bool:
        """Apply one fill. False (and no change) when this fill id was already applied."""
        if fill.fill_id in self._seen_fill_ids:
            return False
        self._seen_fill_ids.add(fill.fill_id)
        self.fill_count += 1
        self.fees_paid += fill.fee
        self._trade(_signed(fill.side, fill.count), fill.price, fill.fee, fill.ts_event)
        return True

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
            self._layers.append(Layer(remaining, price, exit_fee.take(abs(remaining)), ts))


def position_exposure(
    layers: Sequence["Layer"], unseen: Sequence[tuple[str, Decimal, Decimal]] = ()
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
