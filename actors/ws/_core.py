"""The WS connection's decisions as a plain object: no threads, sockets or clock reads.

Given a message (a decoded frame, the connection opening or lost, a subscribe request, a
timer) and the time, `WsCore` returns effects in order: commands to write on the socket
(`SendCommand`), bus messages (`Publish`), keyed timers (`ArmTimer` / `CancelTimer`), and
`Connect` / `CloseSocket` for the socket itself. `WsConnectionActor` only carries them out.

Subscriptions are declarative: the core holds what it wants (every private channel, and
the tracked markets on each market-data channel) beside what the server confirmed (sid
and markets per channel), and `_reconcile` sends the commands that close the difference.
A reconnect forgets every confirmation and a server-ended subscription forgets its own:
the same rule then restores them.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kernel.effects import ArmTimer, CancelTimer, Publish
from messages import (
    BookUntrusted,
    FeedConnected,
    FeedDisconnected,
    FeedHealthChanged,
    HeartbeatCheckDue,
    Message,
    SubscribeMarkets,
    message,
)

from ._decoder import BOOK_TYPES, CONTROL_TYPES, DecodedFrame
from ._sequence import SequenceTracker

__all__ = [
    "WsCore",
    "WsReconnectDue",
    "Connect",
    "CloseSocket",
    "SendCommand",
    "PRIVATE_CHANNELS",
    "MARKET_CHANNELS",
    "RECONNECT_TIMER",
    "HEARTBEAT_TIMER",
]

# API channel names. Private channels take no market filter (all our markets);
# market_lifecycle_v2 does not support one at all.
PRIVATE_CHANNELS = ("fill", "user_orders", "market_positions", "market_lifecycle_v2")
MARKET_CHANNELS = ("orderbook_delta", "ticker", "trade")
BOOK_CHANNEL = "orderbook_delta"
RECONNECT_TIMER = "reconnect"  # timer keys
HEARTBEAT_TIMER = "heartbeat"
_TERMINAL_ERRORS = frozenset({10, 25})  # channel error, buffer overflow: the server ended the subscription


@message
class WsReconnectDue(Message):
    """Internal timer: the backoff after a lost (or refused) connection is over."""

    ts: int


@dataclass(frozen=True, slots=True)
class Connect:
    """Open (or reopen) the socket. The shell reports the outcome: FeedConnected,
    `connect_failed`, or `connect_pending` when the open completes later."""


@dataclass(frozen=True, slots=True)
class CloseSocket:
    pass


@dataclass(frozen=True, slots=True)
class SendCommand:
    cmd: str
    text: str  # the JSON command, ready for the socket


@dataclass
class _Subscription:
    """One channel: what the server confirmed (sid, markets) and a subscribe in flight."""

    channel: str
    per_market: bool  # market-data channels name their markets; private ones cover all ours
    sid: int | None = None
    pending_id: int | None = None  # a subscribe awaiting its `subscribed` reply
    requested: tuple[str, ...] = ()
    markets: set[str] = field(default_factory=set)  # the markets the server has on `sid`

    def forget(self) -> None:
        self.sid, self.pending_id, self.requested = None, None, ()
        self.markets.clear()


def _subscription_ended(frame: DecodedFrame) -> bool:
    """An error frame that ends the subscription `frame.sid`: it is forgotten and restored."""
    return frame.sid is not None and frame.error_code in _TERMINAL_ERRORS


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


class WsCore:
    def __init__(
        self,
        *,
        reconnect_base_ns: int,
        reconnect_cap_ns: int,
        liveness_ns: int,
        use_yes_price: bool = False,
        log: logging.Logger | None = None,
    ) -> None:
        self._reconnect_base_ns = reconnect_base_ns
        self._reconnect_cap_ns = reconnect_cap_ns
        self._liveness_ns = liveness_ns
        self._use_yes_price = use_yes_price
        self.log = log or logging.getLogger("mmd.WsConnectionActor")
        self._sequence = SequenceTracker()
        self._markets: dict[str, None] = {}  # wanted markets, insertion-ordered (replay order)
        self._subs = {channel: _Subscription(channel, per_market=False) for channel in PRIVATE_CHANNELS}
        self._subs.update({channel: _Subscription(channel, per_market=True) for channel in MARKET_CHANNELS})
        self._next_command_id = 0
        self.connected = False
        self.healthy = False
        self._failed_attempts = 0
        self._reconnect_armed = False
        self._connected_at_ns: int | None = None
        self._connecting_since_ns: int | None = None  # an open in progress (async connectors)
        self.last_message_ns: int | None = None
        self._frames = 0
        self._malformed = 0
        self._reconnects = 0
        self._unknown_types: Counter[str] = Counter()
        self._unknown_fields: Counter[str] = Counter()
        self._server_errors: Counter[int | None] = Counter()
        self.errors: Counter[str] = Counter()

    # -- connection -------------------------------------------------------------------
    def start(self, now_ns: int) -> list[Any]:
        return [Connect()]

    def connect_pending(self, now_ns: int) -> list[Any]:
        # hazard: a handshake that neither completes nor fails (blackholed TCP) would
        # leave us waiting forever; the liveness check gives up on it too
        self._connecting_since_ns = now_ns
        return [self._arm_liveness_check(now_ns)]

    def connect_failed(self, reason: str, now_ns: int) -> list[Any]:
        return self._lost(reason, now_ns)

    def on_connected(self, msg: FeedConnected, now_ns: int) -> list[Any]:
        if self.connected:
            return []
        self.connected = True
        self._connecting_since_ns = None
        self._failed_attempts = 0
        self._connected_at_ns = msg.ts_recv
        self._sequence.reset()  # sids are renumbered per connection
        for sub in self._subs.values():
            sub.forget()  # a new connection has nothing: everything is subscribed again
        effects = self._set_health(True, "connected", now_ns)
        effects += self._reconcile()
        effects.append(self._arm_liveness_check(now_ns))
        return effects

    def on_disconnected(self, msg: FeedDisconnected, now_ns: int) -> list[Any]:
        return self._lost(msg.reason, now_ns)

    def on_reconnect_due(self, now_ns: int) -> list[Any]:
        self._reconnect_armed = False
        if self.connected:
            return []
        self._reconnects += 1
        return [Connect()]

    def on_liveness_check(self, now_ns: int, last_heartbeat_ns: int | None) -> list[Any]:
        """`last_heartbeat_ns`: the socket's last ping/pong; None for a transport without
        keepalive (in process), whose liveness is not checked."""
        if not self.connected:
            if self._connecting_since_ns is None:
                return []
            if now_ns - self._connecting_since_ns > self._liveness_ns:
                return [CloseSocket(), *self._lost("connect timed out", now_ns)]
            return [self._arm_liveness_check(now_ns)]
        if last_heartbeat_ns is not None:
            # pings count as life, so a quiet market is not mistaken for a dead feed
            alive = (last_heartbeat_ns, self.last_message_ns, self._connected_at_ns)
            silent_ns = now_ns - max(t for t in alive if t is not None)
            if silent_ns > self._liveness_ns:
                return [CloseSocket(), *self._lost(f"no frame or ping for {silent_ns / 1e9:.1f} s", now_ns)]
        return [self._arm_liveness_check(now_ns)]

    def _lost(self, reason: str, now_ns: int) -> list[Any]:
        """The connection is gone (or never came): unhealthy, books untrusted, retry later."""
        was_connected, self.connected = self.connected, False
        self._connecting_since_ns = None
        effects: list[Any] = [CancelTimer(HEARTBEAT_TIMER), *self._set_health(False, reason, now_ns)]
        if was_connected:
            self.log.warning("websocket lost: %s", reason)
            for ticker in self._markets:
                effects.append(Publish(BookUntrusted(ticker=ticker, reason=f"feed lost: {reason}", ts_recv=now_ns)))
        if not self._reconnect_armed:  # error + close both report one loss
            delay = min(self._reconnect_cap_ns, self._reconnect_base_ns << min(self._failed_attempts, 32))
            self._failed_attempts += 1
            self._reconnect_armed = True
            effects.append(ArmTimer(RECONNECT_TIMER, now_ns + delay, WsReconnectDue(ts=now_ns + delay)))
        return effects

    def _arm_liveness_check(self, now_ns: int) -> ArmTimer:
        deadline = now_ns + max(1, self._liveness_ns // 2)
        return ArmTimer(HEARTBEAT_TIMER, deadline, HeartbeatCheckDue(ts=deadline))

    def _set_health(self, healthy: bool, reason: str, now_ns: int) -> list[Any]:
        if healthy == self.healthy:
            return []
        self.healthy = healthy
        return [Publish(FeedHealthChanged(healthy=healthy, reason=reason, ts_recv=now_ns))]

    # -- subscriptions ----------------------------------------------------------------
    def on_subscribe_markets(self, msg: SubscribeMarkets) -> list[Any]:
        book = self._subs[BOOK_CHANNEL]
        already = [t for t in msg.tickers if t in book.markets]
        for ticker in msg.tickers:
            if msg.remove:
                self._markets.pop(ticker, None)
            else:
                self._markets.setdefault(ticker)
        if not self.connected:
            return []  # the snapshot on (re)subscribe serves every listener
        effects = self._reconcile()
        if msg.snapshot and not msg.remove and already and book.sid is not None:
            # newly subscribed markets get their snapshot anyway; these ones need asking
            effects.append(self._command("update_subscription", {"sid": book.sid, "market_tickers": already, "action": "get_snapshot"}))
        return effects

    def _reconcile(self) -> list[Any]:
        """Bring every channel toward what we want: subscribe the private channels the
        server does not have, and on each market channel subscribe, add, delete or
        unsubscribe markets. A subscribe in flight is left alone: its `subscribed` reply
        reconciles again. Nothing is written on a connection known lost: the next
        connection restores everything."""
        if not self.connected:
            return []
        effects: list[Any] = []
        missing = [s.channel for s in self._subs.values() if not s.per_market and s.sid is None and s.pending_id is None]
        if missing:
            effects.append(self._command("subscribe", {"channels": missing}))
            for channel in missing:
                self._subs[channel].pending_id = self._next_command_id
        wanted = list(self._markets)
        for sub in self._subs.values():
            if not sub.per_market or sub.pending_id is not None:
                continue
            if sub.sid is None:
                if wanted:
                    params: dict[str, Any] = {"channels": [sub.channel], "market_tickers": wanted}
                    if sub.channel == BOOK_CHANNEL:
                        params["use_yes_price"] = self._use_yes_price  # the decoder assumes this mode
                    effects.append(self._command("subscribe", params))
                    sub.pending_id, sub.requested = self._next_command_id, tuple(wanted)
                continue
            if not wanted:
                effects.append(self._command("unsubscribe", {"sids": [sub.sid]}))
                sub.forget()
                continue
            adds = [t for t in wanted if t not in sub.markets]
            removes = sorted(sub.markets.difference(wanted))
            if adds:
                effects.append(self._command("update_subscription", {"sid": sub.sid, "market_tickers": adds, "action": "add_markets"}))
                sub.markets.update(adds)
                if sub.channel == BOOK_CHANNEL:
                    self._sequence.watch(sub.sid, adds)
            if removes:
                effects.append(
                    self._command("update_subscription", {"sid": sub.sid, "market_tickers": removes, "action": "delete_markets"})
                )
                sub.markets.difference_update(removes)
                if sub.channel == BOOK_CHANNEL:
                    self._sequence.unwatch(sub.sid, removes)
        return effects

    def _command(self, cmd: str, params: dict[str, Any]) -> SendCommand:
        self._next_command_id += 1
        return SendCommand(cmd, json.dumps({"id": self._next_command_id, "cmd": cmd, "params": params}))

    # -- frames -----------------------------------------------------------------------
    def on_malformed_frame(self, text: str, error: Exception, ts_recv: int) -> list[Any]:
        """A frame the decoder refused: counted and logged (rate-limited), never fatal."""
        self._frames += 1
        self.last_message_ns = ts_recv
        self._malformed += 1
        if _is_power_of_two(self._malformed):  # 1st, 2nd, 4th, 8th...
            self.log.warning("malformed frame #%d: %s: %.200s", self._malformed, error, text)
        return []

    def on_frame(self, frame: DecodedFrame, ts_recv: int, now_ns: int) -> list[Any]:
        self._frames += 1
        self.last_message_ns = ts_recv
        for name in frame.unknown_fields:
            self._unknown_fields[name] += 1
            if self._unknown_fields[name] == 1:
                self.log.info("unknown field %s (ignored)", name)
        if not frame.known:
            self._unknown_types[frame.type] += 1
            if _is_power_of_two(self._unknown_types[frame.type]):
                self.log.warning("unknown frame type %r (x%d)", frame.type, self._unknown_types[frame.type])
            return []
        if frame.type in CONTROL_TYPES:
            return self._on_control(frame)
        effects: list[Any] = []
        if frame.sid is not None and frame.seq is not None:
            verdict = self._sequence.observe(frame.sid, frame.seq, ticker=frame.ticker, snapshot=frame.is_snapshot)
            if verdict.gap:
                effects += self._on_gap(frame.sid, verdict.refresh, now_ns)
            if frame.type in BOOK_TYPES and not verdict.apply:
                return effects  # a delta on an untrusted book: the coming snapshot replaces it
        effects.extend(Publish(event) for event in frame.messages)
        return effects

    def _on_gap(self, sid: int, refresh: tuple[str, ...], now_ns: int) -> list[Any]:
        self.log.warning("sequence gap on sid %d: refreshing %d market(s)", sid, len(refresh))
        effects: list[Any] = [
            Publish(BookUntrusted(ticker=ticker, reason=f"sequence gap on sid {sid}", ts_recv=now_ns)) for ticker in refresh
        ]
        if refresh:
            effects.append(self._command("update_subscription", {"sid": sid, "market_tickers": list(refresh), "action": "get_snapshot"}))
        return effects

    def _on_control(self, frame: DecodedFrame) -> list[Any]:
        if frame.type == "subscribed":
            return self._on_subscribed(frame)
        if frame.type == "error":
            return self._on_server_error(frame)
        if frame.sid is not None and frame.seq is not None:  # ok / unsubscribed
            self._sequence.observe_control(frame.sid, frame.seq)
        return []

    def _on_subscribed(self, frame: DecodedFrame) -> list[Any]:
        if frame.sid is None or frame.channel is None:
            self.errors["subscribed_without_sid"] += 1
            return []
        sub = self._subs.get(frame.channel)
        if sub is None:
            self.errors["subscribed_unknown_channel"] += 1
            return []
        sub.sid, sub.pending_id = frame.sid, None
        if not sub.per_market:
            return []
        sub.markets = set(sub.requested)
        if sub.channel == BOOK_CHANNEL:
            self._sequence.watch(frame.sid, sub.requested)
        return self._reconcile()  # apply what changed while the subscribe was pending

    def _on_server_error(self, frame: DecodedFrame) -> list[Any]:
        self._server_errors[frame.error_code] += 1
        self.log.warning(
            "websocket error %s (command %s, sid %s): %s", frame.error_code, frame.command_id, frame.sid, frame.error_text
        )
        ended = _subscription_ended(frame)
        for sub in self._subs.values():
            # a refused market subscribe is retried at the next reconcile; a refused
            # private one waits for the next connection
            refused = sub.per_market and frame.command_id is not None and frame.command_id == sub.pending_id
            if refused or (ended and sub.sid == frame.sid):
                sub.forget()
        return self._reconcile() if ended else []

    # -- status -----------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        subscriptions: dict[str, Any] = {
            sub.channel: {"sid": sub.sid, "markets": len(sub.markets), "pending": sub.pending_id is not None}
            for sub in self._subs.values()
            if sub.per_market
        }
        for sub in self._subs.values():
            if not sub.per_market and sub.sid is not None:
                subscriptions[sub.channel] = {"sid": sub.sid}
        return {
            "connected": self.connected,
            "ws_healthy": self.healthy,
            "last_message_ns": self.last_message_ns,
            "frames": self._frames,
            "malformed": self._malformed,
            "unknown_types": dict(self._unknown_types),
            "unknown_fields": dict(self._unknown_fields),
            "gaps": self._sequence.gaps,
            "reconnects": self._reconnects,
            "server_errors": {str(code): n for code, n in self._server_errors.items()},
            "tracked_markets": len(self._markets),
            "subscriptions": subscriptions,
        }
