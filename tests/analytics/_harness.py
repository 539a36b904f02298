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
    DiscoveryCompleted,
    KillSwitchEngaged,
    KillSwitchReleased,
    MarketConfig,
    RealizationRecorded,
    RiskWarning,
    ScoredMarket,
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
from kernel.bus import Bus, InFlightTracker
from kernel.clock import NS_PER_SECOND, ReplayClock

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


def market_config(**kw) -> MarketConfig:
    return MarketConfig(**{
        "ticker": "KXT-A", "category": "rates", "profile": "mean_reverting", "max_exposure": D("8.00"),
        "size_factor": D("1"), "quote_sides": "both", "price_band": "normal", "k": D("1.2"),
        "sigma": D("0.03"), "gamma_multiplier": D("1.0"), "min_spread": D("0.02"), "max_spread": D("0.04"),
        "regime": "MEAN_REVERTING", "close_ts": START_NS + 86_400 * NS_PER_SECOND, **kw,
    })


def discovery(**kw) -> DiscoveryCompleted:
    scored = ScoredMarket(
        ticker="KXT-A", title="Rates above 4.25%", category="rates", score=0.8125, rank=1,
        volume_24h=D("12000.00"), spread=D("0.02"), mid=D("0.43"), liquidity=D("900.00"),
        reasons=("volume_24h 1.00", "spread 0.02"), config=market_config(), selected=True,
    )
    return DiscoveryCompleted(**{
        "discovery_id": "disc-1", "total_markets": 40, "binary_markets": 38, "pre_filtered": 12,
        "markets": (scored,), "model_version": "score-v1", "ts": START_NS + 21, **kw,
    })


def volatility_detected(**kw) -> VolatilityDetected:
    return VolatilityDetected(**{
        "event_id": "evt-1", "ticker": "KXT-A", "category": "rates", "strength": D("0.75"),
        "sigma": D("0.025"), "jump": D("-0.13"), "direction": "down", "regime": "MEAN_REVERTING",
        "config": market_config(), "ts": START_NS + 22, **kw,
    })


def trigger(**kw) -> TriggerRecorded:
    return TriggerRecorded(**{
        "session_id": "sess-1", "ticker": "KXT-A", "reason": "adverse_excursion", "position_before": D("12"),
        "vwap": D("0.4400"), "exit_price": D("0.3600"), "pnl_before": D("0.50"),
        "pnl_from_flatten": D("-0.96"), "ts": START_NS + 23, **kw,
    })


def realization(**kw) -> RealizationRecorded:
    return RealizationRecorded(**{
        "session_id": "sess-1", "ticker": "KXT-A", "side": "long", "count": D("3"),
        "entry_price": D("0.42"), "exit_price": D("0.45"), "entry_ts": START_NS + 1, "exit_ts": START_NS + 24,
        "pnl": D("0.07"), "fees": D("0.02"), "exit_reason": "quote", "ts": START_NS + 24, **kw,
    })


def kill_released(**kw) -> KillSwitchReleased:
    return KillSwitchReleased(**{"reason": "operator resume", "ts": START_NS + 25, **kw})


def risk_warning(**kw) -> RiskWarning:
    return RiskWarning(**{"kind": "daily_loss", "ticker": "", "level": D("0.5"), "reason": "$25 of $50",
                          "ts": START_NS + 26, **kw})


def one_of_each() -> list:
    return [accepted(), amended(), rejected(), cancelled(), updated(), filled(), position(), trade(),
            session_started(), session_stopped(), risk_state(), kill_switch(), book(), discovery(),
            volatility_detected(), trigger(), realization(), kill_released(), risk_warning()]


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
