"""The bus's events as Prometheus series (SPEC 12: metrics in the Prometheus text format).

MetricsCore is plain: given a message and the time, it updates metric values in a
CollectorRegistry of its own (never prometheus_client's global REGISTRY, which anything
else in the process could write to). It returns no effects: metrics only listen.

Where each figure comes from (all published on the bus):
- position, exposure, resting orders per market, global exposure, risk state:
  ExposureChanged (the risk governor's count, fills reported but not yet seen included);
- realized / unrealized P&L per market: MakerStatus and MakerFinished (the running or
  last session of that market); P&L of ended sessions: SessionStopped.pnl;
- quotes: OrderAccepted (places), OrderAmended, OrderCancelled; fills: OrderFilled;
- writes: one per order outcome of a write the REST client sent (accepted, amended,
  cancelled, or rejected by the exchange or the transport; risk refusals never left);
- rejections by action, source and code; 429s: rejections coded too_many_requests (a 429
  that a retry overcame never reaches the bus: the REST client's own stats count those);
- feed: FeedHealthChanged (connected, disconnects, reconnects), BookUntrusted by cause;
- latency: OrderRequestSent (the REST client: a write handed to its transport) matched
  with the write's outcome by action and client order id.
Gauges are set from Decimal money as floats: the exposition format is float anyway.
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal
from typing import Any, Callable

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from actors.supervisor import MakerCrashed
from messages import (
    BalanceRead,
    BookUntrusted,
    ExposureChanged,
    FeedHealthChanged,
    KillSwitchEngaged,
    KillSwitchReleased,
    MakerFinished,
    MakerStatus,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderRequestSent,
    ReconciliationFailed,
    RiskStateChanged,
    RiskWarning,
    SessionStarted,
    SessionStopped,
)

from ._labels import BoundedLabel
from ._series import MarketSeries

__all__ = ["MetricsCore", "SUBSCRIBED", "RISK_STATE_VALUES", "RATE_LIMITED_CODE"]

RISK_STATE_VALUES = {"ACTIVE": 0, "REDUCING": 1, "HALTED": 2}
RATE_LIMITED_CODE = "too_many_requests"  # actors.rest: a 429 whose body names no code
SENT_SOURCES = ("exchange", "transport")  # a rejection from these means the write was sent
QUOTING = "QUOTING"

# latency buckets, seconds: the trading path inside the daemon is sub-millisecond to a few
# ms; a round trip to the exchange tens to hundreds of ms
TICK_TO_ORDER_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

MAX_PENDING_WRITES = 10_000  # writes awaiting their outcome; beyond, the oldest is forgotten

SUBSCRIBED = (
    ExposureChanged, MakerStatus, MakerFinished, BalanceRead,
    OrderAccepted, OrderAmended, OrderCancelled, OrderRejected, OrderFilled, OrderRequestSent,
    FeedHealthChanged, BookUntrusted,
    SessionStarted, SessionStopped, MakerCrashed,
    RiskStateChanged, KillSwitchEngaged, KillSwitchReleased, RiskWarning, ReconciliationFailed,
)


def _dollars(value: Decimal | None) -> float:
    return float(value) if value is not None else 0.0


def _seconds(ns: int) -> float:
    return ns / 1e9


def _untrusted_cause(reason: str) -> str:
    """actors.ws words its BookUntrusted reasons; three causes, anything else "other"."""
    if reason.startswith("sequence gap"):
        return "sequence_gap"
    if reason.startswith("feed lost"):
        return "feed_lost"
    if reason.startswith("book subscription"):
        return "subscription"
    return "other"


class MetricsCore:
    def __init__(self, *, max_markets: int = 64, max_label_values: int = 24) -> None:
        # Hazard: a counter's `_created` series is a wall-clock reading and doubles the
        # series count; mmd is the only prometheus_client user in its process.
        prometheus_client.disable_created_metrics()
        self.registry = CollectorRegistry(auto_describe=True)
        self.markets = MarketSeries(max_markets)
        self._code = BoundedLabel(max_label_values)
        self._session_reason = BoundedLabel(max_label_values)
        self._end_reason = BoundedLabel(max_label_values)
        self._warning_kind = BoundedLabel(max_label_values)
        self._exposed: set[str] = set()  # tickers in the last ExposureChanged
        self._sessions: dict[str, str] = {}  # running session id -> ticker
        self._pending: OrderedDict[tuple[str, str], int] = OrderedDict()  # (action, client id) -> sent ts
        self._feed_lost_once = False
        self._feed_healthy: bool | None = None
        self._build_metrics()
        self._handlers: dict[type, Callable[[Any], None]] = {
            ExposureChanged: self._on_exposure,
            MakerStatus: self._on_maker_status,
            MakerFinished: self._on_maker_finished,
            BalanceRead: self._on_balance,
            OrderAccepted: self._on_accepted,
            OrderAmended: self._on_amended,
            OrderCancelled: self._on_cancelled,
            OrderRejected: self._on_rejected,
            OrderFilled: self._on_filled,
            OrderRequestSent: self._on_request_sent,
            FeedHealthChanged: self._on_feed_health,
            BookUntrusted: self._on_book_untrusted,
            SessionStarted: self._on_session_started,
            SessionStopped: self._on_session_stopped,
            MakerCrashed: self._on_maker_crashed,
            RiskStateChanged: self._on_risk_state,
            KillSwitchEngaged: self._on_kill_switch_engaged,
            KillSwitchReleased: self._on_kill_switch_released,
            RiskWarning: self._on_risk_warning,
            ReconciliationFailed: self._on_reconciliation_failed,
        }

    # -- the one entry point ----------------------------------------------------------
    def on_message(self, message: Any, now_ns: int) -> None:
        handler = self._handlers.get(type(message))
        if handler is None:
            return
        handler(message)
        self.last_event.set(_seconds(now_ns))

    def exposition(self) -> bytes:
        """The Prometheus text format of every series (what a scrape returns)."""
        return prometheus_client.generate_latest(self.registry)

    # -- metrics ----------------------------------------------------------------------
    def _build_metrics(self) -> None:
        r = self.registry
        market = ("ticker",)

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, doc, labels, registry=r)

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, doc, labels, registry=r)

        # per market
        self.position = gauge("mmd_position_contracts", "Signed YES position (risk governor's count)", market)
        self.exposure = gauge("mmd_exposure_dollars", "Exposure as the per-market budget counts it", market)
        self.resting_orders = gauge("mmd_resting_orders", "Our resting orders", market)
        self.realized_pnl = gauge(
            "mmd_realized_pnl_dollars", "Realized P&L net of fees of the market's running or last session", market
        )
        self.unrealized_pnl = gauge(
            "mmd_unrealized_pnl_dollars", "Unrealized P&L of the market's running or last session", market
        )
        self.quoting = gauge("mmd_maker_quoting", "1 while the market's maker is quoting", market)
        self.placed = counter("mmd_orders_placed_total", "Orders the exchange accepted", market)
        self.amended = counter("mmd_orders_amended_total", "Amends the exchange applied", market)
        self.cancelled = counter("mmd_orders_cancelled_total", "Cancels the exchange confirmed", market)
        self.writes = counter(
            "mmd_order_writes_total", "Order writes sent to the exchange, by action (one per order)", (*market, "action")
        )
        self.rejections = counter(
            "mmd_order_rejections_total", "Order commands that did not happen", (*market, "action", "source", "code")
        )
        self.rate_limited = counter(
            "mmd_rate_limited_total", "Order writes refused with HTTP 429 after the client's retries", market
        )
        self.fills = counter("mmd_fills_total", "Fills of our orders", market)
        self.filled_contracts = counter("mmd_filled_contracts_total", "Contracts filled", market)
        self.fees = counter("mmd_fees_dollars_total", "Fees paid on fills", market)
        self.untrusted = counter(
            "mmd_book_untrusted_total", "Times a market's book became untrusted, by cause", (*market, "cause")
        )
        # global
        self.global_exposure = gauge("mmd_global_exposure_dollars", "Exposure over every market")
        self.resting_value = gauge("mmd_resting_order_value_dollars", "Dollars locked in resting orders")
        self.balance = gauge("mmd_balance_available_dollars", "Available balance last read from the exchange")
        self.risk_state = gauge("mmd_risk_state", "Trading state: 0 ACTIVE, 1 REDUCING, 2 HALTED")
        self.kill_switch = gauge("mmd_kill_switch_engaged", "1 while the kill switch is engaged")
        self.risk_warnings = counter("mmd_risk_warnings_total", "Risk warnings, by kind", ("kind",))
        self.feed_connected = gauge("mmd_feed_connected", "1 while the market data feed is healthy")
        self.feed_disconnects = counter("mmd_feed_disconnects_total", "Times the feed went unhealthy")
        self.feed_reconnects = counter("mmd_feed_reconnects_total", "Times the feed came back after a loss")
        self.sessions_active = gauge("mmd_sessions_active", "Sessions running")
        self.sessions_started = counter("mmd_sessions_started_total", "Sessions started, by reason", ("reason",))
        self.sessions_ended = counter("mmd_sessions_ended_total", "Sessions ended, by end reason", ("reason",))
        self.ended_sessions_pnl = gauge(
            "mmd_ended_sessions_pnl_dollars", "Sum of the P&L net of fees of the sessions ended in this run"
        )
        self.maker_crashes = counter("mmd_maker_crashes_total", "Makers that crashed")
        self.reconciliation_failures = counter("mmd_reconciliation_failures_total", "Failed reconciliations")
        self.last_event = gauge(
            "mmd_last_event_timestamp_seconds", "Daemon clock when the metrics last heard an event (unix seconds)"
        )
        # latency
        self.tick_to_order = Histogram(
            "mmd_tick_to_order_latency_seconds",
            "WS frame received (ts_recv) -> order write handed to the transport",
            ("action",), buckets=TICK_TO_ORDER_BUCKETS, registry=r,
        )
        self.send_delay = Histogram(
            "mmd_order_send_delay_seconds",
            "Maker's decision -> order write handed to the transport (budget and batching waits)",
            ("action",), buckets=TICK_TO_ORDER_BUCKETS, registry=r,
        )
        self.ack_latency = Histogram(
            "mmd_order_ack_latency_seconds",
            "Order write handed to the transport -> its outcome received",
            ("action",), buckets=ACK_BUCKETS, registry=r,
        )
        self.feed_connected.set(0)

    # -- exposure and P&L ---------------------------------------------------------------
    def _on_exposure(self, event: ExposureChanged) -> None:
        seen = set()
        for market in event.markets:
            seen.add(market.ticker)
            self.markets.child(self.position, market.ticker).set(float(market.position))
            self.markets.child(self.exposure, market.ticker).set(_dollars(market.exposure))
            self.markets.child(self.resting_orders, market.ticker).set(market.resting_orders)
        for ticker in self._exposed - seen:  # absent: nothing left on that market
            for metric in (self.position, self.exposure, self.resting_orders):
                self.markets.child(metric, ticker).set(0)
        self._exposed = seen
        self.global_exposure.set(_dollars(event.global_exposure))
        self.resting_value.set(_dollars(event.resting_order_value))
        self._set_risk_state(event.state)

    def _on_maker_status(self, status: MakerStatus) -> None:
        self.markets.child(self.realized_pnl, status.ticker).set(_dollars(status.realized_pnl))
        self.markets.child(self.unrealized_pnl, status.ticker).set(_dollars(status.unrealized_pnl))
        self.markets.child(self.quoting, status.ticker).set(1 if status.state == QUOTING else 0)

    def _on_maker_finished(self, finished: MakerFinished) -> None:
        self.markets.child(self.realized_pnl, finished.ticker).set(_dollars(finished.realized_pnl))
        if finished.position == 0:
            self.markets.child(self.unrealized_pnl, finished.ticker).set(0)
        self.markets.child(self.quoting, finished.ticker).set(0)

    def _on_balance(self, read: BalanceRead) -> None:
        self.balance.set(_dollars(read.available))

    # -- orders -----------------------------------------------------------------------
    def _on_request_sent(self, sent: OrderRequestSent) -> None:
        self._pending[(sent.action, sent.client_order_id)] = sent.ts
        while len(self._pending) > MAX_PENDING_WRITES:
            self._pending.popitem(last=False)  # its outcome never came (or came unmatched)
        if sent.decided_ts and sent.ts >= sent.decided_ts:
            self.send_delay.labels(sent.action).observe(_seconds(sent.ts - sent.decided_ts))
        if sent.trigger_ts_recv and sent.ts >= sent.trigger_ts_recv:
            self.tick_to_order.labels(sent.action).observe(_seconds(sent.ts - sent.trigger_ts_recv))

    def _answered(self, action: str, client_order_id: str, ts_recv: int) -> None:
        sent_ts = self._pending.pop((action, client_order_id), None)
        if sent_ts is not None and ts_recv >= sent_ts:
            self.ack_latency.labels(action).observe(_seconds(ts_recv - sent_ts))

    def _wrote(self, ticker: str, action: str) -> None:
        self.markets.child(self.writes, ticker, action).inc()

    def _on_accepted(self, accepted: OrderAccepted) -> None:
        self.markets.child(self.placed, accepted.ticker).inc()
        self._wrote(accepted.ticker, "place")
        self._answered("place", accepted.client_order_id, accepted.ts_recv)

    def _on_amended(self, amended: OrderAmended) -> None:
        self.markets.child(self.amended, amended.ticker).inc()
        self._wrote(amended.ticker, "amend")
        self._answered("amend", amended.previous_client_order_id, amended.ts_recv)

    def _on_cancelled(self, cancelled: OrderCancelled) -> None:
        self.markets.child(self.cancelled, cancelled.ticker).inc()
        self._wrote(cancelled.ticker, "cancel")
        self._answered("cancel", cancelled.client_order_id, cancelled.ts_recv)

    def _on_rejected(self, rejected: OrderRejected) -> None:
        code = self._code(rejected.code)
        source = rejected.source if rejected.source in (*SENT_SOURCES, "risk", "client") else "other"
        self.markets.child(self.rejections, rejected.ticker, rejected.action, source, code).inc()
        if rejected.code == RATE_LIMITED_CODE:
            self.markets.child(self.rate_limited, rejected.ticker).inc()
        if rejected.source in SENT_SOURCES:
            self._wrote(rejected.ticker, rejected.action)
            self._answered(rejected.action, rejected.client_order_id, rejected.ts_recv)

    def _on_filled(self, fill: OrderFilled) -> None:
        self.markets.child(self.fills, fill.ticker).inc()
        self.markets.child(self.filled_contracts, fill.ticker).inc(float(fill.count))
        if fill.fee > 0:
            self.markets.child(self.fees, fill.ticker).inc(float(fill.fee))
        else:
            self.markets.child(self.fees, fill.ticker)  # the series exists from the first fill

    # -- feed -------------------------------------------------------------------------
    def _on_feed_health(self, health: FeedHealthChanged) -> None:
        if health.healthy == self._feed_healthy:
            return
        self._feed_healthy = health.healthy
        self.feed_connected.set(1 if health.healthy else 0)
        if not health.healthy:
            self.feed_disconnects.inc()
            self._feed_lost_once = True
        elif self._feed_lost_once:
            self.feed_reconnects.inc()

    def _on_book_untrusted(self, untrusted: BookUntrusted) -> None:
        self.markets.child(self.untrusted, untrusted.ticker, _untrusted_cause(untrusted.reason)).inc()

    # -- sessions ---------------------------------------------------------------------
    def _on_session_started(self, started: SessionStarted) -> None:
        if started.session_id in self._sessions:
            return
        self._sessions[started.session_id] = started.ticker
        self.markets.session_started(started.ticker)
        self.sessions_started.labels(self._session_reason(started.reason)).inc()
        self.sessions_active.set(len(self._sessions))

    def _on_session_stopped(self, stopped: SessionStopped) -> None:
        if self._sessions.pop(stopped.session_id, None) is not None:
            self.markets.session_stopped(stopped.ticker)
        self.sessions_ended.labels(self._end_reason(stopped.reason)).inc()
        self.sessions_active.set(len(self._sessions))
        if stopped.pnl is not None:
            self.ended_sessions_pnl.inc(float(stopped.pnl))

    def _on_maker_crashed(self, _crash: MakerCrashed) -> None:
        self.maker_crashes.inc()

    # -- risk -------------------------------------------------------------------------
    def _set_risk_state(self, state: str) -> None:
        value = RISK_STATE_VALUES.get(state)
        if value is not None:
            self.risk_state.set(value)

    def _on_risk_state(self, changed: RiskStateChanged) -> None:
        self._set_risk_state(changed.state)

    def _on_kill_switch_engaged(self, _engaged: KillSwitchEngaged) -> None:
        self.kill_switch.set(1)

    def _on_kill_switch_released(self, _released: KillSwitchReleased) -> None:
        self.kill_switch.set(0)

    def _on_risk_warning(self, warning: RiskWarning) -> None:
        self.risk_warnings.labels(self._warning_kind(warning.kind)).inc()

    def _on_reconciliation_failed(self, _failed: ReconciliationFailed) -> None:
        self.reconciliation_failures.inc()
