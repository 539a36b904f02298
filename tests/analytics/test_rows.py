"""Each message maps to the right row, stored with exact decimal strings."""

from decimal import Decimal

import pytest

from actors.analytics import AnalyticsStore, decimal_text, rows_from
from messages import FlushDue

from . import _harness as h

S = h.START_NS

_ORDER_NULLS = dict.fromkeys(
    ["session_id", "ts_event_ns", "previous_client_order_id", "order_id", "side", "price", "count", "filled",
     "remaining", "reduced_by", "status", "action", "source", "code", "reason"]
)

CASES = [
    (h.accepted, "orders", {
        **_ORDER_NULLS, "run_id": "run-1", "session_id": "sess-1", "ts_ns": S + 2, "ts_event_ns": S + 1,
        "event": "accepted", "client_order_id": "run-1-1", "order_id": "ord-1", "ticker": "KXT-A", "side": "bid",
        "price": "0.4200", "count": "10.00", "filled": "0.00", "remaining": "10.00",
    }),
    (h.amended, "orders", {
        **_ORDER_NULLS, "run_id": "run-1", "session_id": "sess-1", "ts_ns": S + 4, "ts_event_ns": S + 3,
        "event": "amended", "client_order_id": "run-1-2", "previous_client_order_id": "run-1-1",
        "order_id": "ord-1", "ticker": "KXT-A", "side": "bid", "price": "0.4300", "count": "12.00",
        "filled": "2.00", "remaining": "10.00",
    }),
    (h.rejected, "orders", {
        **_ORDER_NULLS, "run_id": "run-1", "ts_ns": S + 5, "event": "rejected", "client_order_id": "run-1-3",
        "ticker": "KXT-A", "side": "ask", "price": "0.5500", "count": "5.00", "action": "place",
        "source": "risk", "code": "position_limit", "reason": "would exceed 100 contracts",
    }),
    (h.cancelled, "orders", {
        **_ORDER_NULLS, "run_id": "run-1", "session_id": "sess-1", "ts_ns": S + 7, "ts_event_ns": S + 6,
        "event": "cancelled", "client_order_id": "run-1-2", "order_id": "ord-1", "ticker": "KXT-A",
        "reduced_by": "10.00", "reason": "requote",
    }),
    (h.updated, "orders", {
        **_ORDER_NULLS, "run_id": "run-1", "ts_ns": S + 9, "ts_event_ns": S + 8, "event": "updated",
        "client_order_id": "run-1-2", "order_id": "ord-1", "ticker": "KXT-A", "side": "bid", "price": "0.4300",
        "count": "12.00", "filled": "2.00", "remaining": "0.00", "status": "canceled", "reason": "canceled_by_user",
    }),
    (h.filled, "order_fills", {
        "run_id": "run-1", "fill_id": "fill-1", "order_id": "ord-1", "client_order_id": "run-1-2",
        "ticker": "KXT-A", "side": "bid", "price": "0.4300", "count": "2.00", "fee": "0.0035", "is_taker": 0,
        "post_position": "2.00", "ts_event_ns": S + 10, "ts_recv_ns": S + 11,
    }),
    (h.position, "position_history", {
        "run_id": "run-1", "ticker": "KXT-A", "ts_ns": S + 13, "ts_event_ns": S + 12, "source": "position",
        "fill_id": None, "position": "-3.00", "vwap": None, "realized_pnl": "0.1100", "fees": "0.0200",
    }),
    (h.trade, "trades", {
        "run_id": "run-1", "trade_id": "tr-1", "ticker": "KXT-A", "price": "0.4400", "count": "7.00",
        "taker_side": "ask", "ts_event_ns": S + 14, "ts_recv_ns": S + 15,
    }),
    (h.session_started, "volatility_sessions", {
        "run_id": "run-1", "session_id": "sess-1", "ticker": "KXT-A", "event_id": None, "started_ns": S + 16,
        "ended_ns": None, "start_reason": "volatility", "end_reason": None, "pnl": None,
    }),
    (h.session_stopped, "volatility_sessions", {
        "run_id": "run-1", "session_id": "sess-1", "ticker": "KXT-A", "event_id": None, "started_ns": None,
        "ended_ns": S + 17, "start_reason": None, "end_reason": "ttl_expired", "pnl": None,
    }),
    (h.risk_state, "risk_events", {
        "run_id": "run-1", "ts_ns": S + 18, "kind": "state_changed", "state": "REDUCING",
        "reason": "daily loss 80% used",
    }),
    (h.kill_switch, "risk_events", {
        "run_id": "run-1", "ts_ns": S + 19, "kind": "kill_switch_engaged", "state": None, "reason": "operator",
    }),
    (h.book, "market_snapshots", {
        "run_id": "run-1", "ticker": "KXT-A", "ts_ns": S + 20, "ts_event_ns": S + 19, "best_bid": "0.4200",
        "best_ask": "0.4500", "bid_size": "30.00", "ask_size": "10.00", "mid": "0.4350",
        # (0.42 * 10 + 0.45 * 30) / 40 = 0.4425
        "microprice": "0.442500", "depth": "45.00", "trusted": 1,
    }),
]


@pytest.mark.parametrize("factory, table, expected", CASES, ids=[c[0].__name__ for c in CASES])
def test_message_is_stored_as_its_row_with_exact_decimal_strings(db_path, factory, table, expected):
    store = AnalyticsStore(db_path, "run-1")
    mapped_table, row = store.row_from(factory())
    store.add(mapped_table, row)

    store.flush()

    stored = h.table_rows(db_path, table)
    store.close()
    assert mapped_table == table
    assert len(stored) == 1
    stored[0].pop("id", None)
    assert stored[0] == expected


def test_fill_with_a_reported_position_also_records_the_position():
    rows = rows_from("run-1", h.filled())

    assert [table for table, _ in rows] == ["order_fills", "position_history"]
    assert rows[1][1] == {
        "run_id": "run-1", "ticker": "KXT-A", "ts_ns": S + 11, "ts_event_ns": S + 10, "source": "fill",
        "fill_id": "fill-1", "position": "2.00", "vwap": None, "realized_pnl": None, "fees": None,
    }


def test_fill_without_a_reported_position_records_only_the_fill():
    assert [table for table, _ in rows_from("run-1", h.filled(post_position=None))] == ["order_fills"]


def test_one_sided_book_stores_null_prices_and_an_untrusted_flag():
    message = h.book(asks=(), trusted=False)

    _, row = rows_from("run-1", message)[0]

    assert (row["best_ask"], row["mid"], row["microprice"], row["trusted"]) == (None, None, None, 0)
    assert row["depth"] == "35.00"


def test_decimal_text_is_fixed_point_and_refuses_floats():
    assert decimal_text(Decimal("4.2E-1")) == "0.42"
    assert decimal_text(Decimal("0E-8")) == "0.00000000"
    assert decimal_text(3) == "3"
    with pytest.raises(TypeError, match="float"):
        decimal_text(0.42)


def test_a_message_without_analytics_rows_is_refused():
    with pytest.raises(TypeError, match="FlushDue"):
        rows_from("run-1", FlushDue(ts=S))


def test_strategy_records_map_to_their_tables_with_exact_amounts():
    from . import _harness as h
    from actors.analytics import rows_from

    (table, row), = rows_from("run-1", h.trigger())
    assert table == "triggers"
    assert (row["position_before"], row["vwap"], row["pnl_from_flatten"]) == ("12", "0.4400", "-0.96")

    rows = rows_from("run-1", h.discovery())
    assert [t for t, _ in rows] == ["discovery_sessions", "discovered_markets"]
    market = rows[1][1]
    assert market["selected_for_trading"] == 1
    assert '"max_exposure":"8.00"' in market["generated_config_json"]

    (table, row), = rows_from("run-1", h.session_stopped(pnl=h.D("-0.35")))
    assert (table, row["pnl"], row["end_reason"]) == ("volatility_sessions", "-0.35", "ttl_expired")
