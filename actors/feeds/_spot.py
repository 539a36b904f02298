"""The spot WebSocket client: one actor per symbol reading a Binance-shaped bookTicker
stream and publishing `SpotPriceUpdated` (seed 004's underlying for N(d2)).

The socket lives on a websocket-client reader thread that only stamps ts_recv and posts
`SpotFrame` / `SpotConnected` / `SpotDisconnected` to the actor, tagged with the
connection's generation: news from a superseded socket (one still closing after a
reconnect) is ignored. The actor owns reconnecting, on a timer, with exponential backoff
from spot_reconnect_base_s to spot_reconnect_cap_s, reset by the first good frame.
A malformed frame is counted and logged as a warning; it never stops the actor.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Protocol

import websocket

from actors._base import MmdActor, handles
from config import FeedsConfig
from messages import Message, message
from kernel.bus import post
from kernel.clock import seconds

from ._decode import FeedDecodeError, decode_book_ticker
from ._venues import BINANCE_WS_PREFIX

__all__ = [
    "SpotFeedActor",
    "SpotFrame",
    "SpotConnected",
    "SpotDisconnected",
    "SpotReconnectDue",
    "LiveSpotConnector",
    "spot_stream_url",
]

def spot_stream_url(base_ws_url: str, symbol: str, prefix: str = BINANCE_WS_PREFIX) -> str:
    """ws://host:port + /reference/binance/ws/<symbol lower>@bookTicker (the simulator's;
    Binance's own streams are under /ws/, see FeedVenues)."""
    return base_ws_url.rstrip("/") + prefix + symbol.lower() + "@bookTicker"


@message
class SpotFrame(Message):
    generation: int
    text: str
    ts_recv: int


@message
class SpotConnected(Message):
    generation: int
    ts_recv: int


@message
class SpotDisconnected(Message):
    generation: int
    reason: str
    ts_recv: int


@message
class SpotReconnectDue(Message):
    ts: int


class SpotConnector(Protocol):
    def connect(self, generation: int) -> None: ...

    def close(self) -> None: ...


class LiveSpotConnector:
    """websocket-client WebSocketApp on its own daemon thread, one per (re)connect."""

    def __init__(self, url: str, clock: Any, target_ref: Any, tracker: Any) -> None:
        self.url = url
        self._clock = clock
        self._target = target_ref
        self._tracker = tracker
        self._lock = threading.Lock()
        self._app: websocket.WebSocketApp | None = None

    def connect(self, generation: int) -> None:
        self.close()

        def tell(msg: Message) -> None:
            post(self._target, msg, self._tracker)

        app = websocket.WebSocketApp(
            self.url,
            on_open=lambda a: tell(SpotConnected(generation=generation, ts_recv=self._clock.now_ns())),
            on_message=lambda a, data: tell(
                SpotFrame(
                    generation=generation,
                    text=data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data,
                    ts_recv=self._clock.now_ns(),
                )
            ),
            on_error=lambda a, exc: tell(
                SpotDisconnected(generation=generation, reason=f"error: {type(exc).__name__}: {exc}", ts_recv=self._clock.now_ns())
            ),
            on_close=lambda a, code, text: tell(
                SpotDisconnected(generation=generation, reason=f"closed: {code} {text or ''}".strip(), ts_recv=self._clock.now_ns())
            ),
        )
        with self._lock:
            self._app = app
        # reconnect=0: the actor owns reconnecting
        threading.Thread(target=app.run_forever, kwargs={"reconnect": 0}, name="mmd-spot-reader", daemon=True).start()

    def close(self) -> None:
        with self._lock:
            app, self._app = self._app, None
        if app is not None:
            app.close()


ConnectorFactory = Callable[[str, Any, Any, Any], SpotConnector]  # (url, clock, actor_ref, tracker)
_RECONNECT = "reconnect"  # key of the SpotReconnectDue timer


class SpotFeedActor(MmdActor):
    def __init__(
        self,
        *,
        clock: Any,
        bus: Any,
        tracker: Any = None,
        config: FeedsConfig,
        symbol: str,
        url: str,
        connector_factory: ConnectorFactory = LiveSpotConnector,
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self.config = config
        self.symbol = symbol.upper()
        self.url = url
        self._connector_factory = connector_factory
        self._connector: SpotConnector | None = None
        self.generation = 0
        self.connected = False
        self.failures = 0  # consecutive disconnects without a good frame
        self.frames = 0
        self.published = 0
        self.last_price = None

    def on_start(self) -> None:
        self._connector = self._connector_factory(self.url, self.clock, self.actor_ref, self.tracker)
        self._connect()

    def on_stop(self) -> None:
        self.timers.cancel_all()
        if self._connector is not None:
            self.generation += 1  # whatever the closing socket still says is stale
            self._connector.close()

    def _connect(self) -> None:
        self.generation += 1
        self.connected = False
        assert self._connector is not None
        self._connector.connect(self.generation)

    def backoff_ns(self) -> int:
        delay = self.config.spot_reconnect_base_s * 2 ** max(self.failures - 1, 0)
        return seconds(min(delay, self.config.spot_reconnect_cap_s))

    @handles(SpotConnected)
    def on_connected(self, msg: SpotConnected) -> None:
        if msg.generation == self.generation:
            self.connected = True

    @handles(SpotDisconnected)
    def on_disconnected(self, msg: SpotDisconnected) -> None:
        if msg.generation != self.generation or self.timers.armed(_RECONNECT):  # one drop, reported twice
            return
        self.connected = False
        self.failures += 1
        self.log.warning("spot %s disconnected (%s); reconnecting", self.symbol, msg.reason)
        self.timers.arm_in(_RECONNECT, self.backoff_ns(), SpotReconnectDue(ts=self.clock.now_ns()))

    @handles(SpotReconnectDue)
    def on_reconnect_due(self, msg: SpotReconnectDue) -> None:
        if self.timers.fired(_RECONNECT, msg):
            self._connect()

    @handles(SpotFrame)
    def on_frame(self, frame: SpotFrame) -> None:
        if frame.generation != self.generation:
            return
        self.frames += 1
        try:
            update = decode_book_ticker(frame.text, ts_recv=frame.ts_recv, expect_symbol=self.symbol)
        except FeedDecodeError as exc:
            self.errors["bad_frame"] += 1
            self.log.warning("spot %s: bad frame: %s", self.symbol, exc)
            return
        self.failures = 0
        self.published += 1
        self.last_price = update.price
        self.publish(update)

    def get_status(self) -> dict:
        return {
            "symbol": self.symbol,
            "connected": self.connected,
            "frames": self.frames,
            "published": self.published,
            "last_price": None if self.last_price is None else str(self.last_price),
            "errors": dict(self.errors),
        }
