"""Research reproductions run with the product's own code (`bin/mmd research ...`)."""

from ._as2008 import PAPER_TABLE, Setting, StrategyStats, format_table, reproduce, simulate

__all__ = ["PAPER_TABLE", "Setting", "StrategyStats", "simulate", "reproduce", "format_table"]
