"""Kalshi's public market data over HTTPS, unsigned: a market and its trades, page by page.

Every request (retries included) waits its turn at `rate_per_s`, spaced evenly; 429, 408,
5xx and dropped connections are retried with exponential backoff (the REST client's
tenacity policy, actors/rest/_client.py). Time and sleep are injected: tests pace and back
off on a fake clock. Everything that goes wrong ends as a `FetchError`, one line.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Mapping
from urllib.parse import quote

from actors.rest import HttpTransport, KalshiRestClient, RestError, Transport, TransportError
from kalshi.wire import ns_from_rfc3339

from .datafetch_tape import MalformedReply

__all__ = ["FetchError", "RequestPacer", "PublicMarketData", "DEFAULT_RATE_PER_S", "MAX_PAGE_SIZE"]

DEFAULT_RATE_PER_S = 5.0  # a quarter of the Basic tier's 20 reads/s (kalshi-api.md 8)
MAX_PAGE_SIZE = 1000  # GET /markets/trades `limit` is 1..1000
MAX_ATTEMPTS = 6
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 30.0
TIMEOUT_S = 20.0
NS_PER_S = 1_000_000_000


class FetchError(Exception):
    """A fetch that cannot go on: bad input, an unknown market, the network, a bad reply.

    resumable: the failure may pass (network, 429, 5xx after the retries): the pages
    fetched so far are worth keeping for the next run."""

    def __init__(self, message: str, resumable: bool = False) -> None:
        super().__init__(message)
        self.resumable = resumable


def _one_line(text: object, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class RequestPacer:
    """Request starts at least 1/rate_per_s apart, on an injected monotonic clock."""

    def __init__(self, rate_per_s: float, monotonic_ns: Callable[[], int], sleep: Callable[[float], None]) -> None:
        if not rate_per_s > 0:
            raise ValueError(f"rate must be above 0 requests/s, got {rate_per_s}")
        self.interval_ns = math.ceil(NS_PER_S / rate_per_s)  # rounded up: never one request too many
        self._now = monotonic_ns
        self._sleep = sleep
        self._next_ns: int | None = None

    def wait_turn(self) -> None:
        now = self._now()
        while self._next_ns is not None and now < self._next_ns:
            self._sleep((self._next_ns - now) / NS_PER_S)
            now = self._now()
        self._next_ns = now + self.interval_ns


class _PacedTransport:
    def __init__(self, inner: Transport, pacer: RequestPacer) -> None:
        self._inner = inner
        self._pacer = pacer

    def request(self, method: str, path: str, query: Mapping[str, Any] | None = None,
                body: Mapping[str, Any] | None = None) -> tuple[int, dict]:
        self._pacer.wait_turn()
        return self._inner.request(method, path, query, body)


def _not_json(payload: dict) -> str | None:
    """HttpTransport wraps a 2xx body that is not a JSON object as error http_2xx: its text."""
    error = payload.get("error")
    if isinstance(error, dict) and str(error.get("code", "")).startswith("http_2"):
        return str(error.get("message", ""))
    return None


class PublicMarketData:
    """GET /markets/{ticker} and GET /markets/trades, no credentials."""

    def __init__(self, base_url: str, *, rate_per_s: float = DEFAULT_RATE_PER_S,
                 monotonic_ns: Callable[[], int] = time.monotonic_ns, sleep: Callable[[float], None] = time.sleep,
                 transport: Transport | None = None, max_attempts: int = MAX_ATTEMPTS,
                 backoff_base_s: float = BACKOFF_BASE_S, backoff_cap_s: float = BACKOFF_CAP_S,
                 timeout_s: float = TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        inner = transport or HttpTransport(self.base_url, signer=None, timeout_s=timeout_s, now_ms=lambda: 0)
        self._client = KalshiRestClient(_PacedTransport(inner, RequestPacer(rate_per_s, monotonic_ns, sleep)),
                                        max_attempts=max_attempts, backoff_base_s=backoff_base_s,
                                        backoff_cap_s=backoff_cap_s, sleep=sleep)

    @property
    def requests_made(self) -> int:
        return self._client.stats()["requests"]

    def _get(self, path: str, query: dict | None, what: str, not_found: str | None = None) -> dict:
        try:
            payload = self._client.get(path, query)
        except TransportError as exc:
            raise FetchError(f"{what}: cannot reach {self.base_url} ({_one_line(exc.__cause__ or exc)})",
                             resumable=True) from None
        except RestError as exc:
            if exc.status == 404 and not_found is not None:
                raise FetchError(not_found) from None
            tried = f" after {self._client.max_attempts} attempts" if exc.retryable else ""
            raise FetchError(f"{what}: {self.base_url} answered HTTP {exc.status} {exc.code}{tried}: "
                             f"{_one_line(exc.message)}", resumable=exc.retryable) from None
        text = _not_json(payload)
        if text is not None:
            raise FetchError(f"{what}: malformed reply from {self.base_url}: not a JSON object: {_one_line(text, 80)!r}")
        return payload

    def market(self, ticker: str) -> dict:
        """The market's JSON; FetchError when the exchange does not list it."""
        what = f"market {ticker}"
        hint = ("a market settled before Kalshi's historical cutoff, about 3 months back, is only in its "
                "historical API, which mmd data fetch does not read")
        if not self.base_url.endswith("/trade-api/v2"):
            hint = "is the URL Kalshi's REST root, ending in /trade-api/v2?"
        payload = self._get(f"/markets/{quote(ticker, safe='')}", None, what,
                            not_found=f"unknown market {ticker}: {self.base_url} has no such ticker (HTTP 404; {hint})")
        market = payload.get("market")
        if not isinstance(market, dict) or market.get("ticker") != ticker or not isinstance(market.get("status"), str):
            raise FetchError(f"{what}: malformed reply from {self.base_url}: no market object for {ticker}")
        return market

    def trades_cutoff(self) -> int | None:
        """Unix second before which Kalshi serves trades only from its historical API
        (GET /historical/cutoff `trades_created_ts`); None when the exchange has no such cutoff."""
        try:
            payload = self._get("/historical/cutoff", None, "historical cutoff", not_found="none")
        except FetchError:
            return None  # not served (mmd sim) or unreadable: nothing to warn about
        value = payload.get("trades_created_ts")
        if isinstance(value, int) and not isinstance(value, bool):
            return value // 1000 if value > 10**11 else value  # seconds, or milliseconds
        if isinstance(value, str):
            try:
                return ns_from_rfc3339(value) // NS_PER_S
            except ValueError:
                return None
        return None

    def trades_page(self, ticker: str, *, cursor: str | None, min_ts: int | None, max_ts: int | None,
                    limit: int) -> tuple[list, str]:
        """One page, newest first: (raw trades, cursor of the next page, "" after the last)."""
        query = {"ticker": ticker, "limit": limit, "cursor": cursor or None, "min_ts": min_ts, "max_ts": max_ts}
        payload = self._get("/markets/trades", query, f"trades of {ticker}")
        trades = payload.get("trades", "absent")
        if trades is None:
            trades = []  # an empty list may come as null
        next_cursor = payload.get("cursor")  # "" or null: no next page
        if not isinstance(trades, list) or not (next_cursor is None or isinstance(next_cursor, str)):
            raise MalformedReply(f"trades of {ticker}: malformed reply from {self.base_url}: "
                                 f"expected {{trades: [...], cursor: \"...\"}}, got {_one_line(payload, 80)}")
        return trades, next_cursor or ""
