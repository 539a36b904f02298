"""Alerts: webhook posts (Slack or Discord) for what an operator must hear about (SPEC 12)."""

from ._actor import AlertsActor
from ._core import FEED_DOWN, NO_FILLS, SUBSCRIBED, AlertRules, AlertsCore, AlertThrottle, PostAlert, timer_key
from ._timers import AlertFlushDue, FeedDownDue, NoFillsDue
from ._webhook import FORMATS, WebhookSender, mask_url, payload_for, webhook_format

__all__ = [
    "AlertsActor",
    "AlertsCore",
    "AlertRules",
    "AlertThrottle",
    "PostAlert",
    "SUBSCRIBED",
    "FEED_DOWN",
    "NO_FILLS",
    "timer_key",
    "AlertFlushDue",
    "FeedDownDue",
    "NoFillsDue",
    "WebhookSender",
    "FORMATS",
    "mask_url",
    "payload_for",
    "webhook_format",
]
