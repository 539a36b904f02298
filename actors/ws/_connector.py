"""The socket under the WS connection actor: live (websocket-client) or loopback (replay).

A connector's threads never touch actor state. The live one posts FrameReceived,
FeedConnected and FeedDisconnected to the actor; the loopback one hands frames to the
replay harness's `deliver`, which queues them and posts them itself later.

Logging: every close of the live socket is handled (the actor reconnects and says so in
its own words, at WARNING/INFO), so websocket-client's own "<reason> - goodbye" ERROR for
it is demoted to DEBUG: log-based alerting must not page on a routine reconnect.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Protocol
from urllib.parse import urlsplit

import websocket

from messages import FeedConnected, FeedDisconnected, FrameReceived
from kernel.bus import post
from kalshi.auth import Signer

__all__ = ["WebSocketConnector", "LiveConnector", "LoopbackConnector"]

LIBRARY_LOGGER = "websocket"  # websocket-client's logger


class _HandledCloseFilter(logging.Filter):
    """websocket-client logs ERROR "<reason> - goodbye" whenever run_forever ends on a
    closed or lost socket; with reconnect=0 that is every close, and every close is handled
    by the actor. Demote it to DEBUG (dropped unless the library logger is at DEBUG); any
    other library error (a failing callback) stays an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and record.getMessage().endswith(" - goodbye"):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(LIBRARY_LOGGER).isEnabledFor(logging.DEBUG)
        return True


def _demote_library_goodbyes() -> None:
    library = logging.getLogger(LIBRARY_LOGGER)
    if not any(isinstance(f, _HandledCloseFilter) for f in library.filters):
        library.addFilter(_HandledCloseFilter())


class WebSocketConnector(Protocol):
    def connect(self) -> bool:
        """Open (or reopen) the connection. True when it is open on return (in-process);
        False when the open will be reported later by a FeedConnected message."""
        ...

    def send(self, text: str) -> None: ...

    def close(self) -> None: ...

    @property
    def last_heartbeat_ns(self) -> int | None:
        """When the last ping/pong was seen; None when the transport has no keepalive."""
        ...


class LiveConnector:
    """websocket-client WebSocketApp on its own daemon thread, one per (re)connect."""

    def __init__(
        self, url: str, signer: Signer | None, clock: Any, target_ref: Any, tracker: Any, ping_interval_s: float
    ) -> None:
        self._url = url
        self._signer = signer
        self._clock = clock
        self._target = target_ref
        self._tracker = tracker
        self._ping_interval_s = ping_interval_s
        self._lock = threading.Lock()
        self._app: websocket.WebSocketApp | None = None
        self._last_heartbeat_ns: int | None = None
        _demote_library_goodbyes()

    @property
    def last_heartbeat_ns(self) -> int | None:
        return self._last_heartbeat_ns  # one int written by the socket thread: atomic

    def _headers(self) -> dict[str, str]:
        if self._signer is None:
            return {}
        # fresh timestamp on every (re)connect; signs GET + /trade-api/ws/v2 (no query)
        return self._signer.headers(self._clock.now_ns() // 1_000_000, "GET", urlsplit(self._url).path)

    def connect(self) -> bool:
        self.close()
        self._last_heartbeat_ns = self._clock.now_ns()  # the liveness window starts now
        app = websocket.WebSocketApp(
            self._url,
            header=self._headers(),
            on_open=lambda a: self._post_if_current(a, FeedConnected(ts_recv=self._clock.now_ns())),
            on_message=self._on_message,
            on_error=lambda a, exc: self._post_if_current(
                a, FeedDisconnected(reason=f"error: {type(exc).__name__}: {exc}", ts_recv=self._clock.now_ns())
            ),
            on_close=lambda a, code, text: self._post_if_current(
                a, FeedDisconnected(reason=f"closed: {code} {text or ''}".strip(), ts_recv=self._clock.now_ns())
            ),
            on_ping=self._on_heartbeat,
            on_pong=self._on_heartbeat,
        )
        with self._lock:
            self._app = app
        # the library answers server pings itself; reconnect=0: the actor owns reconnecting
        thread = threading.Thread(
            target=app.run_forever,
            kwargs={"ping_interval": self._ping_interval_s, "ping_timeout": self._ping_interval_s / 2, "reconnect": 0},
            name="mmd-ws-reader",
            daemon=True,
        )
        thread.start()
        return False

    def _is_current(self, app: Any) -> bool:
        with self._lock:
            return app is self._app

    def _post_if_current(self, app: Any, msg: Any) -> None:
        # callbacks from a superseded socket (closing after a reconnect) must not be taken
        # for news about the current one
        if self._is_current(app):
            post(self._target, msg, self._tracker)

    def _on_message(self, app: Any, data: str | bytes) -> None:
        ts_recv = self._clock.now_ns()
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
        self._post_if_current(app, FrameReceived(text=text, ts_recv=ts_recv))

    def _on_heartbeat(self, app: Any, _payload: Any) -> None:
        if self._is_current(app):
            self._last_heartbeat_ns = self._clock.now_ns()

    def send(self, text: str) -> None:
        with self._lock:
            app = self._app
        if app is None:
            raise ConnectionError("websocket is not connected")
        app.send(text)

    def close(self) -> None:
        with self._lock:
            app, self._app = self._app, None
        if app is not None:
            app.close()


class LoopbackConnector:
    """In-process session on a simulated exchange. Frames go to `deliver` (the replay
    harness queues them and posts FrameReceived later): never straight into the actor."""

    def __init__(self, exchange: Any, account_id: str, deliver: Callable[[str], None]) -> None:
        self._exchange = exchange
        self._account_id = account_id
        self._deliver = deliver
        self._session: Any = None

    @property
    def last_heartbeat_ns(self) -> int | None:
        return None  # no pings in process: liveness is not checked

    def connect(self) -> bool:
        self.close()
        self._session = self._exchange.open_session(self._account_id, send=self._deliver)
        return True

    def send(self, text: str) -> None:
        if self._session is None:
            raise ConnectionError("loopback session is not open")
        self._session.receive(text)

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and hasattr(session, "close"):
            session.close()
