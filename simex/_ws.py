"""WebSocket sessions of the simulated exchange, sans-IO: text in via `receive`, text out via `send`.

Sequencing: `orderbook_delta`, `trade` and `market_lifecycle_v2` messages carry a per-sid `seq`
that starts at 1 and grows by 1 per data message. Control replies (`ok`, `unsubscribed`)
echo the last `seq` used on that sid without consuming one.
NO-side book levels are NO bid prices (1 - YES ask) unless the subscription set
`use_yes_price`, in which case they are the YES ask prices.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable

from mmd.wire import ONE, format_count, format_price, rfc3339_from_ns

from ._book import ASK, BID

if TYPE_CHECKING:
    from ._exchange import Exchange
    from ._model import Market, Order

__all__ = ["WsHub", "WsSession", "CHANNELS"]

log = logging.getLogger(__name__)

ORDERBOOK = "orderbook_delta"
PUBLIC_CHANNELS = ("ticker", "trade", "market_lifecycle_v2")
PRIVATE_CHANNELS = ("fill", "user_orders", "market_positions")
CHANNELS = (ORDERBOOK, *PUBLIC_CHANNELS, *PRIVATE_CHANNELS)
SEQUENCED = (ORDERBOOK, "trade", "market_lifecycle_v2")
UNFILTERED = ("market_lifecycle_v2",)  # ticker filters are not supported on lifecycle

ERR_UNPROCESSABLE = (1, "Unable to process message")
ERR_PARAMS = (2, "Params required")
ERR_CHANNELS = (3, "Channels required")
ERR_SIDS = (4, "Subscription IDs required")
ERR_COMMAND = (5, "Unknown command")
ERR_SID = (7, "Unknown subscription ID")
ERR_CHANNEL = (8, "Unknown channel name")
ERR_AUTH = (9, "Authentication required")
ERR_PARAM = (11, "Invalid parameter")
ERR_ONE_SID = (12, "Exactly one subscription ID is required")
ERR_ACTION_UNSUPPORTED = (13, "Unsupported action")
ERR_TICKER = (14, "Market Ticker required")
ERR_ACTION = (15, "Action required")
ERR_MARKET = (16, "Market not found")
ERR_INTERNAL = (17, "Internal error")


class CommandError(Exception):
    def __init__(self, error: tuple[int, str], detail: str | None = None) -> None:
        super().__init__(error[1])
        self.code, self.text = error
        self.detail = detail


@dataclass
class Subscription:
    sid: int
    channel: str
    tickers: list[str] | None  # None = every market
    use_yes_price: bool = False
    seq: int = 0

    def covers(self, ticker: str) -> bool:
        return self.tickers is None or ticker in self.tickers


@dataclass(eq=False)  # sessions live in a set: identity is the right equality
class WsSession:
    hub: "WsHub"
    account_id: str | None
    _send: Callable[[str], None]
    subscriptions: dict[int, Subscription] = field(default_factory=dict)
    closed: bool = False
    _next_sid: int = 1

    # ----- inbound -----
    def receive(self, text: str) -> None:
        """Handle one client command. Bad input produces an error frame, never an exception."""
        if self.closed:
            return
        cmd_id: Any = 0
        try:
            command = json.loads(text)
            if not isinstance(command, dict):
                raise CommandError(ERR_UNPROCESSABLE, "command must be a JSON object")
            cmd_id = command.get("id", 0)
            if isinstance(cmd_id, bool) or not isinstance(cmd_id, int):
                cmd_id = 0
                raise CommandError(ERR_UNPROCESSABLE, "id must be an integer")
            handler = _COMMANDS.get(command.get("cmd"))
            if handler is None:
                raise CommandError(ERR_COMMAND)
            handler(self, cmd_id, command.get("params"))
        except json.JSONDecodeError:
            self._error(0, CommandError(ERR_UNPROCESSABLE, "invalid JSON"))
        except CommandError as exc:
            self._error(cmd_id, exc)
        except Exception:  # hazard: a bug must not kill the connection; report code 17
            log.exception("simex: WS command failed")
            self._error(cmd_id, CommandError(ERR_INTERNAL))

    def close(self) -> None:
        self.closed = True
        self.subscriptions.clear()
        self.hub.sessions.discard(self)

    # ----- commands -----
    def _subscribe(self, cmd_id: int, params: Any) -> None:
        params = _require_params(params)
        channels = params.get("channels")
        if not channels:
            raise CommandError(ERR_CHANNELS)
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise CommandError(ERR_PARAM, "channels must be a list of names")
        unknown = [c for c in channels if c not in CHANNELS]
        if unknown:
            raise CommandError(ERR_CHANNEL, unknown[0])
        if self.account_id is None and any(c in PRIVATE_CHANNELS or c == ORDERBOOK for c in channels):
            raise CommandError(ERR_AUTH)
        tickers = self._tickers_param(params)
        if ORDERBOOK in channels and not tickers:
            raise CommandError(ERR_TICKER)
        use_yes = params.get("use_yes_price", False)
        if not isinstance(use_yes, bool):
            raise CommandError(ERR_PARAM, "use_yes_price must be a boolean")
        for channel in channels:
            sub = Subscription(self._next_sid, channel, None if channel in UNFILTERED else tickers, use_yes)
            self._next_sid += 1
            self.subscriptions[sub.sid] = sub
            self.emit({"id": cmd_id, "type": "subscribed", "msg": {"channel": channel, "sid": sub.sid}})
            if channel == ORDERBOOK:
                for ticker in sub.tickers or ():
                    self._snapshot(sub, ticker, None)

    def _unsubscribe(self, cmd_id: int, params: Any) -> None:
        params = _require_params(params)
        sids = params.get("sids")
        if not sids or not isinstance(sids, list):
            raise CommandError(ERR_SIDS)
        for sid in sids:
            sub = self.subscriptions.pop(sid, None) if isinstance(sid, int) else None
            if sub is None:
                self._error(cmd_id, CommandError(ERR_SID, str(sid)))
                continue
            self.emit({"id": cmd_id, "sid": sub.sid, "seq": sub.seq, "type": "unsubscribed"})

    def _update_subscription(self, cmd_id: int, params: Any) -> None:
        params = _require_params(params)
        sub = self.subscriptions.get(self._one_sid(params))
        if sub is None:
            raise CommandError(ERR_SID)
        action = params.get("action")
        if not action:
            raise CommandError(ERR_ACTION)
        if action not in ("add_markets", "delete_markets", "get_snapshot"):
            raise CommandError(ERR_ACTION_UNSUPPORTED, str(action))
        tickers = self._tickers_param(params)
        if not tickers:
            raise CommandError(ERR_TICKER)
        if action == "get_snapshot":
            if sub.channel != ORDERBOOK:
                raise CommandError(ERR_ACTION_UNSUPPORTED, "get_snapshot is for orderbook_delta")
            for ticker in tickers:
                self._snapshot(sub, ticker, cmd_id)
            return
        if sub.tickers is None:
            raise CommandError(ERR_ACTION_UNSUPPORTED, "subscription has no market filter")
        if action == "add_markets":
            added = [t for t in tickers if t not in sub.tickers]
            sub.tickers.extend(added)
            if sub.channel == ORDERBOOK:
                for ticker in added:
                    self._snapshot(sub, ticker, None)
        else:
            sub.tickers = [t for t in sub.tickers if t not in tickers]
        self.emit({"id": cmd_id, "sid": sub.sid, "seq": sub.seq, "type": "ok",
                   "msg": {"market_tickers": list(sub.tickers)}})

    def _list_subscriptions(self, cmd_id: int, params: Any) -> None:
        listing = [{"channel": s.channel, "sid": s.sid} for s in self.subscriptions.values()]
        self.emit({"id": cmd_id, "type": "ok", "msg": listing})

    # ----- helpers -----
    def _tickers_param(self, params: dict) -> list[str] | None:
        single, many = params.get("market_ticker"), params.get("market_tickers")
        if single is None and many is None:
            return None
        tickers = ([single] if single is not None else []) + (many if isinstance(many, list) else [many])
        tickers = [t for t in tickers if t is not None]
        if not all(isinstance(t, str) for t in tickers):
            raise CommandError(ERR_PARAM, "market tickers must be strings")
        missing = [t for t in tickers if t not in self.hub.exchange.markets]
        if missing:
            raise CommandError(ERR_MARKET, missing[0])
        return list(dict.fromkeys(tickers))

    @staticmethod
    def _one_sid(params: dict) -> int:
        sid, sids = params.get("sid"), params.get("sids")
        if (sid is None) == (sids is None):
            raise CommandError(ERR_ONE_SID)
        if sids is not None:
            if not isinstance(sids, list) or len(sids) != 1:
                raise CommandError(ERR_ONE_SID)
            sid = sids[0]
        if isinstance(sid, bool) or not isinstance(sid, int):
            raise CommandError(ERR_PARAM, "sid must be an integer")
        return sid

    def _snapshot(self, sub: Subscription, ticker: str, cmd_id: int | None) -> None:
        book = self.hub.exchange.markets[ticker].book
        msg: dict[str, Any] = {"market_ticker": ticker, "market_id": self.hub.exchange.markets[ticker].market_id}
        yes = [[format_price(p), format_count(q)] for p, q in book.levels(BID)]
        no = [[format_price(_no_price(p, sub.use_yes_price)), format_count(q)] for p, q in book.levels(ASK)]
        no.sort(key=lambda level: Decimal(level[0]))
        if yes:
            msg["yes_dollars_fp"] = yes
        if no:
            msg["no_dollars_fp"] = no
        frame: dict[str, Any] = {"type": "orderbook_snapshot", "sid": sub.sid, "seq": 0, "msg": msg}
        if cmd_id is not None:
            frame["id"] = cmd_id
        self.emit_sequenced(sub, frame)

    def emit_sequenced(self, sub: Subscription, frame: dict) -> None:
        sub.seq += 1
        frame["seq"] = sub.seq
        self.emit(frame)

    def emit(self, frame: dict) -> None:
        if not self.closed:
            self._send(json.dumps(frame, separators=(",", ":")))

    def _error(self, cmd_id: int, exc: CommandError) -> None:
        msg: dict[str, Any] = {"code": exc.code, "msg": exc.text}
        if exc.detail:
            msg["detail"] = exc.detail
        self.emit({"id": cmd_id, "type": "error", "msg": msg})


def _require_params(params: Any) -> dict:
    if params is None:
        raise CommandError(ERR_PARAMS)
    if not isinstance(params, dict):
        raise CommandError(ERR_UNPROCESSABLE, "params must be an object")
    return params


def _no_price(yes_ask: Decimal, use_yes_price: bool) -> Decimal:
    return yes_ask if use_yes_price else ONE - yes_ask


_COMMANDS: dict[Any, Callable[[WsSession, int, Any], None]] = {
    "subscribe": WsSession._subscribe,
    "unsubscribe": WsSession._unsubscribe,
    "update_subscription": WsSession._update_subscription,
    "list_subscriptions": WsSession._list_subscriptions,
}


class WsHub:
    """Fans exchange events out to the sessions whose subscriptions cover them."""

    def __init__(self, exchange: "Exchange") -> None:
        self.exchange = exchange
        self.sessions: set[WsSession] = set()
        self._open_order: list[WsSession] = []  # delivery order must not depend on set hashing

    def open(self, account_id: str | None, send: Callable[[str], None]) -> WsSession:
        session = WsSession(self, account_id, send)
        self.sessions.add(session)
        self._open_order.append(session)
        return session

    def _subscribers(self, channel: str, ticker: str | None, account_id: str | None = None):
        self._open_order = [s for s in self._open_order if s in self.sessions]
        for session in self._open_order:
            if account_id is not None and session.account_id != account_id:
                continue
            for sub in list(session.subscriptions.values()):
                if sub.channel == channel and (ticker is None or sub.covers(ticker)):
                    yield session, sub

    def _publish(self, channel: str, ticker: str | None, msg_type: str, msg: dict, account_id: str | None = None) -> None:
        for session, sub in self._subscribers(channel, ticker, account_id):
            frame = {"type": msg_type, "sid": sub.sid, "msg": msg}
            if channel in SEQUENCED:
                session.emit_sequenced(sub, frame)
            else:
                session.emit(frame)

    def book_delta(self, market: "Market", side: str, price: Decimal, delta: Decimal, order: "Order") -> None:
        """A change of `delta` contracts at one level; `order` is the resting order that changed."""
        if not delta:
            return
        ts_ms = self.exchange.now_ms()
        for session, sub in self._subscribers(ORDERBOOK, market.ticker):
            msg: dict[str, Any] = {
                "market_ticker": market.ticker,
                "market_id": market.market_id,
                "price_dollars": format_price(price if side == BID else _no_price(price, sub.use_yes_price)),
                "delta_fp": format_count(delta),
                "side": "yes" if side == BID else "no",
                "ts_ms": ts_ms,
            }
            if session.account_id == order.account_id and order.client_order_id:
                msg["client_order_id"] = order.client_order_id
            session.emit_sequenced(sub, {"type": "orderbook_delta", "sid": sub.sid, "msg": msg})

    def trade(self, trade) -> None:
        self._publish("trade", trade.ticker, "trade", trade.ws_json())

    def private(self, account_id: str, channel: str, ticker: str, msg_type: str, msg: dict) -> None:
        self._publish(channel, ticker, msg_type, msg, account_id)

    def ticker(self, market: "Market") -> None:
        now = self.exchange.now()
        touch = market.touch()
        last = market.last_price or Decimal(0)
        msg = {
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
        self._publish("ticker", market.ticker, "ticker", msg)

    def lifecycle(self, market: "Market", event_type: str, extra: dict) -> None:
        msg = {"market_ticker": market.ticker, "event_type": event_type, **extra}
        self._publish("market_lifecycle_v2", None, "market_lifecycle_v2", msg)
