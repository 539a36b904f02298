"""How REST requests reach Kalshi: over HTTPS (live, demo, paper) or in-process (replay).

A transport does one request and reports the HTTP status and decoded JSON body. It never
retries and never interprets the body; that is the client's job. A failure that leaves
the outcome unknown (connection dropped, timeout) raises TransportError.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, Mapping, Protocol
from urllib.parse import urlsplit

import requests

from kalshi.auth import Signer

__all__ = ["Transport", "TransportError", "HttpTransport", "LoopbackTransport", "API_PREFIX"]

API_PREFIX = "/trade-api/v2"

Query = Mapping[str, Any]


class TransportError(Exception):
    """The request may or may not have reached the exchange: its outcome is unknown."""


class Transport(Protocol):
    def request(
        self, method: str, path: str, query: Query | None = None, body: Mapping[str, Any] | None = None
    ) -> tuple[int, dict]:
        """One request; `path` is relative to /trade-api/v2 (e.g. "/portfolio/events/orders")."""
        ...


def _wire_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _wire_query(query: Query | None) -> dict[str, str | list[str]]:
    """Query values as they travel in a URL: strings (a list = a repeated parameter),
    None dropped, booleans lower case."""
    out: dict[str, str | list[str]] = {}
    for key, value in (query or {}).items():
        if value is None:
            continue
        out[key] = [_wire_value(v) for v in value] if isinstance(value, list | tuple) else _wire_value(value)
    return out


def _as_object(payload: Any, status: int, text: str = "") -> dict:
    """Kalshi answers with JSON objects; anything else is wrapped so callers see a dict."""
    if isinstance(payload, dict):
        return payload
    if payload is None:
        return {} if not text else {"error": {"code": f"http_{status}", "message": text[:500]}}
    return {"error": {"code": f"http_{status}", "message": str(payload)[:500]}}


class HttpTransport:
    """HTTPS to Kalshi with signed headers. Called from worker threads only (it blocks).

    Each worker thread gets its own requests.Session: a Session is not documented as
    thread-safe, and its cookie jar and adapters are shared mutable state.
    """

    def __init__(
        self, base_url: str, signer: Signer | None, timeout_s: float, now_ms: Callable[[], int]
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._signer = signer
        self._timeout_s = timeout_s
        self._now_ms = now_ms
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["Accept"] = "application/json"
        return session

    def request(
        self, method: str, path: str, query: Query | None = None, body: Mapping[str, Any] | None = None
    ) -> tuple[int, dict]:
        url = self.base_url + path
        headers: dict[str, str] = {}
        if self._signer is not None:
            # signed path includes /trade-api/v2 (from base_url) and never the query string
            headers.update(self._signer.headers(self._now_ms(), method, urlsplit(url).path))
        try:
            response = self._session().request(
                method,
                url,
                params=_wire_query(query),
                json=dict(body) if body is not None else None,
                headers=headers,
                timeout=self._timeout_s,
            )
        except requests.RequestException as exc:
            raise TransportError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        text = response.text
        try:
            payload = response.json() if text.strip() else None
        except (ValueError, RecursionError):  # nested past the recursion limit: unreadable, like bad JSON
            return response.status_code, _as_object(None, response.status_code, text)
        return response.status_code, _as_object(payload, response.status_code, text)


class LoopbackTransport:
    """In-process calls into a simulated exchange (replay, tests).

    Requests and replies are copied as through a JSON round trip, so the client sees exactly
    what it would see over HTTP: strings in the query, no shared mutable objects, no Decimals.
    """

    def __init__(self, exchange: Any, account_id: str) -> None:
        self._exchange = exchange
        self._account_id = account_id

    def request(
        self, method: str, path: str, query: Query | None = None, body: Mapping[str, Any] | None = None
    ) -> tuple[int, dict]:
        wire_body = json_round_trip(dict(body)) if body is not None else None
        status, payload = self._exchange.handle_rest(
            method.upper(), API_PREFIX + path, _wire_query(query), wire_body, self._account_id
        )
        return int(status), _as_object(json_round_trip(payload), int(status))


_JSON_SCALARS = frozenset((str, int, float, bool, type(None)))


class _NotPlainJson(Exception):
    """A value the fast copy does not handle alike (a non-str key, a str or int subclass,
    a Decimal): the real round trip decides what it becomes, or raises."""


def json_round_trip(value: Any) -> Any:
    """`json.loads(json.dumps(value))`, without the text in between when `value` is plain
    JSON (dicts with str keys, lists, tuples, str/int/float/bool/None): fresh containers,
    tuples as lists, scalars shared (immutable). Anything else takes the real round trip."""
    try:
        return _plain_copy(value)
    except (_NotPlainJson, RecursionError):
        return json.loads(json.dumps(value))


def _plain_copy(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlainJson(key)
            out[key] = item if type(item) in _JSON_SCALARS else _plain_copy(item)
        return out
    if kind is list or kind is tuple:
        return [item if type(item) in _JSON_SCALARS else _plain_copy(item) for item in value]
    if kind in _JSON_SCALARS:
        return value
    raise _NotPlainJson(kind)
