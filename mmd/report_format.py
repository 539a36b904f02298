"""How the report writes numbers and times: money exactly as computed (only trailing
zeros past the cents dropped), times in UTC."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

__all__ = ["money", "cents", "count", "price", "when", "clock_time", "duration"]


def _plain(value: Decimal, min_places: int) -> str:
    """Exact digits of `value` (no exponent), trailing zeros dropped down to min_places."""
    if value == 0:
        value = abs(value)  # no "-0"
    text = f"{value:f}"
    if "." in text:
        whole, frac = text.split(".")
        frac = frac.rstrip("0")
        if len(frac) < min_places:
            frac += "0" * (min_places - len(frac))
        return f"{whole}.{frac}" if frac else whole
    return f"{text}.{'0' * min_places}" if min_places else text


def money(value: Decimal | None) -> str:
    """Decimal('-0.450000') -> '-$0.45'; None -> 'n/a'."""
    if value is None:
        return "n/a"
    sign = "-" if value < 0 else ""
    return f"{sign}${_plain(abs(value), 2)}"


def cents(value: Decimal | None) -> str:
    """Dollars shown in cents, exactly: Decimal('-0.005') -> '-0.5¢'."""
    if value is None:
        return "n/a"
    return f"{_plain(value * 100, 0)}¢"


def count(value: Decimal) -> str:
    """Contracts: Decimal('5.00') -> '5'."""
    return _plain(value, 0)


def price(value: Decimal | None) -> str:
    """A YES price in dollars: Decimal('0.7300') -> '0.73'."""
    return "n/a" if value is None else _plain(value, 2)


def _utc(ts_ns: int) -> datetime:
    return datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=timezone.utc)


def _millis(ts_ns: int) -> str:
    millis = (ts_ns % 1_000_000_000) // 1_000_000
    return f".{millis:03d}" if millis else ""


def when(ts_ns: int | None) -> str:
    """'2026-04-04 22:07:50Z' (with milliseconds when there are some)."""
    if ts_ns is None:
        return "n/a"
    return f"{_utc(ts_ns):%Y-%m-%d %H:%M:%S}{_millis(ts_ns)}Z"


def clock_time(ts_ns: int, day_of_ns: int) -> str:
    """The time of day alone when `ts_ns` falls on the UTC day of `day_of_ns`, else `when`."""
    if _utc(ts_ns).date() != _utc(day_of_ns).date():
        return when(ts_ns)
    return f"{_utc(ts_ns):%H:%M:%S}{_millis(ts_ns)}"


def duration(ns: int | None) -> str:
    """'10 h 34 min', '4 min 40 s', '12 s', '1.5 s'."""
    if ns is None:
        return "n/a"
    seconds = ns // 1_000_000_000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{ns / 1e9:.1f} s" if ns % 1_000_000_000 else f"{secs} s"
