"""Reconciliation at start-up: what the exchange says we already hold."""

from __future__ import annotations

from decimal import Decimal

from ._base import Message, message

__all__ = ["HeldPosition", "PositionsReconciled"]


@message
class HeldPosition(Message):
    """A position the account held before this run: signed contracts (+ YES, - NO) and
    the YES-leg price it is counted at (its average cost; $1 long / $0 short, the worst
    case, when the exchange did not say what it cost)."""

    ticker: str
    position: Decimal
    price: Decimal


@message
class PositionsReconciled(Message):
    """The runner read the account's positions before the first quote; the risk governor
    counts them (budgets, hybrid policy) as if this run had filled them."""

    positions: tuple[HeldPosition, ...]
    ts: int
