"""Kalshi's fixed-point wire format: dollar strings, count strings, timestamps.

Prices are `*_dollars` strings ("0.4200"; requests take 2-4 decimals, responses up to 6),
counts are `*_fp` strings with 2 decimals. We hold them as Decimal, never float.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation

__all__ = [
    "WireFormatError",
    "parse_dollars",
    "parse_count",
    "format_price",
    "format_count",
    "format_money",
    "format_fee",
    "ms_to_ns",
    "ns_to_ms",
    "rfc3339_from_ns",
    "ns_from_rfc3339",
    "ceil_to",
    "floor_to",
    "CENT",
    "ONE",
]

CENT = Decimal("0.01")
ONE = Decimal(1)
_Q4 = Decimal("0.0001")
_Q2 = Decimal("0.01")
_Q6 = Decimal("0.000001")
_ABSURD_DIGITS = 12  # adjusted exponent of 10**12


class WireFormatError(ValueError):
    """A field that does not parse as Kalshi's wire format."""


def _parse_decimal(value: object, what: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise WireFormatError(f"{what}: expected a decimal string, got {value!r}")
    if isinstance(value, float):
        raise WireFormatError(f"{what}: floats are not accepted, got {value!r}")
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise WireFormatError(f"{what}: not a decimal: {value!r}") from None
    if not d.is_finite():
        raise WireFormatError(f"{what}: not finite: {value!r}")
    # no count or dollar amount comes near 10**12; "1E+999999999" would parse, then overflow
    # the decimal context in the first arithmetic done on it (even abs(): test the exponent)
    if d.adjusted() >= _ABSURD_DIGITS:
        raise WireFormatError(f"{what}: absurd magnitude: {value!r}")
    return d


def parse_dollars(value: object, what: str = "price") -> Decimal:
    """A dollar string such as "0.4200". Up to 6 decimals."""
    if type(value) is str:
        return _dollars_from_text(value, what)
    return _parse_dollars(value, what)


def parse_count(value: object, what: str = "count") -> Decimal:
    """A contract count string such as "10.00". At most 2 decimals."""
    if type(value) is str:
        return _count_from_text(value, what)
    return _parse_count(value, what)


# The same few hundred price and count strings arrive again and again (every book delta,
# every listing): a Decimal is immutable, so one parse of each text is shared. Only
# successful parses are remembered; a refused text raises every time.
_PARSED_TEXTS = 4096


def _parse_dollars(value: object, what: str) -> Decimal:
    d = _parse_decimal(value, what)
    if d.as_tuple().exponent < -6:  # type: ignore[operator]
        raise WireFormatError(f"{what}: more than 6 decimals: {value!r}")
    return d


def _parse_count(value: object, what: str) -> Decimal:
    d = _parse_decimal(value, what)
    if d.as_tuple().exponent < -2:  # type: ignore[operator]
        raise WireFormatError(f"{what}: more than 2 decimals: {value!r}")
    return d


_dollars_from_text = lru_cache(maxsize=_PARSED_TEXTS, typed=True)(_parse_dollars)
_count_from_text = lru_cache(maxsize=_PARSED_TEXTS, typed=True)(_parse_count)


def format_price(d: Decimal) -> str:
    """Price for books, orders and quotes: 4 decimals."""
    return str(d.quantize(_Q4))


def format_money(d: Decimal) -> str:
    """Dollar amounts such as costs and P&L: 4 decimals."""
    return str(d.quantize(_Q4))


def format_fee(d: Decimal) -> str:
    """Fee fields: 6 decimals."""
    return str(d.quantize(_Q6))


def format_count(d: Decimal) -> str:
    return str(d.quantize(_Q2))


def ceil_to(d: Decimal, step: Decimal) -> Decimal:
    return (d / step).to_integral_value(rounding=ROUND_CEILING) * step


def floor_to(d: Decimal, step: Decimal) -> Decimal:
    return (d / step).to_integral_value(rounding=ROUND_FLOOR) * step


def ms_to_ns(ms: int) -> int:
    return int(ms) * 1_000_000


def ns_to_ms(ns: int) -> int:
    return ns // 1_000_000


@lru_cache(maxsize=1024, typed=True)  # a market's open, close, created times: written on every listing
def rfc3339_from_ns(ns: int) -> str:
    dt = datetime.fromtimestamp(ns // 1_000_000_000, tz=timezone.utc)
    micros = (ns % 1_000_000_000) // 1000
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{micros:06d}Z" if micros else "Z")


@lru_cache(maxsize=1024, typed=True)  # and read back from every listing
def ns_from_rfc3339(text: str) -> int:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000
