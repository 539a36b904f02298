"""The risk governor actor: every order command passes here on its way to the REST client.

Direction: commands come down from makers (tell) and go on down to the order gateway
(tell); order events come up from the bus (tell). Refusals, OrderRejected(source="risk"),
also go down to the order gateway, which publishes them on the bus: every outcome of a
command then comes from one thread, in command order (replays stay deterministic), and
the maker hears a refusal like any other rejection. Nothing here asks another actor.
"""

from __future__ import annotations

from typing import Any

from config import RiskConfig
from messages import (
    AllOrdersCancelled,
    AmendOrder,
    CancelAllOrders,
    CancelOrder,
    KillSwitchEngaged,
    KillSwitchReleased,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    rejection_of,
    OrderUpdated,
    PlaceOrder,
    RiskStateChanged,
)
from mmd.bus import Bus, InFlightTracker

from .._base import MmdActor, handles
from ._governor import RiskGovernor, TradingState

__all__ = ["RiskGovernorActor"]

_ORDER_EVENTS = (
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderUpdated,
    OrderRejected,
    AllOrdersCancelled,  # settles places whose outcome was unknown
)


class RiskGovernorActor(MmdActor):
    def __init__(
        self, *, clock: Any, bus: Bus, tracker: InFlightTracker | None = None, config: RiskConfig, order_gateway: Any
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self.governor = RiskGovernor(config)
        self.order_gateway = order_gateway

    def on_start(self) -> None:
        for message_type in (*_ORDER_EVENTS, KillSwitchEngaged, KillSwitchReleased):
            self.bus.subscribe(self.actor_ref, message_type)

    def on_stop(self) -> None:
        self.bus.unsubscribe_all(self.actor_ref)

    # -- commands -------------------------------------------------------------------
    @handles(PlaceOrder, AmendOrder)
    def _on_order_command(self, command: PlaceOrder | AmendOrder) -> None:
        verdict = self.governor.admit(command)
        if verdict.ok:
            self.send(self.order_gateway, command)
            return
        self.log.info("refused %s %s: %s", type(command).__name__, command.client_order_id, verdict.reason)
        refusal = rejection_of(
            command, source="risk", code=verdict.code, reason=verdict.reason, ts_recv=self.clock.now_ns()
        )
        self.send(self.order_gateway, refusal)

    @handles(CancelOrder, CancelAllOrders)
    def _on_cancel(self, command: CancelOrder | CancelAllOrders) -> None:
        self.governor.admit(command)  # always passes; a cancel-all is remembered
        self.send(self.order_gateway, command)

    # -- events ---------------------------------------------------------------------
    @handles(*_ORDER_EVENTS)
    def _on_order_event(self, event: Any) -> None:
        self.governor.apply(event)

    @handles(KillSwitchEngaged)
    def _on_kill_switch(self, message: KillSwitchEngaged) -> None:
        now = self.clock.now_ns()
        self._change_state(TradingState.HALTED, f"kill switch: {message.reason}")
        cancel_all = CancelAllOrders(reason=f"kill switch: {message.reason}", ts=now)
        self.governor.admit(cancel_all)
        self.send(self.order_gateway, cancel_all)

    @handles(KillSwitchReleased)
    def _on_kill_switch_released(self, message: KillSwitchReleased) -> None:
        self._change_state(TradingState.ACTIVE, f"kill switch released: {message.reason}")

    # -- control and queries (through a proxy) ----------------------------------------
    def set_trading_state(self, state: str, reason: str) -> None:
        self._change_state(state, reason)

    def get_status(self) -> dict:
        return self.governor.status()

    def _change_state(self, state: str, reason: str) -> None:
        if self.governor.set_state(state, reason):
            self.publish(RiskStateChanged(state=state, reason=reason, ts=self.clock.now_ns()))
