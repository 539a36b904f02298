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

Health: the feed is healthy while it is connected and no subscription is down. A
subscription is down from the moment the server ends it (an error frame carrying its sid,
whatever the code: 10, 17, 25 or a code we do not know) or it is found silent, until the
server confirms its replacement. A subscription ended again before it delivered any data
is restored after a backoff (reconnect_base doubling up to reconnect_cap), the first time
at once.

Silent (see _silence.py): a market the subscription covers is known to have changed, and
the subscription carried no frame for it within `silence_ns` around that moment. What
shows that a channel must carry market M:

| seen                                           | must appear on                  |
| ---------------------------------------------- | ------------------------------- |
| a trade printed (trade channel)                | ticker                          |
| the ticker's volume grew                       | trade                           |
| the ticker's touch (bid/ask, price or size) moved | orderbook_delta              |
| our fill (fill channel)                        | trade, ticker, orderbook_delta  |
| our order placed, amended or cancelled at REST | user_orders; orderbook_delta if it rested, traded or left the book |

A silent subscription is unsubscribed and restored like an ended one. Markets that are
quiet produce no evidence, so a quiet feed stays healthy on pings alone.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kernel.effects import ArmTimer, CancelTimer, Publish
from kernel.clock import NS_PER_SECOND
from messages import (
    BookUntrusted,
    FeedConnected,
    FeedDisconnected,
    FeedHealthChanged,
    FrameReceived,
    HeartbeatCheckDue,
    Message,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    SubscribeMarkets,
    TickerUpdated,
    TradePrinted,
    message,
)

from ._decoder import BOOK_TYPES, CONTROL_TYPES, DecodedFrame, FeedDecoder, FrameDecodeError
from ._sequence import SequenceTracker
from ._silence import SilenceWatch

__all__ = [
    "WsCore",
    "WsReconnectDue",
    "WsResubscribeDue",
    "WsSilenceCheckDue",
    "Connect",
    "CloseSocket",
    "SendCommand",
    "PRIVATE_CHANNELS",
    "MARKET_CHANNELS",
    "RECONNECT_TIMER",
    "HEARTBEAT_TIMER",
    "SILENCE_TIMER",
    "RESUBSCRIBE_TIMER",
    "DEFAULT_SILENCE_NS",
]

# API channel names. Private channels take no market filter (all our markets);
# market_lifecycle_v2 does not support one at all.
PRIVATE_CHANNELS = ("fill", "user_orders", "market_positions", "market_lifecycle_v2")
MARKET_CHANNELS = ("orderbook_delta", "ticker", "trade")
BOOK_CHANNEL = "orderbook_delta"
RECONNECT_TIMER = "reconnect"  # timer keys
HEARTBEAT_TIMER = "heartbeat"
SILENCE_TIMER = "silence"
RESUBSCRIBE_TIMER = "resubscribe:"  # + the channel
DEFAULT_SILENCE_NS = 10 * NS_PER_SECOND
TRADE_CHANNEL, TICKER_CHANNEL, USER_ORDERS_CHANNEL = "trade", "ticker", "user_orders"
# channels evidence can oblige to speak; only theirs are remembered (lifecycle covers every market)
_WATCHED_CHANNELS = frozenset({TRADE_CHANNEL, TICKER_CHANNEL, BOOK_CHANNEL, USER_ORDERS_CHANNEL})


@message
class WsReconnectDue(Message):
    """Internal timer: the backoff after a lost (or refused) connection is over."""

    ts: int


@message
class WsResubscribeDue(Message):
    """Internal timer: the backoff before restoring `channel`'s subscription is over."""

    channel: str
    ts: int


@message
class WsSilenceCheckDue(Message):
    """Internal timer: evidence that a subscription must have spoken is due for checking."""

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
    down: str | None = None  # why it is down (ended by the server, silent) until confirmed again
    held: bool = False  # a restore waits for its backoff timer
    restores: int = 0  # restores since it last delivered data (the backoff exponent)

    def forget(self) -> None:
        self.sid, self.pending_id, self.requested = None, None, ()
        self.markets.clear()


def _subscription_ended(frame: DecodedFrame) -> bool:
    """An error frame that ends the subscription `frame.sid`: it is forgotten and restored.
    Any code: errors about a command carry no sid, so an error naming a sid ends it."""
    return frame.sid is not None


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


class WsCore:
    # what the shell routes in: told (frames and the socket's news, subscribe requests)
    # or heard on the bus (our own order actions: evidence, see the module docstring)
    INPUTS = (FrameReceived, FeedConnected, FeedDisconnected, SubscribeMarkets, OrderAccepted, OrderAmended, OrderCancelled)
    DUES = (WsReconnectDue, HeartbeatCheckDue, WsResubscribeDue, WsSilenceCheckDue)

    def __init__(
        self,
        *,
        reconnect_base_ns: int,
        reconnect_cap_ns: int,
        liveness_ns: int,
        silence_ns: int = DEFAULT_SILENCE_NS,
        use_yes_price: bool = False,
        log: logging.Logger | None = None,
    ) -> None:
        self._reconnect_base_ns = reconnect_base_ns
        self._reconnect_cap_ns = reconnect_cap_ns
        self._liveness_ns = liveness_ns
        self._use_yes_price = use_yes_price
        self.log = log or logging.getLogger("mmd.WsConnectionActor")
        self._decoder = FeedDecoder(no_prices_in_yes_leg=use_yes_price)
        self._sequence = SequenceTracker()
        self._silence = SilenceWatch(silence_ns)
        self._silence_check_ns: int | None = None  # the armed silence check
        self._touch: dict[str, tuple[Any, ...]] = {}  # market -> last ticker (touch, volume) on this connection
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
        self._restored = 0  # subscriptions restored after the server ended them or they fell silent
        self._silent = 0  # subscriptions found silent
        self.errors: Counter[str] = Counter()

    # -- routing: one entry for every input, one for every timer ----------------------
    def handle(self, msg: Any, now_ns: int) -> list[Any]:
        if isinstance(msg, FrameReceived):
            return self.on_frame_text(msg.text, msg.ts_recv, now_ns)
        if isinstance(msg, (OrderAccepted, OrderAmended)):
            return self.on_order_action(msg.ticker, msg.filled > 0 or msg.remaining > 0, now_ns)
        if isinstance(msg, OrderCancelled):
            return self.on_order_action(msg.ticker, msg.reduced_by > 0, now_ns)
        if isinstance(msg, SubscribeMarkets):
            return self.on_subscribe_markets(msg)
        if isinstance(msg, FeedConnected):
            return self.on_connected(msg, now_ns)
        if isinstance(msg, FeedDisconnected):
            return self.on_disconnected(msg, now_ns)
        raise TypeError(f"the WS connection does not handle {type(msg).__name__}")

    @staticmethod
    def timer_key(due: Any) -> str:
        if isinstance(due, WsResubscribeDue):
            return RESUBSCRIBE_TIMER + due.channel
        return {WsReconnectDue: RECONNECT_TIMER, HeartbeatCheckDue: HEARTBEAT_TIMER, WsSilenceCheckDue: SILENCE_TIMER}[
            type(due)
        ]

    def on_due(self, due: Any, now_ns: int, last_heartbeat_ns: int | None) -> list[Any]:
        """A timer fired (the shell checked it is the one armed under `timer_key(due)`).
        `last_heartbeat_ns`: the socket's, for the liveness check (`on_liveness_check`)."""
        if isinstance(due, WsReconnectDue):
            return self.on_reconnect_due(now_ns)
        if isinstance(due, HeartbeatCheckDue):
            return self.on_liveness_check(now_ns, last_heartbeat_ns)
        if isinstance(due, WsResubscribeDue):
            return self.on_resubscribe_due(due.channel, now_ns)
        if isinstance(due, WsSilenceCheckDue):
            return self.on_silence_check(now_ns)
        raise TypeError(f"the WS connection has no timer {type(due).__name__}")

    def on_frame_text(self, text: str, ts_recv: int, now_ns: int) -> list[Any]:
        """A frame as the socket read it: decoded here, then `on_frame` (or counted as malformed)."""
        try:
            frame = self._decoder.decode(text, ts_recv)
        except FrameDecodeError as exc:
            return self.on_malformed_frame(text, exc, ts_recv)
        return self.on_frame(frame, ts_recv, now_ns)

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
        if self._reconnects:
            self.log.info("websocket reconnected (reconnect #%d)", self._reconnects)
        self._failed_attempts = 0
        self._connected_at_ns = msg.ts_recv
        self._sequence.reset()  # sids are renumbered per connection
        effects: list[Any] = []
        for sub in self._subs.values():
            sub.forget()  # a new connection has nothing: everything is subscribed again
            if sub.held:
                effects.append(CancelTimer(RESUBSCRIBE_TIMER + sub.channel))
            sub.down, sub.held, sub.restores = None, False, 0
        effects += self._set_health(True, "connected", now_ns)
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
        self._forget_silence()
        effects: list[Any] = [CancelTimer(HEARTBEAT_TIMER), CancelTimer(SILENCE_TIMER), *self._set_health(False, reason, now_ns)]
        if was_connected:
            for ticker in self._markets:
                effects.append(Publish(BookUntrusted(ticker=ticker, reason=f"feed lost: {reason}", ts_recv=now_ns)))
        if not self._reconnect_armed:  # error + close both report one loss
            delay = min(self._reconnect_cap_ns, self._reconnect_base_ns << min(self._failed_attempts, 32))
            self._failed_attempts += 1
            self._reconnect_armed = True
            effects.append(ArmTimer(RECONNECT_TIMER, now_ns + delay, WsReconnectDue(ts=now_ns + delay)))
            # handled: our words at WARNING/INFO, never an error (log alerting pages on errors)
            if was_connected:
                self.log.warning("websocket lost: %s; reconnecting in %.1f s", reason, delay / 1e9)
            else:
                self.log.info("websocket not connected: %s; retrying in %.1f s", reason, delay / 1e9)
        return effects

    def _arm_liveness_check(self, now_ns: int) -> ArmTimer:
        deadline = now_ns + max(1, self._liveness_ns // 2)
        return ArmTimer(HEARTBEAT_TIMER, deadline, HeartbeatCheckDue(ts=deadline))

    def _set_health(self, healthy: bool, reason: str, now_ns: int) -> list[Any]:
        if healthy == self.healthy:
            return []
        self.healthy = healthy
        return [Publish(FeedHealthChanged(healthy=healthy, reason=reason, ts_recv=now_ns))]

    def _forget_silence(self) -> None:
        self._silence.reset()
        self._silence_check_ns = None
        self._touch.clear()

    # -- subscriptions ----------------------------------------------------------------
    def on_subscribe_markets(self, msg: SubscribeMarkets) -> list[Any]:
        book = self._subs[BOOK_CHANNEL]
        already = [t for t in msg.tickers if t in book.markets]
        for ticker in msg.tickers:
            if msg.remove:
                self._markets.pop(ticker, None)
                self._touch.pop(ticker, None)  # its tickers stop; a later re-add starts afresh
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
        missing = [
            s.channel for s in self._subs.values() if not s.per_market and s.sid is None and s.pending_id is None and not s.held
        ]
        if missing:
            effects.append(self._command("subscribe", {"channels": missing}))
            for channel in missing:
                self._subs[channel].pending_id = self._next_command_id
        wanted = list(self._markets)
        for sub in self._subs.values():
            if not sub.per_market or sub.pending_id is not None or sub.held:
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
                self._silence.forget(sub.channel)
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
            return self._on_control(frame, ts_recv, now_ns)
        effects: list[Any] = self._heard(frame, ts_recv)
        if frame.sid is not None and frame.seq is not None:
            verdict = self._sequence.observe(frame.sid, frame.seq, ticker=frame.ticker, snapshot=frame.is_snapshot)
            if verdict.gap:
                effects += self._on_gap(frame.sid, verdict.refresh, now_ns)
            if frame.type in BOOK_TYPES and not verdict.apply:
                return effects  # a delta on an untrusted book: the coming snapshot replaces it
        effects.extend(Publish(event) for event in frame.messages)
        return effects

    def _on_gap(self, sid: int, refresh: tuple[str, ...], now_ns: int) -> list[Any]:
        # hazard: the tracker also knows markets only a frame named (one still in flight for
        # a market just removed, a damaged ticker or sid); naming one in get_snapshot gets the
        # whole command refused, and no book of the sid is repaired
        sub = self._sub_with_sid(sid)
        subscribed = sub.markets if sub is not None and sub.channel == BOOK_CHANNEL else set()
        refresh = tuple(ticker for ticker in refresh if ticker in subscribed)
        if _is_power_of_two(self._sequence.gaps):  # 1st, 2nd, 4th...: a lossy link must not flood the log
            self.log.warning("sequence gap #%d on sid %d: refreshing %d market(s)", self._sequence.gaps, sid, len(refresh))
        effects: list[Any] = [
            Publish(BookUntrusted(ticker=ticker, reason=f"sequence gap on sid {sid}", ts_recv=now_ns)) for ticker in refresh
        ]
        if refresh:
            effects.append(self._command("update_subscription", {"sid": sid, "market_tickers": list(refresh), "action": "get_snapshot"}))
        return effects

    def _on_control(self, frame: DecodedFrame, ts_recv: int, now_ns: int) -> list[Any]:
        if frame.type == "subscribed":
            return self._on_subscribed(frame, ts_recv, now_ns)
        if frame.type == "error":
            return self._on_server_error(frame, now_ns)
        if frame.sid is not None and frame.seq is not None:  # ok / unsubscribed
            self._sequence.observe_control(frame.sid, frame.seq)
        return []

    def _on_subscribed(self, frame: DecodedFrame, ts_recv: int, now_ns: int) -> list[Any]:
        if frame.sid is None or frame.channel is None:
            self.errors["subscribed_without_sid"] += 1
            return []
        sub = self._subs.get(frame.channel)
        if sub is None:
            self.errors["subscribed_unknown_channel"] += 1
            return []
        sub.sid, sub.pending_id = frame.sid, None
        self._silence.confirmed(sub.channel, ts_recv)
        effects: list[Any] = []
        if sub.down is not None:
            sub.down = None
            self._restored += 1
            self.log.info("%s subscription restored (sid %d)", sub.channel, sub.sid)
            effects += self._refresh_health("subscriptions restored", now_ns)
        if not sub.per_market:
            return effects
        sub.markets = set(sub.requested)
        if sub.channel == BOOK_CHANNEL:
            self._sequence.watch(frame.sid, sub.requested)
        return effects + self._reconcile()  # apply what changed while the subscribe was pending

    def _on_server_error(self, frame: DecodedFrame, now_ns: int) -> list[Any]:
        self._server_errors[frame.error_code] += 1
        self.log.warning(
            "websocket error %s (command %s, sid %s): %s", frame.error_code, frame.command_id, frame.sid, frame.error_text
        )
        ended = _subscription_ended(frame)
        effects: list[Any] = []
        for sub in self._subs.values():
            # a refused market subscribe is retried at the next reconcile; a refused
            # private one waits for the next connection
            if sub.per_market and frame.command_id is not None and frame.command_id == sub.pending_id:
                sub.forget()
            elif ended and sub.sid is not None and sub.sid == frame.sid:
                effects += self._subscription_down(sub, f"ended by the server (error {frame.error_code}: {frame.error_text})", now_ns)
        return effects + self._reconcile() if ended else effects

    # -- subscriptions that are down ----------------------------------------------------
    def _subscription_down(self, sub: _Subscription, why: str, now_ns: int) -> list[Any]:
        """`sub` is gone (ended by the server, or silent): untrust its books, report the
        feed unhealthy, and restore it now or after its backoff. The caller reconciles."""
        self.log.warning("%s subscription (sid %s) %s: restoring it", sub.channel, sub.sid, why)
        effects: list[Any] = []
        if sub.channel == BOOK_CHANNEL:
            # deltas may have been lost: the snapshot after the restore rebuilds each book
            effects += [
                Publish(BookUntrusted(ticker=ticker, reason=f"book subscription {why}", ts_recv=now_ns))
                for ticker in self._markets
                if ticker in sub.markets
            ]
            if sub.sid is not None:
                self._sequence.unwatch(sub.sid, sorted(sub.markets))
        self._silence.forget(sub.channel)
        sub.forget()
        sub.down = f"{sub.channel} subscription {why}"
        if sub.restores:
            delay = min(self._reconnect_cap_ns, self._reconnect_base_ns << min(sub.restores - 1, 32))
            sub.held = True
            effects.append(ArmTimer(RESUBSCRIBE_TIMER + sub.channel, now_ns + delay, WsResubscribeDue(channel=sub.channel, ts=now_ns + delay)))
        sub.restores += 1
        return effects + self._refresh_health(sub.down, now_ns)

    def _refresh_health(self, reason: str, now_ns: int) -> list[Any]:
        return self._set_health(self.connected and not any(s.down for s in self._subs.values()), reason, now_ns)

    def on_resubscribe_due(self, channel: str, now_ns: int) -> list[Any]:
        sub = self._subs.get(channel)
        if sub is None or not sub.held:
            return []
        sub.held = False
        return self._reconcile()

    # -- silence ----------------------------------------------------------------------
    def _heard(self, frame: DecodedFrame, ts_recv: int) -> list[Any]:
        """A data frame: its channel spoke for its market; what it shows may oblige other
        channels to speak too (the table in the module docstring)."""
        sub = self._sub_with_sid(frame.sid)
        if sub is None:
            return []
        sub.restores = 0  # it delivers data: a next end is restored at once
        market = frame.ticker or next((getattr(m, "ticker", None) for m in frame.messages), None)
        if market is None:
            return []
        if sub.channel in _WATCHED_CHANNELS:
            self._silence.heard(sub.channel, market, ts_recv)
        expected = False
        for event in frame.messages:
            if isinstance(event, TradePrinted):
                expected |= self._expect(TICKER_CHANNEL, event.ticker, ts_recv)
            elif isinstance(event, TickerUpdated):
                touch = (event.yes_bid, event.yes_ask, event.yes_bid_size, event.yes_ask_size)
                before = self._touch.get(event.ticker)
                self._touch[event.ticker] = (touch, event.volume)
                if before is None:
                    continue  # the first ticker of a market on this connection: nothing to compare
                if event.volume is not None and before[1] is not None and event.volume > before[1]:
                    expected |= self._expect(TRADE_CHANNEL, event.ticker, ts_recv)
                if touch != before[0]:
                    expected |= self._expect(BOOK_CHANNEL, event.ticker, ts_recv)
            elif isinstance(event, OrderFilled):
                for channel in (TRADE_CHANNEL, TICKER_CHANNEL, BOOK_CHANNEL):
                    expected |= self._expect(channel, event.ticker, ts_recv)
        return self._arm_silence_check() if expected else []

    def on_order_action(self, ticker: str, changes_book: bool, now_ns: int) -> list[Any]:
        """Our order was placed, amended or cancelled at REST: user_orders must report it,
        and the book must show it when it rested, traded or left the book."""
        expected = self._expect(USER_ORDERS_CHANNEL, ticker, now_ns)
        if changes_book:
            expected |= self._expect(BOOK_CHANNEL, ticker, now_ns)
        return self._arm_silence_check() if expected else []

    def _expect(self, channel: str, ticker: str, ts_ns: int) -> bool:
        sub = self._subs[channel]
        if not self.connected or sub.sid is None or sub.down is not None or (sub.per_market and ticker not in sub.markets):
            return False  # not confirmed, being restored, or not ours to carry
        return self._silence.expect(channel, ticker, ts_ns)

    def _arm_silence_check(self) -> list[Any]:
        deadline = self._silence.next_deadline()
        if deadline is None or (self._silence_check_ns is not None and self._silence_check_ns <= deadline):
            return []
        self._silence_check_ns = deadline
        return [ArmTimer(SILENCE_TIMER, deadline, WsSilenceCheckDue(ts=deadline))]

    def silence_check_deadline(self) -> int | None:
        """When the armed silence check is due (None: nothing is expected)."""
        return self._silence_check_ns

    def on_silence_check(self, now_ns: int) -> list[Any]:
        self._silence_check_ns = None
        if not self.connected:
            return []
        effects: list[Any] = []
        for channel, (ticker, since_ns) in self._silence.overdue(now_ns).items():
            sub = self._subs[channel]
            if sub.sid is None or sub.down is not None:
                continue
            self._silent += 1
            effects.append(self._command("unsubscribe", {"sids": [sub.sid]}))  # in case the server still holds it
            why = f"silent: no frame for {ticker} {(now_ns - since_ns) / 1e9:.1f} s after it changed"
            effects += self._subscription_down(sub, why, now_ns)
        if effects:
            effects += self._reconcile()
        return effects + self._arm_silence_check()

    def _sub_with_sid(self, sid: int | None) -> _Subscription | None:
        if sid is None:
            return None
        return next((sub for sub in self._subs.values() if sub.sid == sid), None)

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
            "subscriptions_down": {sub.channel: sub.down for sub in self._subs.values() if sub.down is not None},
            "subscriptions_restored": self._restored,
            "silent_subscriptions": self._silent,
        }
