"""The reference-venue poller: GETs a Polymarket-shaped book per market on a timer and
publishes `ReferencePriceUpdated` (seed 003's external fair-value signal).

Direction: nothing is asked of this actor but get_status(); results go up on the bus.
The blocking GET runs on `executor` (a thread pool, live); the worker only posts
`ReferenceFetched` back, and the actor decodes and publishes on its own thread. With no
executor the fetch runs inline (replay: deterministic; the fetcher is then in-process).
At most one fetch per token is in flight: a slow venue is skipped, not queued up.
A bad answer (HTTP error, malformed body) is counted and logged as a warning; the last
good price simply ages, and the fair-value blend gives a stale one weight 0.
"""

from __future__ import annotations

import threading
from concurrent.futures import Executor
from typing import Any, Callable, Mapping

import requests

from actors._base import MmdActor, handles
from config import ConfigError, FeedsConfig, reference_token_map
from messages import JsonValue, Message, freeze_json, message
from kernel.bus import post
from kernel.clock import seconds

from ._decode import FeedDecodeError, decode_polymarket_book
from ._venues import POLYMARKET_BOOK_PATH

__all__ = ["ReferencePollerActor", "ReferencePollDue", "ReferenceFetched", "HttpReferenceFetcher", "InProcessReferenceFetcher", "parse_token_map"]

Fetch = Callable[[str], tuple[int, Any]]  # token_id -> (HTTP status, decoded JSON body)
_POLL = "poll"  # key of the ReferencePollDue timer


@message
class ReferencePollDue(Message):
    ts: int


@message
class ReferenceFetched(Message):
    """A worker's answer for one token (internal)."""

    ticker: str
    token_id: str
    status: int
    body: JsonValue  # frozen as the worker builds it (messages._json)
    error: str
    ts_recv: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "body", freeze_json(self.body))


class HttpReferenceFetcher:
    """GET {base_url}{path}?token_id=... from worker threads: the simulator's
    /reference/polymarket/book by default; Polymarket's CLOB is {root}/book (FeedVenues).

    Each worker thread gets its own requests.Session (a Session is not documented as
    thread-safe)."""

    def __init__(self, base_url: str, timeout_s: float, path: str = POLYMARKET_BOOK_PATH) -> None:
        self.url = base_url.rstrip("/") + path
        self.timeout_s = timeout_s
        self._local = threading.local()

    def __call__(self, token_id: str) -> tuple[int, Any]:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        response = session.get(self.url, params={"token_id": token_id}, timeout=self.timeout_s)
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text[:200]}
        return response.status_code, body


class InProcessReferenceFetcher:
    """Replay: ask the simulator's reference venue in process (simex ReferenceFeeds'
    handle_rest(path, query) -> (status, body)); use with executor=None."""

    def __init__(self, handle_rest: Callable[[str, dict], tuple[int, Any]], path: str = POLYMARKET_BOOK_PATH) -> None:
        self.handle_rest = handle_rest
        self.path = path

    def __call__(self, token_id: str) -> tuple[int, Any]:
        return self.handle_rest(self.path, {"token_id": token_id})


def parse_token_map(pairs: tuple[str, ...]) -> dict[str, str]:
    """feeds.reference_tokens ("TICKER=token_id", ...) -> {ticker: token_id}. A bad entry
    is a config error (every one listed), so startup fails with one clear line each
    (config validation refuses them first; this guards a config built without loading)."""
    tokens, problems = reference_token_map(pairs)
    if problems:
        raise ConfigError(problems)
    return tokens


class ReferencePollerActor(MmdActor):
    def __init__(
        self,
        *,
        clock: Any,
        bus: Any,
        tracker: Any = None,
        config: FeedsConfig,
        tokens: Mapping[str, str],  # Kalshi ticker -> reference token id
        fetch: Fetch,
        executor: Executor | None = None,
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self.config = config
        self.tokens = dict(sorted(tokens.items()))  # poll in ticker order: replays repeat
        self.fetch = fetch
        self.executor = executor
        self._in_flight: set[str] = set()
        self.polls = 0
        self.published = 0

    def on_start(self) -> None:
        now = self.clock.now_ns()
        self.timers.arm_at(_POLL, now, ReferencePollDue(ts=now))

    def on_stop(self) -> None:
        self.timers.cancel_all()
        if self.tracker is not None and self._in_flight and self.executor is not None:
            self.tracker.done(len(self._in_flight))  # their answers will never be handled
        self._in_flight.clear()

    @handles(ReferencePollDue)
    def on_poll_due(self, due: ReferencePollDue) -> None:
        if not self.timers.fired(_POLL, due):
            return
        now = self.clock.now_ns()
        self.timers.arm_in(_POLL, seconds(self.config.reference_poll_s), ReferencePollDue(ts=now))
        for ticker, token in self.tokens.items():
            if ticker in self._in_flight:
                self.errors["skipped_in_flight"] += 1
                continue
            self.polls += 1
            self._in_flight.add(ticker)
            if self.executor is None:
                self.on_fetched(_fetch_once(self.fetch, ticker, token, self.clock))
                continue
            if self.tracker is not None:
                self.tracker.sent()  # the GET counts as in flight until its answer is handled
            self.executor.submit(_run_on_worker, self.fetch, ticker, token, self.clock, self.actor_ref, self.tracker)

    @handles(ReferenceFetched)
    def on_fetched(self, done: ReferenceFetched) -> None:
        if done.ticker in self._in_flight:
            self._in_flight.discard(done.ticker)
            if self.executor is not None and self.tracker is not None:
                self.tracker.done()
        if done.error:
            self._bad(done, done.error)
            return
        if done.status != 200:
            self._bad(done, f"HTTP {done.status}: {str(done.body)[:200]}")
            return
        try:
            update = decode_polymarket_book(
                done.body, ticker=done.ticker, source=self.config.reference_source, ts_recv=done.ts_recv
            )
        except FeedDecodeError as exc:
            self._bad(done, f"bad book: {exc}")
            return
        self.published += 1
        self.publish(update)

    def _bad(self, done: ReferenceFetched, why: str) -> None:
        self.errors["bad_answer"] += 1
        self.log.warning("reference %s (token %s): %s", done.ticker, done.token_id, why)

    def get_status(self) -> dict:
        return {
            "tokens": dict(self.tokens),
            "polls": self.polls,
            "published": self.published,
            "in_flight": sorted(self._in_flight),
            "errors": dict(self.errors),
        }


def _fetch_once(fetch: Fetch, ticker: str, token: str, clock: Any) -> ReferenceFetched:
    try:
        status, body = fetch(token)
        error = ""
    except Exception as exc:  # every failure goes back to the actor as data
        status, body, error = 0, None, f"{type(exc).__name__}: {exc}"
    return ReferenceFetched(ticker=ticker, token_id=token, status=status, body=body, error=error, ts_recv=clock.now_ns())


def _run_on_worker(fetch: Fetch, ticker: str, token: str, clock: Any, actor_ref: Any, tracker: Any) -> None:
    """Worker thread body: one GET, then post the answer. Touches no actor state."""
    post(actor_ref, _fetch_once(fetch, ticker, token, clock), tracker)
