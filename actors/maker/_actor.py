"""The maker actor: a thin shell routing books, order events and timers to a MakerSession.

Direction: events come up from the bus (tell); commands go down to the risk governor
(tell). Nothing here asks another actor, so there is no ask cycle to deadlock.
"""

from __future__ import annotations

from typing import Any

from config import MakerConfig
from messages import (
    BookUpdated,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderUpdated,
    RequoteDue,
    StopSession,
    TimerFired,
)
from mmd.bus import Bus, InFlightTracker
from mmd.clock import seconds

from .._base import MmdActor, handles
from ._session import MakerSession, MakerState

__all__ = ["MakerActor"]

_ORDER_EVENTS = (OrderAccepted, OrderAmended, OrderRejected, OrderCancelled, OrderFilled, OrderUpdated)
_WARMUP = "maker-warmup"  # + ":<ticker>", so equal-deadline timers of several makers order deterministically


class MakerActor(MmdActor):
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
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self.ticker = ticker
        self.config = config
        self.order_sink = order_sink
        self.session = MakerSession(ticker=ticker, session_id=session_id, config=config)
        self._requote_timer = None
        self._warmup_what = f"{_WARMUP}:{ticker}"

    def on_start(self) -> None:
        for message_type in (BookUpdated, *_ORDER_EVENTS):
            self.bus.subscribe(self.actor_ref, message_type, ticker=self.ticker)
        now = self.clock.now_ns()
        self.session.start(now)
        self.timer(seconds(self.config.warmup_s), TimerFired(what=self._warmup_what, ts=now))

    def on_stop(self) -> None:
        self.bus.unsubscribe_all(self.actor_ref)
        self.clock.cancel(self._requote_timer)
        self._send_all(self.session.shutdown(self.clock.now_ns(), "maker stopped"))

    # -- handlers -------------------------------------------------------------------
    @handles(TimerFired)
    def _on_timer(self, message: TimerFired) -> None:
        if message.what != self._warmup_what or self.session.state == MakerState.DONE:
            return
        now = self.clock.now_ns()
        self._send_all(self.session.warmup_elapsed(now))
        self._schedule_requote(now)

    @handles(RequoteDue)
    def _on_requote_due(self, message: RequoteDue) -> None:
        if self.session.state == MakerState.DONE:
            return
        now = self.clock.now_ns()
        self._send_all(self.session.requote(now))
        self._schedule_requote(now)

    @handles(BookUpdated)
    def _on_book(self, message: BookUpdated) -> None:
        self._send_all(self.session.on_book(message.book, self.clock.now_ns()))

    @handles(*_ORDER_EVENTS)
    def _on_order_event(self, message: Any) -> None:
        self._send_all(self.session.on_order_event(message, self.clock.now_ns()))

    @handles(StopSession)
    def _on_stop_session(self, message: StopSession) -> None:
        self.clock.cancel(self._requote_timer)
        self._send_all(self.session.stop(self.clock.now_ns(), message.reason))

    # -- queries (through a proxy) -------------------------------------------------
    def get_status(self) -> dict:
        return self.session.status()

    # -- helpers --------------------------------------------------------------------
    def _schedule_requote(self, now: int) -> None:
        self._requote_timer = self.timer(seconds(self.config.requote_interval_s), RequoteDue(ticker=self.ticker, ts=now))

    def _send_all(self, commands: list) -> None:
        for command in commands:
            self.send(self.order_sink, command)
