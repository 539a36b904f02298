"""Drive one market from a recorded Kalshi tape (data/kalshi/README.md), with a fill model
for our own resting orders (pessimistic by default; see "Fill models" below).

Two tape formats:
- trade tape CSV (`TRADES_<ticker>.csv`): one row per trade: price P (cents), size S, taker side
  ("yes": the taker bought YES, lifting asks at P; "no": the taker sold YES, hitting bids at P);
- top-of-book ticker JSONL (`<ticker>.jsonl`): best YES bid/ask, last price and the cumulative
  volume about once a second. Contracts traded between two lines (the volume difference) are
  printed as one trade at the last price, on the side it is nearer to (at or above the ask:
  the taker bought; at or below the bid: the taker sold). A side reading 0.0 / 1.0 is empty.

Background book. A tape liquidity provider keeps `levels` price levels each side (at least
`depth` contracts each, the touch at least the trade's size): for a trade row the touch is at
P on the side the taker hit and one cent away on the other; for a ticker row, at the recorded
bid and ask. Its orders that stay at a price keep their queue place; top-ups join the back.

Queue model (pessimistic) for every other account's resting order ("ours"), applied per row:
1. Displayed size ahead of us is fixed when we join a level: the provider never cancels or
   moves an order at a price where one of ours rests (it is "pinned"), and top-ups go behind
   us. So the size ahead only shrinks when the tape trades it.
2. Trade strictly through our price (a trade at P below our bid, or above our ask, whatever
   the taker side): we fill at our price, min(our remaining, S) contracts, best price first,
   then time. Those contracts come out of the trade's S; the provider's orders kept there
   to hold our place are withdrawn (the price went through them), not printed.
3. Trade at our price on our side (taker sold at our bid P, or bought at our ask P): the
   rest of S trades the level in time priority: first the size ahead of us, then us, then
   the provider's orders behind us.
4. Trade at our price on the other side, or away from our price: no fill.
5. When our order holds the trade's price on the other side (our bid at P when the taker
   bought at P), the provider cannot rest at P on the hit side (it would cross us), so the
   book has nothing for the tape's taker to take. The trade is still printed (trades list,
   volume, last price, `trade` channel) via Exchange.print_trade, and ours is not filled:
   the tape says the trade happened at P with someone else, and the pessimistic model never
   puts us in a trade the tape does not force on us.
The trade itself is executed through the matching engine (IOC orders from a tape taker
account), so fills, positions, fees and WS messages are the exchange's own. Everything is
deterministic: no randomness, timestamps from the tape.

Fill models (`FillModel`, chosen per replay; the tape, the provider's book and the prints
are the same in all three, only where we stand and which prints reach us differ):
- pessimistic (the default, a floor): the queue model above. Everything displayed ahead of
  us when we join a level must trade before we fill.
- calibrated: only a share (`queue_share`, default 0.5) of the displayed size ahead of us
  stays ahead; the rest is taken to cancel before it would trade, as real queues thin out.
  Rule: when one of our orders is first seen resting at a price (a new order, or one that
  an amend moved to the back of a level), the provider keeps ceil(queue_share x A) of the
  A contracts it has ahead of ours at that price and moves the rest behind us (same price,
  so the displayed size does not change). Rules 1-5 then apply unchanged. queue_share 1 is
  the pessimistic model; 0 puts us at the front of every level we join.
- optimistic (a ceiling): a resting order fills whenever the tape trades at or through its
  price, whichever side the taker took: we stand at the front of every level (queue_share
  0), and a print at our price fills us first, as one strictly through it does (rule 2 with
  "at or through"), at our price, min(our remaining, S) out of the trade's S. A print at
  our bid on the buying side (rule 5) thus fills our bid: the contracts print as a sale
  into it. What is left of S trades as in the pessimistic model.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

from kalshi.wire import CENT

from ._book import ASK, BID
from ._errors import ApiError
from ._exchange import Exchange
from ._model import IOC, NS_PER_S, MarketSpec, OrderRequest

__all__ = [
    "TapeRow",
    "TickerRow",
    "TapeMarketDriver",
    "FillModel",
    "FILL_MODEL_NAMES",
    "PESSIMISTIC",
    "OPTIMISTIC",
    "DEFAULT_QUEUE_SHARE",
    "fill_model_named",
    "read_tape",
    "read_ticker_file",
]

TAPE_BALANCE_CENTS = 10**11
_COLUMNS = ("Sequence id", "Time sec", "Yes px", "Side taken", "Size")
_ZERO = Decimal(0)
_ONE = Decimal(1)
DEFAULT_QUEUE_SHARE = Decimal("0.5")
FILL_MODEL_NAMES = ("pessimistic", "calibrated", "optimistic")  # floor, between, ceiling


@dataclass(frozen=True)
class FillModel:
    """How the tape fills our resting orders (see the module doc, "Fill models").

    queue_share: share of the displayed size ahead of us that stays ahead when we join a level.
    at_or_through: a print at our price fills us whichever side the taker took (else only
    a print strictly through it does, or one at it on our side, after the queue ahead)."""

    name: str
    queue_share: Decimal = _ONE
    at_or_through: bool = False

    def __post_init__(self) -> None:
        if not _ZERO <= self.queue_share <= _ONE:
            raise ValueError(f"queue share must be within 0..1, got {self.queue_share}")

    @property
    def label(self) -> str:
        """The name results are stored under ("calibrated(0.5)" carries its parameter)."""
        return f"{self.name}({self.queue_share.normalize()})" if self.name == "calibrated" else self.name


PESSIMISTIC = FillModel("pessimistic")
OPTIMISTIC = FillModel("optimistic", queue_share=_ZERO, at_or_through=True)


def fill_model_named(name: str, queue_share: Decimal = DEFAULT_QUEUE_SHARE) -> FillModel:
    """pessimistic | calibrated (with queue_share) | optimistic; ValueError otherwise."""
    if name == "pessimistic":
        return PESSIMISTIC
    if name == "optimistic":
        return OPTIMISTIC
    if name == "calibrated":
        return FillModel("calibrated", queue_share=Decimal(queue_share))
    raise ValueError(f"unknown fill model {name!r} (choose one of {', '.join(FILL_MODEL_NAMES)})")


@dataclass(frozen=True)
class TapeRow:
    sequence_id: int
    ts_ns: int
    yes_price_cents: int
    taker_side: str  # "yes": taker bought YES (lifted asks); "no": taker sold YES (hit bids)
    size: Decimal

    @property
    def yes_price(self) -> Decimal:
        return Decimal(self.yes_price_cents) * CENT


@dataclass(frozen=True)
class TickerRow:
    """One top-of-book line. bid/ask None = that side is empty; trade = the volume printed since
    the previous line (None when nothing traded)."""

    ts_ns: int
    bid_cents: int | None
    ask_cents: int | None
    last_cents: int | None
    volume: Decimal
    trade: TapeRow | None


def read_tape(csv_path: Path | str) -> list[TapeRow]:
    """Parse a trade tape; raises ValueError naming the line of the first bad row."""
    rows: list[TapeRow] = []
    with open(csv_path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{csv_path}: missing columns {missing}")
        for line_no, raw in enumerate(reader, start=2):
            try:
                row = TapeRow(int(raw["Sequence id"]), int(raw["Time sec"]) * NS_PER_S, int(raw["Yes px"]),
                              raw["Side taken"].strip(), Decimal(int(raw["Size"])))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{csv_path}:{line_no}: bad row: {exc}") from None
            if row.taker_side not in ("yes", "no") or not 1 <= row.yes_price_cents <= 99 or row.size <= 0:
                raise ValueError(f"{csv_path}:{line_no}: bad row {raw}")
            rows.append(row)
    return rows


def _prob_cents(raw: object, field: str) -> int | None:
    """0.45 -> 45; 0.0 and 1.0 mean an empty side (None)."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise ValueError(f"{field} must be a number, got {raw!r}")
    cents = round(Decimal(repr(raw)) * 100)
    if not 0 <= cents <= 100:
        raise ValueError(f"{field} {raw!r} is outside 0..1")
    return None if cents in (0, 100) else int(cents)


def _taker_side(price: int, bid: int | None, ask: int | None) -> str:
    if ask is not None and price >= ask:
        return "yes"
    if bid is not None and price <= bid:
        return "no"
    if bid is None or ask is None:
        return "yes" if bid is None else "no"
    return "no" if price - bid <= ask - price else "yes"


def read_ticker_file(jsonl_path: Path | str) -> list[TickerRow]:
    """Parse a top-of-book JSONL file; raises ValueError naming the first bad line."""
    rows: list[TickerRow] = []
    previous_volume: Decimal | None = None
    with open(jsonl_path) as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                ts_ns = int(raw["kalshi_ts"]) * NS_PER_S
                bid = _prob_cents(raw["yes_bid_prob"], "yes_bid_prob")
                ask = _prob_cents(raw["yes_ask_prob"], "yes_ask_prob")
                last = _prob_cents(raw["price_prob"], "price_prob")
                volume = Decimal(int(raw["volume"]))
            except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
                raise ValueError(f"{jsonl_path}:{line_no}: bad line: {exc}") from None
            if rows and ts_ns < rows[-1].ts_ns:
                raise ValueError(f"{jsonl_path}:{line_no}: time goes backwards")
            if bid is not None and ask is not None and bid >= ask:
                bid = None if bid >= ask else bid  # crossed/locked snapshot: keep only the ask
            traded = volume - previous_volume if previous_volume is not None else _ZERO
            trade = None
            if traded > 0 and last is not None:
                trade = TapeRow(line_no, ts_ns, last, _taker_side(last, bid, ask), traded)
            previous_volume = volume if previous_volume is None else max(previous_volume, volume)
            rows.append(TickerRow(ts_ns, bid, ask, last, volume, trade))
    return rows


def _spec_for(ticker: str, first_price_cents: int | None) -> MarketSpec:
    event = ticker.rsplit("-", 1)[0]
    return MarketSpec(ticker=ticker, event_ticker=event, series_ticker=event.split("-", 1)[0],
                      category="Sports", title=f"Replay of {ticker}",
                      initial_fair_cents=first_price_cents or 50)


class TapeMarketDriver:
    """Replays a tape into `exchange`. The caller owns the clock: call apply(row) in ts order."""

    def __init__(self, exchange: Exchange, ticker: str, tape_path: Path | str, levels: int = 3,
                 depth: Decimal = Decimal(10), fill_model: FillModel = PESSIMISTIC) -> None:
        self.exchange = exchange
        self.ticker = ticker
        self.levels = levels
        self.depth = depth
        self.fill_model = fill_model
        self._queues_thinned: set[tuple[str, int]] = set()  # (order id, queue priority) already thinned
        is_ticker_file = str(tape_path).endswith(".jsonl")
        rows = read_ticker_file(tape_path) if is_ticker_file else read_tape(tape_path)
        self.rows: list[TapeRow | TickerRow] = list(rows)
        if ticker not in exchange.markets:
            first = self.rows[0] if self.rows else None
            price = (first.yes_price_cents if isinstance(first, TapeRow) else first.last_cents) if first else None
            with exchange.acting_at(first.ts_ns if first else exchange.now()):
                exchange.add_market(_spec_for(ticker, price))
        self.provider_id = f"tape-lp:{ticker}"
        self.taker_id = f"tape-taker:{ticker}"
        for account_id in (self.provider_id, self.taker_id):
            if account_id not in exchange.accounts:
                exchange.register_account(account_id, TAPE_BALANCE_CENTS, keep_history=False)

    def events(self) -> list[tuple[int, TapeRow | TickerRow]]:
        return [(row.ts_ns, row) for row in self.rows]

    # ----- one row -----
    def apply(self, row: TapeRow | TickerRow) -> None:
        """Re-centre provider liquidity, fill our orders the tape traded through, print the trade."""
        with self.exchange.acting_at(row.ts_ns):
            if self.exchange.markets[self.ticker].status != "active":
                return  # closed or paused: the tape outlived the listing
            touch, trade = self._touch_and_trade(row)
            self._recentre(touch, trade)
            if self.fill_model.queue_share < _ONE:
                self._thin_queues_ahead()
            if trade is None:
                return
            left = trade.size - self._fill_through(trade)
            self._recentre(touch, trade)  # levels skipped for crossing our orders can go in now
            side = BID if trade.taker_side == "yes" else ASK
            if left > 0:
                left -= self._send(side, trade.yes_price_cents, left)
            if left > 0:  # the hit-side touch was blocked (see 5. above): a print, no fill
                self.exchange.print_trade(self.ticker, trade.yes_price, left, side)

    def _touch_and_trade(self, row: TapeRow | TickerRow) -> tuple[tuple[int | None, int | None], TapeRow | None]:
        """(first provider bid, first provider ask) in cents, and the trade to print."""
        if isinstance(row, TickerRow):
            return (row.bid_cents, row.ask_cents), row.trade
        p = row.yes_price_cents
        return ((p - 1, p) if row.taker_side == "yes" else (p, p + 1)), row

    def _targets(self, touch: tuple[int | None, int | None], trade: TapeRow | None) -> list[tuple[str, int, Decimal]]:
        """(side, price cents, minimum provider size), touch level first on each side."""
        first_bid, first_ask = touch
        hit_side = None if trade is None else (ASK if trade.taker_side == "yes" else BID)
        targets = []
        for i in range(self.levels):
            for side, first in ((BID, first_bid), (ASK, first_ask)):
                if first is None:
                    continue
                price = first - i if side == BID else first + i
                if 1 <= price <= 99:
                    at_touch = i == 0 and side == hit_side
                    targets.append((side, price, max(self.depth, trade.size) if at_touch else self.depth))
        return targets

    def _foreign_levels(self) -> set[tuple[str, int]]:
        """(side, price) of every resting order that is not the tape's own."""
        book = self.exchange.markets[self.ticker].book
        return {(o.side, int(o.price / CENT)) for o in self._foreign_orders(book)}

    def _foreign_orders(self, book) -> list:
        """Resting orders of every non-tape account in this market, in queue-priority order
        (sorted: live_order_ids is a set, whose order differs between processes)."""
        tape_accounts = (self.provider_id, self.taker_id)
        found = []
        for account_id, account in self.exchange.accounts.items():
            if account_id in tape_accounts:
                continue
            for order_id in account.live_order_ids:
                book_order = book.get(order_id)
                if book_order is not None:
                    found.append(book_order)
        return sorted(found, key=lambda o: o.priority)

    def _recentre(self, touch: tuple[int | None, int | None], trade: TapeRow | None) -> None:
        targets = self._targets(touch, trade)
        wanted = {(side, price) for side, price, _ in targets}
        pinned = self._foreign_levels()  # hazard: moving these would jump us up the queue
        book = self.exchange.markets[self.ticker].book
        resting: dict[tuple[str, int], Decimal] = {}
        for order in book.orders_of(self.provider_id):
            key = (order.side, int(order.price / CENT))
            if key in wanted or key in pinned:
                resting[key] = resting.get(key, _ZERO) + order.remaining
            else:
                self.exchange.cancel_order(self.provider_id, order.order_id)
        for side, price, minimum in targets:
            deficit = minimum - resting.get((side, price), _ZERO)
            if deficit > 0:
                self._place(side, price, deficit)

    def _fill_through(self, trade: TapeRow) -> Decimal:
        """Fill non-tape orders the trade went strictly through; returns the contracts used.

        Provider orders beyond the trade price were only kept to hold our queue place; the
        price has gone through them, so they are withdrawn rather than printed."""
        book = self.exchange.markets[self.ticker].book
        p = trade.yes_price_cents
        at_too = self.fill_model.at_or_through  # optimistic: a print at our price reaches us too
        used = _ZERO
        for side in (BID, ASK):
            beyond = (lambda price: price > p) if side == BID else (lambda price: price < p)
            reached = (lambda price: beyond(price) or (at_too and price == p))
            for order in book.orders_of(self.provider_id):
                if order.side == side and beyond(int(order.price / CENT)):
                    self.exchange.cancel_order(self.provider_id, order.order_id)
            for order in self._foreign_orders_best_first(book, side):
                budget = trade.size - used
                price = int(order.price / CENT)
                if budget <= 0 or not reached(price):
                    break
                share = min(budget, order.remaining)
                self._send(ASK if side == BID else BID, price, share)
                used += share
        return used

    def _thin_queues_ahead(self) -> None:
        """Calibrated and optimistic models: when one of our orders is first seen at a price,
        the provider keeps ceil(queue_share x A) of the A contracts it has ahead of it there
        and moves the rest to the back, behind ours (same price: the displayed size stays).

        Keyed by queue priority: an amend that keeps its place is not a new join (thinning
        twice would compound), one that moves to the back of a level is."""
        book = self.exchange.markets[self.ticker].book
        seen = set()
        for ours in self._foreign_orders(book):
            key = (ours.order_id, ours.priority)
            seen.add(key)
            if key in self._queues_thinned:
                continue
            ahead = [o for o in book.orders_of(self.provider_id)
                     if o.side == ours.side and o.price == ours.price and o.priority < ours.priority]
            displayed = sum((o.remaining for o in ahead), _ZERO)
            keep = (self.fill_model.queue_share * displayed).to_integral_value(rounding=ROUND_CEILING)
            moved = displayed - keep
            if moved <= 0:
                continue
            to_take = moved
            for order in sorted(ahead, key=lambda o: o.priority, reverse=True):  # nearest to ours first
                if to_take <= 0:
                    break
                take = min(to_take, order.remaining)
                self.exchange.decrease_order(self.provider_id, order.order_id, reduce_by=take, reduce_to=None)
                to_take -= take
            self._place(ours.side, int(ours.price / CENT), moved)
        self._queues_thinned = seen

    def _foreign_orders_best_first(self, book, side: str) -> list:
        orders = [o for o in self._foreign_orders(book) if o.side == side]
        sign = -1 if side == BID else 1  # best bid is the highest price
        return sorted(orders, key=lambda o: (sign * o.price, o.priority))

    def _send(self, side: str, price_cents: int, count: Decimal) -> Decimal:
        """An IOC from the tape taker; returns the contracts it traded."""
        request = OrderRequest(self.ticker, side, Decimal(price_cents) * CENT, count, time_in_force=IOC)
        try:
            return self.exchange.place_order(self.taker_id, request).filled
        except ApiError:  # market closed: the tape outlived the listing
            return _ZERO

    def _place(self, side: str, price_cents: int, count: Decimal) -> None:
        request = OrderRequest(self.ticker, side, Decimal(price_cents) * CENT, count, post_only=True)
        try:
            self.exchange.place_order(self.provider_id, request)
        except ApiError:  # would cross a resting order of someone else: leave that level out
            return
