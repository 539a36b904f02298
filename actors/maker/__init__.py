"""The maker: one actor per market session quoting Avellaneda-Stoikov around the microprice."""

from ._actor import MakerActor
from ._orders import SIDES, OrderManager, WorkingOrder
from ._quoting import AvellanedaStoikovQuoter, Quote
from ._session import MakerSession, MakerState

__all__ = [
    "MakerActor",
    "MakerSession",
    "MakerState",
    "AvellanedaStoikovQuoter",
    "Quote",
    "OrderManager",
    "WorkingOrder",
    "SIDES",
]
