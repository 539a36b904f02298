"""Scanner actor shell: asks the REST client for open markets and announces its picks."""

from __future__ import annotations

from typing import Any

from actors._base import MmdActor, handles
from config import ScannerConfig
from messages import MarketSelected, RestReadCompleted, RestReadRequested, TimerFired
from mmd.clock import seconds

from ._selection import rank_markets

__all__ = ["ScannerActor"]

RETRY_AFTER_S = 5.0


class ScannerActor(MmdActor):
    """Requests go down to the REST client (tell, with reply_to); picks go up on the bus."""

    def __init__(self, *, clock, bus, tracker=None, config: ScannerConfig, rest: Any) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self.config = config
        self.rest = rest
        self.selected: list[str] = []
        self.requests = 0
        self.last_error = ""

    def on_start(self) -> None:
        if self.config.tickers:
            for ticker in self.config.tickers[: self.config.max_markets]:
                self._select(ticker, "configured in scanner.tickers")
        else:
            self._request_markets()

    def _request_markets(self) -> None:
        self.requests += 1
        self.send(
            self.rest,
            RestReadRequested(
                request_id=f"scanner-markets-{self.requests}",
                path="/markets",
                query=(("status", self.config.status), ("limit", "1000")),
                reply_to=self.actor_ref,
                ts=self.clock.now_ns(),
                all_pages=True,
                list_key="markets",
            ),
        )

    def _select(self, ticker: str, reason: str) -> None:
        self.selected.append(ticker)
        self.log.info("selected %s: %s", ticker, reason)
        self.publish(MarketSelected(ticker=ticker, reason=reason, ts=self.clock.now_ns()))

    @handles(RestReadCompleted)
    def on_markets(self, reply: RestReadCompleted) -> None:
        if reply.status != 200 or not isinstance(reply.body, dict):
            self.last_error = f"GET /markets failed: {reply.status} {reply.error}"
            self.log.warning("%s; retrying in %.0f s", self.last_error, RETRY_AFTER_S)
            self.timer(seconds(RETRY_AFTER_S), TimerFired(what="rescan", ts=self.clock.now_ns()))
            return
        picks = rank_markets(reply.body.get("markets", []), self.config.max_markets)
        if not picks:
            self.last_error = "no open binary market passed selection"
            self.log.warning("%s; retrying in %.0f s", self.last_error, RETRY_AFTER_S)
            self.timer(seconds(RETRY_AFTER_S), TimerFired(what="rescan", ts=self.clock.now_ns()))
            return
        for pick in picks:
            if pick.ticker not in self.selected:
                self._select(pick.ticker, pick.reason)

    @handles(TimerFired)
    def on_timer(self, timer: TimerFired) -> None:
        if timer.what == "rescan" and len(self.selected) < self.config.max_markets:
            self._request_markets()

    def get_status(self) -> dict:
        return {"selected": list(self.selected), "requests": self.requests, "last_error": self.last_error}
