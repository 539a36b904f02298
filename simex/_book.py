"""Matching engine for one market: a single YES book with price-time priority.

`bid` buys YES at p; `ask` sells YES at p, which is economically a NO bid at 1 - p.
An incoming order matches the opposite side best-price first, then oldest first, and
every trade prints at the resting order's price. The book only knows resting orders;
time-in-force, collateral and fees are the exchange's business (see `_exchange.py`).
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["BID", "ASK", "STP_TAKER_AT_CROSS", "STP_MAKER", "BookOrder", "Execution", "MatchResult", "OrderBook"]

BID = "bid"
ASK = "ask"
STP_TAKER_AT_CROSS = "taker_at_cross"
STP_MAKER = "maker"
_ZERO = Decimal(0)


def opposite(side: str) -> str:
    return ASK if side == BID else BID


def crosses(side: str, limit: Decimal, resting_price: Decimal) -> bool:
    """Would an incoming order on `side` at `limit` trade with a resting order at `resting_price`?"""
    return resting_price <= limit if side == BID else resting_price >= limit


@dataclass
class BookOrder:
    """A resting order as the book sees it. `priority` is the time stamp of its queue place."""

    order_id: str
    owner: str
    side: str
    price: Decimal
    remaining: Decimal
    priority: int


@dataclass(frozen=True)
class Execution:
    maker: BookOrder  # state after this execution (remaining already reduced)
    price: Decimal
    count: Decimal


@dataclass
class MatchResult:
    executions: list[Execution] = field(default_factory=list)
    stp_cancelled_makers: list[BookOrder] = field(default_factory=list)
    taker_stp_cancelled: bool = False  # taker_at_cross hit our own resting order
    remaining: Decimal = _ZERO

    @property
    def filled(self) -> Decimal:
        return sum((e.count for e in self.executions), _ZERO)


class _Side:
    """One side of the book: price levels (FIFO queues) plus a sorted price index."""

    def __init__(self, side: str) -> None:
        self.side = side
        self.levels: dict[Decimal, deque[BookOrder]] = {}
        self._prices: list[Decimal] = []  # ascending

    def best_price(self) -> Decimal | None:
        if not self._prices:
            return None
        return self._prices[-1] if self.side == BID else self._prices[0]

    def prices_best_first(self) -> list[Decimal]:
        return list(reversed(self._prices)) if self.side == BID else list(self._prices)

    def append(self, order: BookOrder) -> None:
        queue = self.levels.get(order.price)
        if queue is None:
            queue = self.levels[order.price] = deque()
            bisect.insort(self._prices, order.price)
        queue.append(order)

    def remove(self, order: BookOrder) -> None:
        queue = self.levels[order.price]
        queue.remove(order)
        if not queue:
            self._drop_level(order.price)

    def _drop_level(self, price: Decimal) -> None:
        del self.levels[price]
        self._prices.pop(bisect.bisect_left(self._prices, price))

    def level_size(self, price: Decimal) -> Decimal:
        return sum((o.remaining for o in self.levels.get(price, ())), _ZERO)

    def aggregated_ascending(self) -> list[tuple[Decimal, Decimal]]:
        return [(p, self.level_size(p)) for p in self._prices]


class OrderBook:
    """Price-time-priority book for one market. Not thread-safe; one owner drives it."""

    def __init__(self) -> None:
        self._sides = {BID: _Side(BID), ASK: _Side(ASK)}
        self._orders: dict[str, BookOrder] = {}
        self._clock = 0  # queue-priority counter: monotonic, independent of wall time

    # ----- queries -----
    def get(self, order_id: str) -> BookOrder | None:
        return self._orders.get(order_id)

    def best(self, side: str) -> Decimal | None:
        return self._sides[side].best_price()

    def size_at(self, side: str, price: Decimal) -> Decimal:
        return self._sides[side].level_size(price)

    def levels(self, side: str) -> list[tuple[Decimal, Decimal]]:
        """Aggregated (price, size) for one side, ascending YES price."""
        return self._sides[side].aggregated_ascending()

    def orders_of(self, owner: str) -> list[BookOrder]:
        return [o for o in self._orders.values() if o.owner == owner]

    def queue_ahead(self, order_id: str) -> Decimal:
        """Contracts ahead of this order at its own price level."""
        order = self._orders[order_id]
        ahead = _ZERO
        for other in self._sides[order.side].levels[order.price]:
            if other is order:
                break
            ahead += other.remaining
        return ahead

    def would_cross(self, side: str, limit: Decimal) -> bool:
        best = self._sides[opposite(side)].best_price()
        return best is not None and crosses(side, limit, best)

    def fillable(self, owner: str, side: str, limit: Decimal, stp: str) -> Decimal:
        """How much an incoming order could fill now, honouring self-trade prevention."""
        total = _ZERO
        for order in self._crossing_orders(side, limit):
            if order.owner == owner:
                if stp == STP_TAKER_AT_CROSS:
                    return total
                continue  # maker mode: own order is cancelled, matching goes on
            total += order.remaining
        return total

    def _crossing_orders(self, side: str, limit: Decimal):
        book = self._sides[opposite(side)]
        for price in book.prices_best_first():
            if not crosses(side, limit, price):
                return
            yield from list(book.levels[price])

    def is_empty(self) -> bool:
        return not self._orders

    # ----- mutations -----
    def next_priority(self) -> int:
        self._clock += 1
        return self._clock

    def add(self, order_id: str, owner: str, side: str, price: Decimal, count: Decimal) -> BookOrder:
        order = BookOrder(order_id, owner, side, price, count, self.next_priority())
        self._sides[side].append(order)
        self._orders[order_id] = order
        return order

    def remove(self, order_id: str) -> BookOrder | None:
        order = self._orders.pop(order_id, None)
        if order is not None:
            self._sides[order.side].remove(order)
        return order

    def reduce(self, order_id: str, new_remaining: Decimal) -> BookOrder:
        """Shrink a resting order in place; it keeps its queue position."""
        order = self._orders[order_id]
        if new_remaining <= _ZERO:
            self.remove(order_id)
            order.remaining = _ZERO
        else:
            order.remaining = new_remaining
        return order

    def reprice(self, order_id: str, price: Decimal, remaining: Decimal) -> BookOrder:
        """Move an order to a new price or a larger size: it goes to the back of the queue."""
        order = self._orders[order_id]
        self._sides[order.side].remove(order)
        order.price, order.remaining, order.priority = price, remaining, self.next_priority()
        self._sides[order.side].append(order)
        return order

    def match(self, owner: str, side: str, limit: Decimal, count: Decimal, stp: str) -> MatchResult:
        """Execute an incoming order against the opposite side. The taker never rests here."""
        result = MatchResult(remaining=count)
        for maker in self._crossing_orders(side, limit):
            if result.remaining <= _ZERO:
                break
            if maker.owner == owner:
                if stp == STP_TAKER_AT_CROSS:
                    result.taker_stp_cancelled = True
                    break
                self.remove(maker.order_id)
                result.stp_cancelled_makers.append(maker)
                continue
            qty = min(maker.remaining, result.remaining)
            self.reduce(maker.order_id, maker.remaining - qty)
            result.remaining -= qty
            result.executions.append(Execution(maker, maker.price, qty))
        return result
