"""Frames copied from Kalshi's documented examples (kalshi-docs/websockets, kalshi-api.md §7.3)."""

import json
from decimal import Decimal

import pytest

from actors.rest import order_filled_from, parse_fill
from actors.ws import FeedDecoder, FrameDecodeError
from messages import (
    BookDelta,
    BookSnapshot,
    MarketLifecycleChanged,
    OrderFilled,
    OrderUpdated,
    PositionUpdated,
    TickerUpdated,
    TradePrinted,
)

D = Decimal
TS_RECV = 1_790_000_000_000_000_000

SNAPSHOT = {"type": "orderbook_snapshot", "sid": 2, "seq": 2, "msg": {"market_ticker": "FED-23DEC-T3.00", "market_id": "9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1",
            "yes_dollars_fp": [["0.0800", "300.00"], ["0.2200", "333.00"]], "no_dollars_fp": [["0.5400", "20.00"], ["0.5600", "146.00"]]}}  # fmt: skip
DELTA = {"type": "orderbook_delta", "sid": 2, "seq": 3, "msg": {"market_ticker": "FED-23DEC-T3.00", "market_id": "9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1",
         "price_dollars": "0.960", "delta_fp": "-54.00", "side": "yes", "ts": "2022-11-22T20:44:01Z", "ts_ms": 1669149841000}}  # fmt: skip
TICKER = {"type": "ticker", "sid": 11, "msg": {"market_ticker": "FED-23DEC-T3.00", "market_id": "9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1", "price_dollars": "0.480",
          "yes_bid_dollars": "0.450", "yes_ask_dollars": "0.530", "volume_fp": "33896.00", "open_interest_fp": "20422.00", "dollar_volume": 16948,
          "dollar_open_interest": 10211, "yes_bid_size_fp": "300.00", "yes_ask_size_fp": "150.00", "last_trade_size_fp": "25.00",
          "ts": 1669149841, "ts_ms": 1669149841000, "time": "2022-11-22T20:44:01Z"}}  # fmt: skip
TRADE = {"type": "trade", "sid": 11, "msg": {"trade_id": "d91bc706-ee49-470d-82d8-11418bda6fed", "market_ticker": "HIGHNY-22DEC23-B53.5", "yes_price_dollars": "0.360",
         "no_price_dollars": "0.640", "count_fp": "136.00", "taker_side": "no", "is_block_trade": False, "ts": 1669149841, "ts_ms": 1669149841000}}  # fmt: skip
FILL = {"type": "fill", "sid": 13, "msg": {"trade_id": "d91bc706-ee49-470d-82d8-11418bda6fed", "order_id": "ee587a1c-8b87-4dcf-b721-9f6f790619fa",
        "market_ticker": "HIGHNY-22DEC23-B53.5", "exchange_index": 2, "is_taker": True, "side": "yes", "yes_price_dollars": "0.750", "count_fp": "278.00",
        "action": "buy", "ts": 1671899397, "ts_ms": 1671899397000, "post_position_fp": "500.00", "purchased_side": "yes", "subaccount": 3}}  # fmt: skip
USER_ORDER = {"type": "user_order", "sid": 22, "msg": {"order_id": "ee587a1c-8b87-4dcf-b721-9f6f790619fa", "user_id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
              "ticker": "FED-23DEC-T3.00", "status": "resting", "side": "yes", "is_yes": True, "yes_price_dollars": "0.3500", "fill_count_fp": "0.00",
              "remaining_count_fp": "10.00", "initial_count_fp": "10.00", "taker_fill_cost_dollars": "0.0000", "maker_fill_cost_dollars": "0.0000",
              "client_order_id": "my-order-1", "order_group_id": "og_123", "self_trade_prevention_type": "taker_at_cross", "created_time": "2024-12-01T10:00:00Z",
              "created_ts_ms": 1733047200000, "expiration_time": "2024-12-01T11:00:00Z", "expiration_ts_ms": 1733050800000, "subaccount_number": 0}}  # fmt: skip
POSITION = {"type": "market_position", "sid": 14, "msg": {"user_id": "user123", "market_ticker": "FED-23DEC-T3.00", "position_fp": "100.00",
            "position_cost_dollars": "50.0000", "realized_pnl_dollars": "10.0000", "fees_paid_dollars": "1.0000", "position_fee_cost_dollars": "0.5000", "volume_fp": "15.00"}}  # fmt: skip
LIFECYCLE = {"type": "market_lifecycle_v2", "sid": 13, "msg": {"market_ticker": "INXD-23SEP14-B4487", "event_type": "determined", "result": "yes",
             "determination_ts": 1694725200, "settlement_value": "1.0000"}}  # fmt: skip


def decode(frame, **kwargs):
    return FeedDecoder(**kwargs).decode(json.dumps(frame), TS_RECV)


def only(frame, **kwargs):
    (message,) = decode(frame, **kwargs).messages
    return message


def with_msg(frame, **changes):
    msg = {k: v for k, v in frame["msg"].items() if changes.get(k, 0) is not None}
    msg.update({k: v for k, v in changes.items() if v is not None})
    return {**frame, "msg": msg}


def test_snapshot_turns_no_bids_into_yes_asks_at_one_minus_price():
    snapshot = only(SNAPSHOT)
    assert isinstance(snapshot, BookSnapshot)
    assert snapshot.ticker == "FED-23DEC-T3.00" and snapshot.seq == 2
    assert snapshot.bids == ((D("0.22"), D("333")), (D("0.08"), D("300")))
    assert snapshot.asks == ((D("0.44"), D("146")), (D("0.46"), D("20")))
    assert snapshot.ts_event == TS_RECV  # snapshots carry no exchange time


def test_snapshot_in_use_yes_price_mode_keeps_no_levels_at_their_yes_price():
    snapshot = only(with_msg(SNAPSHOT, no_dollars_fp=[["0.4600", "20.00"], ["0.4400", "146.00"]]), no_prices_in_yes_leg=True)
    assert snapshot.asks == ((D("0.44"), D("146")), (D("0.46"), D("20")))


def test_snapshot_with_a_side_missing_has_that_side_empty():
    snapshot = only(with_msg(SNAPSHOT, no_dollars_fp=None))
    assert snapshot.asks == () and len(snapshot.bids) == 2


def test_delta_on_yes_side_changes_a_yes_bid():
    delta = only(DELTA)
    assert isinstance(delta, BookDelta)
    assert (delta.side, delta.price, delta.delta, delta.seq) == ("bid", D("0.96"), D("-54"), 3)
    assert delta.ts_event == 1669149841000 * 1_000_000 and delta.own_client_order_id is None


def test_delta_on_no_side_changes_the_yes_ask_at_one_minus_price_and_names_our_order():
    delta = only(with_msg(DELTA, side="no", price_dollars="0.5400", client_order_id="my-coid"))
    assert (delta.side, delta.price, delta.own_client_order_id) == ("ask", D("0.46"), "my-coid")
    in_yes_mode = only(with_msg(DELTA, side="no", price_dollars="0.4600"), no_prices_in_yes_leg=True)
    assert (in_yes_mode.side, in_yes_mode.price) == ("ask", D("0.46"))


def test_ticker_fields_are_exact_decimals():
    ticker = only(TICKER)
    assert isinstance(ticker, TickerUpdated)
    assert (ticker.last_price, ticker.yes_bid, ticker.yes_ask) == (D("0.48"), D("0.45"), D("0.53"))
    assert (ticker.yes_bid_size, ticker.yes_ask_size, ticker.volume) == (D("300"), D("150"), D("33896"))


def test_trade_taker_side_from_book_side_or_legacy_taker_side():
    legacy = only(TRADE)
    assert isinstance(legacy, TradePrinted)
    assert (legacy.price, legacy.count, legacy.taker_side) == (D("0.36"), D("136"), "ask")
    assert only(with_msg(TRADE, taker_book_side="bid", taker_side=None)).taker_side == "bid"


def test_fill_side_from_legacy_side_and_action_or_book_side():
    fill = only(FILL)
    assert isinstance(fill, OrderFilled)
    assert (fill.side, fill.price, fill.count, fill.post_position, fill.is_taker) == ("bid", D("0.75"), D("278"), D("500"), True)
    assert fill.fee == D("0") and fill.ts_event == 1671899397000 * 1_000_000
    current = only(with_msg(FILL, book_side="ask", outcome_side="no", side="no", action="buy", fee_cost="0.010000", client_order_id="my-order-1"))
    assert (current.side, current.fee, current.client_order_id) == ("ask", D("0.01"), "my-order-1")


def test_a_ws_fill_becomes_the_same_order_filled_as_the_rest_fill_it_parses_to():
    assert only(FILL) == order_filled_from(parse_fill(FILL["msg"]), TS_RECV)
    without_time = with_msg(FILL, ts=None, ts_ms=None)
    assert only(without_time).ts_event == TS_RECV  # no exchange time: the receive time stands in


def test_user_order_becomes_order_updated():
    order = only(USER_ORDER)
    assert isinstance(order, OrderUpdated)
    assert (order.client_order_id, order.side, order.price, order.status) == ("my-order-1", "bid", D("0.35"), "resting")
    assert (order.filled, order.remaining, order.initial) == (D("0"), D("10"), D("10"))
    assert order.ts_event == 1733047200000 * 1_000_000


def test_market_position_becomes_position_updated():
    position = only(POSITION)
    assert isinstance(position, PositionUpdated)
    assert (position.position, position.realized_pnl, position.fees_paid) == (D("100"), D("10"), D("1"))


def test_lifecycle_determination_is_reported():
    lifecycle = only(LIFECYCLE)
    assert isinstance(lifecycle, MarketLifecycleChanged)
    assert (lifecycle.ticker, lifecycle.event_type, lifecycle.result) == ("INXD-23SEP14-B4487", "determined", "yes")


def test_control_replies_carry_sid_channel_and_tickers():
    subscribed = decode({"id": 1, "type": "subscribed", "msg": {"channel": "orderbook_delta", "sid": 1}})
    assert (subscribed.command_id, subscribed.channel, subscribed.sid) == (1, "orderbook_delta", 1)
    ok = decode({"id": 125, "sid": 456, "seq": 222, "type": "ok", "msg": {"market_tickers": ["A", "B"]}})
    assert (ok.sid, ok.seq, ok.market_tickers) == (456, 222, ("A", "B"))
    error = decode({"id": 123, "type": "error", "msg": {"code": 8, "msg": "Unknown channel name"}})
    assert (error.error_code, error.error_text) == (8, "Unknown channel name")


def test_unknown_type_decodes_as_unknown_and_unknown_fields_are_named():
    assert decode({"type": "order_group_updates", "sid": 21, "seq": 7, "msg": {}}).known is False
    frame = decode(with_msg(TICKER, brand_new_field="x"))
    assert frame.unknown_fields == ("ticker.brand_new_field",) and len(frame.messages) == 1


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        json.dumps({"sid": 1, "msg": {}}),
        json.dumps({**DELTA, "msg": "nope"}),
        json.dumps(with_msg(DELTA, price_dollars="abc")),
        json.dumps(with_msg(DELTA, price_dollars=0.96)),  # floats are never money
        json.dumps(with_msg(DELTA, price_dollars="1.2000")),
        json.dumps(with_msg(DELTA, side="maybe")),
        json.dumps(with_msg(DELTA, market_ticker=None)),
        json.dumps({k: v for k, v in DELTA.items() if k != "seq"}),
        json.dumps(with_msg(SNAPSHOT, yes_dollars_fp=[["0.10"]])),
        json.dumps(with_msg(FILL, is_taker="yes")),
        json.dumps({**TICKER, "sid": "eleven"}),
    ],
)
def test_malformed_frames_raise_a_clear_decode_error(text):
    with pytest.raises(FrameDecodeError):
        FeedDecoder().decode(text, TS_RECV)
