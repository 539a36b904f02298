"""REST routing and request validation for the simulated exchange (paths under /trade-api/v2).

Every reject is an `ApiError` rendered in Kalshi's error shape; a body that is not JSON gets
the top-level `{"code":"bad_request",...}` shape. Nothing raised here escapes `handle`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any, Callable

from kalshi.wire import (
    WireFormatError,
    format_count,
    format_fee,
    format_money,
    format_price,
    parse_count,
    parse_dollars,
    rfc3339_from_ns,
)

from ._book import ASK, BID
from ._candles import PERIODS_MIN
from ._errors import ApiError, error_body
from ._model import FOK, IOC, NS_PER_S, STP_TYPES, TIME_IN_FORCE, ZERO, Market, MarketSpec, Order, OrderRequest, Position
from ._ratelimit import DEFAULT_COST, TOO_MANY_REQUESTS_BODY, max_batch_items, non_default_costs

if TYPE_CHECKING:
    from ._exchange import Exchange

__all__ = ["RestApi", "API_PREFIX", "parse_json_body"]

log = logging.getLogger(__name__)

API_PREFIX = "/trade-api/v2"
_STATUS_FILTER = {
    "unopened": ("initialized",),
    "open": ("active",),
    "paused": ("inactive",),
    "closed": ("closed", "determined", "disputed", "amended"),
    "settled": ("finalized",),
}
_ORDER_STATUSES = ("resting", "canceled", "executed")
_LEGACY_MESSAGE = "Please switch to the V2 endpoints"
_MAX_TICKERS = 100  # multiple orderbooks and batch candlesticks
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SCHEDULE_FROM = "2020-01-01T00:00:00Z"  # the simulator trades around the clock, always has
_SCHEDULE_TO = "2100-01-01T00:00:00Z"

Handler = Callable[["RestApi", dict, Any, "str | None", tuple[str, ...]], tuple[int, dict]]


def parse_json_body(raw: bytes | str | None) -> tuple[bool, Any]:
    """(True, value) for an empty or JSON body; (False, Kalshi's top-level 400 body) otherwise."""
    if raw is None or not raw.strip():
        return True, None
    try:
        return True, json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return False, {"code": "bad_request", "message": "bad request", "details": f"invalid JSON body: {exc}"}


# ----- query and body field helpers -----
def _q(query: dict, name: str) -> str | None:
    value = query.get(name)
    if isinstance(value, list):
        return value[-1] if value else None
    return value


def _q_int(query: dict, name: str, lo: int, hi: int, default: int | None = None) -> int | None:
    raw = _q(query, name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError.bad_request(f"{name} must be an integer") from None
    if not lo <= value <= hi:
        raise ApiError.bad_request(f"{name} must be between {lo} and {hi}")
    return value


def _q_list(query: dict, name: str) -> list[str] | None:
    raw = query.get(name)
    if raw is None:
        return None
    parts = raw if isinstance(raw, list) else [raw]
    return [t for part in parts for t in part.split(",") if t]


_CURSOR_TAG = "k1:"


def _encode_cursor(key: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_TAG}{key}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith(_CURSOR_TAG):
            raise ValueError(cursor)
        return int(text[len(_CURSOR_TAG):])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError.bad_request("invalid cursor") from None


def _paginate(items: list, query: dict, key: Callable[[Any], int], descending: bool = False,
              max_limit: int = 1000, default: int = 100) -> tuple[list, str]:
    """Keyset cursor (kalshi-api.md section 3, send it back unchanged; "" = no next page): the
    opaque cursor carries the sort key of the page's last item and the next page starts after
    that key, so items added or removed between pages neither repeat nor get skipped, and the
    cursor still works when its item is gone. `items` are in `key` order (descending or not)."""
    limit = _q_int(query, "limit", 1, max_limit, default)
    cursor = _q(query, "cursor") or ""
    start = 0
    if cursor:
        after = _decode_cursor(cursor)
        start = next((i for i, item in enumerate(items)
                      if (key(item) < after if descending else key(item) > after)), len(items))
    page = items[start:start + limit]
    more = start + limit < len(items)
    return page, (_encode_cursor(key(page[-1])) if more and page else "")


def _body_dict(body: Any) -> dict:
    if not isinstance(body, dict):
        raise ApiError.bad_request("request body must be a JSON object")
    return body


def _field(body: dict, name: str, kind: type | tuple[type, ...], required: bool = True, default: Any = None) -> Any:
    if name not in body or body[name] is None:
        if required:
            raise ApiError.missing(name)
        return default
    value = body[name]
    if isinstance(value, bool) and kind is not bool:
        raise ApiError.bad_request(f"{name} has the wrong type")
    if not isinstance(value, kind):
        raise ApiError.bad_request(f"{name} has the wrong type")
    return value


def _choice(body: dict, name: str, choices: tuple[str, ...], required: bool = True, default: str | None = None) -> str:
    value = _field(body, name, str, required, default)
    if value not in choices:
        raise ApiError.bad_request(f"{name} must be one of {', '.join(choices)}")
    return value


def _price(body: dict, name: str = "price") -> Decimal:
    raw = _field(body, name, str)
    try:
        price = parse_dollars(raw, name)
    except WireFormatError as exc:
        raise ApiError.bad_request(str(exc)) from None
    if price.as_tuple().exponent < -4:  # type: ignore[operator]
        raise ApiError.bad_request(f"{name} accepts at most 4 decimals")
    return price


def _count(body: dict, name: str, required: bool = True) -> Decimal | None:
    raw = _field(body, name, (str, int), required)
    if raw is None:
        return None
    try:
        return parse_count(raw, name)
    except WireFormatError as exc:
        raise ApiError.bad_request(str(exc)) from None


def _cents(value: Decimal) -> int:
    return int((value * 100).to_integral_value(rounding=ROUND_FLOOR))


def _in_ts_window(ts_ns: int, query: dict) -> bool:
    lo = _q_int(query, "min_ts", 0, 2**62)
    hi = _q_int(query, "max_ts", 0, 2**62)
    ts_s = ts_ns // NS_PER_S
    return (lo is None or ts_s >= lo) and (hi is None or ts_s <= hi)


class RestApi:
    """Routes one request to the exchange. Paths are full (`/trade-api/v2/...`)."""

    def __init__(self, exchange: "Exchange") -> None:
        self.ex = exchange

    def handle(self, method: str, path: str, query: dict, body: Any, account_id: str | None) -> tuple[int, dict]:
        try:
            return self._dispatch(method.upper(), path, query, body, account_id)
        except ApiError as exc:
            return exc.status, exc.body()
        except Exception:  # hazard: a bug must not kill the server; report it as a 500
            log.exception("simex: internal error on %s %s", method, path)
            return 500, error_body("internal_server_error", "internal server error")

    def _dispatch(self, method: str, path: str, query: dict, body: Any, account_id: str | None) -> tuple[int, dict]:
        if not path.startswith(API_PREFIX + "/"):
            raise ApiError.not_found(f"no route for {path}")
        sub = path[len(API_PREFIX):].rstrip("/") or "/"
        candidates = _LITERAL_PATH_ROUTES.get(sub)
        if candidates is None:
            candidates = _routes_matching(sub)
        for route_method, handler, private, groups in candidates:
            if route_method != method:
                continue
            if private and account_id is None:
                raise ApiError(401, "unauthorized", "authentication required")
            if handler in _BATCH_HANDLERS:
                self._batch_items(body, method)  # an oversized batch is refused before it costs tokens
            if not self.ex.admit_request(account_id, method, path, body):
                return 429, dict(TOO_MANY_REQUESTS_BODY)
            return handler(self, query, body, account_id, groups)
        if candidates:
            raise ApiError(405, "method_not_allowed", "method not allowed", f"{method} {sub}")
        raise ApiError.not_found(f"no route for {path}")

    # ----- exchange and market data -----
    def exchange_status(self, query, body, account_id, args):
        return 200, {"exchange_active": True, "trading_active": True, "intra_exchange_transfers_active": True,
                     "exchange_index_statuses": [{
                         "exchange_index": 0, "description": "simulated exchange (single shard)",
                         "exchange_active": True, "trading_active": True, "intra_exchange_transfers_active": True}]}

    def markets(self, query, body, account_id, args):
        markets = list(self.ex.markets.values())
        status = _q(query, "status")
        if status:
            if status not in _STATUS_FILTER:
                raise ApiError.bad_request(f"status must be one of {', '.join(_STATUS_FILTER)}")
            markets = [m for m in markets if m.status in _STATUS_FILTER[status]]
        tickers = _q_list(query, "tickers")
        if tickers is not None:
            markets = [m for m in markets if m.ticker in tickers]
        for name, attr in (("series_ticker", "series_ticker"), ("event_ticker", "event_ticker")):
            wanted = _q(query, name)
            if wanted:
                markets = [m for m in markets if getattr(m.spec, attr) == wanted]
        for name, stamp in _MARKET_TS_FILTERS:
            bound = _q_int(query, name, 0, 2**62) if name in query else None  # most sweeps set none
            if bound is not None:
                keep_above = name.startswith("min_")
                markets = [m for m in markets if _ts_within(stamp(m), bound, keep_above)]
        mve = _q(query, "mve_filter")
        if mve:
            if mve not in ("only", "exclude"):
                raise ApiError.bad_request("mve_filter must be only or exclude")
            if mve == "only":
                markets = []  # the simulator lists no multivariate (combo) markets
        page, cursor = _paginate(markets, query, key=lambda m: m.seq)
        now = self.ex.now()
        return 200, {"markets": [m.to_json(now) for m in page], "cursor": cursor}

    def orderbooks(self, query, body, account_id, args):
        tickers = _q_list(query, "tickers")
        if not tickers:
            raise ApiError.missing("tickers")
        if len(tickers) > _MAX_TICKERS:
            raise ApiError.bad_request(f"at most {_MAX_TICKERS} tickers")
        return 200, {"orderbooks": [{"ticker": t, "orderbook_fp": _orderbook_fp(self.ex.market(t), 0)}
                                    for t in dict.fromkeys(tickers)]}

    def candlesticks(self, query, body, account_id, args):
        series, ticker = args
        market = self.ex.market(ticker)
        if market.spec.series_ticker != series:
            raise ApiError.not_found(f"market {ticker} is not in series {series}")
        return 200, {"ticker": ticker, "candlesticks": self._candles(market, query)}

    def batch_candlesticks(self, query, body, account_id, args):
        tickers = _q_list(query, "market_tickers")
        if not tickers:
            raise ApiError.missing("market_tickers")
        if len(tickers) > _MAX_TICKERS:
            raise ApiError.bad_request(f"at most {_MAX_TICKERS} market_tickers")
        markets = [self.ex.market(t) for t in dict.fromkeys(tickers)]
        return 200, {"markets": [{"market_ticker": m.ticker, "candlesticks": self._candles(m, query)}
                                 for m in markets]}

    def _candles(self, market: Market, query: dict) -> list[dict]:
        start = _q_int(query, "start_ts", 0, 2**62)
        end = _q_int(query, "end_ts", 0, 2**62)
        period = _q_int(query, "period_interval", 1, 1440)
        for name, value in (("start_ts", start), ("end_ts", end), ("period_interval", period)):
            if value is None:
                raise ApiError.missing(name)
        if period not in PERIODS_MIN:
            raise ApiError.bad_request("period_interval must be 1, 60 or 1440")
        if market.bars is None:  # a settled market past its cut-off: no live candles (Kalshi: /historical)
            return []
        try:
            return market.bars.candles(start, end, period, market.created_ns // NS_PER_S,
                                       self.ex.now() // NS_PER_S)
        except ValueError as exc:
            raise ApiError.bad_request(str(exc)) from None

    def market(self, query, body, account_id, args):
        return 200, {"market": self.ex.market(args[0]).to_json(self.ex.now())}

    def orderbook(self, query, body, account_id, args):
        market = self.ex.market(args[0])
        return 200, {"orderbook_fp": _orderbook_fp(market, _q_int(query, "depth", 0, 100, 0))}

    def trades(self, query, body, account_id, args):
        ticker = _q(query, "ticker")
        trades = [t for t in reversed(self.ex.trades)
                  if (not ticker or t.ticker == ticker) and _in_ts_window(t.ts_ns, query)]
        page, cursor = _paginate(trades, query, key=lambda t: t.seq, descending=True)
        return 200, {"trades": [t.to_json() for t in page], "cursor": cursor}

    def series(self, query, body, account_id, args):
        spec = next((m.spec for m in self.ex.markets.values() if m.spec.series_ticker == args[0]), None)
        if spec is None:
            raise ApiError.not_found(f"series {args[0]} not found")
        return 200, {"series": _series_json(spec)}

    def series_list(self, query, body, account_id, args):
        category = _q(query, "category")
        first_spec: dict[str, MarketSpec] = {}
        for market in self.ex.markets.values():  # listing order: deterministic
            first_spec.setdefault(market.spec.series_ticker, market.spec)
        return 200, {"series": [_series_json(spec) for spec in first_spec.values()
                                if not category or spec.category == category]}

    def event(self, query, body, account_id, args):
        markets = [m for m in self.ex.markets.values() if m.spec.event_ticker == args[0]]
        if not markets:
            raise ApiError.not_found(f"event {args[0]} not found")
        nested, now = _q_bool(query, "with_nested_markets"), self.ex.now()
        return 200, {"event": _event_json(markets, nested, now), "markets": [m.to_json(now) for m in markets]}

    def events(self, query, body, account_id, args):
        by_event: dict[str, list[Market]] = {}
        for market in self.ex.markets.values():
            by_event.setdefault(market.spec.event_ticker, []).append(market)
        status, series = _q(query, "status"), _q(query, "series_ticker")
        if status and status not in _STATUS_FILTER:
            raise ApiError.bad_request(f"status must be one of {', '.join(_STATUS_FILTER)}")
        min_close = _q_int(query, "min_close_ts", 0, 2**62)
        min_updated = _q_int(query, "min_updated_ts", 0, 2**62)
        groups = [
            group for group in by_event.values()
            if (not series or group[0].spec.series_ticker == series)
            and (not status or any(m.status in _STATUS_FILTER[status] for m in group))
            and (min_close is None or any(m.close_ns // NS_PER_S >= min_close for m in group))
            and (min_updated is None or any(m.updated_ns // NS_PER_S >= min_updated for m in group))
        ]
        page, cursor = _paginate(groups, query, key=lambda g: g[0].seq, max_limit=200, default=200)
        nested, now = _q_bool(query, "with_nested_markets"), self.ex.now()
        return 200, {"events": [_event_json(group, nested, now) for group in page], "cursor": cursor}

    # ----- exchange and account -----
    def exchange_schedule(self, query, body, account_id, args):
        hours = {day: [{"open_time": "00:00", "close_time": "24:00"}] for day in _WEEKDAYS}
        return 200, {"schedule": {
            "standard_hours": [{"start_time": _SCHEDULE_FROM, "end_time": _SCHEDULE_TO, **hours}],
            "maintenance_windows": [],
        }}

    def user_data_timestamp(self, query, body, account_id, args):
        return 200, {"as_of_time": rfc3339_from_ns(self.ex.now())}

    def account_limits(self, query, body, account_id, args):
        return 200, self.ex.limiter(account_id).limits_json()

    def endpoint_costs(self, query, body, account_id, args):
        return 200, {"default_cost": DEFAULT_COST, "endpoint_costs": non_default_costs()}

    # ----- V2 orders -----
    def create_order(self, query, body, account_id, args):
        order = self.ex.place_order(account_id, self._order_request(_body_dict(body)))
        return 201, self._create_reply(order)

    def batch_create(self, query, body, account_id, args):
        items = self._batch_items(body, "POST")
        replies = []
        for item in items:
            try:
                order = self.ex.place_order(account_id, self._order_request(_body_dict(item)))
                replies.append(self._create_reply(order))
            except ApiError as exc:
                coid = item.get("client_order_id") if isinstance(item, dict) else None
                replies.append({"client_order_id": coid, **exc.body()})
        return 201, {"orders": replies}

    def cancel_order(self, query, body, account_id, args):
        order, reduced = self.ex.cancel_order(account_id, args[0])
        return 200, self._cancel_reply(order, reduced)

    def batch_cancel(self, query, body, account_id, args):
        replies = []
        for item in self._batch_items(body, "DELETE"):
            order_id = item.get("order_id") if isinstance(item, dict) else None
            try:
                if not isinstance(order_id, str):
                    raise ApiError.missing("order_id")
                order, reduced = self.ex.cancel_order(account_id, order_id)
                replies.append(self._cancel_reply(order, reduced))
            except ApiError as exc:
                replies.append({"order_id": order_id, "reduced_by": format_count(ZERO), **exc.body()})
        return 200, {"orders": replies}

    def cancel_all(self, query, body, account_id, args):
        cancelled = self.ex.cancel_all(account_id, _q(query, "ticker") or _q(query, "market_ticker"))
        return 200, {"orders": [self._cancel_reply(o, r) for o, r in cancelled]}

    def amend_order(self, query, body, account_id, args):
        body = _body_dict(body)
        order = self.ex.owned_order(account_id, args[0])
        coid = _field(body, "client_order_id", str, required=False)
        if coid and coid != order.client_order_id:
            raise ApiError.invalid_order("client_order_id does not match the order")
        before = _fill_totals(order)  # the reply reports only fills the amend caused (amend-order-v2.md)
        self.ex.amend_order(
            account_id, args[0], _field(body, "ticker", str), _choice(body, "side", (BID, ASK)),
            _price(body), _count(body, "count"), _field(body, "updated_client_order_id", str, required=False),
        )
        filled = _fill_totals(order, before)
        reply = {"order_id": order.order_id, "client_order_id": order.client_order_id,
                 "remaining_count": format_count(order.remaining), "fill_count": format_count(filled[0]),
                 "ts_ms": self.ex.now_ms()}
        return 200, _with_averages(reply, filled)

    def decrease_order(self, query, body, account_id, args):
        body = _body_dict(body)
        order = self.ex.decrease_order(account_id, args[0], _count(body, "reduce_by", required=False),
                                       _count(body, "reduce_to", required=False))
        return 200, {"order_id": order.order_id, "client_order_id": order.client_order_id,
                     "remaining_count": format_count(order.remaining), "ts_ms": self.ex.now_ms()}

    def legacy_mutation(self, query, body, account_id, args):
        raise ApiError(400, "bad_request", _LEGACY_MESSAGE, "legacy order mutations are retired; use /portfolio/events/orders")

    # ----- portfolio reads -----
    def list_orders(self, query, body, account_id, args):
        status = _q(query, "status")
        if status and status not in _ORDER_STATUSES:
            raise ApiError.bad_request(f"status must be one of {', '.join(_ORDER_STATUSES)}")
        ticker, events = _q(query, "ticker"), _q_list(query, "event_ticker")
        orders = [
            o for o in reversed(self.ex.orders.values())
            if o.account_id == account_id and (not status or o.status == status)
            and (not ticker or o.ticker == ticker)
            and (not events or self.ex.markets[o.ticker].spec.event_ticker in events)
            and _in_ts_window(o.created_ns, query)
        ]
        page, cursor = _paginate(orders, query, key=lambda o: o.seq, descending=True)
        return 200, {"orders": [o.to_json() for o in page], "cursor": cursor}

    def get_order(self, query, body, account_id, args):
        return 200, {"order": self.ex.owned_order(account_id, args[0]).to_json()}

    def fills(self, query, body, account_id, args):
        ticker, order_id = _q(query, "ticker"), _q(query, "order_id")
        fills = [
            f for f in reversed(self.ex.fills)
            if f.account_id == account_id and (not ticker or f.ticker == ticker)
            and (not order_id or f.order_id == order_id) and _in_ts_window(f.ts_ns, query)
        ]
        page, cursor = _paginate(fills, query, key=lambda f: f.seq, descending=True)
        return 200, {"fills": [f.to_json() for f in page], "cursor": cursor}

    def positions(self, query, body, account_id, args):
        account = self.ex.account(account_id)
        ticker, events = _q(query, "ticker"), _q_list(query, "event_ticker")
        filters = _q_list(query, "count_filter") or []
        if any(f not in ("position", "total_traded") for f in filters):
            raise ApiError.bad_request("count_filter accepts position,total_traded")
        positions = [
            p for p in account.positions.values()
            if (not ticker or p.ticker == ticker) and (not events or p.event_ticker in events)
            and ("position" not in filters or p.position) and ("total_traded" not in filters or p.total_traded)
        ]
        page, cursor = _paginate(positions, query, key=lambda p: p.seq)
        return 200, {"market_positions": [p.to_json() for p in page],
                     "event_positions": _event_positions(page), "cursor": cursor}

    def balance(self, query, body, account_id, args):
        account = self.ex.account(account_id)
        available = self.ex.available(account)
        return 200, {"balance": _cents(available), "balance_dollars": format_money(available),
                     "portfolio_value": _cents(self.ex.portfolio_value(account)),
                     "updated_ts": self.ex.now() // NS_PER_S}

    def settlements(self, query, body, account_id, args):
        ticker, event = _q(query, "ticker"), _q(query, "event_ticker")
        records = [
            r for r in reversed(self.ex.settlements)
            if r.account_id == account_id and (not ticker or r.ticker == ticker)
            and (not event or r.event_ticker == event) and _in_ts_window(r.settled_ns, query)
        ]
        page, cursor = _paginate(records, query, key=lambda r: r.seq, descending=True)
        return 200, {"settlements": [r.to_json() for r in page], "cursor": cursor}

    def queue_position(self, query, body, account_id, args):
        order = self.ex.owned_order(account_id, args[0])
        return 200, {"queue_position_fp": format_count(self._queue_ahead(order))}

    def queue_positions(self, query, body, account_id, args):
        tickers, event = _q_list(query, "market_tickers"), _q(query, "event_ticker")
        resting = [
            o for o in self.ex.orders.values()
            if o.account_id == account_id and o.status == "resting"
            and (not tickers or o.ticker in tickers)
            and (not event or self.ex.markets[o.ticker].spec.event_ticker == event)
        ]
        return 200, {"queue_positions": [
            {"order_id": o.order_id, "market_ticker": o.ticker, "queue_position_fp": format_count(self._queue_ahead(o))}
            for o in resting
        ]}

    def _queue_ahead(self, order: Order):
        """Contracts ahead of a resting order at its price (0 once it no longer rests)."""
        if order.status != "resting":
            return ZERO
        return self.ex.markets[order.ticker].book.queue_ahead(order.order_id)

    # ----- helpers -----
    def _order_request(self, body: dict):
        tif = _choice(body, "time_in_force", TIME_IN_FORCE)
        expiration = _field(body, "expiration_time", int, required=False)
        if expiration is not None:
            if tif in (IOC, FOK):
                raise ApiError.invalid_order("expiration_time is only valid with good_till_canceled")
            if expiration * NS_PER_S <= self.ex.now():
                raise ApiError.invalid_order("expiration_time is in the past")
        subaccount = _field(body, "subaccount", int, required=False, default=0)
        if subaccount != 0:
            raise ApiError.bad_request("only the primary account (subaccount 0) is simulated")
        coid = _field(body, "client_order_id", str, required=False, default="")
        if len(coid) > 64:
            raise ApiError.bad_request("client_order_id is longer than 64 characters")
        return OrderRequest(
            ticker=_field(body, "ticker", str),
            side=_choice(body, "side", (BID, ASK)),
            price=_price(body),
            count=_count(body, "count"),
            time_in_force=tif,
            self_trade_prevention_type=_choice(body, "self_trade_prevention_type", STP_TYPES),
            client_order_id=coid,
            post_only=_field(body, "post_only", bool, required=False, default=False),
            expiration_ns=None if expiration is None else expiration * NS_PER_S,
            reduce_only=_field(body, "reduce_only", bool, required=False, default=False),
            order_group_id=_field(body, "order_group_id", str, required=False),
            cancel_order_on_pause=_field(body, "cancel_order_on_pause", bool, required=False, default=False),
        )

    def _batch_items(self, body: Any, method: str) -> list:
        """The batch's items. Its maximum size scales with the tier's write budget
        (batch-create/cancel-orders-v2.md, rate_limits.md): as many items as the write bucket
        holds tokens for; an unmetered exchange uses the default tier's size."""
        items = _body_dict(body).get("orders")
        if not isinstance(items, list) or not items:
            raise ApiError.missing("orders")
        limit = max_batch_items(self.ex.rate_limit_tier, method)
        if len(items) > limit:
            raise ApiError.bad_request(f"at most {limit} orders per batch on this usage tier")
        return items

    def _create_reply(self, order: Order) -> dict:
        """A new order: every fill it has came from this request."""
        filled = _fill_totals(order)
        reply = {"order_id": order.order_id, "client_order_id": order.client_order_id,
                 "fill_count": format_count(filled[0]), "remaining_count": format_count(order.remaining),
                 "ts_ms": self.ex.now_ms()}
        return _with_averages(reply, filled)

    def _cancel_reply(self, order: Order, reduced: Decimal) -> dict:
        return {"order_id": order.order_id, "client_order_id": order.client_order_id,
                "reduced_by": format_count(reduced), "ts_ms": self.ex.now_ms()}


_BATCH_HANDLERS = (RestApi.batch_create, RestApi.batch_cancel)


def _fill_totals(order: Order, since: tuple[Decimal, Decimal, Decimal] | None = None
                 ) -> tuple[Decimal, Decimal, Decimal]:
    """(contracts, YES notional, fees) the order has filled, or filled after the `since` snapshot."""
    now = (order.filled, order.fill_notional, order.fees)
    if since is None:
        return now
    return (now[0] - since[0], now[1] - since[1], now[2] - since[2])


def _with_averages(reply: dict, filled: tuple[Decimal, Decimal, Decimal]) -> dict:
    """average_fill_price / average_fee_paid over the request's own fills, when it had any."""
    count, notional, fees = filled
    if count:
        reply["average_fill_price"] = format_fee(notional / count)
        reply["average_fee_paid"] = format_fee(fees / count)
    return reply


_MARKET_TS_FILTERS: tuple[tuple[str, Callable[[Market], int | None]], ...] = (
    ("min_created_ts", lambda m: m.created_ns),
    ("max_created_ts", lambda m: m.created_ns),
    ("min_close_ts", lambda m: m.close_ns),
    ("max_close_ts", lambda m: m.close_ns),
    ("min_settled_ts", lambda m: m.settled_ns),
    ("max_settled_ts", lambda m: m.settled_ns),
    ("min_updated_ts", lambda m: m.updated_ns),
)


def _ts_within(stamp_ns: int | None, bound_s: int, keep_above: bool) -> bool:
    if stamp_ns is None:  # e.g. settled_ts of a market that has not settled
        return False
    stamp_s = stamp_ns // NS_PER_S
    return stamp_s >= bound_s if keep_above else stamp_s <= bound_s


def _q_bool(query: dict, name: str) -> bool:
    raw = _q(query, name)
    if raw is None or raw == "":
        return False
    if raw not in ("true", "false"):
        raise ApiError.bad_request(f"{name} must be true or false")
    return raw == "true"


def _orderbook_fp(market: Market, depth: int) -> dict:
    book = market.book
    yes = book.levels(BID)  # ascending YES price: best bid last
    no = [(1 - p, q) for p, q in reversed(book.levels(ASK))]  # NO bids ascending: best last
    if depth:
        yes, no = yes[-depth:], no[-depth:]  # the `depth` best levels of each side
    return {
        "yes_dollars": [[format_price(p), format_count(q)] for p, q in yes],
        "no_dollars": [[format_price(p), format_count(q)] for p, q in no],
    }


def _series_json(spec: MarketSpec) -> dict:
    multiplier = spec.fee_multiplier
    return {
        "ticker": spec.series_ticker, "frequency": "daily", "title": spec.title, "category": spec.category,
        "tags": [], "settlement_sources": [], "contract_url": "", "contract_terms_url": "",
        "fee_type": spec.fee_type,
        # a JSON number, as Kalshi sends it; whole multipliers print as integers
        "fee_multiplier": int(multiplier) if multiplier == multiplier.to_integral_value() else float(multiplier),
        "additional_prohibitions": [], "exchange_index": 0,
    }


def _event_json(markets: list[Market], nested: bool, now_ns: int | None = None) -> dict:
    spec = markets[0].spec
    event = {
        "event_ticker": spec.event_ticker, "series_ticker": spec.series_ticker, "sub_title": spec.title,
        "title": spec.title, "collateral_return_type": "", "mutually_exclusive": False,
        "available_on_brokers": False, "settlement_sources": [], "exchange_index": 0,
        "last_updated_ts": rfc3339_from_ns(max(m.updated_ns for m in markets)),
    }
    if nested:
        event["markets"] = [m.to_json(now_ns) for m in markets]
    return event


def _event_positions(positions: list[Position]) -> list[dict]:
    by_event: dict[str, list[Position]] = {}
    for p in positions:
        by_event.setdefault(p.event_ticker, []).append(p)
    return [
        {
            "event_ticker": event,
            "total_cost_dollars": format_money(sum((p.total_traded for p in group), ZERO)),
            "total_cost_shares_fp": format_count(sum((p.volume for p in group), ZERO)),
            "event_exposure_dollars": format_money(sum((p.cost for p in group), ZERO)),
            "realized_pnl_dollars": format_money(sum((p.realized_pnl for p in group), ZERO)),
            "fees_paid_dollars": format_money(sum((p.fees_paid for p in group), ZERO)),
        }
        for event, group in by_event.items()
    ]


def _route(method: str, pattern: str, handler: Handler, private: bool = False):
    return method, re.compile(pattern), handler, private


_ID = r"([^/]+)"
_ROUTES = [
    _route("GET", r"/exchange/status", RestApi.exchange_status),
    _route("GET", r"/exchange/schedule", RestApi.exchange_schedule),
    _route("GET", r"/exchange/user_data_timestamp", RestApi.user_data_timestamp),
    _route("GET", r"/account/limits", RestApi.account_limits, True),
    _route("GET", r"/account/endpoint_costs", RestApi.endpoint_costs),
    _route("GET", r"/markets", RestApi.markets),
    _route("GET", r"/markets/trades", RestApi.trades),
    _route("GET", r"/markets/orderbooks", RestApi.orderbooks),
    _route("GET", r"/markets/candlesticks", RestApi.batch_candlesticks),
    _route("GET", rf"/markets/{_ID}/orderbook", RestApi.orderbook),
    _route("GET", rf"/markets/{_ID}", RestApi.market),
    _route("GET", r"/series", RestApi.series_list),
    _route("GET", rf"/series/{_ID}/markets/{_ID}/candlesticks", RestApi.candlesticks),
    _route("GET", rf"/series/{_ID}", RestApi.series),
    _route("GET", r"/events", RestApi.events),
    _route("GET", rf"/events/{_ID}", RestApi.event),
    _route("POST", r"/portfolio/events/orders", RestApi.create_order, True),
    _route("DELETE", r"/portfolio/events/orders", RestApi.cancel_all, True),
    _route("POST", r"/portfolio/events/orders/batched", RestApi.batch_create, True),
    _route("DELETE", r"/portfolio/events/orders/batched", RestApi.batch_cancel, True),
    _route("DELETE", rf"/portfolio/events/orders/{_ID}", RestApi.cancel_order, True),
    _route("POST", rf"/portfolio/events/orders/{_ID}/amend", RestApi.amend_order, True),
    _route("POST", rf"/portfolio/events/orders/{_ID}/decrease", RestApi.decrease_order, True),
    _route("GET", r"/portfolio/orders", RestApi.list_orders, True),
    _route("GET", r"/portfolio/orders/queue_positions", RestApi.queue_positions, True),
    _route("GET", rf"/portfolio/orders/{_ID}/queue_position", RestApi.queue_position, True),
    _route("POST", r"/portfolio/orders", RestApi.legacy_mutation, True),
    _route("POST", r"/portfolio/orders/batched", RestApi.legacy_mutation, True),
    _route("DELETE", r"/portfolio/orders/batched", RestApi.legacy_mutation, True),
    _route("GET", rf"/portfolio/orders/{_ID}", RestApi.get_order, True),
    _route("DELETE", rf"/portfolio/orders/{_ID}", RestApi.legacy_mutation, True),
    _route("POST", rf"/portfolio/orders/{_ID}/amend", RestApi.legacy_mutation, True),
    _route("POST", rf"/portfolio/orders/{_ID}/decrease", RestApi.legacy_mutation, True),
    _route("GET", r"/portfolio/fills", RestApi.fills, True),
    _route("GET", r"/portfolio/positions", RestApi.positions, True),
    _route("GET", r"/portfolio/balance", RestApi.balance, True),
    _route("GET", r"/portfolio/settlements", RestApi.settlements, True),
]


RouteHit = tuple[str, Handler, bool, tuple[str, ...]]  # method, handler, private, path groups


def _routes_matching(sub: str) -> list[RouteHit]:
    """Every route whose pattern matches `sub`, in table order (the first of the right
    method answers; a path some route matches but not for this method is a 405)."""
    hits = []
    for route_method, pattern, handler, private in _ROUTES:
        match = pattern.fullmatch(sub)
        if match:
            hits.append((route_method, handler, private, match.groups()))
    return hits


# the paths without ids (/markets, /portfolio/balance, ...), matched once at import: most
# requests need no regular expression at all
_LITERAL_PATH_ROUTES: dict[str, list[RouteHit]] = {
    literal: _routes_matching(literal)
    for literal in (pattern.pattern for _, pattern, _, _ in _ROUTES)
    if re.fullmatch(r"[/a-z_]+", literal)  # no group, no metacharacter: the pattern is the path
}
