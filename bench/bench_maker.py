"""Maker benchmark: writes per quote update and quote computations per second, one maker.

A MakerSession (the plain object behind the actor) is fed a seeded random-walk book; every
command is recorded in a trading ledger (as the risk governor records it) and acknowledged
at once, as an exchange would, and a crowd occasionally fills our quotes; the session reads
each change from the ledger's view. Prints:
- writes per quote update: (places + amends + cancels) / quote updates (target <= 1.0);
- quote computations per second: full requote passes (fair value, quoting pipeline,
  placement, order reconciliation) per second, twice: per second spent inside the plain
  MakerSession calls only (the session path), and per wall-clock second of the whole
  loop (which also builds books and plays the exchange).

Usage: .venv/bin/python bench/bench_maker.py [--updates 20000] [--seed 7] [--levels 1]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.ledger import TradingLedger  # noqa: E402
from actors.maker import MakerSession  # noqa: E402
from config import load_config  # noqa: E402
from messages import (  # noqa: E402
    AmendOrder,
    BookView,
    CancelOrder,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    PlaceOrder,
)

TICKER = "KXBENCH-26DEC-T50"
SECOND = 1_000_000_000
CENT = Decimal("0.01")


def book_at(mid_cents: int, spread_cents: int, size: int, now: int) -> BookView:
    bid = Decimal(mid_cents - spread_cents // 2) * CENT
    ask = bid + Decimal(spread_cents) * CENT
    bids = tuple((bid - i * CENT, Decimal(size)) for i in range(5))
    asks = tuple((ask + i * CENT, Decimal(size)) for i in range(5))
    return BookView(ticker=TICKER, bids=bids, asks=asks, trusted=True, ts_event=now, ts_recv=now)


class Exchange:
    """Records every command in the ledger (risk's part) and acknowledges it at once; ids
    from a counter (deterministic). Also times the session calls it makes (`session_s`):
    requote passes (`calls`), and the views of our own recorded commands (`views`)."""

    def __init__(self) -> None:
        self.n = 0
        self.fills = 0
        self.session_s = 0.0
        self.calls = 0
        self.views = 0
        self.ledger = TradingLedger(seen_fill_ids_per_market=1_000)

    def call(self, method, *args):
        """One timed call into the session."""
        started = time.perf_counter()
        result = method(*args)
        self.calls += 1
        self.session_s += time.perf_counter() - started
        return result

    def event(self, session: MakerSession, event, now: int) -> list:
        """The ledger applies an exchange event; the session reads the change (a pass)."""
        order, _ = self.ledger.apply(event)
        return self.call(session.on_trading_state, self.ledger.changed(TICKER, event, order, now), now)

    def record(self, session: MakerSession, cmd, now: int) -> None:
        order = self.ledger.record(cmd)
        started = time.perf_counter()
        session.on_trading_state(self.ledger.changed(TICKER, cmd, order, now), now)
        self.views += 1
        self.session_s += time.perf_counter() - started

    def ack(self, session: MakerSession, commands: list, now: int) -> None:
        queue = list(commands)
        for cmd in queue:
            self.record(session, cmd, now)
        while queue:
            cmd = queue.pop(0)
            if isinstance(cmd, PlaceOrder):
                self.n += 1
                event = OrderAccepted(
                    client_order_id=cmd.client_order_id, order_id=f"ex-{self.n}", ticker=TICKER, side=cmd.side,
                    price=cmd.price, count=cmd.count, filled=Decimal(0), remaining=cmd.count, ts_event=now, ts_recv=now,
                )
            elif isinstance(cmd, AmendOrder):
                order = next(
                    (o for level in range(session.orders.levels_working(cmd.side))
                     if (o := session.orders.order(cmd.side, level)) is not None and o.order_id == cmd.order_id),
                    None,
                )  # fmt: skip
                filled = order.filled if order is not None else Decimal(0)
                event = OrderAmended(
                    order_id=cmd.order_id, client_order_id=cmd.updated_client_order_id,
                    previous_client_order_id=cmd.client_order_id, ticker=TICKER, side=cmd.side, price=cmd.price,
                    count=cmd.count, filled=filled, remaining=cmd.count - filled, ts_event=now, ts_recv=now,
                )
            elif isinstance(cmd, CancelOrder):
                event = OrderCancelled(
                    order_id=cmd.order_id, client_order_id=cmd.client_order_id, ticker=TICKER,
                    reduced_by=Decimal(0), reason="requested", ts_event=now, ts_recv=now,
                )
            else:
                continue
            more = self.event(session, event, now)
            for answer in more:
                self.record(session, answer, now)
            queue.extend(more)

    def fill_one(self, session: MakerSession, side: str, now: int) -> None:
        order = session.orders.order(side)
        if order is None or order.order_id is None or order.remaining <= 0:
            return
        self.fills += 1
        fill = OrderFilled(
            fill_id=f"f-{self.fills}", order_id=order.order_id, client_order_id=order.client_order_id, ticker=TICKER,
            side=side, price=order.price, count=Decimal(1), fee=Decimal("0.01"), is_taker=False, post_position=None,
            ts_event=now, ts_recv=now,
        )
        self.ack(session, self.event(session, fill, now), now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=20_000, help="book updates to feed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--levels", type=int, default=1, help="ladder levels per side (maker.model.ladder_levels)")
    args = parser.parse_args()

    config = load_config(
        overrides={
            "maker": {
                "guardrails": {"min_sigma": "0", "no_trade_freeze_s": 10**9},
                "model": {"ladder_levels": args.levels},
            }
        }
    )
    rng = random.Random(args.seed)
    session = MakerSession(ticker=TICKER, session_id="bench", config=config.maker)
    exchange = Exchange()
    now = 1_800_000_000 * SECOND
    session.start(now)
    mid, spread = 50, 4
    session.on_book(book_at(mid, spread, 200, now), now)
    now += 5 * SECOND
    exchange.ack(session, session.warmup_elapsed(now), now)

    exchange.session_s, exchange.calls = 0.0, 0
    started = time.perf_counter()
    for i in range(args.updates):
        now += SECOND // 10  # ten book updates a second
        mid = min(90, max(10, mid + rng.choice((-1, 0, 0, 0, 1))))
        spread = rng.choice((2, 2, 3, 4))
        book = book_at(mid, spread, rng.randint(50, 400), now)
        exchange.ack(session, exchange.call(session.on_book, book, now), now)
        if i % 10 == 9:  # the periodic check, once a second
            exchange.ack(session, exchange.call(session.check, now), now)
        if rng.random() < 0.02:
            exchange.fill_one(session, rng.choice(("bid", "ask")), now)
    elapsed = time.perf_counter() - started

    counters = session.status()["counters"]
    writes = counters["places"] + counters["amends"] + counters["cancels"]
    updates = max(counters["quote_updates"], 1)
    # every session call is one requote pass: book updates, checks, fills and acks
    passes = exchange.calls
    print(f"ladder levels per side     {args.levels}")
    print(f"book updates fed           {args.updates}")
    print(f"quote updates              {counters['quote_updates']}")
    print(f"writes                     {writes} (places {counters['places']}, amends {counters['amends']}, "
          f"cancels {counters['cancels']})")
    print(f"writes per quote update    {writes / updates:.3f}  (target <= 1.0)")
    print(f"fills                      {counters['fills']}, final position {session.inventory.position}")
    inside = exchange.session_s
    print(f"quote computations / s     {passes / inside:,.0f}  session path ({passes} requote passes and "
          f"{exchange.views} views of its own commands in {inside:.2f} s inside MakerSession, "
          f"{inside / passes * 1e6:.1f} us a pass)")
    print(f"quote computations / s     {passes / elapsed:,.0f}  whole loop ({elapsed:.2f} s wall, with book "
          f"building and the simulated exchange)")


if __name__ == "__main__":
    main()
