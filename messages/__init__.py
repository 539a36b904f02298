"""Immutable messages that mmd's actors exchange, grouped by topic.

Commands are imperative (PlaceOrder), events past tense (OrderFilled), timers say what
is due (RequoteDue). Inbound data carries ts_event (exchange time) and ts_recv (stamped
once at ingestion from the injected clock), both integer nanoseconds.
"""

from ._base import *  # noqa: F401,F403
from ._base import __all__ as _base_all
from ._control import *  # noqa: F401,F403
from ._control import __all__ as _control_all
from ._json import *  # noqa: F401,F403
from ._json import __all__ as _json_all
from ._ledger import *  # noqa: F401,F403
from ._ledger import __all__ as _ledger_all
from ._market import *  # noqa: F401,F403
from ._market import __all__ as _market_all
from ._orders import *  # noqa: F401,F403
from ._orders import __all__ as _orders_all
from ._operations import *  # noqa: F401,F403
from ._operations import __all__ as _operations_all
from ._reconcile import *  # noqa: F401,F403
from ._reconcile import __all__ as _reconcile_all
from ._strategy import *  # noqa: F401,F403
from ._strategy import __all__ as _strategy_all

__all__ = [*_base_all, *_market_all, *_orders_all, *_control_all, *_strategy_all, *_operations_all, *_json_all, *_ledger_all, *_reconcile_all]
