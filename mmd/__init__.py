"""mmd: market-making daemon for Kalshi binary prediction markets (application core)."""

__version__ = "0.1.0"
