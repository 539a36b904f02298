"""Scanner actor shell: routes bus events, REST replies and its timers into ScannerPlan
(ScannerCore's decisions as effects) and carries the effects out. Direction: reads go
*down* to the REST client (a tell naming the scanner as `reply_to`, resolved by the REST
actor's directory) and subscriptions down to the WS connection; events go *up* on the
bus. Never asks anyone.
"""

from __future__ import annotations

from typing import Any

from actors._base import MmdActor, handles
from config import RiskConfig, ScannerConfig
from kernel.directory import Directory
from kernel.effects import ArmOnGrid
from messages import BookUpdated, MarketLifecycleChanged, SessionStarted, SessionStopped, TickerUpdated, TradePrinted

from ._market_config import Budgets
from ._plan import FEED, REST, SCANNER_READER, ScannerPlan
from ._scanner import RetryDiscovery, ScannerCore

__all__ = ["ScannerActor", "SCANNER_READER"]


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
        self.plan = ScannerPlan(self.core)

    def on_start(self) -> None:
        self.carry_out(self.plan.start(self.clock.now_ns()))

    def on_stop(self) -> None:
        self.timers.cancel_all()

    @handles(*ScannerPlan.INPUTS)
    def on_input(self, message: Any) -> None:
        self.carry_out(self.plan.handle(message, self.clock.now_ns()))

    @handles(*ScannerPlan.DUES)
    def on_due(self, due: Any) -> None:
        if self.timers.fired(self.plan.timer_key(due), due):  # not cancelled or replaced since
            self.carry_out(self.plan.on_due(due, self.clock.now_ns()))

    # -- out ------------------------------------------------------------------------
    def route(self, name: str) -> Any:
        return {REST: self.rest, FEED: self.feed}[name]

    def on_grid_armed(self, effect: ArmOnGrid, deadline_ns: int) -> None:
        self.plan.heartbeat_armed_at(deadline_ns)

    def on_effect(self, effect: Any) -> None:
        if isinstance(effect, RetryDiscovery):
            self.log.warning("%s; retrying in %.0f s", effect.reason, self.config.retry_after_s)
        else:
            super().on_effect(effect)

    # -- queries --------------------------------------------------------------------
    def get_status(self) -> dict:
        return self.core.status(self.clock.now_ns())
