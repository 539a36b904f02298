"""The risk governor: pre-trade checks, exposure budgets, trading state, the hybrid
inventory policy, rate and loss limits, and the kill switch."""

from ._actor import RiskGovernorActor
from ._core import RiskCore, estimate_trigger
from ._budgets import Budgets
from ._governor import RiskGovernor, TradingState, Verdict, order_exposure
from ._hybrid import HybridLimits, HybridPolicy, HybridTrigger, duration_weighted_exposure, hybrid_quote_sides
from ._killswitch import KillSwitch
from ._limits import FillRateLimiter, PnlLimits, WarningLevels, trading_day

__all__ = [
    "RiskGovernorActor",
    "RiskCore",
    "RiskGovernor",
    "TradingState",
    "Verdict",
    "order_exposure",
    "estimate_trigger",
    "Budgets",
    "HybridLimits",
    "HybridPolicy",
    "HybridTrigger",
    "duration_weighted_exposure",
    "hybrid_quote_sides",
    "KillSwitch",
    "FillRateLimiter",
    "PnlLimits",
    "WarningLevels",
    "trading_day",
]
