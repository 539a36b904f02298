"""WebSocket sessions of the simulated exchange, sans-IO: text in via `receive`, text out via `send`.

Wire shapes follow Kalshi's asyncapi.yaml, vendored in tests/vendor/kalshi-docs/ (tests/simex/test_simex_conformance_ws.py
validates every frame type against it). Where kalshi-api.md documents something newer than that
file, the newer shape is sent and the conformance test names the extension.

Sequencing: `orderbook_delta` (snapshots and deltas) and `order_group_updates` carry a per-sid
`seq` that starts at 1 and grows by 1 per data message. `trade` and `market_lifecycle_v2` carry
one too only when `WsHub.sequence_trade_and_lifecycle` is set (kalshi-api.md 7.4: "the latest
spec adds seq"; asyncapi.yaml has none). Control replies echo the last `seq` used on the sid
without consuming one (`unsubscribed` says 1 for a sid that never sent a sequenced frame: the
schema's minimum). NO-side book levels are NO bid prices (1 - YES ask) unless the subscription
set `use_yes_price`, in which case they are the YES ask prices.

Errors: every code of kalshi-api.md 7.2 with the message text of asyncapi.yaml. A `cmd` that is
not a string is a bad type (1); a string naming no command is 5. `get_snapshot` for a market the
subscription does not cover answers 11 (invalid parameter) naming `market_ticker` and sends no
snapshot (the docs name no code for it; a snapshot without deltas after it would mislead). Not emitted:
6 (retired: a session may hold several subscriptions to one channel), 18 (commands never wait),
23, 24 and 28 (belong to feeds that are not simulated: subscribing to the paid index feeds
`cfbenchmarks_value` / `pyth_value` answers 9, access not granted). Terminal errors (10, 17
for a channel, 25) end the subscription and carry its `sid`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable

from kalshi.wire import ONE, format_count, format_price, rfc3339_from_ns

from ._book import ASK, BID

# json.dumps(frame, separators=(",", ":")) builds a JSONEncoder per call (every frame): one,
# shared (it keeps no state between calls)
_compact_json = json.JSONEncoder(separators=(",", ":")).encode

if TYPE_CHECKING:
    from ._exchange import Exchange
    from ._faults import Faults
    from ._model import Market, Order

__all__ = ["WsHub", "WsSession", "CHANNELS", "ERRORS", "CommandError"]

log = logging.getLogger(__name__)

ORDERBOOK = "orderbook_delta"
MARKET_DATA_CHANNELS = ("ticker", "trade", "market_lifecycle_v2", "multivariate_market_lifecycle")
PRIVATE_CHANNELS = ("fill", "user_orders", "market_positions", "order_group_updates", "communications")
PAID_CHANNELS = ("cfbenchmarks_value", "pyth_value")  # index feeds: access is never granted here
CHANNELS = (ORDERBOOK, *MARKET_DATA_CHANNELS, *PRIVATE_CHANNELS, *PAID_CHANNELS)
ALWAYS_SEQUENCED = (ORDERBOOK, "order_group_updates")
OPTIONALLY_SEQUENCED = ("trade", "market_lifecycle_v2")
# ticker filters are not supported on these: a subscription receives every market
UNFILTERED = ("market_lifecycle_v2", "multivariate_market_lifecycle", "order_group_updates", "communications")
MARKET_ID_CHANNELS = ("ticker",)  # market_id / market_ids are accepted only here
UPDATE_ACTIONS = ("add_markets", "delete_markets", "get_snapshot")

# Kalshi's WS error codes and their exact message texts (asyncapi.yaml, kalshi-api.md 7.2).
ERRORS: dict[int, str] = {
    1: "Unable to process message",
    2: "Params required",
    3: "Channels required",
    4: "Subscription IDs required",
    5: "Unknown command",
    6: "Already subscribed",
    7: "Unknown subscription ID",
    8: "Unknown channel name",
    9: "Authentication required",
    10: "Channel error",
    11: "Invalid parameter",
    12: "Exactly one subscription ID is required",
    13: "Unsupported action",
    14: "Market Ticker required",
    15: "Action required",
    16: "Market not found",
    17: "Internal error",
    18: "Command timeout",
    19: "shard_factor must be > 0",
    20: "shard_factor is required when shard_key is set",
    21: "shard_key must be >= 0 and < shard_factor",
    22: "shard_factor must be <= 100",
    23: "Match IDs required",
    24: "Index IDs required",
    25: "Subscription buffer overflow",
    26: "Subscription market limit exceeded",
    27: "Too many requests",
    28: "Underlying tickers required",
}
TERMINAL_ERRORS = (10, 17, 25)  # the subscription is gone: the client must resubscribe
MAX_SHARD_FACTOR = 100  # Kalshi's limit behind error 22

# Defaults from kalshi-api.md 7 (WS limits); SimServer sets them from config (paper section).
DEFAULT_MAX_MARKETS_PER_SUBSCRIPTION = 500_000
DEFAULT_MAX_COMMANDS_PER_S = 10_000
DEFAULT_MAX_BACKLOG_FRAMES = 100_000
NS_PER_S = 1_000_000_000


class CommandError(Exception):
    """A rejected command: becomes an `error` frame. `detail` is for the log only (not on the wire)."""

    def __init__(self, code: int, detail: str | None = None, *, market_ticker: str | None = None) -> None:
        super().__init__(f"{code} {ERRORS[code]}: {detail or ''}")
        self.code = code
        self.text = ERRORS[code]
        self.detail = detail
        self.market_ticker = market_ticker


@dataclass
class Subscription:
    sid: int
    channel: str
    tickers: list[str] | None  # None = every market; order kept for the `ok` reply
    use_yes_price: bool = False
    skip_ticker_ack: bool = False
    seq: int = 0
    _ticker_set: frozenset[str] = frozenset()  # hazard: `in` on a 200-market list per event is slow

    def __post_init__(self) -> None:
        self.set_tickers(self.tickers)

    def set_tickers(self, tickers: list[str] | None) -> None:
        self.tickers = tickers
        self._ticker_set = frozenset(tickers or ())

    def covers(self, ticker: str | None) -> bool:
        return self.tickers is None or ticker is None or ticker in self._ticker_set


@dataclass(eq=False)  # sessions live in a set: identity is the right equality
class WsSession:
    hub: "WsHub"
    account_id: str | None
    _send: Callable[[str], None]
    subscriptions: dict[int, Subscription] = field(default_factory=dict)
    closed: bool = False
    _next_sid: int = 1
    # set by the transport: frames queued but not yet written (for error 25), and how to hang up
    backlog: Callable[[], int] | None = None
    disconnect: Callable[[bool], None] | None = None  # arg: abort (TCP reset) instead of a close frame
    _tokens_ns: int | None = None  # command budget, in ns of rate (see _admit_command)
    _tokens_at: int = 0

    # ----- inbound -----
    def receive(self, text: str) -> None:
        """Handle one client command. Bad input produces an error frame, never an exception."""
        if self.closed:
            return
        self.hub.exchange.catch_up()  # background events due by now happen before this command
        cmd_id: Any = 0
        try:
            command = json.loads(text)
            if not isinstance(command, dict):
                raise CommandError(1, "command must be a JSON object")
            cmd_id = command.get("id", 0)
            if isinstance(cmd_id, bool) or not isinstance(cmd_id, int) or cmd_id < 0:
                cmd_id = 0
                raise CommandError(1, "id must be a non-negative integer")
            if not self._admit_command():
                raise CommandError(27)
            cmd = command.get("cmd")
            if cmd is not None and not isinstance(cmd, str):
                raise CommandError(1, "cmd must be a string")  # 7.2: code 1 is for bad types
            handler = _COMMANDS.get(cmd)
            if handler is None:
                raise CommandError(5, repr(command.get("cmd")))
            handler(self, cmd_id, command.get("params"))
        except (json.JSONDecodeError, RecursionError):
            self._error(0, CommandError(1, "invalid JSON"))
        except CommandError as exc:
            self._error(cmd_id, exc)
        except Exception:  # hazard: a bug must not kill the connection; report code 17
            log.exception("simex: WS command failed")
            self._error(cmd_id, CommandError(17))

    def close(self) -> None:
        self.closed = True
        self.subscriptions.clear()
        self.hub.sessions.discard(self)

    def drop(self, abort: bool = False) -> None:
        """Hang up on the client (fault injection): the transport closes, the session ends.
        The transport must set `disconnect` so the client learns of it (SimServer sends a
        close frame; the replay rig reports the close to the WS actor after the frames sent
        before it); without one, the client is never told."""
        hang_up = self.disconnect
        self.close()
        if hang_up is not None:
            hang_up(abort)

    def _admit_command(self) -> bool:
        """Token bucket of `max_commands_per_s`, one second deep, on the exchange clock."""
        rate = self.hub.max_commands_per_s
        now = self.hub.exchange.now()
        if self._tokens_ns is None:
            self._tokens_ns, self._tokens_at = rate * NS_PER_S, now
        elapsed = max(0, now - self._tokens_at)
        self._tokens_at = now
        self._tokens_ns = min(rate * NS_PER_S, self._tokens_ns + elapsed * rate)
        if self._tokens_ns < NS_PER_S:
            return False
        self._tokens_ns -= NS_PER_S
        return True

    # ----- commands -----
    def _subscribe(self, cmd_id: int, params: Any) -> None:
        params = _require_params(params)
        channels = params.get("channels")
        if channels is None or channels == []:
            raise CommandError(3)
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise CommandError(1, "channels must be a list of names")
        unknown = [c for c in channels if c not in CHANNELS]
        if unknown:
            raise CommandError(8, unknown[0])
        if any(c in PAID_CHANNELS for c in channels):
            raise CommandError(9, "index feeds are not available on the simulated exchange")
        if self.account_id is None and any(c in PRIVATE_CHANNELS or c == ORDERBOOK for c in channels):
            raise CommandError(9)
        _check_shards(params)
        use_yes = _flag(params, "use_yes_price")
        skip_ack = _flag(params, "skip_ticker_ack")
        initial_snapshot = _flag(params, "send_initial_snapshot")
        tickers = self._tickers_param(params, allow_ids=all(c in MARKET_ID_CHANNELS for c in channels))
        if ORDERBOOK in channels and not tickers:
            raise CommandError(14)
        if tickers and len(tickers) > self.hub.max_markets_per_subscription:
            raise CommandError(26)
        for channel in channels:
            sub = Subscription(self._next_sid, channel, None if channel in UNFILTERED or not tickers else list(tickers),
                               use_yes, skip_ack)
            self._next_sid += 1
            self.subscriptions[sub.sid] = sub
            self.emit({"id": cmd_id, "type": "subscribed", "msg": {"channel": channel, "sid": sub.sid}})
            if channel == ORDERBOOK:
                for ticker in sub.tickers or ():
                    self._snapshot(sub, ticker, None)
            elif channel == "ticker" and initial_snapshot:
                for ticker in sub.tickers or ():
                    self.hub.deliver(self, sub, "ticker", self.hub.ticker_msg(self.hub.exchange.markets[ticker]))

    def _unsubscribe(self, cmd_id: int, params: Any) -> None:
        params = _require_params(params)
        sids = params.get("sids")
        if sids is None or sids == []:
            raise CommandError(4)
        if not isinstance(sids, list):
            raise CommandError(1, "sids must be a list")
        for sid in sids:
            sub = self.subscriptions.pop(sid, None) if _is_int(sid) else None
            if sub is None:
                self._error(cmd_id, CommandError(7, str(sid)))
                continue
            self.emit({"id": cmd_id, "sid": sub.sid, "seq": max(sub.seq, 1), "type": "unsubscribed"})

    def _update_subscription(self, cmd_id: int, params: Any) -> None:
        params = _require_params(params)
        sub = self.subscriptions.get(self._one_sid(params))
        if sub is None:
            raise CommandError(7)
        action = params.get("action")
        if action is None or action == "":
            raise CommandError(15)
        if not isinstance(action, str):
            raise CommandError(1, "action must be a string")
        if action not in UPDATE_ACTIONS:
            raise CommandError(13, action)
        tickers = self._tickers_param(params, allow_ids=sub.channel in MARKET_ID_CHANNELS)
        if not tickers:
            raise CommandError(14)
        if action == "get_snapshot":
            if sub.channel != ORDERBOOK:
                raise CommandError(13, "get_snapshot is for orderbook_delta")
            for ticker in tickers:  # all checked first: no partial answer
                if not sub.covers(ticker):
                    raise CommandError(11, "get_snapshot for a market the subscription does not cover",
                                       market_ticker=ticker)
            for ticker in tickers:
                self._snapshot(sub, ticker, cmd_id)
            return
        if sub.tickers is None:
            raise CommandError(13, "subscription has no market filter")
        if action == "add_markets":
            added = [t for t in tickers if t not in sub.tickers]
            if len(sub.tickers) + len(added) > self.hub.max_markets_per_subscription:
                raise CommandError(26)
            sub.set_tickers(sub.tickers + added)
            if sub.channel == ORDERBOOK:
                for ticker in added:
                    self._snapshot(sub, ticker, None)
        else:
            sub.set_tickers([t for t in sub.tickers if t not in tickers])
        reply: dict[str, Any] = {"id": cmd_id, "sid": sub.sid, "type": "ok"}
        if sub.seq:
            reply["seq"] = sub.seq
        if not sub.skip_ticker_ack:
            reply["msg"] = {"market_tickers": list(sub.tickers)}
        self.emit(reply)

    def _list_subscriptions(self, cmd_id: int, params: Any) -> None:
        listing = [{"channel": s.channel, "sid": s.sid} for s in self.subscriptions.values()]
        self.emit({"id": cmd_id, "type": "ok", "msg": listing})

    # ----- helpers -----
    def _tickers_param(self, params: dict, *, allow_ids: bool) -> list[str] | None:
        """Markets named by market_ticker(s) or, on the ticker channel, market_id(s); None if none."""
        markets = self.hub.exchange.markets
        tickers: list[str] = []
        for key, many in (("market_ticker", False), ("market_tickers", True), ("market_id", False),
                          ("market_ids", True)):
            value = params.get(key)
            if value is None:
                continue
            values = value if many else [value]
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise CommandError(1, f"{key} must be {'a list of strings' if many else 'a string'}")
            if key.startswith("market_id"):
                if not allow_ids:
                    raise CommandError(11, f"{key} is only supported on the ticker channel")
                by_id = {m.market_id: t for t, m in markets.items()}
                for market_id in values:
                    if market_id not in by_id:
                        raise CommandError(16, market_id)
                    tickers.append(by_id[market_id])
            else:
                for ticker in values:
                    if ticker not in markets:
                        raise CommandError(16, market_ticker=ticker)
                    tickers.append(ticker)
        return list(dict.fromkeys(tickers)) or None

    @staticmethod
    def _one_sid(params: dict) -> int:
        sid, sids = params.get("sid"), params.get("sids")
        if (sid is None) == (sids is None):
            raise CommandError(12)
        if sids is not None:
            if not isinstance(sids, list) or len(sids) != 1:
                raise CommandError(12)
            sid = sids[0]
        if not _is_int(sid):
            raise CommandError(1, "sid must be an integer")
        return sid

    def _snapshot(self, sub: Subscription, ticker: str, cmd_id: int | None) -> None:
        market = self.hub.exchange.markets[ticker]
        msg: dict[str, Any] = {"market_ticker": ticker, "market_id": market.market_id}
        yes = [[format_price(p), format_count(q)] for p, q in market.book.levels(BID)]
        no = [[format_price(_no_price(p, sub.use_yes_price)), format_count(q)] for p, q in market.book.levels(ASK)]
        no.sort(key=lambda level: Decimal(level[0]))
        if yes:
            msg["yes_dollars_fp"] = yes
        if no:
            msg["no_dollars_fp"] = no
        frame: dict[str, Any] = {"type": "orderbook_snapshot", "sid": sub.sid, "msg": msg}
        if cmd_id is not None:
            frame["id"] = cmd_id
        self.emit_sequenced(sub, frame, ticker)

    def emit_sequenced(self, sub: Subscription, frame: dict, ticker: str | None = None) -> None:
        sub.seq += 1
        faults = self.hub.faults
        if faults is not None and faults.swallow_sequenced(sub.channel, ticker):
            return  # fault injection: the frame is lost and its seq with it, so the client sees a gap
        frame["seq"] = sub.seq
        self.emit(frame)

    def emit(self, frame: dict) -> None:
        if not self.closed:
            self._send(_compact_json(frame))

    def emit_raw(self, text: str) -> None:
        """Send text as is (fault injection: malformed frames)."""
        if not self.closed:
            self._send(text)

    def overflowing(self) -> bool:
        return self.backlog is not None and self.backlog() >= self.hub.max_backlog_frames

    def end_subscription(self, sub: Subscription, code: int) -> None:
        """A terminal channel error: the subscription is dropped and the client told which sid."""
        if self.subscriptions.pop(sub.sid, None) is None:
            return
        self.emit({"id": 0, "type": "error", "sid": sub.sid, "msg": {"code": code, "msg": ERRORS[code]}})

    def _error(self, cmd_id: int, exc: CommandError) -> None:
        msg: dict[str, Any] = {"code": exc.code, "msg": exc.text}
        if exc.market_ticker is not None:
            msg["market_ticker"] = exc.market_ticker
        if exc.detail:
            log.debug("simex: WS command %s rejected: %s", cmd_id, exc.detail)
        self.emit({"id": cmd_id, "type": "error", "msg": msg})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _flag(params: dict, key: str) -> bool:
    value = params.get(key, False)
    if not isinstance(value, bool):
        raise CommandError(1, f"{key} must be a boolean")
    return value


def _check_shards(params: dict) -> None:
    """communications sharding (codes 19-22); checked wherever the keys appear."""
    factor, key = params.get("shard_factor"), params.get("shard_key")
    if factor is None and key is None:
        return
    if (factor is not None and not _is_int(factor)) or (key is not None and not _is_int(key)):
        raise CommandError(1, "shard_factor and shard_key must be integers")
    if factor is None:
        raise CommandError(20)
    if factor <= 0:
        raise CommandError(19)
    if factor > MAX_SHARD_FACTOR:
        raise CommandError(22)
    if key is not None and not 0 <= key < factor:
        raise CommandError(21)


def _require_params(params: Any) -> dict:
    if params is None:
        raise CommandError(2)
    if not isinstance(params, dict):
        raise CommandError(1, "params must be an object")
    return params


def _no_price(yes_ask: Decimal, use_yes_price: bool) -> Decimal:
    return yes_ask if use_yes_price else ONE - yes_ask


_COMMANDS: dict[Any, Callable[[WsSession, int, Any], None]] = {
    "subscribe": WsSession._subscribe,
    "unsubscribe": WsSession._unsubscribe,
    "update_subscription": WsSession._update_subscription,
    "list_subscriptions": WsSession._list_subscriptions,
}


def _with_deprecated_fields(msg_type: str, msg: dict) -> dict:
    """The deprecated direction fields asyncapi.yaml still lists as required, derived from the
    current ones (kalshi-api.md 7.3 examples): buy-yes / buy-no in legacy terms. An empty
    `last_update_reason` (not in Kalshi's enum) is left out."""
    if msg_type == "trade" and "taker_outcome_side" in msg:
        msg.setdefault("taker_side", msg["taker_outcome_side"])
    elif msg_type == "fill" and "outcome_side" in msg:
        msg.setdefault("side", msg["outcome_side"])
        msg.setdefault("action", "buy")
        msg.setdefault("purchased_side", msg["outcome_side"])
    elif msg_type == "user_order" and "outcome_side" in msg:
        msg.setdefault("side", msg["outcome_side"])
        msg.setdefault("is_yes", msg["outcome_side"] == "yes")
        if "created_ts_ms" in msg:
            msg.setdefault("created_time", rfc3339_from_ns(msg["created_ts_ms"] * 1_000_000))
        if msg.get("last_update_reason") == "":  # a new order has had no update: no reason to give
            del msg["last_update_reason"]
    return msg


class WsHub:
    """Fans exchange events out to the sessions whose subscriptions cover them."""

    def __init__(self, exchange: "Exchange") -> None:
        self.exchange = exchange
        self.sessions: set[WsSession] = set()
        self._open_order: list[WsSession] = []  # delivery order must not depend on set hashing
        self.faults: "Faults | None" = None  # simex._faults.faults_of(exchange) installs one
        self.sequence_trade_and_lifecycle = False
        self.max_markets_per_subscription = DEFAULT_MAX_MARKETS_PER_SUBSCRIPTION
        self.max_commands_per_s = DEFAULT_MAX_COMMANDS_PER_S
        self.max_backlog_frames = DEFAULT_MAX_BACKLOG_FRAMES

    def open(self, account_id: str | None, send: Callable[[str], None]) -> WsSession:
        session = WsSession(self, account_id, send)
        self.sessions.add(session)
        self._open_order.append(session)
        return session

    def open_sessions(self) -> list[WsSession]:
        """Live sessions in the order they opened."""
        self._open_order = [s for s in self._open_order if s in self.sessions]
        return list(self._open_order)

    def _subscribers(self, channel: str, ticker: str | None, account_id: str | None = None):
        for session in self.open_sessions():
            if account_id is not None and session.account_id != account_id:
                continue
            for sub in list(session.subscriptions.values()):
                if sub.channel == channel and sub.covers(ticker):
                    yield session, sub

    def _sequenced(self, channel: str) -> bool:
        return channel in ALWAYS_SEQUENCED or (self.sequence_trade_and_lifecycle and channel in OPTIONALLY_SEQUENCED)

    def deliver(self, session: WsSession, sub: Subscription, msg_type: str, msg: dict,
                ticker: str | None = None) -> None:
        """One data frame to one subscription; a client that cannot keep up loses it (error 25)."""
        if session.overflowing():
            session.end_subscription(sub, 25)
            return
        frame = {"type": msg_type, "sid": sub.sid, "msg": msg}
        if self._sequenced(sub.channel):
            session.emit_sequenced(sub, frame, ticker)
        else:
            session.emit(frame)

    def _publish(self, channel: str, ticker: str | None, msg_type: str, msg: dict, account_id: str | None = None) -> None:
        subscribers = list(self._subscribers(channel, ticker, account_id))
        if subscribers:
            msg = _with_deprecated_fields(msg_type, msg)
        for session, sub in subscribers:
            self.deliver(session, sub, msg_type, msg, ticker)

    def book_delta(self, market: "Market", side: str, price: Decimal, delta: Decimal, order: "Order") -> None:
        """A change of `delta` contracts at one level; `order` is the resting order that changed."""
        if not delta:
            return
        subscribers = list(self._subscribers(ORDERBOOK, market.ticker))
        if not subscribers:
            return
        base = {"market_ticker": market.ticker, "market_id": market.market_id}  # market_id: computed once
        delta_fp, book_side, ts_ms = format_count(delta), "yes" if side == BID else "no", self.exchange.now_ms()
        prices = {flag: format_price(price if side == BID else _no_price(price, flag)) for flag in (False, True)}
        for session, sub in subscribers:
            msg: dict[str, Any] = {**base, "price_dollars": prices[sub.use_yes_price], "delta_fp": delta_fp,
                                   "side": book_side, "ts_ms": ts_ms}
            if session.account_id == order.account_id and order.client_order_id:
                msg["client_order_id"] = order.client_order_id
            self.deliver(session, sub, "orderbook_delta", msg, market.ticker)

    def trade(self, trade) -> None:
        self._publish("trade", trade.ticker, "trade", trade.ws_json())

    def private(self, account_id: str, channel: str, ticker: str, msg_type: str, msg: dict) -> None:
        self._publish(channel, ticker, msg_type, msg, account_id)

    def listens(self, account_id: str | None) -> bool:
        """Whether any open session is the account's: a private message nobody could receive
        need not be built (the tape's and a scenario's background accounts have no session)."""
        return any(session.account_id == account_id for session in self.sessions)

    def order_group_update(self, account_id: str, msg: dict) -> None:
        """`order_group_updates` (sequenced): msg has event_type, order_group_id, ts_ms, [contracts_limit_fp]."""
        self._publish("order_group_updates", None, "order_group_updates", msg, account_id)

    def ticker_msg(self, market: "Market") -> dict:
        now = self.exchange.now()
        touch = market.touch()
        last = market.last_price or Decimal(0)
        return {
            "market_ticker": market.ticker,
            "market_id": market.market_id,
            "price_dollars": format_price(last),
            "yes_bid_dollars": format_price(touch["bid"] if touch["bid"] is not None else Decimal(0)),
            "yes_ask_dollars": format_price(touch["ask"] if touch["ask"] is not None else ONE),
            "yes_bid_size_fp": format_count(touch["bid_size"]),
            "yes_ask_size_fp": format_count(touch["ask_size"]),
            "last_trade_size_fp": format_count(market.last_trade_size),
            "volume_fp": format_count(market.volume),
            "open_interest_fp": format_count(market.open_interest),
            "dollar_volume": int(market.volume),  # whole dollars of notional ($1 per contract)
            "dollar_open_interest": int(market.open_interest),
            "ts": now // 1_000_000_000,
            "ts_ms": now // 1_000_000,
            "time": rfc3339_from_ns(now),
        }

    def ticker(self, market: "Market") -> None:
        self._publish("ticker", market.ticker, "ticker", self.ticker_msg(market))

    def lifecycle(self, market: "Market", event_type: str, extra: dict) -> None:
        msg = {"market_ticker": market.ticker, "event_type": event_type, **extra}
        self._publish("market_lifecycle_v2", None, "market_lifecycle_v2", msg)
