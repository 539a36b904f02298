"""What the scanner does with each input, as effects (kernel.effects): ScannerCore's
outputs turned into publishes and sends, and every scanner timer decided here. A plain
object (no threads, no clock reads): the actor shell hands it a message and `now_ns`
and carries out what it returns, in order.

Timers (keys below) are mirrored here exactly: this object arms them all, and hears of
each that fires (`on_due`, called only for a timer that `KeyedTimers.fired` accepts).
The regime heartbeat is armed on a grid whose deadline the shell's clock settles
(`ArmOnGrid`); the shell reports it back (`heartbeat_armed_at`).

Hazard, order: the effects of one input come out as the shell always carried them out
(outputs in order, then the heartbeat, then the queued-reads timer); timers due at one
instant are delivered in the order they were armed, so reordering moves a replay.
"""

from __future__ import annotations

from typing import Any

from config import ScannerConfig
from kernel.clock import seconds
from kernel.effects import ArmOnGrid, ArmTimer, CancelTimer, Publish, Send
from messages import (
    BookUpdated,
    MarketLifecycleChanged,
    Message,
    RestReadCompleted,
    RestReadRequested,
    SessionStarted,
    SessionStopped,
    SubscribeMarkets,
    TickerUpdated,
    TradePrinted,
)

from ._scanner import RestRead, RetryDiscovery, ScannerCore, Subscribe
from ._timers import (
    ScannerDiscoveryRetryDue,
    ScannerQueuedReadsDue,
    ScannerRediscoverDue,
    ScannerRegimeHeartbeatDue,
    ScannerSweepDue,
)

__all__ = ["ScannerPlan", "REST", "FEED", "SCANNER_READER"]

SCANNER_READER = "scanner"  # the name REST replies to the scanner are addressed to
REST, FEED = "rest", "feed"  # the collaborators a Send goes to

# timer keys
SWEEP, REDISCOVER, REGIME, QUEUED_READS = "sweep", "rediscover", "regime", "queued-reads"
RETRY = "retry:"  # + a count: every failed discovery is retried on its own timer


class ScannerPlan:
    INPUTS = (SessionStarted, SessionStopped, BookUpdated, TickerUpdated, TradePrinted, MarketLifecycleChanged, RestReadCompleted)
    DUES = (ScannerSweepDue, ScannerRediscoverDue, ScannerQueuedReadsDue, ScannerDiscoveryRetryDue, ScannerRegimeHeartbeatDue)

    def __init__(self, core: ScannerCore) -> None:
        self.core = core
        self.config: ScannerConfig = core.config
        self._retries = 0
        self._regime_anchor = 0  # the heartbeat's grid: its last tick, or where it started
        self._heartbeat_ns: int | None = None  # the heartbeat tick armed (None: none)
        self._queued_reads_armed = False

    # -- inputs ---------------------------------------------------------------------
    def start(self, now_ns: int) -> list[Any]:
        out = self._effects(self.core.start(now_ns), now_ns)
        if self.core.mode != "tickers":
            out.append(self._rediscover_timer(now_ns))
        if self.core.mode == "volatility":
            out.append(self._sweep_timer(now_ns))
        return out

    def handle(self, message: Any, now_ns: int) -> list[Any]:
        core = self.core
        if isinstance(message, RestReadCompleted):
            return self._effects(core.on_reply(message, now_ns), now_ns)
        if isinstance(message, BookUpdated):
            book = message.book
            if not book.trusted:
                return []
            bid_size = book.bids[0][1] if book.bids else None
            ask_size = book.asks[0][1] if book.asks else None
            return self._effects(core.on_touch(message.ticker, book.best_bid, book.best_ask, bid_size, ask_size, now_ns), now_ns)
        if isinstance(message, TickerUpdated):
            touch = core.on_touch(
                message.ticker, message.yes_bid, message.yes_ask, message.yes_bid_size, message.yes_ask_size, now_ns
            )
            return self._effects(touch, now_ns)
        if isinstance(message, TradePrinted):
            core.on_trade(message.ticker, message.price, message.count, now_ns)
            return []
        if isinstance(message, MarketLifecycleChanged):
            return self._effects(core.on_lifecycle(message.ticker, message.event_type, now_ns), now_ns)
        if isinstance(message, SessionStarted):
            # a volatility session's regime is judged on every heartbeat; any other's is news only
            core.on_session_started(message.ticker, message.session_id, heartbeat=bool(message.event_id))
            return self._effects(core.regime_updates(now_ns), now_ns)  # the supervisor hears a regime at once
        if isinstance(message, SessionStopped):
            core.on_session_stopped(message.ticker, message.session_id, now_ns)
            return self._pull_heartbeat(now_ns)  # none left: the next tick ends the heartbeat
        raise TypeError(f"the scanner does not handle {type(message).__name__}")

    # -- timers ---------------------------------------------------------------------
    @staticmethod
    def timer_key(due: Any) -> str:
        if isinstance(due, ScannerDiscoveryRetryDue):
            return f"{RETRY}{due.retry}"
        return {
            ScannerSweepDue: SWEEP, ScannerRediscoverDue: REDISCOVER, ScannerQueuedReadsDue: QUEUED_READS,
            ScannerRegimeHeartbeatDue: REGIME,
        }[type(due)]

    def on_due(self, due: Any, now_ns: int) -> list[Any]:
        """A timer fired (the shell checked it is the one armed under `timer_key(due)`)."""
        core = self.core
        if isinstance(due, ScannerSweepDue):
            return [*self._effects(core.sweep_tick(now_ns), now_ns), self._sweep_timer(now_ns)]
        if isinstance(due, ScannerRediscoverDue):
            return [*self._effects(core.rediscover(now_ns), now_ns), self._rediscover_timer(now_ns)]
        if isinstance(due, ScannerQueuedReadsDue):
            self._queued_reads_armed = False
            return self._effects(core.pump(now_ns), now_ns)
        if isinstance(due, ScannerDiscoveryRetryDue):
            return self._effects(core.rediscover(now_ns), now_ns)
        if isinstance(due, ScannerRegimeHeartbeatDue):
            self._heartbeat_ns = None
            # heartbeat only while someone depends on it (a session or a waiting event); a
            # published market whose WS book is quiet is read over REST, so its regime data
            # (RegimeUpdated.data_ts) stays within a sample interval of now. _effects sets
            # the next tick while regime_tickers is not empty
            updates = core.regime_heartbeat(now_ns)
            return self._effects([*updates, *core.poll_regime_markets(now_ns)], now_ns)
        raise TypeError(f"the scanner has no timer {type(due).__name__}")

    def heartbeat_armed_at(self, deadline_ns: int) -> None:
        """The shell armed the heartbeat's ArmOnGrid: the tick it settled on."""
        self._heartbeat_ns = deadline_ns

    def _sweep_timer(self, now_ns: int) -> ArmTimer:
        return ArmTimer(SWEEP, now_ns + max(0, seconds(self.config.volatility.sweep_tick_s)), ScannerSweepDue(ts=now_ns))

    def _rediscover_timer(self, now_ns: int) -> ArmTimer:
        interval = max(0, seconds(self.config.volatility.rediscover_interval_s))
        return ArmTimer(REDISCOVER, now_ns + interval, ScannerRediscoverDue(ts=now_ns))

    # -- the core's outputs as effects -----------------------------------------------
    def _effects(self, outputs: list[Any], now_ns: int) -> list[Any]:
        out: list[Any] = []
        for item in outputs:
            if isinstance(item, Message):
                out.append(Publish(item))
            elif isinstance(item, RestRead):
                request = RestReadRequested(
                    request_id=item.request_id, path=item.path, query=item.query, reply_to=SCANNER_READER,
                    ts=now_ns, all_pages=item.all_pages, list_key=item.list_key,
                )
                out.append(Send(REST, request))
            elif isinstance(item, Subscribe):
                out.append(Send(FEED, SubscribeMarkets(tickers=item.tickers, ts=now_ns, remove=item.remove)))
            elif isinstance(item, RetryDiscovery):
                self._retries += 1
                retry = ScannerDiscoveryRetryDue(retry=self._retries, ts=now_ns)
                out.append(item)  # the shell logs it
                out.append(ArmTimer(f"{RETRY}{retry.retry}", now_ns + max(0, seconds(self.config.retry_after_s)), retry))
        out.extend(self._pull_heartbeat(now_ns))
        due = self.core.next_pump_ns()
        if due is not None and not self._queued_reads_armed:
            self._queued_reads_armed = True
            out.append(ArmTimer(QUEUED_READS, max(due, now_ns), ScannerQueuedReadsDue(ts=now_ns)))
        return out

    def _pull_heartbeat(self, now_ns: int) -> list[Any]:
        """The regime heartbeat ticks on its grid (publish_interval_s apart from where it
        started) while regimes are published, but only at the ticks where it may do
        something (ScannerCore.next_heartbeat_ns), moved on the same grid, sooner or later,
        as each input changes that."""
        armed = self._heartbeat_ns
        if armed is None:
            if not self.core.regime_tickers(now_ns):
                return []  # nothing published: the heartbeat stops (it starts afresh on news)
            self._regime_anchor = now_ns
        due = self.core.next_heartbeat_ns(now_ns)
        interval = seconds(self.config.regimes.publish_interval_s)
        out: list[Any] = []
        if armed is not None:
            if armed - interval < due <= armed:
                return []  # the tick armed is the first at or after `due`
            if due > armed:  # fresher data: that tick would find nothing to do
                self._heartbeat_ns = None
                out.append(CancelTimer(REGIME))
        out.append(ArmOnGrid(REGIME, self._regime_anchor, interval, due, ScannerRegimeHeartbeatDue(ts=now_ns)))
        return out
