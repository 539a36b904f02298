"""Scanner actor shell: routes bus events and REST replies into ScannerCore and its
outputs back out. Direction: reads go *down* to the REST client (a tell naming the scanner
as `reply_to`, resolved by the REST actor's directory) and subscriptions down to the WS
connection; events go *up* on the bus. Never asks anyone.
"""

from __future__ import annotations

from typing import Any

from actors._base import MmdActor, handles
from config import RiskConfig, ScannerConfig
from kernel.directory import Directory
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
from kernel.clock import seconds

from ._market_config import Budgets
from ._scanner import RestRead, RetryDiscovery, ScannerCore, Subscribe
from ._timers import (
    ScannerDiscoveryRetryDue,
    ScannerQueuedReadsDue,
    ScannerRediscoverDue,
    ScannerRegimeHeartbeatDue,
    ScannerSweepDue,
)

__all__ = ["ScannerActor", "SCANNER_READER"]

SCANNER_READER = "scanner"  # the name REST replies to the scanner are addressed to

# keys of self.timers
SWEEP, REDISCOVER, REGIME, QUEUED_READS = "sweep", "rediscover", "regime", "queued-reads"
RETRY = "retry:"  # + a count: every failed discovery is retried on its own timer


class ScannerActor(MmdActor):
    subscriptions = (SessionStarted, SessionStopped, BookUpdated, TickerUpdated, TradePrinted, MarketLifecycleChanged)

    def __init__(
        self,
        *,
        clock,
        bus,
        tracker=None,
        config: ScannerConfig,
        rest: Any,
        feed: Any = None,
        risk_config: RiskConfig | None = None,
        directory: Directory | None = None,
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        if directory is not None:  # before the loop starts: on_start already reads
            directory.register(SCANNER_READER, self.actor_ref)
        if risk_config is None:  # tests that wire only the scanner: the shipped risk budgets
            from config import load_config

            risk_config = load_config().risk
        self.config = config
        self.rest = rest
        self.feed = feed
        self.core = ScannerCore(
            config, Budgets(per_market=risk_config.per_market_budget_dollars, global_budget=risk_config.global_budget_dollars)
        )
        self._retries = 0
        self._regime_anchor = 0  # the heartbeat's grid: its last tick, or where it started

    # -- lifecycle ------------------------------------------------------------------
    def on_start(self) -> None:
        now = self.clock.now_ns()
        self._route(self.core.start(now))
        if self.core.mode != "tickers":
            self._arm_rediscover(now)
        if self.core.mode == "volatility":
            self._arm_sweep(now)

    def on_stop(self) -> None:
        self.timers.cancel_all()

    def _arm_rediscover(self, now: int) -> None:
        interval = seconds(self.config.volatility.rediscover_interval_s)
        self.timers.arm_in(REDISCOVER, interval, ScannerRediscoverDue(ts=now))

    def _arm_sweep(self, now: int) -> None:
        self.timers.arm_in(SWEEP, seconds(self.config.volatility.sweep_tick_s), ScannerSweepDue(ts=now))

    def _route(self, outputs: list[Any]) -> None:
        now = self.clock.now_ns()
        for item in outputs:
            if isinstance(item, Message):
                self.publish(item)
            elif isinstance(item, RestRead):
                self.send(
                    self.rest,
                    RestReadRequested(
                        request_id=item.request_id, path=item.path, query=item.query, reply_to=SCANNER_READER,
                        ts=now, all_pages=item.all_pages, list_key=item.list_key,
                    ),
                )
            elif isinstance(item, Subscribe):
                if self.feed is not None:
                    self.send(self.feed, SubscribeMarkets(tickers=item.tickers, ts=now, remove=item.remove))
            elif isinstance(item, RetryDiscovery):
                self.log.warning("%s; retrying in %.0f s", item.reason, self.config.retry_after_s)
                self._retries += 1
                retry = ScannerDiscoveryRetryDue(retry=self._retries, ts=now)
                self.timers.arm_in(f"{RETRY}{retry.retry}", seconds(self.config.retry_after_s), retry)
        self._pull_heartbeat(now)
        due = self.core.next_pump_ns()
        if due is not None and not self.timers.armed(QUEUED_READS):
            self.timers.arm_at(QUEUED_READS, max(due, now), ScannerQueuedReadsDue(ts=now))

    def _pull_heartbeat(self, now: int) -> None:
        """The regime heartbeat ticks on its grid (publish_interval_s apart from where it
        started) while regimes are published, but only at the ticks where it may do
        something (ScannerCore.next_heartbeat_ns), moved on the same grid, sooner or later,
        as each input changes that."""
        armed = self.timers.deadline(REGIME)
        if armed is None:
            if not self.core.regime_tickers(now):
                return  # nothing published: the heartbeat stops (it starts afresh on news)
            self._regime_anchor = now
        due = self.core.next_heartbeat_ns(now)
        interval = seconds(self.config.regimes.publish_interval_s)
        if armed is not None:
            if armed - interval < due <= armed:
                return  # the tick armed is the first at or after `due`
            if due > armed:  # fresher data: that tick would find nothing to do
                self.timers.cancel(REGIME)
        self.timers.arm_on_grid(
            REGIME, anchor_ns=self._regime_anchor, interval_ns=interval,
            not_before_ns=due, message=ScannerRegimeHeartbeatDue(ts=now),
        )

    # -- inputs ---------------------------------------------------------------------
    @handles(RestReadCompleted)
    def on_rest_reply(self, reply: RestReadCompleted) -> None:
        self._route(self.core.on_reply(reply, self.clock.now_ns()))

    @handles(BookUpdated)
    def on_book(self, message: BookUpdated) -> None:
        book = message.book
        if not book.trusted:
            return
        bid_size = book.bids[0][1] if book.bids else None
        ask_size = book.asks[0][1] if book.asks else None
        self._route(self.core.on_touch(message.ticker, book.best_bid, book.best_ask, bid_size, ask_size, self.clock.now_ns()))

    @handles(TickerUpdated)
    def on_ticker(self, message: TickerUpdated) -> None:
        self._route(
            self.core.on_touch(
                message.ticker, message.yes_bid, message.yes_ask, message.yes_bid_size, message.yes_ask_size,
                self.clock.now_ns(),
            )
        )

    @handles(TradePrinted)
    def on_trade(self, message: TradePrinted) -> None:
        self.core.on_trade(message.ticker, message.price, message.count, self.clock.now_ns())

    @handles(MarketLifecycleChanged)
    def on_lifecycle(self, message: MarketLifecycleChanged) -> None:
        self._route(self.core.on_lifecycle(message.ticker, message.event_type, self.clock.now_ns()))

    @handles(SessionStarted)
    def on_session_started(self, message: SessionStarted) -> None:
        # a volatility session's regime is judged on every heartbeat; any other's is news only
        self.core.on_session_started(message.ticker, message.session_id, heartbeat=bool(message.event_id))
        now = self.clock.now_ns()
        self._route(self.core.regime_updates(now))  # the supervisor hears a regime at once (and the timer runs)

    @handles(SessionStopped)
    def on_session_stopped(self, message: SessionStopped) -> None:
        now = self.clock.now_ns()
        self.core.on_session_stopped(message.ticker, message.session_id, now)
        self._pull_heartbeat(now)  # none left: the next tick ends the heartbeat

    # -- timers ---------------------------------------------------------------------
    @handles(ScannerSweepDue)
    def on_sweep_due(self, due: ScannerSweepDue) -> None:
        if not self.timers.fired(SWEEP, due):
            return
        now = self.clock.now_ns()
        self._route(self.core.sweep_tick(now))
        self._arm_sweep(now)

    @handles(ScannerRediscoverDue)
    def on_rediscover_due(self, due: ScannerRediscoverDue) -> None:
        if not self.timers.fired(REDISCOVER, due):
            return
        now = self.clock.now_ns()
        self._route(self.core.rediscover(now))
        self._arm_rediscover(now)

    @handles(ScannerQueuedReadsDue)
    def on_queued_reads_due(self, due: ScannerQueuedReadsDue) -> None:
        if self.timers.fired(QUEUED_READS, due):
            self._route(self.core.pump(self.clock.now_ns()))

    @handles(ScannerDiscoveryRetryDue)
    def on_retry_due(self, due: ScannerDiscoveryRetryDue) -> None:
        if self.timers.fired(f"{RETRY}{due.retry}", due):
            self._route(self.core.rediscover(self.clock.now_ns()))

    @handles(ScannerRegimeHeartbeatDue)
    def on_regime_heartbeat_due(self, due: ScannerRegimeHeartbeatDue) -> None:
        if not self.timers.fired(REGIME, due):
            return
        now = self.clock.now_ns()
        # heartbeat only while someone depends on it (a session or a waiting event); a
        # published market whose WS book is quiet is read over REST, so its regime data
        # (RegimeUpdated.data_ts) stays within a sample interval of now. _route sets the
        # next tick while regime_tickers is not empty
        updates = self.core.regime_heartbeat(now)
        self._route([*updates, *self.core.poll_regime_markets(now)])

    # -- queries --------------------------------------------------------------------
    def get_status(self) -> dict:
        return self.core.status(self.clock.now_ns())
