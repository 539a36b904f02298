"""Pure mapping from messages to analytics rows: (table, row dict) per message.

Rows hold only message data and the run id, so the same messages always give the same
rows (replays write byte-identical tables). Money, prices and counts become exact
fixed-point decimal strings (`decimal_text`), times stay integer nanoseconds, booleans
become 0/1. Every row of a table has the same keys, so a buffer inserts as one batch.
"""

from __future__ import annotations

import dataclasses
import json

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Callable

from messages import (
    BookUpdated,
    DiscoveryCompleted,
    KillSwitchEngaged,
    KillSwitchReleased,
    RealizationRecorded,
    RiskWarning,
    TriggerRecorded,
    VolatilityDetected,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderUpdated,
    PositionUpdated,
    RiskStateChanged,
    SessionStarted,
    SessionStopped,
    TradePrinted,
)

__all__ = ["Row", "decimal_text", "rows_from", "RECORDED_MESSAGES", "MICROPRICE_QUANTUM"]

Row = dict[str, Any]
MICROPRICE_QUANTUM = Decimal("0.000001")  # a size-weighted ratio has no exact decimal form


def decimal_text(value: Decimal | int | None) -> str | None:
    """Exact fixed-point text ("0.4200", never "4.2E-1"); None stays NULL."""
    if value is None:
        return None
    if isinstance(value, (float, bool)):
        # a binary float has already lost the exact amount; refuse rather than store it
        raise TypeError(f"money and counts must be Decimal or int, not {type(value).__name__}: {value!r}")
    return format(Decimal(value), "f")


def _orders_row(run_id: str, message: Any, event: str, **fields: Any) -> Row:
    row: Row = {
        "run_id": run_id,
        "session_id": getattr(message, "session_id", "") or None,
        "ts_ns": message.ts_recv,
        "ts_event_ns": getattr(message, "ts_event", None),
        "event": event,
        "client_order_id": message.client_order_id,
        "previous_client_order_id": None,
        "order_id": message.order_id,
        "ticker": message.ticker,
        "side": getattr(message, "side", None),
        "price": decimal_text(getattr(message, "price", None)),
        "count": None,
        "filled": None,
        "remaining": None,
        "reduced_by": None,
        "status": None,
        "action": None,
        "source": None,
        "code": None,
        "reason": None,
    }
    unknown = fields.keys() - row.keys()
    if unknown:
        raise KeyError(f"orders has no column(s) {sorted(unknown)}")
    row.update(fields)
    return row


def _sizes(count: Any, filled: Any, remaining: Any) -> Row:
    return {"count": decimal_text(count), "filled": decimal_text(filled), "remaining": decimal_text(remaining)}


def _accepted(run_id: str, m: OrderAccepted) -> list[tuple[str, Row]]:
    row = _orders_row(run_id, m, "accepted", **_sizes(m.count, m.filled, m.remaining))
    return [("orders", row)]


def _amended(run_id: str, m: OrderAmended) -> list[tuple[str, Row]]:
    row = _orders_row(
        run_id, m, "amended", previous_client_order_id=m.previous_client_order_id,
        **_sizes(m.count, m.filled, m.remaining),
    )
    return [("orders", row)]


def _rejected(run_id: str, m: OrderRejected) -> list[tuple[str, Row]]:
    row = _orders_row(
        run_id, m, "rejected", count=decimal_text(m.count),
        action=m.action, source=m.source, code=m.code, reason=m.reason,
    )
    return [("orders", row)]


def _cancelled(run_id: str, m: OrderCancelled) -> list[tuple[str, Row]]:
    row = _orders_row(run_id, m, "cancelled", reduced_by=decimal_text(m.reduced_by), reason=m.reason)
    return [("orders", row)]


def _updated(run_id: str, m: OrderUpdated) -> list[tuple[str, Row]]:
    row = _orders_row(
        run_id, m, "updated", status=m.status, reason=m.reason, **_sizes(m.initial, m.filled, m.remaining)
    )
    return [("orders", row)]


def _position_row(
    run_id: str, m: Any, *, source: str, position: Any, fill_id: str | None = None,
    realized_pnl: Any = None, fees: Any = None,
) -> Row:
    return {
        "run_id": run_id,
        "ticker": m.ticker,
        "ts_ns": m.ts_recv,
        "ts_event_ns": m.ts_event,
        "source": source,
        "fill_id": fill_id,
        "position": decimal_text(position),
        "vwap": None,  # not carried by these messages; the maker's inventory fills it later
        "realized_pnl": decimal_text(realized_pnl),
        "fees": decimal_text(fees),
    }


def _filled(run_id: str, m: OrderFilled) -> list[tuple[str, Row]]:
    fill_id = m.fill_id or None  # an empty id must not collapse distinct fills into one
    rows: list[tuple[str, Row]] = [
        (
            "order_fills",
            {
                "run_id": run_id,
                "fill_id": fill_id,
                "order_id": m.order_id,
                "client_order_id": m.client_order_id or None,
                "ticker": m.ticker,
                "side": m.side,
                "price": decimal_text(m.price),
                "count": decimal_text(m.count),
                "fee": decimal_text(m.fee),
                "is_taker": int(m.is_taker),
                "post_position": decimal_text(m.post_position),
                "ts_event_ns": m.ts_event,
                "ts_recv_ns": m.ts_recv,
            },
        )
    ]
    if m.post_position is not None:
        position = _position_row(run_id, m, source="fill", position=m.post_position, fill_id=fill_id)
        rows.append(("position_history", position))
    return rows


def _position(run_id: str, m: PositionUpdated) -> list[tuple[str, Row]]:
    row = _position_row(
        run_id, m, source="position", position=m.position, realized_pnl=m.realized_pnl, fees=m.fees_paid
    )
    return [("position_history", row)]


def _trade(run_id: str, m: TradePrinted) -> list[tuple[str, Row]]:
    return [
        (
            "trades",
            {
                "run_id": run_id,
                "trade_id": m.trade_id or None,
                "ticker": m.ticker,
                "price": decimal_text(m.price),
                "count": decimal_text(m.count),
                "taker_side": m.taker_side,
                "ts_event_ns": m.ts_event,
                "ts_recv_ns": m.ts_recv,
            },
        )
    ]


# volatility_sessions rows are upserts on (run_id, session_id): each message sets only
# its own columns, so a stop completes the row its start created.
def _session_row(run_id: str, m: SessionStarted | SessionStopped, **fields: Any) -> list[tuple[str, Row]]:
    return [("volatility_sessions", {"run_id": run_id, "session_id": m.session_id, "ticker": m.ticker, **fields})]


def _session_started(run_id: str, m: SessionStarted) -> list[tuple[str, Row]]:
    return _session_row(run_id, m, started_ns=m.ts, start_reason=m.reason, event_id=m.event_id or None)


def _session_stopped(run_id: str, m: SessionStopped) -> list[tuple[str, Row]]:
    return _session_row(run_id, m, ended_ns=m.ts, end_reason=m.reason, pnl=decimal_text(m.pnl))


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if dataclasses.is_dataclass(value):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _discovery(run_id: str, m: DiscoveryCompleted) -> list[tuple[str, Row]]:
    rows: list[tuple[str, Row]] = [
        (
            "discovery_sessions",
            {
                "run_id": run_id,
                "session_id": m.discovery_id,
                "ts_ns": m.ts,
                "total_markets": m.total_markets,
                "binary_markets": m.binary_markets,
                "pre_filtered": m.pre_filtered,
                "scored": len(m.markets),
                "top_markets_count": sum(1 for x in m.markets if x.selected),
                "configs_generated": sum(1 for x in m.markets if x.config is not None),
                "model_version": m.model_version,
            },
        )
    ]
    for market in m.markets:
        rows.append(
            (
                "discovered_markets",
                {
                    "run_id": run_id,
                    "session_id": m.discovery_id,
                    "ts_ns": m.ts,
                    "ticker": market.ticker,
                    "title": market.title,
                    "score": market.score,
                    "rank": market.rank,
                    "volume_24h": decimal_text(market.volume_24h),
                    "spread": decimal_text(market.spread),
                    "mid_price": decimal_text(market.mid),
                    "liquidity": decimal_text(market.liquidity),
                    "reasons_json": _json(list(market.reasons)),
                    "generated_config_json": None if market.config is None else _json(market.config),
                    "selected_for_trading": int(market.selected),
                    "trade_side": None,
                },
            )
        )
    return rows


def _volatility_event(run_id: str, m: VolatilityDetected) -> list[tuple[str, Row]]:
    return [
        (
            "volatility_events",
            {
                "run_id": run_id,
                "event_id": m.event_id,
                "ticker": m.ticker,
                "ts_ns": m.ts,
                "signal_strength": float(m.strength),
                "sigma": float(m.sigma),
                "jump_magnitude": decimal_text(m.jump),
                "direction": m.direction or None,
                "regime": m.regime,
                "close_ts_ns": m.config.close_ts,
                "session_id": None,
            },
        )
    ]


def _trigger(run_id: str, m: TriggerRecorded) -> list[tuple[str, Row]]:
    return [
        (
            "triggers",
            {
                "run_id": run_id,
                "session_id": m.session_id or None,
                "ticker": m.ticker,
                "ts_ns": m.ts,
                "reason": m.reason,
                "position_before": decimal_text(m.position_before),
                "vwap": decimal_text(m.vwap),
                "exit_price": decimal_text(m.exit_price),
                "pnl_before": decimal_text(m.pnl_before),
                "pnl_from_flatten": decimal_text(m.pnl_from_flatten),
            },
        )
    ]


def _realization(run_id: str, m: RealizationRecorded) -> list[tuple[str, Row]]:
    return [
        (
            "realizations",
            {
                "run_id": run_id,
                "session_id": m.session_id or None,
                "ticker": m.ticker,
                "side": m.side,
                "count": decimal_text(m.count),
                "entry_price": decimal_text(m.entry_price),
                "exit_price": decimal_text(m.exit_price),
                "entry_ns": m.entry_ts,
                "exit_ns": m.exit_ts,
                "pnl": decimal_text(m.pnl),
                "fees": decimal_text(m.fees),
                "exit_reason": m.exit_reason,
            },
        )
    ]


def _risk_row(run_id: str, ts: int, kind: str, state: str | None, reason: str) -> list[tuple[str, Row]]:
    return [("risk_events", {"run_id": run_id, "ts_ns": ts, "kind": kind, "state": state, "reason": reason})]


def _risk_state(run_id: str, m: RiskStateChanged) -> list[tuple[str, Row]]:
    return _risk_row(run_id, m.ts, "state_changed", m.state, m.reason)


def _kill_switch(run_id: str, m: KillSwitchEngaged) -> list[tuple[str, Row]]:
    return _risk_row(run_id, m.ts, "kill_switch_engaged", None, m.reason)


def _kill_switch_released(run_id: str, m: KillSwitchReleased) -> list[tuple[str, Row]]:
    return _risk_row(run_id, m.ts, "kill_switch_released", None, m.reason)


def _risk_warning(run_id: str, m: RiskWarning) -> list[tuple[str, Row]]:
    scope = f" {m.ticker}" if m.ticker else ""
    reason = f"{m.kind}{scope} at {format(m.level, 'f')}: {m.reason}"
    return _risk_row(run_id, m.ts, "warning", None, reason)


def _book(run_id: str, m: BookUpdated) -> list[tuple[str, Row]]:
    book = m.book
    microprice = book.microprice
    return [
        (
            "market_snapshots",
            {
                "run_id": run_id,
                "ticker": m.ticker,
                "ts_ns": m.ts_recv,
                "ts_event_ns": m.ts_event,
                "best_bid": decimal_text(book.best_bid),
                "best_ask": decimal_text(book.best_ask),
                "bid_size": decimal_text(book.bids[0][1] if book.bids else None),
                "ask_size": decimal_text(book.asks[0][1] if book.asks else None),
                "mid": decimal_text(book.mid),
                "microprice": decimal_text(
                    None if microprice is None else microprice.quantize(MICROPRICE_QUANTUM, ROUND_HALF_EVEN)
                ),
                "depth": decimal_text(book.depth()),
                "trusted": int(book.trusted),
            },
        )
    ]


_MAPPERS: dict[type, Callable[[str, Any], list[tuple[str, Row]]]] = {
    OrderAccepted: _accepted,
    OrderAmended: _amended,
    OrderRejected: _rejected,
    OrderCancelled: _cancelled,
    OrderUpdated: _updated,
    OrderFilled: _filled,
    PositionUpdated: _position,
    TradePrinted: _trade,
    SessionStarted: _session_started,
    SessionStopped: _session_stopped,
    RiskStateChanged: _risk_state,
    KillSwitchEngaged: _kill_switch,
    KillSwitchReleased: _kill_switch_released,
    RiskWarning: _risk_warning,
    BookUpdated: _book,
    DiscoveryCompleted: _discovery,
    VolatilityDetected: _volatility_event,
    TriggerRecorded: _trigger,
    RealizationRecorded: _realization,
}

RECORDED_MESSAGES: tuple[type, ...] = tuple(_MAPPERS)
"""Every message type that has analytics rows."""


def rows_from(run_id: str, message: Any) -> list[tuple[str, Row]]:
    """All rows one message contributes, primary row first. TypeError if it has none."""
    mapper = _MAPPERS.get(type(message))
    if mapper is None:
        raise TypeError(f"no analytics rows for {type(message).__name__}")
    return mapper(run_id, message)
