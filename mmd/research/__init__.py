"""Research reproductions run with the product's own code (`bin/mmd research ...`)."""

from ._as2008 import (
    PUBLISHED_TABLE,
    REPLICATION_TABLE,
    Reproduction,
    Setting,
    StrategyStats,
    format_table,
    reproduce,
    simulate,
)

__all__ = [
    "PUBLISHED_TABLE",
    "REPLICATION_TABLE",
    "Reproduction",
    "Setting",
    "StrategyStats",
    "simulate",
    "reproduce",
    "format_table",
]
