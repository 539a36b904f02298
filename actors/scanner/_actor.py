"""Scanner actor shell: routes bus events and REST replies into ScannerCore and its
outputs back out. Direction: reads go *down* to the REST client (tell with reply_to) and
subscriptions down to the WS connection; events go *up* on the bus. Never asks anyone.
"""

from __future__ import annotations

from typing import Any

from actors._base import MmdActor, handles
from config import RiskConfig, ScannerConfig
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
    TimerFired,
    TradePrinted,
)
from kernel.clock import seconds

from ._market_config import Budgets
from ._scanner import RestRead, RetryDiscovery, ScannerCore, Subscribe

__all__ = ["ScannerActor", "SWEEP_TIMER", "REDISCOVER_TIMER", "REGIME_TIMER", "RETRY_TIMER", "PUMP_TIMER"]

SWEEP_TIMER = "scanner_sweep"
REDISCOVER_TIMER = "scanner_rediscover"
REGIME_TIMER = "scanner_regime"
RETRY_TIMER = "rescan"
PUMP_TIMER = "scanner_pump"  # reads left queued by the per-second budget go out when it allows


class ScannerActor(MmdActor):
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
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        if risk_config is None:  # tests that wire only the scanner: the shipped risk budgets
            from config import load_config

            risk_config = load_config().risk
        self.config = config
        self.rest = rest
        self.feed = feed
        self.core = ScannerCore(
            config, Budgets(per_market=risk_config.per_market_budget_dollars, global_budget=risk_config.global_budget_dollars)
        )
        self._regime_timer = None
        self._pump_timer = None

    # -- lifecycle ------------------------------------------------------------------
    def on_start(self) -> None:
        for message_type in (SessionStarted, SessionStopped, BookUpdated, TickerUpdated, TradePrinted, MarketLifecycleChanged):
            self.bus.subscribe(self.actor_ref, message_type)
        now = self.clock.now_ns()
        self._route(self.core.start(now))
        if self.core.mode != "tickers":
            self.timer(seconds(self.config.volatility.rediscover_interval_s), TimerFired(what=REDISCOVER_TIMER, ts=now))
        if self.core.mode == "volatility":
            self.timer(seconds(self.config.volatility.sweep_tick_s), TimerFired(what=SWEEP_TIMER, ts=now))

    def on_stop(self) -> None:
        self.bus.unsubscribe_all(self.actor_ref)

    def _route(self, outputs: list[Any]) -> None:
        now = self.clock.now_ns()
        for item in outputs:
            if isinstance(item, Message):
                self.publish(item)
            elif isinstance(item, RestRead):
                self.send(
                    self.rest,
                    RestReadRequested(
                        request_id=item.request_id, path=item.path, query=item.query, reply_to=self.actor_ref,
                        ts=now, all_pages=item.all_pages, list_key=item.list_key,
                    ),
                )
            elif isinstance(item, Subscribe):
                if self.feed is not None:
                    self.send(self.feed, SubscribeMarkets(tickers=item.tickers, ts=now, remove=item.remove))
            elif isinstance(item, RetryDiscovery):
                self.log.warning("%s; retrying in %.0f s", item.reason, self.config.retry_after_s)
                self.timer(seconds(self.config.retry_after_s), TimerFired(what=RETRY_TIMER, ts=now))
        if self._regime_timer is None and self.core.regime_tickers(now):
            self._regime_timer = self.timer(
                seconds(self.config.regimes.publish_interval_s), TimerFired(what=REGIME_TIMER, ts=now)
            )
        due = self.core.next_pump_ns()
        if due is not None and self._pump_timer is None:
            self._pump_timer = self.timer(max(0, due - now), TimerFired(what=PUMP_TIMER, ts=now))

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
        self.core.on_session_started(message.ticker, message.session_id)
        now = self.clock.now_ns()
        self._route(self.core.regime_updates(now))  # the supervisor hears a regime at once (and the timer runs)

    @handles(SessionStopped)
    def on_session_stopped(self, message: SessionStopped) -> None:
        self.core.on_session_stopped(message.ticker, message.session_id, self.clock.now_ns())

    @handles(TimerFired)
    def on_timer(self, timer: TimerFired) -> None:
        now = self.clock.now_ns()
        if timer.what == SWEEP_TIMER:
            self._route(self.core.sweep_tick(now))
            self.timer(seconds(self.config.volatility.sweep_tick_s), TimerFired(what=SWEEP_TIMER, ts=now))
        elif timer.what == REDISCOVER_TIMER:
            self._route(self.core.rediscover(now))
            self.timer(seconds(self.config.volatility.rediscover_interval_s), TimerFired(what=REDISCOVER_TIMER, ts=now))
        elif timer.what == PUMP_TIMER:
            self._pump_timer = None
            self._route(self.core.pump(now))
        elif timer.what == RETRY_TIMER:
            self._route(self.core.rediscover(now))
        elif timer.what == REGIME_TIMER:
            self._regime_timer = None
            # heartbeat only while someone depends on it (a session or a waiting event);
            # _route sets the next timer while regime_tickers is not empty
            self._route(self.core.regime_updates(now))
            # a published market whose WS book is quiet is read over REST, so its regime
            # data (RegimeUpdated.data_ts) stays within a sample interval of now
            self._route(self.core.poll_regime_markets(now))

    # -- queries --------------------------------------------------------------------
    def get_status(self) -> dict:
        return self.core.status(self.clock.now_ns())
