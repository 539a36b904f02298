"""The WS connection actor: one authenticated Kalshi WebSocket, its subscriptions,
sequence checking, liveness and reconnects.

Direction: SubscribeMarkets comes *down* as a tell; market data and our order/fill/
position events go *up* on the bus, with FeedHealthChanged and BookUntrusted. The socket
thread only posts FrameReceived / FeedConnected / FeedDisconnected to this actor.
Timers (reconnect backoff, liveness checks) come from the injected clock as messages.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from messages import (
    BookUntrusted,
    FeedConnected,
    FeedDisconnected,
    FeedHealthChanged,
    FrameReceived,
    HeartbeatCheckDue,
    SubscribeMarkets,
    TimerFired,
)
from kernel.clock import seconds

from actors._base import MmdActor, handles

from ._connector import WebSocketConnector
from ._decoder import BOOK_TYPES, CONTROL_TYPES, DecodedFrame, FeedDecoder, FrameDecodeError
from ._sequence import SequenceTracker

__all__ = ["WsConnectionActor", "PRIVATE_CHANNELS", "MARKET_CHANNELS", "RECONNECT_TIMER"]

# API channel names. Private channels take no market filter (all our markets);
# market_lifecycle_v2 does not support one at all.
PRIVATE_CHANNELS = ("fill", "user_orders", "market_positions", "market_lifecycle_v2")
MARKET_CHANNELS = ("orderbook_delta", "ticker", "trade")
RECONNECT_TIMER = "ws_reconnect"
_BOOK_CHANNEL = "orderbook_delta"
_TERMINAL_ERRORS = frozenset({10, 25})  # channel error, buffer overflow: resubscribe


@dataclass
class _MarketSubscription:
    """One market-data channel: its sid and the markets we believe the server has."""

    channel: str
    sid: int | None = None
    pending_id: int | None = None  # a subscribe awaiting its `subscribed` reply
    requested: tuple[str, ...] = ()
    server_tickers: set[str] = field(default_factory=set)

    def forget(self) -> None:
        self.sid, self.pending_id, self.requested = None, None, ()
        self.server_tickers.clear()


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


class WsConnectionActor(MmdActor):
    def __init__(
        self,
        *,
        clock: Any,
        bus: Any,
        tracker: Any,
        connector_factory: Callable[[Any], WebSocketConnector],
        reconnect_base_s: float = 0.5,
        reconnect_cap_s: float = 5.0,
        liveness_timeout_s: float = 30.0,
        use_yes_price: bool = False,
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self._connector_factory = connector_factory
        self._connector: WebSocketConnector | None = None
        self._reconnect_base_ns = seconds(reconnect_base_s)
        self._reconnect_cap_ns = seconds(reconnect_cap_s)
        self._liveness_ns = seconds(liveness_timeout_s)
        self._use_yes_price = use_yes_price
        self._decoder = FeedDecoder(no_prices_in_yes_leg=use_yes_price)
        self._sequence = SequenceTracker()
        self._tickers: dict[str, None] = {}  # tracked markets, insertion-ordered (replay order)
        self._market_subs = {channel: _MarketSubscription(channel) for channel in MARKET_CHANNELS}
        self._private_sids: dict[str, int] = {}
        self._next_command_id = 0
        self._connected = False
        self._healthy = False
        self._failed_attempts = 0
        self._reconnect_timer: Any = None
        self._heartbeat_timer: Any = None
        self._connected_at_ns: int | None = None
        self._connecting_since_ns: int | None = None  # an open in progress (async connectors)
        self._last_message_ns: int | None = None
        self._frames = 0
        self._malformed = 0
        self._reconnects = 0
        self._commands_sent = 0
        self._unknown_types: Counter[str] = Counter()
        self._unknown_fields: Counter[str] = Counter()
        self._server_errors: Counter[int | None] = Counter()

    # -- lifecycle ------------------------------------------------------------------
    def on_start(self) -> None:
        self._connector = self._connector_factory(self.actor_ref)
        self._open()

    def on_stop(self) -> None:
        self.clock.cancel(self._reconnect_timer)
        self.clock.cancel(self._heartbeat_timer)
        if self._connector is not None:
            self._connector.close()

    def _open(self) -> None:
        assert self._connector is not None
        try:
            opened = self._connector.connect()
        except Exception as exc:  # refused, DNS, loopback exchange down: retry with backoff
            self._lost(f"connect failed: {type(exc).__name__}: {exc}")
            return
        if opened:
            self.send(self.actor_ref, FeedConnected(ts_recv=self.clock.now_ns()))
        else:
            # hazard: a handshake that neither completes nor fails (blackholed TCP) would
            # leave us waiting forever; the liveness check gives up on it too
            self._connecting_since_ns = self.clock.now_ns()
            self._schedule_heartbeat_check()

    @handles(FeedConnected)
    def on_feed_connected(self, msg: FeedConnected) -> None:
        if self._connected:
            return
        self._connected = True
        self._connecting_since_ns = None
        self._failed_attempts = 0
        self._connected_at_ns = msg.ts_recv
        self._sequence.reset()  # sids are renumbered per connection
        for sub in self._market_subs.values():
            sub.forget()
        self._private_sids.clear()
        self._set_health(True, "connected")
        self._command("subscribe", {"channels": list(PRIVATE_CHANNELS)})
        self._reconcile_markets()
        self._schedule_heartbeat_check()

    @handles(FeedDisconnected)
    def on_feed_disconnected(self, msg: FeedDisconnected) -> None:
        self._lost(msg.reason)

    def _lost(self, reason: str) -> None:
        """The connection is gone (or never came): unhealthy, books untrusted, retry later."""
        now = self.clock.now_ns()
        was_connected, self._connected = self._connected, False
        self._connecting_since_ns = None
        self.clock.cancel(self._heartbeat_timer)
        self._heartbeat_timer = None
        self._set_health(False, reason)
        if was_connected:
            self.log.warning("websocket lost: %s", reason)
            for ticker in self._tickers:
                self.publish(BookUntrusted(ticker=ticker, reason=f"feed lost: {reason}", ts_recv=now))
        if self._reconnect_timer is None:  # error + close both report one loss
            delay = min(self._reconnect_cap_ns, self._reconnect_base_ns << min(self._failed_attempts, 32))
            self._failed_attempts += 1
            self._reconnect_timer = self.timer(delay, TimerFired(what=RECONNECT_TIMER, ts=now + delay))

    @handles(TimerFired)
    def on_timer_fired(self, msg: TimerFired) -> None:
        if msg.what != RECONNECT_TIMER:
            self.errors[f"unknown_timer:{msg.what}"] += 1
            return
        self._reconnect_timer = None
        if self._connected:
            return
        self._reconnects += 1
        self._open()

    @handles(HeartbeatCheckDue)
    def on_heartbeat_check_due(self, _msg: HeartbeatCheckDue) -> None:
        self._heartbeat_timer = None
        if self._connector is None:
            return
        now = self.clock.now_ns()
        if not self._connected:
            if self._connecting_since_ns is not None and now - self._connecting_since_ns > self._liveness_ns:
                self._connector.close()
                self._lost("connect timed out")
            elif self._connecting_since_ns is not None:
                self._schedule_heartbeat_check()
            return
        heartbeat = self._connector.last_heartbeat_ns
        if heartbeat is not None:  # None: an in-process connector without keepalive
            # pings count as life, so a quiet market is not mistaken for a dead feed
            last_alive = max(t for t in (heartbeat, self._last_message_ns, self._connected_at_ns) if t is not None)
            silent_ns = now - last_alive
            if silent_ns > self._liveness_ns:
                self._connector.close()
                self._lost(f"no frame or ping for {silent_ns / 1e9:.1f} s")
                return
        self._schedule_heartbeat_check()

    def _schedule_heartbeat_check(self) -> None:
        self.clock.cancel(self._heartbeat_timer)
        delay = max(1, self._liveness_ns // 2)
        self._heartbeat_timer = self.timer(delay, HeartbeatCheckDue(ts=self.clock.now_ns() + delay))

    def _set_health(self, healthy: bool, reason: str) -> None:
        if healthy != self._healthy:
            self._healthy = healthy
            self.publish(FeedHealthChanged(healthy=healthy, reason=reason, ts_recv=self.clock.now_ns()))

    # -- subscriptions --------------------------------------------------------------
    @handles(SubscribeMarkets)
    def on_subscribe_markets(self, msg: SubscribeMarkets) -> None:
        book = self._market_subs.get(_BOOK_CHANNEL)
        already = [] if book is None else [t for t in msg.tickers if t in book.server_tickers]
        for ticker in msg.tickers:
            if msg.remove:
                self._tickers.pop(ticker, None)
            else:
                self._tickers.setdefault(ticker)
        if not self._connected:
            return  # the snapshot on (re)subscribe serves every listener
        self._reconcile_markets()
        if msg.snapshot and not msg.remove and already and book is not None and book.sid is not None:
            # newly subscribed markets get their snapshot anyway; these ones need asking
            self._command("update_subscription", {"sid": book.sid, "market_tickers": already, "action": "get_snapshot"})

    def _reconcile_markets(self) -> None:
        """Bring each market channel to the tracked set: subscribe, add, delete, unsubscribe."""
        desired = list(self._tickers)
        for sub in self._market_subs.values():
            if sub.pending_id is not None:
                continue  # reconciled again when its `subscribed` arrives
            if sub.sid is None:
                if desired:
                    params: dict[str, Any] = {"channels": [sub.channel], "market_tickers": desired}
                    if sub.channel == _BOOK_CHANNEL:
                        params["use_yes_price"] = self._use_yes_price  # the decoder assumes this mode
                    sub.pending_id = self._command("subscribe", params)
                    sub.requested = tuple(desired)
                continue
            if not desired:
                self._command("unsubscribe", {"sids": [sub.sid]})
                sub.forget()
                continue
            adds = [t for t in desired if t not in sub.server_tickers]
            removes = sorted(sub.server_tickers.difference(desired))
            if adds:
                self._command("update_subscription", {"sid": sub.sid, "market_tickers": adds, "action": "add_markets"})
                sub.server_tickers.update(adds)
                if sub.channel == _BOOK_CHANNEL:
                    self._sequence.watch(sub.sid, adds)
            if removes:
                self._command(
                    "update_subscription", {"sid": sub.sid, "market_tickers": removes, "action": "delete_markets"}
                )
                sub.server_tickers.difference_update(removes)
                if sub.channel == _BOOK_CHANNEL:
                    self._sequence.unwatch(sub.sid, removes)

    def _command(self, cmd: str, params: dict[str, Any]) -> int:
        assert self._connector is not None
        self._next_command_id += 1
        command_id = self._next_command_id
        try:
            self._connector.send(json.dumps({"id": command_id, "cmd": cmd, "params": params}))
            self._commands_sent += 1
        except Exception as exc:  # the socket reports its own loss; do not die here
            self.errors["send_failed"] += 1
            self.log.warning("websocket send of %s failed: %s", cmd, exc)
        return command_id

    # -- frames ---------------------------------------------------------------------
    @handles(FrameReceived)
    def on_frame_received(self, msg: FrameReceived) -> None:
        self._frames += 1
        self._last_message_ns = msg.ts_recv
        try:
            frame = self._decoder.decode(msg.text, msg.ts_recv)
        except FrameDecodeError as exc:
            self._malformed += 1
            if _is_power_of_two(self._malformed):  # rate-limited: 1st, 2nd, 4th, 8th...
                self.log.warning("malformed frame #%d: %s: %.200s", self._malformed, exc, msg.text)
            return
        for name in frame.unknown_fields:
            self._unknown_fields[name] += 1
            if self._unknown_fields[name] == 1:
                self.log.info("unknown field %s (ignored)", name)
        if not frame.known:
            self._unknown_types[frame.type] += 1
            if _is_power_of_two(self._unknown_types[frame.type]):
                self.log.warning("unknown frame type %r (x%d)", frame.type, self._unknown_types[frame.type])
            return
        if frame.type in CONTROL_TYPES:
            self._on_control(frame)
            return
        if frame.sid is not None and frame.seq is not None:
            verdict = self._sequence.observe(frame.sid, frame.seq, ticker=frame.ticker, snapshot=frame.is_snapshot)
            if verdict.gap:
                self._on_gap(frame.sid, verdict.refresh)
            if frame.type in BOOK_TYPES and not verdict.apply:
                return  # a delta on an untrusted book: the coming snapshot replaces it
        for event in frame.messages:
            self.publish(event)

    def _on_gap(self, sid: int, refresh: tuple[str, ...]) -> None:
        now = self.clock.now_ns()
        self.log.warning("sequence gap on sid %d: refreshing %d market(s)", sid, len(refresh))
        for ticker in refresh:
            self.publish(BookUntrusted(ticker=ticker, reason=f"sequence gap on sid {sid}", ts_recv=now))
        if refresh:
            self._command("update_subscription", {"sid": sid, "market_tickers": list(refresh), "action": "get_snapshot"})

    def _on_control(self, frame: DecodedFrame) -> None:
        if frame.type == "subscribed":
            self._on_subscribed(frame)
        elif frame.type == "error":
            self._on_server_error(frame)
        elif frame.sid is not None and frame.seq is not None:  # ok / unsubscribed
            self._sequence.observe_control(frame.sid, frame.seq)

    def _on_subscribed(self, frame: DecodedFrame) -> None:
        if frame.sid is None or frame.channel is None:
            self.errors["subscribed_without_sid"] += 1
            return
        sub = self._market_subs.get(frame.channel)
        if sub is None:
            self._private_sids[frame.channel] = frame.sid
            return
        sub.sid, sub.pending_id = frame.sid, None
        sub.server_tickers = set(sub.requested)
        if sub.channel == _BOOK_CHANNEL:
            self._sequence.watch(frame.sid, sub.requested)
        self._reconcile_markets()  # apply what changed while the subscribe was pending

    def _on_server_error(self, frame: DecodedFrame) -> None:
        self._server_errors[frame.error_code] += 1
        self.log.warning("websocket error %s (command %s, sid %s): %s", frame.error_code, frame.command_id, frame.sid, frame.error_text)
        for sub in self._market_subs.values():
            failed_subscribe = frame.command_id is not None and frame.command_id == sub.pending_id
            terminal = frame.error_code in _TERMINAL_ERRORS and frame.sid is not None and frame.sid == sub.sid
            if failed_subscribe or terminal:
                sub.forget()  # retried at the next reconcile (terminal errors: right now)
        if frame.error_code in _TERMINAL_ERRORS and frame.sid is not None:
            for channel, sid in list(self._private_sids.items()):
                if sid == frame.sid:
                    del self._private_sids[channel]
                    self._command("subscribe", {"channels": [channel]})
            if self._connected:
                self._reconcile_markets()

    # -- status (ask / proxy) ---------------------------------------------------------
    def get_status(self) -> dict[str, Any]:
        subscriptions: dict[str, Any] = {
            sub.channel: {"sid": sub.sid, "markets": len(sub.server_tickers), "pending": sub.pending_id is not None}
            for sub in self._market_subs.values()
        }
        for channel, sid in self._private_sids.items():
            subscriptions[channel] = {"sid": sid}
        return {
            "connected": self._connected,
            "ws_healthy": self._healthy,
            "last_message_ns": self._last_message_ns,
            "last_heartbeat_ns": self._connector.last_heartbeat_ns if self._connector is not None else None,
            "frames": self._frames,
            "malformed": self._malformed,
            "unknown_types": dict(self._unknown_types),
            "unknown_fields": dict(self._unknown_fields),
            "gaps": self._sequence.gaps,
            "reconnects": self._reconnects,
            "commands_sent": self._commands_sent,
            "server_errors": {str(code): n for code, n in self._server_errors.items()},
            "tracked_markets": len(self._tickers),
            "subscriptions": subscriptions,
            "errors": dict(self.errors),
        }
