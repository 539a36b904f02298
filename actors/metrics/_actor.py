"""Metrics actor shell: every subscribed bus event into MetricsCore; the scrape endpoint
started in on_start and stopped in on_stop. Never publishes, never asks anyone.

A port that cannot be bound is logged and the daemon trades on without metrics:
monitoring must never stop trading (Prometheus then reports the target down).
"""

from __future__ import annotations

from typing import Any

from actors._base import MmdActor, handles

from ._core import SUBSCRIBED, MetricsCore
from ._http import LOOPBACK, MetricsHttpServer

__all__ = ["MetricsActor"]


class MetricsActor(MmdActor):
    subscriptions = SUBSCRIBED

    def __init__(self, *, clock, bus, tracker=None, port: int, max_markets: int = 64) -> None:
        """`port`: the loopback port to serve /metrics on (0: any free port, for tests)."""
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self.core = MetricsCore(max_markets=max_markets)
        self.server = MetricsHttpServer(self.core.registry, port, LOOPBACK)
        self.serving = False

    def on_start(self) -> None:
        try:
            self.server.start()
            self.serving = True
            self.log.info("metrics at %s", self.server.url)
        except OSError as exc:
            self.log.error("metrics port %d: cannot listen on %s (%s): metrics not served", self.server.port, LOOPBACK, exc)

    def on_stop(self) -> None:
        self.server.stop()
        self.serving = False

    @handles(*SUBSCRIBED)
    def on_event(self, event: Any) -> None:
        self.core.on_message(event, self.clock.now_ns())

    # -- composition layer and tests (ask / proxy) -----------------------------------
    def get_status(self) -> dict[str, Any]:
        return {
            "url": self.server.url if self.serving else None,
            "markets": len(self.core.markets.tickers()),
            "markets_evicted": self.core.markets.evicted,
            "errors": dict(self.errors),
        }
