"""Scanner: discovery and market selection."""

from ._actor import ScannerActor
from ._selection import MarketCandidate, rank_markets

__all__ = ["ScannerActor", "MarketCandidate", "rank_markets"]
