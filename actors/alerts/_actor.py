"""Alerts actor shell: bus events and its timers into AlertsCore; each PostAlert logged and
handed to the webhook sender's queue (never posted from this thread). Never publishes,
never asks anyone. Without a webhook URL alerts are logged only.
"""

from __future__ import annotations

from typing import Any

from actors._base import MmdActor, handles

from ._core import SUBSCRIBED, AlertRules, AlertsCore, PostAlert, timer_key
from ._timers import AlertFlushDue, FeedDownDue, NoFillsDue
from ._webhook import WebhookSender

__all__ = ["AlertsActor"]


class AlertsActor(MmdActor):
    subscriptions = SUBSCRIBED

    def __init__(
        self,
        *,
        clock,
        bus,
        tracker=None,
        rules: AlertRules,
        webhook_url: str = "",
        webhook_format: str = "auto",
        timeout_s: float = 3.0,
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self.core = AlertsCore(rules)
        self.sender = WebhookSender(webhook_url, fmt=webhook_format, timeout_s=timeout_s) if webhook_url else None
        self.alerts_posted = 0

    def on_start(self) -> None:
        if self.sender is None:
            self.log.info("no alert webhook configured: alerts are logged only")
            return
        self.sender.start()
        self.log.info("alerts go to %s (%s format)", self.sender.masked_url, self.sender.format)

    def on_stop(self) -> None:
        self.timers.cancel_all()
        if self.sender is not None:
            self.sender.stop(wait_s=self.sender.timeout_s + 1.0)  # the last alerts (a kill switch at shutdown)

    @handles(*SUBSCRIBED)
    def on_event(self, event: Any) -> None:
        self.carry_out(self.core.on_message(event, self.clock.now_ns()))

    @handles(FeedDownDue, NoFillsDue, AlertFlushDue)
    def on_due(self, due: Any) -> None:
        if self.timers.fired(timer_key(due), due):
            self.carry_out(self.core.on_message(due, self.clock.now_ns()))

    def on_effect(self, effect: Any) -> None:
        if not isinstance(effect, PostAlert):
            super().on_effect(effect)
            return
        self.alerts_posted += 1
        self.log.warning("ALERT %s", effect.text)
        if self.sender is not None:
            self.sender.submit(effect.text)

    # -- composition layer and tests (ask / proxy) -----------------------------------
    def get_status(self) -> dict[str, Any]:
        return {
            "alerts": self.alerts_posted,
            "webhook": self.sender.stats() if self.sender is not None else None,
            "timers": self.timers.keys(),
            "errors": dict(self.errors),
        }
