"""State records of the simulated exchange and their JSON renderings (today's wire names).

Money and counts are Decimal dollars / contracts. Renderers emit `_dollars` (4 dp for prices,
6 dp for fees and fill costs) and `_fp` (2 dp) strings, RFC3339 times, no legacy integers.
"""

from __future__ import annotations

import hashlib
import uuid
from array import array
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from kalshi.wire import CENT, ONE, format_count, format_fee, format_money, format_price, rfc3339_from_ns

from ._book import BID, STP_MAKER, STP_TAKER_AT_CROSS, OrderBook
from ._candles import MinuteBars

__all__ = [
    "GTC",
    "IOC",
    "FOK",
    "TIME_IN_FORCE",
    "STP_TYPES",
    "OrderRequest",
    "MarketSpec",
    "Market",
    "Account",
    "LiveSide",
    "Position",
    "Order",
    "Trade",
    "Fill",
    "Settlement",
    "MARKET_RESULTS",
    "unit_cost",
    "outcome_side",
    "stable_id",
]

ZERO = Decimal(0)
MIN_PRICE = CENT
MAX_PRICE = ONE - CENT
_ID_NAMESPACE = uuid.UUID("6f1d4c1e-3b7a-5d2e-9c44-5e1a2b7c9d10")
_ID_NAMESPACE_BYTES = _ID_NAMESPACE.bytes
NS_PER_S = 1_000_000_000
VOLUME_WINDOW_NS = 86_400 * NS_PER_S  # `volume_24h_fp`: trades of the last 24 h on the exchange clock
GTC = "good_till_canceled"
IOC = "immediate_or_cancel"
FOK = "fill_or_kill"
TIME_IN_FORCE = (FOK, GTC, IOC)
STP_TYPES = (STP_TAKER_AT_CROSS, STP_MAKER)
MARKET_RESULTS = ("yes", "no")


def stable_id(kind: str, n: int | str) -> str:
    """A UUID-shaped id derived from a counter: identical across replays (never uuid4).
    Exactly str(uuid.uuid5(_ID_NAMESPACE, f"{kind}-{n}")), without building the UUID object
    (every order, fill and trade takes one)."""
    digest = bytearray(hashlib.sha1(_ID_NAMESPACE_BYTES + f"{kind}-{n}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def unit_cost(side: str, yes_price: Decimal) -> Decimal:
    """Cash one contract costs: p to buy YES (bid), 1 - p to buy NO (ask)."""
    return yes_price if side == BID else ONE - yes_price


def outcome_side(side: str) -> str:
    return "yes" if side == BID else "no"


def _time(ns: int | None) -> str | None:
    return None if ns is None else rfc3339_from_ns(ns)


@dataclass(frozen=True)
class OrderRequest:
    """A validated order entry, whoever sends it (REST client, background participant, tape)."""

    ticker: str
    side: str
    price: Decimal
    count: Decimal
    time_in_force: str = GTC
    self_trade_prevention_type: str = STP_TAKER_AT_CROSS
    client_order_id: str = ""
    post_only: bool = False
    expiration_ns: int | None = None
    reduce_only: bool = False
    order_group_id: str | None = None
    cancel_order_on_pause: bool = False


@dataclass(frozen=True)
class MarketSpec:
    """One market to list. Volatility and mean reversion drive the synthetic fair value.

    volatility_cents: standard deviation of the fair value's move per sqrt(second), cents.
    mean_reversion: fraction of the gap to the initial fair closed per second.
    open_offset_s: seconds after listing when trading opens (status `initialized` until then).
    close_offset_s: seconds after listing when the market closes (scheduled `close_time`).
    settlement_timer_s: reported `settlement_timer_seconds` (determination to payout).
    """

    ticker: str
    event_ticker: str
    series_ticker: str
    category: str = "Economics"
    title: str = "Simulated market"
    initial_fair_cents: int = 50
    volatility_cents: float = 0.35
    mean_reversion: float = 0.01
    close_offset_s: int = 40 * 86_400
    fee_type: str = "quadratic"
    fee_multiplier: Decimal = ONE
    open_offset_s: int = 0
    settlement_timer_s: int = 3600
    can_close_early: bool = True


class MinuteVolumes:
    """A settled market's 24 h volume window past its history cutoff, read like the deque
    of (ts_ns, count) it replaces (`volume_24h` pops expired entries from the left): the
    times and the contracts in hundredths in two packed arrays, 16 B an entry instead of a
    tuple, an int and a Decimal (~200 B) kept for up to a day for every settled market."""

    __slots__ = ("_ts", "_hundredths", "_start")

    def __init__(self, entries: list[tuple[int, Decimal]]) -> None:
        self._ts = array("q", (ts for ts, _ in entries))
        self._hundredths = array("q", (int(count * 100) for _, count in entries))
        self._start = 0

    def __len__(self) -> int:
        return len(self._ts) - self._start

    def __getitem__(self, index: int) -> tuple[int, Decimal]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        at = self._start + index
        return self._ts[at], Decimal(self._hundredths[at]).scaleb(-2)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def popleft(self) -> tuple[int, Decimal]:
        entry = self[0]
        self._start += 1
        if not len(self):  # the window emptied: give the arrays back
            self._ts, self._hundredths, self._start = array("q"), array("q"), 0
        return entry


@dataclass
class Market:
    spec: MarketSpec
    created_ns: int
    book: OrderBook = field(default_factory=OrderBook)
    status: str = "active"
    last_price: Decimal | None = None
    last_trade_size: Decimal = ZERO
    volume: Decimal = ZERO
    open_interest: Decimal = ZERO
    updated_ns: int = 0
    result: str = ""  # "" until determined, then "yes" | "no"
    close_override_ns: int | None = None  # set when the market is closed early
    determined_ns: int | None = None
    settled_ns: int | None = None
    bars: MinuteBars | None = field(default_factory=MinuteBars)  # candlestick source; None once the history is dropped
    seq: int = 0  # listing order: the stable sort key behind `GET /markets` cursors
    recent_trades: deque = field(default_factory=deque)  # (ts_ns, count) of trades inside the 24 h window
    recent_volume: Decimal = ZERO  # sum of the counts in recent_trades
    traded_volume: Decimal = ZERO  # lifetime volume of the trades recorded here

    def record_trade(self, ts_ns: int, count: Decimal) -> None:
        self.volume += count
        self.traded_volume += count
        self.recent_trades.append((ts_ns, count))
        self.recent_volume += count

    def volume_24h(self, now_ns: int) -> Decimal:
        """Contracts traded in the 24 h ending at `now_ns` (older trades leave the window).
        Volume added to `volume` directly (a scenario's seeded prior history) counts as recent."""
        horizon = now_ns - VOLUME_WINDOW_NS
        while self.recent_trades and self.recent_trades[0][0] <= horizon:
            self.recent_volume -= self.recent_trades.popleft()[1]
        return self.recent_volume + (self.volume - self.traded_volume)

    def count_recent_trades_by_the_minute(self) -> None:
        """Keep the 24 h window's trades as one entry per minute, at the minute's last trade
        (a market that trades no more, whose trades are history): a minute's contracts then
        leave the window with its last trade, up to a minute late, never early. Packed in
        arrays when every minute's contracts are whole hundredths (Kalshi's count precision)."""
        by_minute: dict[int, tuple[int, Decimal]] = {}
        for ts_ns, count in self.recent_trades:
            minute = ts_ns // (60 * NS_PER_S)
            _, total = by_minute.get(minute, (ts_ns, ZERO))
            by_minute[minute] = (ts_ns, total + count)
        entries = list(by_minute.values())
        if all((total * 100) % 1 == 0 for _, total in entries):
            self.recent_trades = MinuteVolumes(entries)
        else:
            self.recent_trades = deque(entries)

    @property
    def ticker(self) -> str:
        return self.spec.ticker

    @property
    def open_ns(self) -> int:
        return self.created_ns + self.spec.open_offset_s * NS_PER_S

    @property
    def close_ns(self) -> int:
        if self.close_override_ns is not None:
            return self.close_override_ns
        return self.created_ns + self.spec.close_offset_s * NS_PER_S

    def settlement_value(self) -> Decimal | None:
        """YES payout per contract once determined: $1 for yes, $0 for no."""
        return {"yes": ONE, "no": ZERO}.get(self.result)

    @cached_property
    def market_id(self) -> str:
        return stable_id("market", self.ticker)  # a uuid5: computed once, not on every read

    def touch(self) -> dict[str, Decimal | None]:
        """Best bid/ask and their sizes (None when a side is empty)."""
        bid, ask = self.book.best("bid"), self.book.best("ask")
        return {
            "bid": bid,
            "ask": ask,
            "bid_size": self.book.size_at("bid", bid) if bid is not None else ZERO,
            "ask_size": self.book.size_at("ask", ask) if ask is not None else ZERO,
        }

    def mark(self) -> Decimal | None:
        """YES mark price: mid of the touch, else last trade."""
        t = self.touch()
        if t["bid"] is not None and t["ask"] is not None:
            return (t["bid"] + t["ask"]) / 2
        return self.last_price

    def to_json(self, now_ns: int | None = None) -> dict:
        """now_ns: the exchange clock, for the rolling `volume_24h_fp` (None: the last update).

        The body is built again only when something it shows changed (a scanner polls a
        quiet market every few seconds); each caller gets its own copy."""
        t = self.touch()
        volume_24h = self.volume_24h(self.updated_ns if now_ns is None else now_ns)
        if self.bars is None:  # settled, past its history cutoff: seldom read, kept for up to a day
            return self._build_json(t, volume_24h)  # so not cached (a body is ~7 KB)
        # everything the body is made of; Decimals by sign too (-0 == 0 but prints "-0.00")
        shown = (
            t["bid"], t["ask"], t["bid_size"], t["ask_size"], self.last_price, self.volume, volume_24h,
            self.open_interest, self.status, self.result, self.created_ns, self.updated_ns, self.close_ns,
            self.settled_ns, self.spec,
        )
        signs = [value.is_signed() for value in shown[:8] if value is not None]
        cached = self.__dict__.get("_json_cache")
        if cached is None or cached[0] != shown or cached[1] != signs:
            cached = self.__dict__["_json_cache"] = (shown, signs, self._build_json(t, volume_24h))
        body = dict(cached[2])
        body["price_ranges"] = [dict(band) for band in body["price_ranges"]]
        return body

    def _build_json(self, t: dict[str, Decimal | None], volume_24h: Decimal) -> dict:
        bid = t["bid"] if t["bid"] is not None else ZERO
        ask = t["ask"] if t["ask"] is not None else ONE
        close = _time(self.close_ns)
        body = {
            "ticker": self.ticker,
            "event_ticker": self.spec.event_ticker,
            "market_type": "binary",
            "yes_sub_title": self.spec.title,
            "no_sub_title": self.spec.title,
            "created_time": _time(self.created_ns),
            "updated_time": _time(self.updated_ns or self.created_ns),
            "open_time": _time(self.open_ns),
            "close_time": close,
            "expected_expiration_time": close,
            "latest_expiration_time": close,
            "settlement_timer_seconds": self.spec.settlement_timer_s,
            "status": self.status,
            "notional_value_dollars": format_price(ONE),
            "yes_bid_dollars": format_price(bid),
            "yes_ask_dollars": format_price(ask),
            "no_bid_dollars": format_price(ONE - ask),
            "no_ask_dollars": format_price(ONE - bid),
            "yes_bid_size_fp": format_count(t["bid_size"]),
            "yes_ask_size_fp": format_count(t["ask_size"]),
            "last_price_dollars": format_price(self.last_price or ZERO),
            "previous_yes_bid_dollars": format_price(ZERO),
            "previous_yes_ask_dollars": format_price(ZERO),
            "previous_price_dollars": format_price(ZERO),
            "volume_fp": format_count(self.volume),
            "volume_24h_fp": format_count(volume_24h),
            "open_interest_fp": format_count(self.open_interest),
            "result": self.result,
            "can_close_early": self.spec.can_close_early,
            "expiration_value": "",
            "rules_primary": f"If {self.spec.title} resolves Yes, the market resolves to Yes.",
            "rules_secondary": "Simulated market; no real-world settlement source.",
            "price_level_structure": "linear_cent",
            "price_ranges": [
                {"start": format_price(ZERO), "end": format_price(ONE), "step": format_price(CENT)}
            ],
            "exchange_index": 0,
        }
        value = self.settlement_value()
        if value is not None:
            body["settlement_value_dollars"] = format_price(value)
        if self.settled_ns is not None:
            body["settlement_ts"] = _time(self.settled_ns)
        return body


@dataclass
class Position:
    ticker: str
    event_ticker: str
    position: Decimal = ZERO  # signed: + YES contracts, - NO contracts
    cost: Decimal = ZERO  # cash paid for the contracts still held
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    total_traded: Decimal = ZERO
    volume: Decimal = ZERO
    updated_ns: int = 0
    seq: int = 0  # order the account first traded the market: the `GET /portfolio/positions` cursor key

    def to_json(self) -> dict:
        return {
            "ticker": self.ticker,
            "exchange_index": 0,
            "total_traded_dollars": format_money(self.total_traded),
            "position_fp": format_count(self.position),
            "market_exposure_dollars": format_money(self.cost),
            "realized_pnl_dollars": format_money(self.realized_pnl),
            "fees_paid_dollars": format_money(self.fees_paid),
            "last_updated_ts": _time(self.updated_ns),
        }

    def ws_json(self, account_id: str) -> dict:
        return {
            "user_id": account_id,
            "market_ticker": self.ticker,
            "position_fp": format_count(self.position),
            "position_cost_dollars": format_money(self.cost),
            "realized_pnl_dollars": format_money(self.realized_pnl),
            "fees_paid_dollars": format_money(self.fees_paid),
            "position_fee_cost_dollars": format_money(self.fees_paid),
            "volume_fp": format_count(self.volume),
        }


@dataclass
class Account:
    account_id: str
    cash: Decimal  # dollars, always whole cents here
    positions: dict[str, Position] = field(default_factory=dict)
    live_order_ids: set[str] = field(default_factory=set)
    locked: Decimal = ZERO  # cost of the resting orders (price x remaining), kept in step by the exchange
    netted: Decimal = ZERO  # part of `locked` the position covers (closing contracts need no collateral)
    fee_reserve: Decimal = ZERO  # maker-fee allowance of resting orders on maker-fee series
    keep_history: bool = True  # False for background accounts: finished orders and fills are dropped
    live_index: dict[tuple[str, str], LiveSide] = field(default_factory=dict)  # (ticker, side) -> its live orders


@dataclass
class LiveSide:
    """One account's live orders on one side of one market, kept in fill priority so that the
    position's cover (YES/NO netting) is re-planned over the covered prefix only, not over every
    resting order on each placement or fill (which made busy books quadratic).

    Keys are (fill-priority price key, queue priority, order_id); both stay fixed while an order
    is live (a reprice takes the order out first)."""

    keys: list[tuple] = field(default_factory=list)  # every live order, sorted
    reduce_only: list[tuple] = field(default_factory=list)  # the reduce-only ones, sorted
    covered: dict[str, Decimal] = field(default_factory=dict)  # order_id -> contracts covered (nonzero only)


@dataclass
class Order:
    order_id: str
    account_id: str
    ticker: str
    side: str
    price: Decimal
    initial: Decimal
    time_in_force: str
    stp: str
    created_ns: int
    client_order_id: str = ""
    post_only: bool = False
    expiration_ns: int | None = None
    order_group_id: str | None = None
    cancel_order_on_pause: bool = False
    filled: Decimal = ZERO
    remaining: Decimal = ZERO
    status: str = "resting"
    updated_ns: int = 0
    last_update_reason: str = ""
    taker_fill_cost: Decimal = ZERO
    maker_fill_cost: Decimal = ZERO
    taker_fees: Decimal = ZERO
    maker_fees: Decimal = ZERO
    fill_notional: Decimal = ZERO  # sum of YES price x count, for average_fill_price
    fee_accumulator: Decimal = ZERO  # rounding overpayment not yet rebated (fee-rounding doc)
    locked: Decimal = ZERO  # cost of this order while it rests (price x remaining)
    netted: Decimal = ZERO  # part of `locked` covered by the opposite position
    fee_reserve: Decimal = ZERO  # maker-fee allowance on the uncovered part
    reduce_only: bool = False  # never grows or flips the position: re-capped as the position shrinks
    seq: int = 0  # creation order: the `GET /portfolio/orders` cursor key
    priority: int = 0  # queue place while resting (the book's time priority)

    @property
    def fees(self) -> Decimal:
        return self.taker_fees + self.maker_fees

    def average_fill_price(self) -> str | None:
        return format_fee(self.fill_notional / self.filled) if self.filled else None

    def average_fee_paid(self) -> str | None:
        return format_fee(self.fees / self.filled) if self.filled else None

    def to_json(self) -> dict:
        body = {
            "order_id": self.order_id,
            "user_id": self.account_id,
            "client_order_id": self.client_order_id,
            "ticker": self.ticker,
            "outcome_side": outcome_side(self.side),
            "book_side": self.side,
            "type": "limit",
            "status": self.status,
            "yes_price_dollars": format_price(self.price),
            "no_price_dollars": format_price(ONE - self.price),
            "fill_count_fp": format_count(self.filled),
            "remaining_count_fp": format_count(self.remaining),
            "initial_count_fp": format_count(self.initial),
            "taker_fill_cost_dollars": format_fee(self.taker_fill_cost),
            "maker_fill_cost_dollars": format_fee(self.maker_fill_cost),
            "taker_fees_dollars": format_fee(self.taker_fees),
            "maker_fees_dollars": format_fee(self.maker_fees),
            "expiration_time": _time(self.expiration_ns),
            "created_time": _time(self.created_ns),
            "last_update_time": _time(self.updated_ns),
            "self_trade_prevention_type": self.stp,
            "cancel_order_on_pause": self.cancel_order_on_pause,
            "subaccount_number": 0,
            "exchange_index": 0,
        }
        if self.order_group_id is not None:
            body["order_group_id"] = self.order_group_id
        return body

    def ws_json(self) -> dict:
        body = {
            "order_id": self.order_id,
            "user_id": self.account_id,
            "ticker": self.ticker,
            "exchange_index": 0,
            "status": self.status,
            "outcome_side": outcome_side(self.side),
            "book_side": self.side,
            "yes_price_dollars": format_price(self.price),
            "fill_count_fp": format_count(self.filled),
            "remaining_count_fp": format_count(self.remaining),
            "initial_count_fp": format_count(self.initial),
            "taker_fill_cost_dollars": format_fee(self.taker_fill_cost),
            "maker_fill_cost_dollars": format_fee(self.maker_fill_cost),
            "taker_fees_dollars": format_fee(self.taker_fees),
            "maker_fees_dollars": format_fee(self.maker_fees),
            "client_order_id": self.client_order_id,
            "self_trade_prevention_type": self.stp,
            "created_ts_ms": self.created_ns // 1_000_000,
            "last_updated_ts_ms": self.updated_ns // 1_000_000,
            "last_update_reason": self.last_update_reason,
            "subaccount_number": 0,
        }
        if self.order_group_id is not None:
            body["order_group_id"] = self.order_group_id
        if self.expiration_ns is not None:
            body["expiration_ts_ms"] = self.expiration_ns // 1_000_000
        return body


@dataclass(frozen=True)
class Trade:
    trade_id: str
    ticker: str
    price: Decimal
    count: Decimal
    taker_side: str
    ts_ns: int
    seq: int = 0  # execution order: the `GET /markets/trades` cursor key

    def to_json(self) -> dict:
        return {
            "trade_id": self.trade_id,
            "ticker": self.ticker,
            "count_fp": format_count(self.count),
            "yes_price_dollars": format_price(self.price),
            "no_price_dollars": format_price(ONE - self.price),
            "taker_outcome_side": outcome_side(self.taker_side),
            "taker_book_side": self.taker_side,
            "created_time": _time(self.ts_ns),
            "is_block_trade": False,
        }

    def ws_json(self) -> dict:
        return {
            "trade_id": self.trade_id,
            "market_ticker": self.ticker,
            "yes_price_dollars": format_price(self.price),
            "no_price_dollars": format_price(ONE - self.price),
            "count_fp": format_count(self.count),
            "taker_outcome_side": outcome_side(self.taker_side),
            "taker_book_side": self.taker_side,
            "is_block_trade": False,
            "ts": self.ts_ns // NS_PER_S,
            "ts_ms": self.ts_ns // 1_000_000,
        }


@dataclass(frozen=True)
class Fill:
    fill_id: str  # equal to the trade id, as on Kalshi
    account_id: str
    order_id: str
    client_order_id: str
    ticker: str
    side: str
    price: Decimal
    count: Decimal
    is_taker: bool
    fee: Decimal
    post_position: Decimal
    ts_ns: int
    seq: int = 0  # execution order: the `GET /portfolio/fills` cursor key

    def to_json(self) -> dict:
        return {
            "fill_id": self.fill_id,
            "trade_id": self.fill_id,
            "order_id": self.order_id,
            "ticker": self.ticker,
            "market_ticker": self.ticker,
            "exchange_index": 0,
            "outcome_side": outcome_side(self.side),
            "book_side": self.side,
            "count_fp": format_count(self.count),
            "yes_price_dollars": format_price(self.price),
            "no_price_dollars": format_price(ONE - self.price),
            "is_taker": self.is_taker,
            "fee_cost": format_fee(self.fee),
            "created_time": _time(self.ts_ns),
            "ts": self.ts_ns // NS_PER_S,
            "subaccount_number": 0,
        }

    def ws_json(self) -> dict:
        return {
            "trade_id": self.fill_id,
            "order_id": self.order_id,
            "client_order_id": self.client_order_id,
            "market_ticker": self.ticker,
            "exchange_index": 0,
            "is_taker": self.is_taker,
            "outcome_side": outcome_side(self.side),
            "book_side": self.side,
            "yes_price_dollars": format_price(self.price),
            "count_fp": format_count(self.count),
            "fee_cost": format_fee(self.fee),
            "post_position_fp": format_count(self.post_position),
            "ts": self.ts_ns // NS_PER_S,
            "ts_ms": self.ts_ns // 1_000_000,
        }


@dataclass(frozen=True)
class Settlement:
    """One account's payout when a market is finalized (`GET /portfolio/settlements`)."""

    account_id: str
    ticker: str
    event_ticker: str
    market_result: str
    yes_count: Decimal
    yes_total_cost: Decimal
    no_count: Decimal
    no_total_cost: Decimal
    revenue: Decimal  # dollars paid out: $1 per winning contract held
    settled_ns: int
    value: Decimal  # YES payout per contract, dollars
    seq: int = 0  # payout order: the `GET /portfolio/settlements` cursor key

    def to_json(self) -> dict:
        return {
            "ticker": self.ticker,
            "exchange_index": 0,
            "event_ticker": self.event_ticker,
            "market_result": self.market_result,
            "yes_count_fp": format_count(self.yes_count),
            "yes_total_cost_dollars": format_money(self.yes_total_cost),
            "no_count_fp": format_count(self.no_count),
            "no_total_cost_dollars": format_money(self.no_total_cost),
            "revenue": int(self.revenue * 100),  # integer cents, as Kalshi still sends it
            "settled_time": _time(self.settled_ns),
            "fee_cost": format_fee(ZERO),  # binary settlement carries no fee
            "value": int(self.value * 100),
        }
