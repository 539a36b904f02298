"""Kalshi fees and the fee-aware spread floor (SPEC 8 "Fee-aware").

Kalshi charges per order fill: fee = ceil(rate * C * P * (1 - P)) to the cent, with rate
0.07 for takers and 0.0175 for makers on maker-fee series (no maker fee elsewhere).
A round trip buys at the bid and sells at the ask; the spread must cover both legs' fees
plus an adverse-selection buffer on each side, or the quote loses money on average.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from config import QuoteModelConfig

__all__ = ["trading_fee", "fee_per_contract", "min_profitable_spread"]

_CENT = Decimal("0.01")
_ZERO = Decimal(0)


def trading_fee(rate: Decimal, count: Decimal, price: Decimal) -> Decimal:
    """ceil(rate * C * P * (1 - P)) to the cent, in dollars, for one fill of `count`."""
    if count <= 0:
        return _ZERO
    raw = rate * count * price * (1 - price)
    return raw.quantize(_CENT, rounding=ROUND_CEILING)


def fee_per_contract(rate: Decimal, count: Decimal, price: Decimal) -> Decimal:
    """Fee of a fill of `count` spread over its contracts (the cent rounding included)."""
    if count <= 0:
        return _ZERO
    return trading_fee(rate, count, price) / count


def min_profitable_spread(
    cfg: QuoteModelConfig, *, fair: Decimal, size: Decimal, maker_fee_series: bool
) -> Decimal:
    """Smallest total spread that pays both legs' fees plus the buffer on each side.

    Entry is a maker fill (fee only on maker-fee series); the exit leg pays maker or
    taker fees as `fee_exit_leg` says. Fees are taken at the fair price, where P(1-P) is
    within a hair of its value at either quote.
    """
    count = max(size, Decimal(1))
    maker_rate = cfg.maker_fee_rate if maker_fee_series else _ZERO
    exit_rate = cfg.taker_fee_rate if cfg.fee_exit_leg == "taker" else maker_rate
    fees = fee_per_contract(maker_rate, count, fair) + fee_per_contract(exit_rate, count, fair)
    return fees + 2 * cfg.adverse_selection_buffer
