"""Posting alerts to a webhook, off the actor's thread.

Slack incoming webhooks take {"text": ...}, Discord webhooks {"content": ...}; the format
is set, or recognised by the URL's host ("auto").

Hazards:
- a webhook that hangs or fails must never hold up trading: the actor only queues (never
  blocks, a full queue drops and counts); one worker thread posts, with a short timeout,
  once per alert; a failing webhook is logged once per streak of failures, and again when
  it answers (the alert texts are in the log anyway: the actor logs each one);
- the URL is a secret (whoever has it can post to the channel): it is never logged whole,
  only its scheme and host (`mask_url`). requests' exceptions quote the URL in their
  text, so a failure is logged by its exception type or HTTP status only.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable
from urllib.parse import urlsplit

import requests

__all__ = ["WebhookSender", "mask_url", "webhook_format", "payload_for", "FORMATS"]

FORMATS = ("auto", "slack", "discord")
MAX_TEXT = 1900  # Discord refuses content over 2000 characters
_DISCORD_HOSTS = ("discord.com", "discordapp.com")
_STOP = object()

log = logging.getLogger("mmd.alerts.webhook")


def mask_url(url: str) -> str:
    """Scheme and host only: "https://hooks.slack.com/services/T/B/x" -> "https://hooks.slack.com/***"."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme or '?'}://{host}{port}/***"


def webhook_format(url: str, setting: str = "auto") -> str:
    """"slack" or "discord": the setting, or for "auto" the URL's host."""
    if setting in ("slack", "discord"):
        return setting
    host = (urlsplit(url).hostname or "").lower()
    return "discord" if any(host == h or host.endswith("." + h) for h in _DISCORD_HOSTS) else "slack"


def payload_for(text: str, fmt: str) -> dict[str, str]:
    text = text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
    return {"content": text} if fmt == "discord" else {"text": text}


class WebhookSender:
    def __init__(
        self,
        url: str,
        *,
        fmt: str = "auto",
        timeout_s: float = 3.0,
        max_queued: int = 64,
        post: Callable[..., Any] | None = None,
    ) -> None:
        self.url = url
        self.masked_url = mask_url(url)
        self.format = webhook_format(url, fmt)
        self.timeout_s = timeout_s
        self.max_queued = max_queued
        self._session = requests.Session() if post is None else None
        self._post = post if post is not None else self._session.post
        self._queue: queue.Queue = queue.Queue()  # bounded by max_queued in submit: the stop marker always fits
        self._thread = threading.Thread(target=self._run, name="alerts-webhook", daemon=True)
        self._stopped = False
        self.sent = self.failed = self.dropped = 0
        self._failing = 0  # failures in the current streak

    def start(self) -> "WebhookSender":
        self._thread.start()
        return self

    def submit(self, text: str) -> bool:
        """Queue one alert; never blocks. False when dropped (stopped, or the queue full)."""
        if self._stopped:
            return False
        if self._queue.qsize() >= self.max_queued:
            self.dropped += 1
            if self.dropped == 1:
                log.warning("webhook %s: %d alerts queued, dropping newer ones", self.masked_url, self.max_queued)
            return False
        self._queue.put_nowait(payload_for(text, self.format))
        return True

    def stop(self, wait_s: float = 5.0) -> None:
        """Post what is queued (for up to wait_s), then end the worker."""
        if self._stopped:
            return
        self._stopped = True
        self._queue.put_nowait(_STOP)
        if self._thread.is_alive():
            self._thread.join(timeout=wait_s)
        if self._session is not None:
            self._session.close()

    def stats(self) -> dict[str, Any]:
        return {
            "url": self.masked_url,
            "format": self.format,
            "sent": self.sent,
            "failed": self.failed,
            "dropped": self.dropped,
            "queued": self._queue.qsize(),
            "failing": self._failing > 0,
        }

    # -- the worker thread ------------------------------------------------------------
    def _run(self) -> None:
        while True:
            payload = self._queue.get()
            if payload is _STOP:
                return
            self._deliver(payload)

    def _deliver(self, payload: dict[str, str]) -> None:
        why = None
        try:
            response = self._post(self.url, json=payload, timeout=self.timeout_s)
            try:
                if not 200 <= response.status_code < 300:
                    why = f"HTTP {response.status_code}"
            finally:
                response.close()
        except Exception as exc:  # noqa: BLE001 - whatever happens here, alerts must not stop (str(exc) quotes the URL)
            why = type(exc).__name__
        if why is None:
            self.sent += 1
            if self._failing:
                log.info("webhook %s answering again after %d failed post(s)", self.masked_url, self._failing)
                self._failing = 0
            return
        self.failed += 1
        self._failing += 1
        if self._failing == 1:
            log.warning("webhook %s failing (%s): alerts stay in this log until it answers", self.masked_url, why)
