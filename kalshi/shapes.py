"""Kalshi's object shapes (orders, fills, positions, books), parsed into exact values.

REST reads and WebSocket frames carry the same objects with small differences (a WS
`user_order` is a REST Order, a WS `fill` a REST Fill), so both sides parse here. Every
function raises kalshi.wire.WireFormatError on a missing field or a bad number; callers
decide whether that is a rejected reply (REST) or a malformed frame (WS).

Sides are reported on the YES leg (`bid` buys YES, `ask` sells YES = buys NO). Kalshi
sends `book_side`; older shapes only `outcome_side` or the deprecated `side`/`action`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from messages import BookLevel, BookSide, Count, Money, OrderFilled, Price
from kalshi.wire import ONE, WireFormatError, ms_to_ns, ns_from_rfc3339, parse_count, parse_dollars

__all__ = [
    "ExchangeOrder",
    "ExchangeFill",
    "ExchangePosition",
    "Balance",
    "parse_order",
    "parse_fill",
    "order_filled_from",
    "parse_position",
    "parse_balance",
    "parse_levels",
    "parse_yes_price",
    "yes_leg_book",
    "book_side_of",
    "OUTCOME_TO_BOOK",
    "text_field",
    "event_time_ns",
    "optional_dollars",
    "optional_count",
    "optional_text",
    "writable_text",
]

_ZERO = Decimal(0)
# an outcome (YES/NO) bought is a side of the YES book: buying NO rests as a YES ask
OUTCOME_TO_BOOK: Mapping[str, BookSide] = MappingProxyType({"yes": "bid", "no": "ask"})
# deprecated (action, side) pairs: buying NO or selling YES both sell YES on the book
_LEGACY_TO_BOOK = {("buy", "yes"): "bid", ("sell", "no"): "bid", ("buy", "no"): "ask", ("sell", "yes"): "ask"}


def _utf8(value: str, key: str) -> str:
    """Hazard: JSON's "\\ud83d" escape decodes to a lone surrogate, a str that cannot be
    written as UTF-8 (an SQLite row, a JSON log line, the next request's URL): refused."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise WireFormatError(f"{key}: text that is not UTF-8 (lone surrogate)") from None
    return value


def text_field(obj: Mapping[str, Any], *keys: str) -> str:
    """The first of `keys` present as a non-empty string (text that cannot be written as
    UTF-8 is a WireFormatError)."""
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str) and value:
            return _utf8(value, key)
    raise WireFormatError(f"missing or empty field {' / '.join(keys)}")


def optional_text(obj: Mapping[str, Any], key: str) -> str | None:
    """`key` as text, None when absent or null; anything else (a number, an array, text
    that cannot be written as UTF-8, such as a lone surrogate) is a WireFormatError."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise WireFormatError(f"{key}: expected text, got {type(value).__name__}")
    return _utf8(value, key)


def writable_text(value: object) -> str:
    """Any value as text that can be written as UTF-8, for what is only shown or logged
    (an error reply's code and message): a lone surrogate is escaped, not refused."""
    text = value if isinstance(value, str) else str(value)
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _require_object(obj: object, what: str) -> None:
    # an item of a list reply may be anything JSON holds: obj.get would raise AttributeError
    if not isinstance(obj, Mapping):
        raise WireFormatError(f"{what}: expected an object, got {type(obj).__name__}")


def optional_dollars(obj: Mapping[str, Any], key: str) -> Decimal | None:
    value = obj.get(key)
    return None if value is None else parse_dollars(value, key)


def optional_count(obj: Mapping[str, Any], key: str) -> Decimal | None:
    value = obj.get(key)
    return None if value is None else parse_count(value, key)


def _int_field(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise WireFormatError(f"{key}: expected an integer, got {value!r}")
    return value


def event_time_ns(obj: Mapping[str, Any], ms_keys: Iterable[str] = ("ts_ms",), rfc3339_keys: Iterable[str] = ()) -> int | None:
    """Exchange time in ns from the first present millisecond or RFC3339 field, else None."""
    for key in ms_keys:
        if obj.get(key) is not None:
            return ms_to_ns(_int_field(obj[key], key))
    for key in rfc3339_keys:
        value = obj.get(key)
        if isinstance(value, str) and value:
            try:
                return ns_from_rfc3339(value)
            except ValueError:
                raise WireFormatError(f"{key}: not an RFC3339 time: {value!r}") from None
    return None


def book_side_of(obj: Mapping[str, Any], book_key: str = "book_side", outcome_key: str = "outcome_side") -> BookSide:
    """Our YES-leg side from book_side, outcome_side, or the deprecated side/action pair."""
    book = obj.get(book_key)
    if book in ("bid", "ask"):
        return book
    outcome, side, action = obj.get(outcome_key), obj.get("side"), obj.get("action")
    # hazard: an object or array is unhashable (TypeError in a mapping lookup); a side that
    # is present but not text is a damaged message, not one to read from the other fields
    for key, value in ((outcome_key, outcome), ("side", side), ("action", action)):
        if value is not None and not isinstance(value, str):
            raise WireFormatError(f"{key}: expected text, got {type(value).__name__}")
    if outcome in OUTCOME_TO_BOOK:
        return OUTCOME_TO_BOOK[outcome]
    if (action, side) in _LEGACY_TO_BOOK:
        return _LEGACY_TO_BOOK[(action, side)]  # type: ignore[return-value]
    if action is None and side in OUTCOME_TO_BOOK:  # user_order has side without action
        return OUTCOME_TO_BOOK[side]
    raise WireFormatError(f"no usable side: {book_key}={book!r} {outcome_key}={outcome!r} side={side!r} action={action!r}")


def parse_yes_price(value: Any, what: str) -> Price:
    """A dollar price a market can trade at: strictly between 0 and 1."""
    price = parse_dollars(value, what)
    if not _ZERO < price < ONE:
        raise WireFormatError(f"{what}: price {price} outside (0, 1)")
    return price


def parse_levels(raw: Any, what: str) -> list[BookLevel]:
    """[[price, count], ...] string pairs; a missing side (None) is an empty side."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise WireFormatError(f"{what}: expected a list of [price, count] pairs, got {type(raw).__name__}")
    levels: list[BookLevel] = []
    for item in raw:
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise WireFormatError(f"{what}: bad level {item!r}")
        levels.append((parse_yes_price(item[0], f"{what} price"), parse_count(item[1], f"{what} count")))
    return levels


def yes_leg_book(
    yes_bids: list[BookLevel], no_bids: list[BookLevel], *, no_in_yes_prices: bool
) -> tuple[tuple[BookLevel, ...], tuple[BookLevel, ...]]:
    """YES bids (descending) and YES asks (ascending) from Kalshi's two bid-only sides.

    A NO bid at q is a YES ask at 1 - q. With `use_yes_price: true` Kalshi already sends
    NO levels at the YES price, so only the side changes. Empty levels are dropped and
    the order is re-established here rather than trusted from the wire.
    """
    bids = sorted(((p, q) for p, q in yes_bids if q > 0), key=lambda level: level[0], reverse=True)
    asks = sorted(
        ((p if no_in_yes_prices else ONE - p, q) for p, q in no_bids if q > 0), key=lambda level: level[0]
    )
    return tuple(bids), tuple(asks)


@dataclass(frozen=True, slots=True)
class ExchangeOrder:
    """One of our orders as the exchange reports it (REST Order or WS user_order)."""

    order_id: str
    client_order_id: str
    ticker: str
    side: BookSide
    price: Price  # YES leg
    status: str  # resting | canceled | executed (WS may say unknown)
    filled: Count
    remaining: Count
    initial: Count
    reason: str  # last_update_reason, "" when absent
    ts_event: int | None


def parse_order(obj: Mapping[str, Any]) -> ExchangeOrder:
    _require_object(obj, "order")
    filled = parse_count(obj.get("fill_count_fp"), "fill_count_fp")
    remaining = parse_count(obj.get("remaining_count_fp"), "remaining_count_fp")
    initial = optional_count(obj, "initial_count_fp")
    return ExchangeOrder(
        order_id=text_field(obj, "order_id"),
        client_order_id=optional_text(obj, "client_order_id") or "",
        ticker=text_field(obj, "ticker", "market_ticker"),
        side=book_side_of(obj),
        price=parse_dollars(obj.get("yes_price_dollars"), "yes_price_dollars"),
        status=text_field(obj, "status"),
        filled=filled,
        remaining=remaining,
        initial=initial if initial is not None else filled + remaining,
        reason=optional_text(obj, "last_update_reason") or "",
        ts_event=event_time_ns(
            obj, ("last_updated_ts_ms", "created_ts_ms"), ("last_update_time", "created_time")
        ),
    )


@dataclass(frozen=True, slots=True)
class ExchangeFill:
    """One fill of one of our orders (REST Fill or WS fill)."""

    fill_id: str
    order_id: str
    client_order_id: str
    ticker: str
    side: BookSide  # our order's YES-leg side
    price: Price  # YES leg
    count: Count
    fee: Money  # fee_cost; 0 when the exchange omitted it
    is_taker: bool
    post_position: Count | None
    ts_event: int | None


def parse_fill(obj: Mapping[str, Any]) -> ExchangeFill:
    _require_object(obj, "fill")
    is_taker = obj.get("is_taker")
    if not isinstance(is_taker, bool):
        raise WireFormatError(f"is_taker: expected a boolean, got {is_taker!r}")
    ts_event = event_time_ns(obj, ("ts_ms",), ("created_time",))
    if ts_event is None and obj.get("ts") is not None:
        ts_event = _int_field(obj["ts"], "ts") * 1_000_000_000  # legacy seconds
    fee = optional_dollars(obj, "fee_cost")
    return ExchangeFill(
        fill_id=text_field(obj, "fill_id", "trade_id"),
        order_id=text_field(obj, "order_id"),
        client_order_id=optional_text(obj, "client_order_id") or "",
        ticker=text_field(obj, "market_ticker", "ticker"),
        side=book_side_of(obj),
        price=parse_dollars(obj.get("yes_price_dollars"), "yes_price_dollars"),
        count=parse_count(obj.get("count_fp"), "count_fp"),
        fee=fee if fee is not None else _ZERO,
        is_taker=is_taker,
        post_position=optional_count(obj, "post_position_fp"),
        ts_event=ts_event,
    )


def order_filled_from(fill: ExchangeFill, ts_recv: int) -> OrderFilled:
    """The bus message for one of our fills, from the WS `fill` feed or a REST read.
    `ts_recv` stands in for the exchange time when the exchange gave none."""
    return OrderFilled(
        fill_id=fill.fill_id,
        order_id=fill.order_id,
        client_order_id=fill.client_order_id,
        ticker=fill.ticker,
        side=fill.side,
        price=fill.price,
        count=fill.count,
        fee=fill.fee,
        is_taker=fill.is_taker,
        post_position=fill.post_position,
        ts_event=fill.ts_event if fill.ts_event is not None else ts_recv,
        ts_recv=ts_recv,
    )


@dataclass(frozen=True, slots=True)
class ExchangePosition:
    ticker: str
    position: Count  # signed: + YES, - NO
    realized_pnl: Money | None
    fees_paid: Money | None
    exposure: Money | None
    ts_event: int | None


def parse_position(obj: Mapping[str, Any]) -> ExchangePosition:
    _require_object(obj, "position")
    # last_updated_ts is RFC3339 text (OpenAPI MarketPosition: string, date-time); whole
    # seconds are still read, as an older form
    ts_event = event_time_ns(obj, ("ts_ms",), ("last_updated_ts",))
    if ts_event is None and obj.get("last_updated_ts") is not None:
        ts_event = _int_field(obj["last_updated_ts"], "last_updated_ts") * 1_000_000_000
    return ExchangePosition(
        ticker=text_field(obj, "ticker", "market_ticker"),
        position=parse_count(obj.get("position_fp"), "position_fp"),
        realized_pnl=optional_dollars(obj, "realized_pnl_dollars"),
        fees_paid=optional_dollars(obj, "fees_paid_dollars"),
        exposure=optional_dollars(obj, "market_exposure_dollars"),
        ts_event=ts_event,
    )


@dataclass(frozen=True, slots=True)
class Balance:
    balance: Money  # dollars
    portfolio_value: Money | None


def _cents_or_dollars(obj: Mapping[str, Any], dollars_key: str, cents_key: str) -> Decimal | None:
    if obj.get(dollars_key) is not None:
        return parse_dollars(obj[dollars_key], dollars_key)
    if obj.get(cents_key) is not None:
        return Decimal(_int_field(obj[cents_key], cents_key)) / 100  # integer cents (§0.3)
    return None


def parse_balance(obj: Mapping[str, Any]) -> Balance:
    balance = _cents_or_dollars(obj, "balance_dollars", "balance")
    if balance is None:
        raise WireFormatError("missing field balance / balance_dollars")
    return Balance(balance=balance, portfolio_value=_cents_or_dollars(obj, "portfolio_value_dollars", "portfolio_value"))
