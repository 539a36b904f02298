"""The WS connection actor: one authenticated Kalshi WebSocket. A thin shell around WsCore
(decoding, subscriptions, sequence checking, liveness, reconnects): it owns the
connector, routes every message and timer into the core and carries out its effects.

Direction: SubscribeMarkets comes *down* as a tell; market data and our order/fill/
position events go *up* on the bus, with FeedHealthChanged and BookUntrusted. The socket
thread only posts FrameReceived / FeedConnected / FeedDisconnected to this actor.
Timers (reconnect backoff, liveness checks, subscription restores, silence checks) are
keyed (`self.timers`) and come back as WsReconnectDue / HeartbeatCheckDue /
WsResubscribeDue / WsSilenceCheckDue. Our own order actions (OrderAccepted, OrderAmended,
OrderCancelled from the REST client) are read off the bus as evidence the private and book
channels must speak (see WsCore).
"""

from __future__ import annotations

from typing import Any, Callable

from kernel.clock import seconds
from messages import FeedConnected, OrderAccepted, OrderAmended, OrderCancelled

from actors._base import MmdActor, handles

from ._connector import WebSocketConnector
from ._core import CloseSocket, Connect, SendCommand, WsCore

__all__ = ["WsConnectionActor"]


class WsConnectionActor(MmdActor):
    subscriptions = (OrderAccepted, OrderAmended, OrderCancelled)

    def __init__(
        self,
        *,
        clock: Any,
        bus: Any,
        tracker: Any,
        connector_factory: Callable[[Any], WebSocketConnector],
        reconnect_base_s: float = 0.5,
        reconnect_cap_s: float = 5.0,
        liveness_timeout_s: float = 30.0,
        silence_window_s: float = 10.0,
        use_yes_price: bool = False,
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self._connector_factory = connector_factory
        self._connector: WebSocketConnector | None = None
        self.core = WsCore(
            reconnect_base_ns=seconds(reconnect_base_s),
            reconnect_cap_ns=seconds(reconnect_cap_s),
            liveness_ns=seconds(liveness_timeout_s),
            silence_ns=seconds(silence_window_s),
            use_yes_price=use_yes_price,
            log=self.log,
        )
        self._commands_sent = 0

    # -- lifecycle ------------------------------------------------------------------
    def on_start(self) -> None:
        self._connector = self._connector_factory(self.actor_ref)
        self.carry_out(self.core.start(self.clock.now_ns()))

    def on_stop(self) -> None:
        self.timers.cancel_all()
        if self._connector is not None:
            self._connector.close()

    # -- inputs -----------------------------------------------------------------------
    @handles(*WsCore.INPUTS)
    def on_input(self, msg: Any) -> None:
        self.carry_out(self.core.handle(msg, self.clock.now_ns()))

    @handles(*WsCore.DUES)
    def on_due(self, due: Any) -> None:
        if self.timers.fired(self.core.timer_key(due), due) and self._connector is not None:
            self.carry_out(self.core.on_due(due, self.clock.now_ns(), self._connector.last_heartbeat_ns))

    # -- the socket (effects the base does not know) ----------------------------------
    def on_effect(self, effect: Any) -> None:
        if isinstance(effect, SendCommand):
            self._send(effect)
        elif isinstance(effect, Connect):
            self._connect()
        elif isinstance(effect, CloseSocket):
            assert self._connector is not None
            self._connector.close()
        else:
            super().on_effect(effect)

    def _connect(self) -> None:
        assert self._connector is not None
        try:
            opened = self._connector.connect()
        except Exception as exc:  # refused, DNS, loopback exchange down: retry with backoff
            self.carry_out(self.core.connect_failed(f"connect failed: {type(exc).__name__}: {exc}", self.clock.now_ns()))
            return
        if opened:
            self.send(self.actor_ref, FeedConnected(ts_recv=self.clock.now_ns()))
        else:
            self.carry_out(self.core.connect_pending(self.clock.now_ns()))

    def _send(self, command: SendCommand) -> None:
        assert self._connector is not None
        try:
            self._connector.send(command.text)
            self._commands_sent += 1
        except Exception as exc:  # the socket reports its own loss; do not die here
            self.errors["send_failed"] += 1
            self.log.warning("websocket send of %s failed: %s", command.cmd, exc)

    # -- status (ask / proxy) ---------------------------------------------------------
    def get_status(self) -> dict[str, Any]:
        return {
            **self.core.status(),
            "last_heartbeat_ns": self._connector.last_heartbeat_ns if self._connector is not None else None,
            "commands_sent": self._commands_sent,
            "errors": dict(self.errors + self.core.errors),
        }
