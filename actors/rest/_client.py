"""Blocking Kalshi REST client: V2 orders, reads, pagination, retries, idempotent settlement.

Runs on worker threads (live) or inline in the REST actor (replay, where `sleep` is a
no-op). It keeps no trading state: each call is independent and thread-safe.

Retry policy (tenacity, exponential backoff with full jitter): 429, 408, 5xx and
transport failures are retried; any other 4xx is final. Order creation is retried only
with the same client_order_id, so a retry can never place a second order; when the
outcome stays unknown (connection dropped, 5xx, unreadable success body, or a 409
`order_already_exists` on a retry) it is settled by reading our orders back.

Every request is paid for by the thread's AttemptBudget (`paid_by`): live, the REST actor's
budget, which the first request of a call has paid when the call started, and which must
grant every further one (a retry, a read-back, a further page) before it leaves, after its
backoff; a request that timed out is reported to it (the exchange may charge it late).
Without one (replay, tools), a retry only sleeps its backoff.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterator, Mapping, Protocol

import tenacity

from messages import BookLevel, BookSide, Count, Price
from kalshi.wire import WireFormatError, format_count, format_price, ms_to_ns, parse_count

from kalshi.shapes import (
    Balance,
    ExchangeFill,
    ExchangeOrder,
    ExchangePosition,
    parse_balance,
    parse_fill,
    parse_levels,
    parse_order,
    parse_position,
    optional_text,
    text_field,
    writable_text,
    yes_leg_book,
)
from ._transport import Transport, TransportError

__all__ = [
    "KalshiRestClient",
    "RestError",
    "OrderOutcomeUnknown",
    "PlacedOrder",
    "AmendedOrder",
    "CancelledOrder",
    "CancelAllResult",
    "OrderBookLevels",
    "CreateItem",
    "AttemptBudget",
    "request_kind",
    "rest_error_from",
    "ORDERS_PATH",
]

ORDERS_PATH = "/portfolio/events/orders"  # V2 mutations
_SELF_TRADE_PREVENTION = "taker_at_cross"
_ZERO = Decimal(0)


class RestError(Exception):
    """Kalshi answered with an error status. `code` is Kalshi's (case-sensitive)."""

    def __init__(self, status: int, code: str, message: str, body: dict | None = None) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body if body is not None else {}

    @property
    def outcome_unknown(self) -> bool:
        """408 and 5xx: the exchange may or may not have acted (kalshi-api.md §3)."""
        return self.status == 408 or self.status >= 500

    @property
    def retryable(self) -> bool:
        return self.status == 429 or self.outcome_unknown


class OrderOutcomeUnknown(Exception):
    """A write whose outcome could not be settled, even by reading back."""

    def __init__(self, what: str, cause: BaseException, read_back_error: BaseException) -> None:
        super().__init__(f"{what}: outcome unknown ({cause}); read-back failed ({read_back_error})")
        self.cause = cause
        self.read_back_error = read_back_error


def rest_error_from(status: int, body: Mapping[str, Any]) -> RestError:
    """Read `error.code`, fall back to a top-level `code`; 429's body is a plain string."""
    error = body.get("error")
    code = message = ""
    if isinstance(error, Mapping):
        code = str(error.get("code") or "")
        message = str(error.get("message") or "")
        details = error.get("details")
        if details:
            message = f"{message} ({details})" if message else str(details)
    elif isinstance(error, str):
        message = error
    if not code:
        code = str(body.get("code") or "")
        message = message or str(body.get("message") or "")
        if body.get("details"):
            message = f"{message} ({body['details']})"
    if not code:
        code = "too_many_requests" if status == 429 else f"http_{status}"
    # an error's text is only shown and logged: a lone surrogate in it is escaped
    return RestError(status, writable_text(code), writable_text(message or f"HTTP {status}"), dict(body))


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order_id: str
    client_order_id: str
    filled: Count
    remaining: Count
    ts_event: int | None  # ns, from ts_ms
    read_back: bool = False  # True when settled by reading the order back


@dataclass(frozen=True, slots=True)
class AmendedOrder:
    order_id: str
    client_order_id: str  # the new one
    filled: Count
    remaining: Count
    ts_event: int | None
    read_back: bool = False


@dataclass(frozen=True, slots=True)
class CancelledOrder:
    order_id: str
    client_order_id: str
    reduced_by: Count
    ts_event: int | None


@dataclass(frozen=True, slots=True)
class CreateItem:
    """One order of a batch create (the same terms `create_order` takes)."""

    ticker: str
    side: BookSide
    price: Price
    count: Count
    client_order_id: str
    post_only: bool = True
    time_in_force: str = "good_till_canceled"
    reduce_only: bool = False


def _create_body(item: CreateItem) -> dict:
    return {
        "ticker": item.ticker,
        "side": item.side,
        "price": format_price(item.price),
        "count": format_count(item.count),
        "time_in_force": item.time_in_force,
        "self_trade_prevention_type": _SELF_TRADE_PREVENTION,
        "post_only": item.post_only,
        "reduce_only": item.reduce_only,
        "client_order_id": item.client_order_id,
    }


def _batch_replies(payload: Mapping[str, Any], n: int) -> list:
    """The per-item replies of a batch answer, one per item sent, in order."""
    replies = payload.get("orders")
    if not isinstance(replies, list) or len(replies) != n:
        raise WireFormatError(f"batch answer has {len(replies) if isinstance(replies, list) else 'no'} items for {n} sent")
    if not all(isinstance(r, Mapping) for r in replies):
        raise WireFormatError("batch answer item is not an object")
    return replies


@dataclass(frozen=True, slots=True)
class CancelAllResult:
    cancelled: int
    failed: int
    still_resting: int  # read back after cancelling: 0 means confirmed


@dataclass(frozen=True, slots=True)
class OrderBookLevels:
    ticker: str
    bids: tuple[BookLevel, ...]  # YES bids, descending
    asks: tuple[BookLevel, ...]  # YES asks (from NO bids), ascending


class AttemptBudget(Protocol):
    """Pays for the requests of one call, on its worker thread. `kind`: "read" (a GET),
    "cancel" (a DELETE) or "place" (a create or amend); `items`: the orders it carries."""

    def before(self, kind: str, items: int, backoff_s: float) -> None:
        """Return when the request may leave: `backoff_s` waited, and its cost paid."""

    def unanswered(self, kind: str, items: int) -> None:
        """The request got no answer (timed out, connection lost): it may still be charged."""


class _Unbudgeted:
    """No budget to ask (replay, tools): a retry only waits its backoff."""

    def __init__(self, sleep: Callable[[float], None]) -> None:
        self._sleep = sleep

    def before(self, kind: str, items: int, backoff_s: float) -> None:
        if backoff_s > 0:
            self._sleep(backoff_s)

    def unanswered(self, kind: str, items: int) -> None:
        pass


def request_kind(method: str, body: Mapping[str, Any] | None) -> tuple[str, int]:
    """(kind, items) of a request as the budget prices it (kalshi-api.md section 8)."""
    if method == "GET":
        return "read", 1
    orders = body.get("orders") if isinstance(body, Mapping) else None
    items = len(orders) if isinstance(orders, list) and orders else 1
    return ("cancel" if method == "DELETE" else "place"), items


class _Attempts:
    """How many times one logical call hit the transport (to tell a retry's 409), and
    whether any attempt's outcome was unknown: a write that timed out may have happened
    even when a later retry is refused (429, or any definite 4xx)."""

    __slots__ = ("count", "any_unknown")

    def __init__(self) -> None:
        self.count = 0
        self.any_unknown = False


class _AttemptNumber:
    """What tenacity's wait strategy reads of a retry state: the attempt that just failed."""

    __slots__ = ("attempt_number",)

    def __init__(self, attempt_number: int) -> None:
        self.attempt_number = attempt_number


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, TransportError) or (isinstance(exc, RestError) and exc.retryable)


def _ts_event(payload: Mapping[str, Any]) -> int | None:
    ts = payload.get("ts_ms")
    return ms_to_ns(ts) if isinstance(ts, int) and not isinstance(ts, bool) else None


def _reply_text(reply: Mapping[str, Any], key: str, sent: str) -> str:
    """The reply's `key` when it gives one, else what we sent. A reply's id ends up in
    an outcome message: anything but clean text there (a number, an array, a lone
    surrogate) is a WireFormatError, never passed on."""
    return optional_text(reply, key) or sent


def _count_field(payload: Mapping[str, Any], name: str) -> Decimal | None:
    """V2 responses name counts `x` or `x_fp`; both are count strings."""
    for key in (f"{name}_fp", name):
        if payload.get(key) is not None:
            return parse_count(payload[key], key)
    return None


class KalshiRestClient:
    def __init__(
        self,
        transport: Transport,
        *,
        max_attempts: int,
        backoff_base_s: float,
        backoff_cap_s: float,
        sleep: Callable[[float], None],  # time.sleep on worker threads; a no-op in replay
        page_limit: int = 200,
        batch_cancel_size: int = 20,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._transport = transport
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.page_limit = page_limit
        self.batch_cancel_size = batch_cancel_size
        self._wait = tenacity.wait_random_exponential(multiplier=backoff_base_s, max=backoff_cap_s)
        self._lock = threading.Lock()
        self._requests = 0
        self._retries = 0
        self._unbudgeted = _Unbudgeted(sleep)
        self._this_thread = threading.local()  # .budget: what pays for this thread's requests

    # -- plumbing -------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"requests": self._requests, "retries": self._retries}

    @contextmanager
    def paid_by(self, budget: AttemptBudget) -> Iterator[None]:
        """The calls this thread makes inside pay each request through `budget`."""
        self._this_thread.budget = budget
        try:
            yield
        finally:
            self._this_thread.budget = None

    def _budget(self) -> AttemptBudget:
        return getattr(self._this_thread, "budget", None) or self._unbudgeted

    def _call(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        attempts: _Attempts | None = None,
    ) -> dict:
        """One logical request with retries; returns the body of a 2xx answer."""
        tally = attempts if attempts is not None else _Attempts()
        budget = self._budget()
        kind, items = request_kind(method, body)

        def once() -> dict:
            tally.count += 1
            with self._lock:
                self._requests += 1
            try:
                status, payload = self._transport.request(method, path, query, body)
            except TransportError:
                tally.any_unknown = True
                budget.unanswered(kind, items)  # it may have arrived: charged there, late
                raise
            if 200 <= status < 300:  # create documents 201, 200 has been seen live
                return payload
            error = rest_error_from(status, payload)
            if error.outcome_unknown:
                tally.any_unknown = True
            raise error

        # tenacity's policy (stop after max_attempts, full-jitter exponential waits, retry
        # only _retryable failures, re-raise the last one) as a plain loop: a Retrying per
        # call cost more than the in-process exchange it called in replays. The wait is
        # still tenacity's own strategy, drawn where tenacity draws it (before the stop
        # check, so also after the last attempt): the random stream is consumed alike.
        # Every attempt, first or retry, is paid by the budget before it leaves.
        attempt = 1
        backoff_s = 0.0
        while True:
            budget.before(kind, items, backoff_s)
            try:
                return once()
            except BaseException as exc:
                if not _retryable(exc):
                    raise
                backoff_s = self._wait(_AttemptNumber(attempt))
                if attempt >= self.max_attempts:
                    raise
                with self._lock:
                    self._retries += 1
                attempt += 1

    # -- generic reads --------------------------------------------------------------
    def get(self, path: str, query: Mapping[str, Any] | None = None) -> dict:
        return self._call("GET", path, query)

    def get_all_pages(self, path: str, query: Mapping[str, Any] | None, list_key: str) -> list:
        """Follow `cursor` until it is "" or null; concatenate `list_key` of every page."""
        base = dict(query or {})
        base.setdefault("limit", self.page_limit)
        items: list = []
        seen: set[str] = set()
        cursor: str | None = None
        while True:
            page_query = dict(base, cursor=cursor) if cursor else base
            payload = self.get(path, page_query)
            page = payload.get(list_key)
            if page is None:
                page = []  # an empty list may be sent as null or left out
            if not isinstance(page, list):
                raise WireFormatError(f"{path}: {list_key} is not a list")
            items.extend(page)
            # the next page's query: an array would fail `in seen`, a lone surrogate the URL
            cursor = optional_text(payload, "cursor")
            if not cursor:
                return items
            if cursor in seen:  # a server bug must not become an endless loop
                raise WireFormatError(f"{path}: cursor {cursor!r} repeated")
            seen.add(cursor)

    # -- orders: writes -------------------------------------------------------------
    def create_order(
        self,
        ticker: str,
        side: BookSide,
        price: Price,
        count: Count,
        client_order_id: str,
        post_only: bool = True,
        time_in_force: str = "good_till_canceled",
        reduce_only: bool = False,
    ) -> PlacedOrder:
        body = _create_body(
            CreateItem(ticker, side, price, count, client_order_id, post_only, time_in_force, reduce_only)
        )
        attempts = _Attempts()
        try:
            payload = self._call("POST", ORDERS_PATH, body=body, attempts=attempts)
            return PlacedOrder(
                order_id=text_field(payload, "order_id"),
                client_order_id=payload.get("client_order_id") or client_order_id,
                filled=_count_field(payload, "fill_count") or _ZERO,
                remaining=self._required_count(payload, "remaining_count"),
                ts_event=_ts_event(payload),
            )
        except (TransportError, RestError, WireFormatError) as exc:
            if not self._outcome_unknown(exc, attempts):
                raise
            return self._settle_create(ticker, client_order_id, exc)

    def amend_order(
        self,
        order_id: str,
        ticker: str,
        side: BookSide,
        price: Price,
        count: Count,
        client_order_id: str,
        updated_client_order_id: str,
    ) -> AmendedOrder:
        """`count` is the new TOTAL (filled + desired remainder), not the new remainder."""
        body = {
            "ticker": ticker,
            "side": side,
            "price": format_price(price),
            "count": format_count(count),
            "client_order_id": client_order_id,
            "updated_client_order_id": updated_client_order_id,
        }
        attempts = _Attempts()
        try:
            payload = self._call("POST", f"{ORDERS_PATH}/{order_id}/amend", body=body, attempts=attempts)
            filled = _count_field(payload, "fill_count")
            remaining = _count_field(payload, "remaining_count")
            amended_id = _reply_text(payload, "order_id", order_id)
            amended_client_id = _reply_text(payload, "client_order_id", updated_client_order_id)
        except (TransportError, RestError, WireFormatError) as exc:
            # after a retry, a 4xx may only mean the first attempt already amended it
            if not (self._outcome_unknown(exc, attempts) or (isinstance(exc, RestError) and attempts.count > 1)):
                raise
            try:
                order = self.get_order(order_id)
            except (TransportError, RestError, WireFormatError) as read_exc:
                raise OrderOutcomeUnknown(f"amend {order_id}", exc, read_exc) from exc
            if order.client_order_id != updated_client_order_id:
                raise exc
            return self._amended_from(order, updated_client_order_id)
        if remaining is None:
            # a thin reply, or fill_count alone: that counts only what the amend itself filled
            # (amend-order-v2.md), not the order's running total, so `count - fill_count` is no
            # remainder (an order 4 of 7 filled, moved, replies 0). Ask the order itself.
            return self._amended_from(self.get_order(order_id), updated_client_order_id)
        return AmendedOrder(
            order_id=amended_id,
            client_order_id=amended_client_id,
            # without fill_count: what of the new total does not rest has filled (a running
            # total, at least the amend's own fills; the ledger takes the larger of both)
            filled=filled if filled is not None else count - remaining,
            remaining=remaining,
            ts_event=_ts_event(payload),
        )

    def cancel_order(self, order_id: str, ticker: str | None = None) -> CancelledOrder:
        query = {"market_ticker": ticker} if ticker else None
        payload = self._call("DELETE", f"{ORDERS_PATH}/{order_id}", query=query)
        return CancelledOrder(
            order_id=_reply_text(payload, "order_id", order_id),
            client_order_id=_reply_text(payload, "client_order_id", ""),
            reduced_by=_count_field(payload, "reduced_by") or _ZERO,
            ts_event=_ts_event(payload),
        )

    def batch_create(self, items: list[CreateItem]) -> list[PlacedOrder | BaseException]:
        """V2 batch create: one request, one outcome per item, in order (an item the
        exchange refused comes back as its RestError). Retried like a single create (the
        client ids make a retry safe); when the whole batch's outcome stays unknown, each
        item is settled by reading our orders back, as is an item a retry was refused as
        `order_already_exists` (an earlier attempt placed it). A batch refused as a whole (bad
        request, endpoint missing) is sent again one order at a time; a 429 is not (the
        budget is spent) and fails every item."""
        attempts = _Attempts()
        try:
            payload = self._call(
                "POST", f"{ORDERS_PATH}/batched", body={"orders": [_create_body(i) for i in items]}, attempts=attempts
            )
            replies = _batch_replies(payload, len(items))
        except (TransportError, RestError, WireFormatError) as exc:
            if self._outcome_unknown(exc, attempts):
                return [self._settled_or_error(item, exc) for item in items]
            if isinstance(exc, RestError) and exc.status != 429:
                return [self._create_or_error(item) for item in items]
            return [exc for _ in items]
        out: list[PlacedOrder | BaseException] = []
        for item, reply in zip(items, replies):
            if reply.get("error"):
                refused = rest_error_from(400, reply)
                if refused.code == "order_already_exists" and attempts.count > 1:
                    # on a retry, our own earlier attempt placed it (it timed out or failed
                    # 5xx after the exchange acted): it rests, read it back
                    out.append(self._settled_or_error(item, refused))
                else:
                    out.append(refused)
                continue
            try:
                out.append(
                    PlacedOrder(
                        order_id=text_field(reply, "order_id"),
                        client_order_id=reply.get("client_order_id") or item.client_order_id,
                        filled=_count_field(reply, "fill_count") or _ZERO,
                        remaining=self._required_count(reply, "remaining_count"),
                        ts_event=_ts_event(reply),
                    )
                )
            except WireFormatError as exc:  # placed or not: read it back
                out.append(self._settled_or_error(item, exc))
        return out

    def batch_cancel(self, orders: list[tuple[str, str | None]]) -> list[CancelledOrder | BaseException]:
        """V2 batch cancel of (order_id, ticker) pairs: one outcome per item, in order. A
        batch refused as a whole (not a 429) is sent again one cancel at a time."""
        body = {"orders": [{"order_id": oid, **({"market_ticker": t} if t else {})} for oid, t in orders]}
        try:
            replies = _batch_replies(self._call("DELETE", f"{ORDERS_PATH}/batched", body=body), len(orders))
        except RestError as exc:
            if exc.retryable:
                return [exc for _ in orders]
            return [self._cancel_or_error(oid, t) for oid, t in orders]
        except (TransportError, WireFormatError) as exc:
            return [exc for _ in orders]
        out: list[CancelledOrder | BaseException] = []
        for (order_id, _ticker), reply in zip(orders, replies):
            if reply.get("error"):
                out.append(rest_error_from(400, reply))
                continue
            try:
                cancelled = CancelledOrder(
                    order_id=_reply_text(reply, "order_id", order_id),
                    client_order_id=_reply_text(reply, "client_order_id", ""),
                    reduced_by=_count_field(reply, "reduced_by") or _ZERO,
                    ts_event=_ts_event(reply),
                )
            except WireFormatError as exc:
                out.append(exc)
                continue
            out.append(cancelled)
        return out

    def _settled_or_error(self, item: CreateItem, cause: BaseException) -> PlacedOrder | BaseException:
        try:
            return self._settle_create(item.ticker, item.client_order_id, cause)
        except (TransportError, RestError, WireFormatError, OrderOutcomeUnknown) as exc:
            return exc

    def _create_or_error(self, item: CreateItem) -> PlacedOrder | BaseException:
        try:
            return self.create_order(
                item.ticker, item.side, item.price, item.count, item.client_order_id,
                post_only=item.post_only, time_in_force=item.time_in_force, reduce_only=item.reduce_only,
            )  # fmt: skip
        except (TransportError, RestError, WireFormatError, OrderOutcomeUnknown) as exc:
            return exc

    def _cancel_or_error(self, order_id: str, ticker: str | None) -> CancelledOrder | BaseException:
        try:
            return self.cancel_order(order_id, ticker)
        except (TransportError, RestError, WireFormatError) as exc:
            return exc

    def cancel_all(self, ticker: str | None = None, client_order_prefix: str = "") -> CancelAllResult:
        """Cancel every resting order (optionally one market, optionally only those whose
        client order id has our prefix, sparing the account holder's own), then read back."""
        resting = self._resting(ticker, client_order_prefix)
        cancelled = failed = 0
        for start in range(0, len(resting), self.batch_cancel_size):
            chunk = resting[start : start + self.batch_cancel_size]
            try:
                payload = self._call(
                    "DELETE",
                    f"{ORDERS_PATH}/batched",
                    body={"orders": [{"order_id": o.order_id, "market_ticker": o.ticker} for o in chunk]},
                )
                results = payload.get("orders") or []
                ok = sum(1 for item in results if isinstance(item, Mapping) and not item.get("error"))
                cancelled += ok
                failed += len(chunk) - ok
            except RestError:
                # batch refused as a whole (unsupported, too large for the bucket): one by one
                for order in chunk:
                    try:
                        self.cancel_order(order.order_id, order.ticker)
                        cancelled += 1
                    except (RestError, TransportError, WireFormatError):
                        failed += 1
        still_resting = len(self._resting(ticker, client_order_prefix))
        return CancelAllResult(cancelled=cancelled, failed=failed, still_resting=still_resting)

    def _resting(self, ticker: str | None, client_order_prefix: str) -> list[ExchangeOrder]:
        orders = self.get_orders(status="resting", ticker=ticker)
        return [o for o in orders if o.client_order_id.startswith(client_order_prefix)]

    # -- orders: reads --------------------------------------------------------------
    def get_order(self, order_id: str) -> ExchangeOrder:
        payload = self.get(f"/portfolio/orders/{order_id}")
        order = payload.get("order")
        if not isinstance(order, Mapping):
            raise WireFormatError("order: missing")
        return parse_order(order)

    def get_orders(self, status: str | None = None, ticker: str | None = None) -> list[ExchangeOrder]:
        query = {k: v for k, v in (("status", status), ("ticker", ticker)) if v}
        return [parse_order(o) for o in self.get_all_pages("/portfolio/orders", query, "orders")]

    # -- market data ----------------------------------------------------------------
    def get_markets(self, status: str | None = "open") -> list[dict]:
        query = {"status": status, "limit": 1000} if status else {"limit": 1000}
        return self.get_all_pages("/markets", query, "markets")

    def get_market(self, ticker: str) -> dict:
        market = self.get(f"/markets/{ticker}").get("market")
        if not isinstance(market, dict):
            raise WireFormatError("market: missing")
        return market

    def get_orderbook(self, ticker: str, depth: int | None = None) -> OrderBookLevels:
        """REST books always quote the NO side at NO prices; converted to YES asks here."""
        payload = self.get(f"/markets/{ticker}/orderbook", {"depth": depth} if depth else None)
        book = payload.get("orderbook_fp")
        if not isinstance(book, Mapping):
            raise WireFormatError("orderbook_fp: missing")
        bids, asks = yes_leg_book(
            parse_levels(book.get("yes_dollars"), "yes_dollars"),
            parse_levels(book.get("no_dollars"), "no_dollars"),
            no_in_yes_prices=False,
        )
        return OrderBookLevels(ticker=ticker, bids=bids, asks=asks)

    # -- portfolio ------------------------------------------------------------------
    def get_balance(self) -> Balance:
        return parse_balance(self.get("/portfolio/balance"))

    def get_positions(self, ticker: str | None = None) -> list[ExchangePosition]:
        query = {"ticker": ticker} if ticker else {}
        return [parse_position(p) for p in self.get_all_pages("/portfolio/positions", query, "market_positions")]

    def get_fills(self, min_ts: int | None = None, ticker: str | None = None) -> list[ExchangeFill]:
        """Fills since `min_ts` (Unix seconds), all pages."""
        query = {k: v for k, v in (("min_ts", min_ts), ("ticker", ticker)) if v is not None}
        return [parse_fill(f) for f in self.get_all_pages("/portfolio/fills", query, "fills")]

    # -- settlement helpers ---------------------------------------------------------
    @staticmethod
    def _required_count(payload: Mapping[str, Any], name: str) -> Decimal:
        value = _count_field(payload, name)
        if value is None:
            raise WireFormatError(f"{name}: missing")
        return value

    @staticmethod
    def _outcome_unknown(exc: BaseException, attempts: _Attempts) -> bool:
        if isinstance(exc, TransportError | WireFormatError):
            return True  # dropped connection, or a success we could not read
        if attempts.any_unknown:
            return True  # an earlier attempt may have acted, whatever the last one was told
        assert isinstance(exc, RestError)
        return exc.outcome_unknown or (exc.code == "order_already_exists" and attempts.count > 1)

    def _settle_create(self, ticker: str, client_order_id: str, cause: BaseException) -> PlacedOrder:
        """Find the order by client_order_id. Not found = not placed (the original error).

        Hazard: a request still being processed when we read back is missed here and
        shows up later on user_orders with a client id the maker believes rejected.
        """
        try:
            ours = [o for o in self.get_orders(ticker=ticker) if o.client_order_id == client_order_id]
        except (TransportError, RestError, WireFormatError) as read_exc:
            raise OrderOutcomeUnknown(f"create {client_order_id}", cause, read_exc) from cause
        if not ours:
            raise cause
        order = ours[0]
        return PlacedOrder(
            order_id=order.order_id,
            client_order_id=client_order_id,
            filled=order.filled,
            remaining=order.remaining,
            ts_event=order.ts_event,
            read_back=True,
        )

    @staticmethod
    def _amended_from(order: ExchangeOrder, updated_client_order_id: str) -> AmendedOrder:
        return AmendedOrder(
            order_id=order.order_id,
            client_order_id=order.client_order_id or updated_client_order_id,
            filled=order.filled,
            remaining=order.remaining,
            ts_event=order.ts_event,
            read_back=True,
        )
