"""Kalshi WebSocket frames -> mmd messages (plain, synchronous, no actor state).

Books are turned onto the YES leg: `yes` levels are YES bids; `no` levels are NO bids,
and a NO bid at q is a YES ask at 1 - q. We subscribe with `use_yes_price: false` (the
documented default) and convert here, so one code path serves REST books too. With
`use_yes_price: true` Kalshi sends NO levels already at the YES price; build the decoder
with `no_prices_in_yes_leg=True` to match. Hazard: Kalshi has announced the flag will go
away and YES pricing will become the only behaviour; the subscribe parameter and this
flag must then both flip, or every ask lands at 1 - price.

Malformed input (bad JSON, missing fields, bad numbers) raises FrameDecodeError. A frame
type we do not know decodes with known=False; fields we do not know are reported in
`unknown_fields` and otherwise ignored (Kalshi adds fields often).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Callable

from actors.rest import (
    event_time_ns,
    optional_count,
    optional_dollars,
    order_filled_from,
    parse_fill,
    parse_levels,
    parse_order,
    parse_position,
    text_field,
    yes_leg_book,
)
from kalshi.shapes import OUTCOME_TO_BOOK, optional_text, parse_yes_price, writable_text
from messages import (
    BookDelta,
    BookSnapshot,
    MarketLifecycleChanged,
    Message,
    OrderUpdated,
    PositionUpdated,
    TickerUpdated,
    TradePrinted,
)
from kalshi.wire import ONE, WireFormatError, parse_count

__all__ = ["FeedDecoder", "DecodedFrame", "FrameDecodeError", "CONTROL_TYPES", "BOOK_TYPES"]

CONTROL_TYPES = frozenset({"subscribed", "ok", "unsubscribed", "error"})
BOOK_TYPES = frozenset({"orderbook_snapshot", "orderbook_delta"})

# Documented msg fields per type (current and deprecated ones), from kalshi-docs/websockets.
_KNOWN_FIELDS: dict[str, frozenset[str]] = {
    "orderbook_snapshot": frozenset(
        "market_ticker market_id yes_dollars_fp no_dollars_fp yes no yes_dollars no_dollars ts ts_ms".split()
    ),
    "orderbook_delta": frozenset(
        "market_ticker market_id price_dollars delta_fp side client_order_id subaccount ts ts_ms price delta".split()
    ),
    "ticker": frozenset(
        "market_ticker market_id price_dollars yes_bid_dollars yes_ask_dollars volume_fp open_interest_fp "
        "dollar_volume dollar_open_interest yes_bid_size_fp yes_ask_size_fp last_trade_size_fp ts ts_ms time "
        "price yes_bid yes_ask volume open_interest".split()
    ),
    "trade": frozenset(
        "trade_id market_ticker yes_price_dollars no_price_dollars count_fp taker_side taker_outcome_side "
        "taker_book_side is_block_trade ts ts_ms yes_price no_price count".split()
    ),
    "fill": frozenset(
        "trade_id order_id market_ticker exchange_index is_taker side yes_price_dollars count_fp fee_cost action "
        "ts ts_ms client_order_id post_position_fp purchased_side outcome_side book_side subaccount "
        "yes_price no_price count post_position".split()
    ),
    "user_order": frozenset(
        "order_id user_id ticker status side is_yes outcome_side book_side yes_price_dollars fill_count_fp "
        "remaining_count_fp initial_count_fp taker_fill_cost_dollars maker_fill_cost_dollars taker_fees_dollars "
        "maker_fees_dollars client_order_id order_group_id self_trade_prevention_type created_time created_ts_ms "
        "last_update_time last_updated_ts_ms last_update_reason expiration_time expiration_ts_ms "
        "subaccount_number exchange_index".split()
    ),
    "market_position": frozenset(
        "user_id market_ticker position_fp position_cost_dollars realized_pnl_dollars fees_paid_dollars "
        "position_fee_cost_dollars volume_fp subaccount".split()
    ),
    "market_lifecycle_v2": frozenset(
        "event_type market_ticker exchange_index open_ts close_ts result determination_ts settlement_value "
        "settled_ts is_deactivated price_level_structure price_ranges strike_type floor_strike cap_strike "
        "custom_strike yes_sub_title no_sub_title additional_metadata".split()
    ),
}


class FrameDecodeError(ValueError):
    """A frame that cannot be decoded: bad JSON, missing fields, bad numbers."""


@dataclass(frozen=True, slots=True)
class DecodedFrame:
    type: str
    known: bool = True
    sid: int | None = None
    seq: int | None = None
    command_id: int | None = None
    messages: tuple[Message, ...] = ()
    ticker: str | None = None  # the market an orderbook frame is about (for seq tracking)
    is_snapshot: bool = False
    channel: str | None = None  # `subscribed`
    market_tickers: tuple[str, ...] | None = None  # `ok` after update_subscription
    error_code: int | None = None  # `error`
    error_text: str = ""
    unknown_fields: tuple[str, ...] = ()


def _optional_int(obj: dict, key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise WireFormatError(f"{key}: expected an integer, got {value!r}")
    return value


def _refuse_unwritable_text(messages: tuple[Message, ...]) -> None:
    """Hazard: JSON allows a lone surrogate (\\ud800) in any string; a message carrying one
    cannot be written as UTF-8 (SQLite rows, JSON logs, the next request's URL)."""
    for message in messages:
        names = _FIELD_NAMES.get(type(message))
        if names is None:
            names = _FIELD_NAMES[type(message)] = tuple(f.name for f in fields(message))  # type: ignore[arg-type]
        for name in names:
            value = getattr(message, name)
            if isinstance(value, str) and not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    raise WireFormatError(f"{name}: text that is not UTF-8 (lone surrogate)") from None


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


class FeedDecoder:
    def __init__(self, *, no_prices_in_yes_leg: bool = False) -> None:
        self.no_prices_in_yes_leg = no_prices_in_yes_leg
        self._data: dict[str, Callable[[dict, int, int | None], tuple[Message, ...]]] = {
            "orderbook_snapshot": self._snapshot,
            "orderbook_delta": self._delta,
            "ticker": self._ticker,
            "trade": self._trade,
            "fill": self._fill,
            "user_order": self._user_order,
            "market_position": self._market_position,
            "market_lifecycle_v2": self._lifecycle,
            # same channel as market_lifecycle_v2, nothing mmd acts on yet
            "event_lifecycle": lambda msg, ts, seq: (),
            "event_fee_update": lambda msg, ts, seq: (),
        }

    def decode(self, text: str, ts_recv: int) -> DecodedFrame:
        try:
            frame = json.loads(text)
        except (ValueError, TypeError, RecursionError) as exc:
            # ValueError covers JSONDecodeError, UnicodeDecodeError and an integer past
            # Python's 4,300-digit limit; RecursionError a frame nested past the stack
            raise FrameDecodeError(f"not JSON: {type(exc).__name__}: {exc}") from None
        if not isinstance(frame, dict):
            raise FrameDecodeError(f"frame is a {type(frame).__name__}, not an object")
        kind = frame.get("type")
        if not isinstance(kind, str) or not kind:
            raise FrameDecodeError("frame has no type")
        try:
            sid, seq, command_id = _optional_int(frame, "sid"), _optional_int(frame, "seq"), _optional_int(frame, "id")
            if kind in CONTROL_TYPES:
                return self._control(kind, frame, sid, seq, command_id)
            handler = self._data.get(kind)
            if handler is None:
                return DecodedFrame(type=kind, known=False, sid=sid, seq=seq, command_id=command_id)
            msg = frame.get("msg")
            if not isinstance(msg, dict):
                raise WireFormatError("msg is missing or not an object")
            if kind in BOOK_TYPES and seq is None:
                raise WireFormatError("orderbook frame without seq")
            messages = handler(msg, ts_recv, seq)
            if not (type(text) is str and text.isascii() and "\\u" not in text):  # else all decoded text is ASCII
                _refuse_unwritable_text(messages)
        except WireFormatError as exc:
            raise FrameDecodeError(f"{kind}: {exc}") from None
        known = _KNOWN_FIELDS.get(kind)
        extra = msg.keys() - known if known else None
        unknown = tuple(sorted(f"{kind}.{key}" for key in extra)) if extra else ()
        return DecodedFrame(
            type=kind,
            sid=sid,
            seq=seq,
            command_id=command_id,
            messages=messages,
            ticker=msg.get("market_ticker") if kind in BOOK_TYPES else None,
            is_snapshot=kind == "orderbook_snapshot",
            unknown_fields=unknown,
        )

    # -- control --------------------------------------------------------------------
    @staticmethod
    def _control(kind: str, frame: dict, sid: int | None, seq: int | None, command_id: int | None) -> DecodedFrame:
        msg = frame.get("msg")
        if kind == "subscribed":
            if not isinstance(msg, dict):
                raise WireFormatError("subscribed without msg")
            return DecodedFrame(
                type=kind, sid=_optional_int(msg, "sid"), seq=seq, command_id=command_id,
                channel=text_field(msg, "channel"),
            )  # fmt: skip
        if kind == "error":
            if not isinstance(msg, dict):
                raise WireFormatError("error without msg")
            return DecodedFrame(
                type=kind, sid=sid, seq=seq, command_id=command_id,
                # only shown and logged: a lone surrogate is escaped (it could not be written as UTF-8)
                error_code=_optional_int(msg, "code"), error_text=writable_text(msg.get("msg") or ""),
            )  # fmt: skip
        tickers = msg.get("market_tickers") if isinstance(msg, dict) else None
        if tickers is not None and not (isinstance(tickers, list) and all(isinstance(t, str) for t in tickers)):
            raise WireFormatError("market_tickers is not a list of strings")
        return DecodedFrame(
            type=kind, sid=sid, seq=seq, command_id=command_id,
            market_tickers=tuple(tickers) if tickers is not None else None,
        )  # fmt: skip

    # -- market data ----------------------------------------------------------------
    def _snapshot(self, msg: dict, ts_recv: int, seq: int | None) -> tuple[Message, ...]:
        bids, asks = yes_leg_book(
            parse_levels(msg.get("yes_dollars_fp"), "yes_dollars_fp"),  # missing key = empty side
            parse_levels(msg.get("no_dollars_fp"), "no_dollars_fp"),
            no_in_yes_prices=self.no_prices_in_yes_leg,
        )
        ts_event = event_time_ns(msg)
        return (
            BookSnapshot(
                ticker=text_field(msg, "market_ticker"), bids=bids, asks=asks, seq=seq or 0,
                ts_event=ts_event if ts_event is not None else ts_recv, ts_recv=ts_recv,
            ),
        )  # fmt: skip

    def _delta(self, msg: dict, ts_recv: int, seq: int | None) -> tuple[Message, ...]:
        side = msg.get("side")
        if not isinstance(side, str) or side not in OUTCOME_TO_BOOK:  # an object/array is unhashable
            raise WireFormatError(f"side: expected yes|no, got {side!r}")
        price = parse_yes_price(msg.get("price_dollars"), "price_dollars")
        if side == "no" and not self.no_prices_in_yes_leg:
            price = ONE - price  # a NO bid at q rests as a YES ask at 1 - q
        ts_event = event_time_ns(msg)
        return (
            BookDelta(
                ticker=text_field(msg, "market_ticker"), side=OUTCOME_TO_BOOK[side], price=price,
                delta=parse_count(msg.get("delta_fp"), "delta_fp"), seq=seq or 0,
                ts_event=ts_event if ts_event is not None else ts_recv, ts_recv=ts_recv,
                own_client_order_id=optional_text(msg, "client_order_id") or None,
            ),
        )  # fmt: skip

    @staticmethod
    def _ticker(msg: dict, ts_recv: int, seq: int | None) -> tuple[Message, ...]:
        ts_event = event_time_ns(msg)
        return (
            TickerUpdated(
                ticker=text_field(msg, "market_ticker"),
                last_price=optional_dollars(msg, "price_dollars"),
                yes_bid=optional_dollars(msg, "yes_bid_dollars"),
                yes_ask=optional_dollars(msg, "yes_ask_dollars"),
                yes_bid_size=optional_count(msg, "yes_bid_size_fp"),
                yes_ask_size=optional_count(msg, "yes_ask_size_fp"),
                volume=optional_count(msg, "volume_fp"),
                open_interest=optional_count(msg, "open_interest_fp"),
                ts_event=ts_event if ts_event is not None else ts_recv,
                ts_recv=ts_recv,
            ),
        )

    @staticmethod
    def _trade(msg: dict, ts_recv: int, seq: int | None) -> tuple[Message, ...]:
        taker = msg.get("taker_book_side")
        if taker not in ("bid", "ask"):  # older shapes: outcome side, then deprecated taker_side
            outcome = msg.get("taker_outcome_side") or msg.get("taker_side")
            taker = OUTCOME_TO_BOOK.get(outcome) if isinstance(outcome, str) else None  # an object/array is unhashable
        if taker is None:
            raise WireFormatError("no taker side")
        ts_event = event_time_ns(msg)
        return (
            TradePrinted(
                ticker=text_field(msg, "market_ticker"), trade_id=text_field(msg, "trade_id"),
                price=parse_yes_price(msg.get("yes_price_dollars"), "yes_price_dollars"),
                count=parse_count(msg.get("count_fp"), "count_fp"), taker_side=taker,
                ts_event=ts_event if ts_event is not None else ts_recv, ts_recv=ts_recv,
            ),
        )  # fmt: skip

    # -- private --------------------------------------------------------------------
    @staticmethod
    def _fill(msg: dict, ts_recv: int, seq: int | None) -> tuple[Message, ...]:
        optional_text(msg, "client_order_id")  # published as OrderFilled.client_order_id
        return (order_filled_from(parse_fill(msg), ts_recv),)

    @staticmethod
    def _user_order(msg: dict, ts_recv: int, seq: int | None) -> tuple[Message, ...]:
        for key in ("client_order_id", "last_update_reason"):  # published as OrderUpdated text fields
            optional_text(msg, key)
        order = parse_order(msg)
        return (
            OrderUpdated(
                order_id=order.order_id, client_order_id=order.client_order_id, ticker=order.ticker,
                side=order.side, price=order.price, status=order.status, filled=order.filled,
                remaining=order.remaining, initial=order.initial, reason=order.reason,
                ts_event=order.ts_event if order.ts_event is not None else ts_recv, ts_recv=ts_recv,
            ),
        )  # fmt: skip

    @staticmethod
    def _market_position(msg: dict, ts_recv: int, seq: int | None) -> tuple[Message, ...]:
        position = parse_position(msg)
        return (
            PositionUpdated(
                ticker=position.ticker, position=position.position, realized_pnl=position.realized_pnl,
                fees_paid=position.fees_paid,
                ts_event=position.ts_event if position.ts_event is not None else ts_recv, ts_recv=ts_recv,
            ),
        )  # fmt: skip

    @staticmethod
    def _lifecycle(msg: dict, ts_recv: int, seq: int | None) -> tuple[Message, ...]:
        ts_event = event_time_ns(msg)
        return (
            MarketLifecycleChanged(
                ticker=text_field(msg, "market_ticker"), event_type=text_field(msg, "event_type"),
                result=optional_text(msg, "result") or None, close_ts=_optional_int(msg, "close_ts"),
                ts_event=ts_event if ts_event is not None else ts_recv, ts_recv=ts_recv,
            ),
        )  # fmt: skip
