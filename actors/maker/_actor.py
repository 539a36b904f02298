"""The maker actor: a thin shell routing market data, order events, directives, REST
replies and its timers into a MakerPlan (a MakerSession's decisions as effects) and
carrying the effects out.

Direction: events come up from the bus (tell); commands go down to the risk governor
(order_sink, tell) and fill reads down to the REST client (rest, tell, reply by tell to
the maker's reader name "maker:<session id>", resolved by the REST actor's directory).
Nothing here asks another actor, so there is no ask cycle to deadlock. Our orders, fills
and inventory come from the trading ledger's views (TradingStateChanged, published by the
risk governor, its one writer), never from the raw order events. What is published, and
when, is MakerPlan's to say (actors/maker/_plan.py).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from config import MakerConfig
from kernel.bus import Bus, InFlightTracker
from kernel.directory import Directory
from kernel.effects import ArmOnGrid
from messages import (
    BookUpdated,
    ExposureChanged,
    FeedHealthChanged,
    KillSwitchEngaged,
    KillSwitchReleased,
    MarketConfig,
    MarketLifecycleChanged,
    ReferencePriceUpdated,
    RiskDirective,
    SpotPriceUpdated,
    TradePrinted,
    TradingStateChanged,
)

from .._base import MmdActor, handles
from ._plan import ORDERS, REST, LogNote, MakerPlan
from ._session import MakerSession

__all__ = ["MakerActor", "maker_reader"]


def maker_reader(session_id: str) -> str:
    """The name REST replies to a session's maker are addressed to."""
    return f"maker:{session_id}"


class MakerActor(MmdActor):
    ticker_subscriptions = (
        BookUpdated, TradePrinted, MarketLifecycleChanged, RiskDirective, ReferencePriceUpdated, TradingStateChanged
    )
    subscriptions = (KillSwitchEngaged, KillSwitchReleased, FeedHealthChanged, SpotPriceUpdated)
    unwoken_subscriptions = (ExposureChanged,)  # kept for the next quote: need not wake the maker

    def __init__(
        self,
        *,
        clock: Any,
        bus: Bus,
        tracker: InFlightTracker | None = None,
        ticker: str,
        session_id: str,
        config: MakerConfig,
        order_sink: Any,
        market_config: MarketConfig | None = None,
        rest: Any = None,
        market_budget: Decimal | None = None,
        directory: Directory | None = None,
        fair_value_feed_problem: str = "",
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self.ticker = ticker
        self.session_id = session_id
        self.reader = maker_reader(session_id)
        if directory is not None:  # before the loop starts, so no fill read's reply can outrun it
            directory.register(self.reader, self.actor_ref)
        self.config = config
        self.order_sink = order_sink
        self.rest = rest
        self.session = MakerSession(
            ticker=ticker,
            session_id=session_id,
            config=config,
            market_config=market_config,
            market_budget=market_budget,
            fair_value_feed_problem=fair_value_feed_problem,  # set: never quotes (why_not_quoting says why)
        )
        self.plan = MakerPlan(
            self.session, reader=self.reader, reads_fills=rest is not None, turn_passed=getattr(clock, "turn_passed", None)
        )

    def on_start(self) -> None:
        self.carry_out(self.plan.start(self.clock.now_ns()))

    def on_stop(self) -> None:
        self.carry_out(self.plan.stop(self.clock.now_ns()))

    @handles(*MakerPlan.INPUTS, *MakerPlan.KEPT)
    def on_input(self, message: Any) -> None:
        self.carry_out(self.plan.handle(message, self.clock.now_ns()))

    @handles(*MakerPlan.DUES)
    def on_due(self, due: Any) -> None:
        if self.timers.fired(self.plan.timer_key(due), due):  # not cancelled or replaced since
            self.carry_out(self.plan.on_due(due, self.clock.now_ns()))

    # -- out ------------------------------------------------------------------------
    def route(self, name: str) -> Any:
        return {ORDERS: self.order_sink, REST: self.rest}[name]

    def on_grid_armed(self, effect: ArmOnGrid, deadline_ns: int) -> None:
        self.plan.check_armed_at(deadline_ns)

    def on_effect(self, effect: Any) -> None:
        if isinstance(effect, LogNote):
            if effect.error:
                self.errors[effect.error] += 1
            self.log.log(effect.level, "%s", effect.text)
        else:
            super().on_effect(effect)

    # -- queries (the composition layer asks for the daemon's status; actors never ask) --
    def get_status(self) -> dict:
        return self.plan.status(self.clock.now_ns())
