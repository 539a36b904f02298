"""The risk governor: pre-trade checks, exposure budgets, trading state and kill switch."""

from ._actor import RiskGovernorActor
from ._governor import RiskGovernor, TradingState, Verdict, order_exposure

__all__ = ["RiskGovernorActor", "RiskGovernor", "TradingState", "Verdict", "order_exposure"]
