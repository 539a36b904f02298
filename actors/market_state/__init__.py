"""Market state: books, tickers, trades, histories and staleness for every market."""

from ._actor import MarketStateActor
from ._book import HistoryPoint, MarketBook, MarketStore
from ._packed import DecimalColumn, FloatColumn, IdColumn, IntColumn, PackedRing, TextColumn

__all__ = ["MarketStateActor", "MarketStore", "MarketBook", "HistoryPoint", "PackedRing", "IntColumn", "FloatColumn", "DecimalColumn",
           "TextColumn", "IdColumn"]
