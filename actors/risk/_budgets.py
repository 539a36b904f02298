"""Per-market and per-category budgets learnt from the sessions' market configs.

A market's budget is the configured per-market cap, or the session's
`MarketConfig.max_exposure` when that is smaller. A category's budget caps the summed
exposure of every market known to be in it. A market whose category is unknown (no
session told us: adopted orders, startup positions) is bound by its own and the global
budget only, never lumped with unrelated markets.

What is learnt is kept after the session ends: its orders and position may outlive it;
it is forgotten once the ledger folded the settled market away (nothing of it is left).
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal
from typing import Any

from config import RiskConfig

__all__ = ["Budgets"]

# a backstop (markets are forgotten when the ledger folds them, an hour after they
# settled); the oldest learnt market is forgotten first
_REMEMBER_MARKETS = 10_000


class Budgets:
    def __init__(self, config: RiskConfig) -> None:
        self.config = config
        self._markets: OrderedDict[str, tuple[str, Decimal | None]] = OrderedDict()  # ticker -> (category, cap)
        self.revision = 0  # moves with every market learnt or forgotten (readers keep sums per revision)

    def learn(self, ticker: str, market_config: Any) -> None:
        """Take a session's MarketConfig (None or malformed: nothing learnt)."""
        category = getattr(market_config, "category", None)
        cap = getattr(market_config, "max_exposure", None)
        if not isinstance(category, str):
            category = ""
        if not isinstance(cap, Decimal) or not cap.is_finite() or cap <= 0:
            cap = None
        if not category and cap is None:
            return
        self._markets[ticker] = (category.lower(), cap)
        self.revision += 1
        self._markets.move_to_end(ticker)
        while len(self._markets) > _REMEMBER_MARKETS:
            self._markets.popitem(last=False)

    def forget(self, ticker: str) -> None:
        """A market with nothing left (settled and folded away by the ledger)."""
        if self._markets.pop(ticker, None) is not None:
            self.revision += 1

    def category_of(self, ticker: str) -> str:
        """Lower-case category, "" when unknown."""
        known = self._markets.get(ticker)
        return known[0] if known else ""

    def market_limit(self, ticker: str) -> Decimal:
        known = self._markets.get(ticker)
        cap = known[1] if known else None
        limit = self.config.per_market_budget_dollars
        return limit if cap is None else min(limit, cap)

    def category_limit(self) -> Decimal:
        return self.config.per_category_budget_dollars

    def global_limit(self) -> Decimal:
        return self.config.global_budget_dollars

    def in_category(self, category: str, tickers: list[str]) -> list[str]:
        return [t for t in tickers if category and self.category_of(t) == category]
