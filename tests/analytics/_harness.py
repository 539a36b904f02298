"""Message factories and a small replay world for the analytics tests."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

from actors.analytics import AnalyticsActor, AnalyticsStore
from config import AnalyticsConfig
from messages import (
    BookUpdated,
    BookView,
    KillSwitchEngaged,
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
from mmd.bus import Bus, InFlightTracker
from mmd.clock import NS_PER_SECOND, ReplayClock

D = Decimal
START_NS = 1_700_000_000 * NS_PER_SECOND
RUN_ID = "run-1"


def accepted(**kw) -> OrderAccepted:
    return OrderAccepted(**{
        "client_order_id": "run-1-1", "order_id": "ord-1", "ticker": "KXT-A", "side": "bid",
        "price": D("0.4200"), "count": D("10.00"), "filled": D("0.00"), "remaining": D("10.00"),
        "ts_event": START_NS + 1, "ts_recv": START_NS + 2, "session_id": "sess-1", **kw,
    })


def amended(**kw) -> OrderAmended:
    return OrderAmended(**{
        "order_id": "ord-1", "client_order_id": "run-1-2", "previous_client_order_id": "run-1-1",
        "ticker": "KXT-A", "side": "bid", "price": D("0.4300"), "count": D("12.00"), "filled": D("2.00"),
        "remaining": D("10.00"), "ts_event": START_NS + 3, "ts_recv": START_NS + 4, "session_id": "sess-1", **kw,
    })


def rejected(**kw) -> OrderRejected:
    return OrderRejected(**{
        "action": "place", "client_order_id": "run-1-3", "order_id": None, "ticker": "KXT-A", "side": "ask",
        "price": D("0.5500"), "count": D("5.00"), "source": "risk", "code": "position_limit",
        "reason": "would exceed 100 contracts", "ts_recv": START_NS + 5, **kw,
    })


def cancelled(**kw) -> OrderCancelled:
    return OrderCancelled(**{
        "order_id": "ord-1", "client_order_id": "run-1-2", "ticker": "KXT-A", "reduced_by": D("10.00"),
        "reason": "requote", "ts_event": START_NS + 6, "ts_recv": START_NS + 7, "session_id": "sess-1", **kw,
    })


def updated(**kw) -> OrderUpdated:
    return OrderUpdated(**{
        "order_id": "ord-1", "client_order_id": "run-1-2", "ticker": "KXT-A", "side": "bid",
        "price": D("0.4300"), "status": "canceled", "filled": D("2.00"), "remaining": D("0.00"),
        "initial": D("12.00"), "reason": "canceled_by_user", "ts_event": START_NS + 8, "ts_recv": START_NS + 9, **kw,
    })


def filled(**kw) -> OrderFilled:
    return OrderFilled(**{
        "fill_id": "fill-1", "order_id": "ord-1", "client_order_id": "run-1-2", "ticker": "KXT-A",
        "side": "bid", "price": D("0.4300"), "count": D("2.00"), "fee": D("0.0035"), "is_taker": False,
        "post_position": D("2.00"), "ts_event": START_NS + 10, "ts_recv": START_NS + 11, **kw,
    })


def position(**kw) -> PositionUpdated:
    return PositionUpdated(**{
        "ticker": "KXT-A", "position": D("-3.00"), "realized_pnl": D("0.1100"), "fees_paid": D("0.0200"),
        "ts_event": START_NS + 12, "ts_recv": START_NS + 13, **kw,
    })


def trade(**kw) -> TradePrinted:
    return TradePrinted(**{
        "ticker": "KXT-A", "trade_id": "tr-1", "price": D("0.4400"), "count": D("7.00"), "taker_side": "ask",
        "ts_event": START_NS + 14, "ts_recv": START_NS + 15, **kw,
    })


def session_started(**kw) -> SessionStarted:
    return SessionStarted(**{"session_id": "sess-1", "ticker": "KXT-A", "reason": "volatility", "ts": START_NS + 16, **kw})


def session_stopped(**kw) -> SessionStopped:
    return SessionStopped(**{"session_id": "sess-1", "ticker": "KXT-A", "reason": "ttl_expired", "ts": START_NS + 17, **kw})


def risk_state(**kw) -> RiskStateChanged:
    return RiskStateChanged(**{"state": "REDUCING", "reason": "daily loss 80% used", "ts": START_NS + 18, **kw})


def kill_switch(**kw) -> KillSwitchEngaged:
    return KillSwitchEngaged(**{"reason": "operator", "ts": START_NS + 19, **kw})


def book(ts_recv: int = START_NS + 20, ticker: str = "KXT-A", **kw) -> BookUpdated:
    view = BookView(**{
        "ticker": ticker,
        "bids": ((D("0.4200"), D("30.00")), (D("0.4100"), D("5.00"))),
        "asks": ((D("0.4500"), D("10.00")),),
        "trusted": True, "ts_event": ts_recv - 1, "ts_recv": ts_recv, **kw,
    })
    return BookUpdated(ticker=ticker, book=view, ts_event=ts_recv - 1, ts_recv=ts_recv)


def one_of_each() -> list:
    return [accepted(), amended(), rejected(), cancelled(), updated(), filled(), position(), trade(),
            session_started(), session_stopped(), risk_state(), kill_switch(), book()]


def table_rows(db_path: Path, table: str) -> list[dict]:
    """Rows as committed on disk, read through a connection of our own."""
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"SELECT * FROM [{table}] ORDER BY rowid")]
    finally:
        conn.close()


def dump(db_path: Path) -> str:
    conn = sqlite3.connect(db_path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


class AnalyticsWorld:
    """A real AnalyticsActor on a ReplayClock and Bus, over a real SQLite file."""

    def __init__(self, db_path: Path, *, batch_size: int = 500, flush_interval_s: float = 1.0,
                 snapshot_interval_s: float = 5.0, run_id: str = RUN_ID) -> None:
        self.db_path = db_path
        self.tracker = InFlightTracker()
        self.clock = ReplayClock(START_NS, self.tracker)
        self.bus = Bus(self.tracker)
        self.store = AnalyticsStore(db_path, run_id)
        config = AnalyticsConfig(
            flush_interval_s=flush_interval_s, batch_size=batch_size, snapshot_interval_s=snapshot_interval_s
        )
        self.ref = AnalyticsActor.start(
            clock=self.clock, bus=self.bus, tracker=self.tracker, store=self.store, config=config
        )
        self.actor = self.ref.proxy()
        self.actor.get_status().get()  # on_start (bus subscriptions) has run

    def publish(self, *messages) -> None:
        """Deliver in order, like the replay driver: time moves to each ts, timers first."""
        for message in messages:
            self.advance_to(max(self.clock.now_ns(), getattr(message, "ts_recv", None) or message.ts))
            self.bus.publish(message)
            assert self.tracker.wait_quiet(5.0)

    def advance_to(self, t_ns: int) -> None:
        while self.clock.fire_next_due(t_ns):
            assert self.tracker.wait_quiet(5.0)
        self.clock.advance_to(t_ns)

    def rows(self, table: str) -> list[dict]:
        return table_rows(self.db_path, table)

    def stop(self) -> None:
        self.ref.stop()
        self.store.close()
