"""The risk governor actor: the thin shell around RiskCore (actors/risk/_core.py), which
decides everything. Every order command passes here on its way to the order gateway.

The shell routes commands (tell), bus events, balance reads and its keyed timers into the
core, and carries the core's effects out: Send(to="gateway") to the order gateway,
Publish on the bus, ArmTimer/CancelTimer on `self.timers`. Nothing here asks another
actor; only the composition layer calls the methods below (the operator's kill switch
through the status server, status pages, readiness).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from config import RiskConfig
from kernel.bus import Bus, InFlightTracker
from messages import AmendOrder, CancelAllOrders, CancelOrder, PlaceOrder

from .._base import MmdActor, handles
from ._core import (
    GATEWAY,
    SUBSCRIPTIONS,
    RiskCore,
    RiskFlattenTimeoutDue,
    RiskHybridCheckDue,
    RiskRetryCancelAllDue,
    RiskUnpauseDue,
)
from ._killswitch import KillSwitch

__all__ = ["RiskGovernorActor"]

_TIMERS = (RiskFlattenTimeoutDue, RiskHybridCheckDue, RiskRetryCancelAllDue, RiskUnpauseDue)


class RiskGovernorActor(MmdActor):
    subscriptions = SUBSCRIPTIONS

    def __init__(
        self,
        *,
        clock: Any,
        bus: Bus,
        tracker: InFlightTracker | None = None,
        config: RiskConfig,
        order_gateway: Any,
        kill_switch_path: Path | None = None,
        run_id: str | None = None,  # this run's: an order of ours from another run is cancelled
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self.config = config
        self.order_gateway = order_gateway
        self.core = RiskCore(config, KillSwitch(kill_switch_path), run_id=run_id)

    def on_start(self) -> None:
        self.carry_out(self.core.start(self.clock.now_ns()))

    def on_stop(self) -> None:
        self.timers.cancel_all()

    def route(self, name: str) -> Any:
        if name == GATEWAY:
            return self.order_gateway
        return super().route(name)

    # -- messages in, effects out ----------------------------------------------------
    @handles(PlaceOrder, AmendOrder, CancelOrder, CancelAllOrders)
    def _on_command(self, command: Any) -> None:
        # the command goes on to the gateway before risk records what it changed (see pass_on)
        now = self.clock.now_ns()
        self.carry_out(self.core.pass_on(command, now))
        self.carry_out(self.core.record(now))

    @handles(*SUBSCRIPTIONS)
    def _on_message(self, message: Any) -> None:
        self.carry_out(self.core.handle(message, self.clock.now_ns()))

    @handles(*_TIMERS)
    def _on_timer(self, timer: Any) -> None:
        if not self.timers.fired(self.core.timer_key(timer), timer):
            return  # cancelled or re-armed after it was due: stale
        self.carry_out(self.core.handle(timer, self.clock.now_ns()))

    # -- the composition layer's calls ------------------------------------------------
    def engage_kill_switch(self, reason: str = "operator") -> dict:
        """Halt everything and cancel every resting order; only a resume undoes it."""
        self.carry_out(self.core.engage_kill_switch(reason, self.clock.now_ns()))
        return self.core.kill_switch_status()

    def release_kill_switch(self, reason: str = "operator") -> dict:
        """The manual resume: lifts the kill switch and the breakers."""
        self.carry_out(self.core.release_kill_switch(reason, self.clock.now_ns()))
        return self.core.kill_switch_status()

    def kill_switch_status(self) -> dict:
        return self.core.kill_switch_status()

    def set_trading_state(self, state: str, reason: str) -> None:
        self.carry_out(self.core.set_trading_state(state, reason, self.clock.now_ns()))

    def exposure_snapshot(self) -> dict:
        """Per ticker position, resting order value and exposure; totals; trading state."""
        return self.core.exposure_snapshot()

    def get_status(self) -> dict:
        return self.core.status(self.clock.now_ns())
