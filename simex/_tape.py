"""Drive one market from a recorded Kalshi trade tape (CSV, see data/kalshi/README.md).

Queue model (deliberately simple; full queue fidelity is a later issue):
- A background liquidity provider keeps `levels` price levels each side around the tape
  price P. If the taker bought YES ("yes"), the trade hit a resting YES ask at P, so the
  provider's asks start at P and its bids at P - 1; if the taker sold YES ("no"), its bids
  start at P and its asks at P + 1.
- Each level holds at least `depth` contracts of provider liquidity, and the touch level at
  least the tape size, so every tape trade can print in full. Provider orders that stay at
  the same price keep their queue place; top-ups are new orders at the back of the queue.
- The tape trade is then sent as an IOC taker order of the tape size at P on the tape side
  through the matching engine. So an order of ours that rests at P fills once the provider
  liquidity queued ahead of it has traded; an order priced better than P fills first.
Everything is deterministic: no randomness, timestamps from the tape.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from mmd.wire import CENT

from ._book import ASK, BID
from ._errors import ApiError
from ._exchange import Exchange
from ._model import IOC, NS_PER_S, MarketSpec, OrderRequest

__all__ = ["TapeRow", "TapeMarketDriver", "read_tape"]

TAPE_BALANCE_CENTS = 10**11
_COLUMNS = ("Sequence id", "Time sec", "Yes px", "Side taken", "Size")


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


def _spec_for(ticker: str, first: TapeRow | None) -> MarketSpec:
    event = ticker.rsplit("-", 1)[0]
    return MarketSpec(ticker=ticker, event_ticker=event, series_ticker=event.split("-", 1)[0],
                      category="Sports", title=f"Replay of {ticker}",
                      initial_fair_cents=first.yes_price_cents if first else 50)


class TapeMarketDriver:
    """Replays a tape into `exchange`. The caller owns the clock: call apply(row) in ts order."""

    def __init__(self, exchange: Exchange, ticker: str, csv_path: Path | str, levels: int = 3,
                 depth: Decimal = Decimal(10)) -> None:
        self.exchange = exchange
        self.ticker = ticker
        self.levels = levels
        self.depth = depth
        self.rows = read_tape(csv_path)
        if ticker not in exchange.markets:
            first = self.rows[0] if self.rows else None
            with exchange.acting_at(first.ts_ns if first else exchange.now()):
                exchange.add_market(_spec_for(ticker, first))
        self.provider_id = f"tape-lp:{ticker}"
        self.taker_id = f"tape-taker:{ticker}"
        for account_id in (self.provider_id, self.taker_id):
            if account_id not in exchange.accounts:
                exchange.register_account(account_id, TAPE_BALANCE_CENTS, keep_history=False)

    def events(self) -> list[tuple[int, TapeRow]]:
        return [(row.ts_ns, row) for row in self.rows]

    def apply(self, row: TapeRow) -> None:
        """Re-centre provider liquidity on the tape price, then print the tape trade."""
        with self.exchange.acting_at(row.ts_ns):
            self._recentre(row)
            side = BID if row.taker_side == "yes" else ASK
            request = OrderRequest(self.ticker, side, row.yes_price, row.size, time_in_force=IOC)
            try:
                self.exchange.place_order(self.taker_id, request)
            except ApiError:  # market closed: the tape outlived the listing
                return

    def _targets(self, row: TapeRow) -> list[tuple[str, int, Decimal]]:
        """(side, price cents, minimum provider size), touch level first on each side."""
        p = row.yes_price_cents
        first_ask, first_bid = (p, p - 1) if row.taker_side == "yes" else (p + 1, p)
        touch_side = ASK if row.taker_side == "yes" else BID
        targets = []
        for i in range(self.levels):
            for side, price in ((BID, first_bid - i), (ASK, first_ask + i)):
                is_touch = i == 0 and side == touch_side
                if 1 <= price <= 99:
                    targets.append((side, price, max(self.depth, row.size) if is_touch else self.depth))
        return targets

    def _recentre(self, row: TapeRow) -> None:
        targets = self._targets(row)
        wanted = {(side, price) for side, price, _ in targets}
        book = self.exchange.markets[self.ticker].book
        resting: dict[tuple[str, int], Decimal] = {}
        for order in book.orders_of(self.provider_id):
            key = (order.side, int(order.price / CENT))
            if key in wanted:
                resting[key] = resting.get(key, Decimal(0)) + order.remaining
            else:
                self.exchange.cancel_order(self.provider_id, order.order_id)
        for side, price, minimum in targets:
            deficit = minimum - resting.get((side, price), Decimal(0))
            if deficit > 0:
                self._place(side, price, deficit)

    def _place(self, side: str, price_cents: int, count: Decimal) -> None:
        request = OrderRequest(self.ticker, side, Decimal(price_cents) * CENT, count, post_only=True)
        try:
            self.exchange.place_order(self.provider_id, request)
        except ApiError:  # would cross a resting order of someone else: leave that level out
            return
