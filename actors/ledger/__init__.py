"""The trading ledger: our orders, fills and positions in one place, with one writer (the
risk governor), read by everyone else through its immutable views."""

from ._ledger import TradingLedger, Unseen
from ._own_orders import (
    ORDER_GONE_CODES,
    TERMINAL_STATUSES,
    OwnOrder,
    OwnOrders,
    outcome_unknown,
    refusal_means_executed,
    refusal_means_gone,
)
from ._positions import BoundedIds, Inventory, position_exposure

__all__ = [
    "TradingLedger",
    "Unseen",
    "OwnOrder",
    "OwnOrders",
    "TERMINAL_STATUSES",
    "ORDER_GONE_CODES",
    "outcome_unknown",
    "refusal_means_executed",
    "refusal_means_gone",
    "Inventory",
    "BoundedIds",
    "position_exposure",
]
