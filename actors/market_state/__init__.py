"""Market state: books, tickers, trades, histories and staleness for every market."""

from ._actor import MarketStateActor
from ._book import HistoryPoint, MarketBook, MarketStore

__all__ = ["MarketStateActor", "MarketStore", "MarketBook", "HistoryPoint"]
