"""The base every mmd message derives from, and the decorator that makes one."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

__all__ = ["Message", "message", "BookSide", "Price", "Count", "Money"]

# YES-leg book side: "bid" buys YES, "ask" sells YES (economically a NO bid at 1 - price).
BookSide = Literal["bid", "ask"]

# Exact amounts. Prices are YES-leg dollars ("0.4200" on the wire), counts are contracts
# ("10.00" on the wire, fractional on some markets), money is dollars. Never float.
Price = Decimal
Count = Decimal
Money = Decimal


class Message:
    """Marker base: everything actors tell each other derives from this.

    The in-flight tracker counts only Message instances, so replay can tell when the
    actors have gone quiet.
    """

    __slots__ = ()


def message(cls):
    """Make `cls` a frozen, slotted, keyword-only dataclass message."""
    return dataclass(frozen=True, slots=True, kw_only=True)(cls)
