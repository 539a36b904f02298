"""Candlesticks for the simulated exchange, built from bounded one-minute bars.

Each market keeps one bar per minute in which its quote or trades changed (at most 1,440 a
day), so a long paper session does not keep every quote. A candle of 1, 60 or 1,440 minutes
folds the minute bars whose minute ends inside it; a period with no bars carries the last
quote forward. `end_period_ts` is the candle's end (a multiple of the period), in seconds.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from decimal import Decimal

from kalshi.wire import ONE, format_count, format_price

__all__ = ["MinuteBars", "PERIODS_MIN", "MAX_CANDLES"]

PERIODS_MIN = (1, 60, 1440)
MAX_CANDLES = 5000  # Kalshi's cap per candlestick request
_ZERO = Decimal(0)


@dataclass
class _Bar:
    minute: int  # unix seconds // 60
    bid: list[Decimal]  # open, high, low, close
    ask: list[Decimal]
    oi: Decimal
    price: list[Decimal] | None = None
    volume: Decimal = _ZERO
    notional: Decimal = _ZERO  # sum of price x count, for the mean


def _ohlc_update(ohlc: list[Decimal], value: Decimal) -> None:
    ohlc[1] = max(ohlc[1], value)
    ohlc[2] = min(ohlc[2], value)
    ohlc[3] = value


def _ohlc_json(ohlc: list[Decimal]) -> dict:
    return {"open_dollars": format_price(ohlc[0]), "low_dollars": format_price(ohlc[2]),
            "high_dollars": format_price(ohlc[1]), "close_dollars": format_price(ohlc[3])}


@dataclass
class MinuteBars:
    """Quote and trade history of one market at one-minute resolution."""

    bid: Decimal = _ZERO  # last published touch; an empty side reads $0 bid / $1 ask
    ask: Decimal = ONE
    oi: Decimal = _ZERO
    last_price: Decimal | None = None
    _bars: list[_Bar] = field(default_factory=list)
    _minutes: list[int] = field(default_factory=list)

    def _bar(self, ts_ns: int) -> _Bar:
        minute = ts_ns // 1_000_000_000 // 60
        if self._bars and minute <= self._bars[-1].minute:
            return self._bars[-1]  # hazard: a late event (tape row) folds into the newest bar
        bar = _Bar(minute, [self.bid] * 4, [self.ask] * 4, self.oi)
        self._bars.append(bar)
        self._minutes.append(minute)
        return bar

    def quote(self, ts_ns: int, bid: Decimal | None, ask: Decimal | None, open_interest: Decimal) -> None:
        bar = self._bar(ts_ns)
        self.bid = bid if bid is not None else _ZERO
        self.ask = ask if ask is not None else ONE
        self.oi = open_interest
        _ohlc_update(bar.bid, self.bid)
        _ohlc_update(bar.ask, self.ask)
        bar.oi = open_interest

    def trade(self, ts_ns: int, price: Decimal, count: Decimal) -> None:
        bar = self._bar(ts_ns)
        if bar.price is None:
            bar.price = [price] * 4
        else:
            _ohlc_update(bar.price, price)
        bar.volume += count
        bar.notional += price * count
        self.last_price = price

    def candles(self, start_s: int, end_s: int, period_min: int, first_s: int, now_s: int) -> list[dict]:
        """Candles whose end lies in [start_s, end_s], after `first_s` (listing) and up to now."""
        if period_min not in PERIODS_MIN:
            raise ValueError(f"period_interval must be one of {PERIODS_MIN}")
        if end_s < start_s:
            raise ValueError("end_ts is before start_ts")
        period = period_min * 60
        last_end = min(end_s, -(-now_s // period) * period)
        first_end = max(-(-start_s // period) * period, (first_s // period + 1) * period)
        if first_end > last_end:
            return []
        if (last_end - first_end) // period + 1 > MAX_CANDLES:
            raise ValueError(f"at most {MAX_CANDLES} candlesticks per request")
        return [self._candle(end, period) for end in range(first_end, last_end + 1, period)]

    def _candle(self, end: int, period: int) -> dict:
        # minutes m belong to the candle when their end (m + 1) * 60 lies in (end - period, end]
        lo = bisect.bisect_left(self._minutes, (end - period) // 60)
        hi = bisect.bisect_left(self._minutes, end // 60)
        bars = self._bars[lo:hi]
        before = self._bars[lo - 1] if lo else None
        previous_price = next((b.price[3] for b in reversed(self._bars[:lo]) if b.price is not None), None)
        if not bars:
            carried_bid = before.bid[3] if before else _ZERO
            carried_ask = before.ask[3] if before else ONE
            price: dict = {} if previous_price is None else {"previous_dollars": format_price(previous_price)}
            return {"end_period_ts": end, "yes_bid": _ohlc_json([carried_bid] * 4),
                    "yes_ask": _ohlc_json([carried_ask] * 4), "price": price,
                    "volume_fp": format_count(_ZERO), "open_interest_fp": format_count(before.oi if before else _ZERO)}
        bid = [bars[0].bid[0], max(b.bid[1] for b in bars), min(b.bid[2] for b in bars), bars[-1].bid[3]]
        ask = [bars[0].ask[0], max(b.ask[1] for b in bars), min(b.ask[2] for b in bars), bars[-1].ask[3]]
        traded = [b for b in bars if b.price is not None]
        volume = sum((b.volume for b in bars), _ZERO)
        price = {}
        if traded:
            ohlc = [traded[0].price[0], max(b.price[1] for b in traded), min(b.price[2] for b in traded),
                    traded[-1].price[3]]
            price = _ohlc_json(ohlc)
            price["mean_dollars"] = format_price(sum((b.notional for b in traded), _ZERO) / volume)
        if previous_price is not None:
            price["previous_dollars"] = format_price(previous_price)
        return {"end_period_ts": end, "yes_bid": _ohlc_json(bid), "yes_ask": _ohlc_json(ask), "price": price,
                "volume_fp": format_count(volume), "open_interest_fp": format_count(bars[-1].oi)}
