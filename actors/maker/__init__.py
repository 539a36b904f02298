"""The maker: one actor per market session quoting Avellaneda-Stoikov around the microprice."""

from ._actor import MakerActor, maker_reader
from ._orders import SIDES, OrderManager, WorkingOrder
from ._plan import MakerPlan
from ._quoting import AvellanedaStoikovQuoter, Quote
from ._session import MakerSession, MakerState

__all__ = [
    "MakerActor",
    "maker_reader",
    "MakerPlan",
    "MakerSession",
    "MakerState",
    "AvellanedaStoikovQuoter",
    "Quote",
    "OrderManager",
    "WorkingOrder",
    "SIDES",
]
