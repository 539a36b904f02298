"""Tape replay's pessimistic queue model, on hand-made tapes (see simex/_tape.py)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from simex_testkit import START_NS, VirtualClock

from simex import Exchange, OrderRequest
from simex._tape import TapeMarketDriver, TickerRow, read_tape, read_ticker_file

TICKER = "KXTAPE-26APR04-T"
S = 1_000_000_000
T0 = START_NS // S
HEADER = "Sequence id,Time sec,Datetime,Yes px,No px,Side taken,Size\n"


def tape(tmp_path, rows: list[tuple[int, int, str, int]]) -> str:
    """rows: (seconds after T0, yes price cents, taker side, size)."""
    path = tmp_path / f"TRADES_{TICKER}.csv"
    lines = [f"{i + 1},{T0 + dt},x,{p},{100 - p},{side},{size}\n" for i, (dt, p, side, size) in enumerate(rows)]
    path.write_text(HEADER + "".join(lines))
    return str(path)


class Replay:
    """A driver plus our account ('us'); step(n) applies tape row n."""

    def __init__(self, path: str) -> None:
        self.clock = VirtualClock(START_NS)
        self.exchange = Exchange(now_ns=self.clock, seed=1)
        self.driver = TapeMarketDriver(self.exchange, TICKER, path)
        self.exchange.register_account("us", 1_000_000)
        self.rows = [row for _, row in self.driver.events()]

    def step(self, index: int) -> None:
        row = self.rows[index]
        self.clock.ns = row.ts_ns
        self.driver.apply(row)

    def place(self, side: str, price: str, count: int):
        request = OrderRequest(TICKER, side, Decimal(price), Decimal(count), post_only=True)
        return self.exchange.place_order("us", request)

    def filled(self, order) -> Decimal:
        return order.filled

    def queue_ahead(self, order) -> Decimal:
        return self.exchange.markets[TICKER].book.queue_ahead(order.order_id)


def test_at_our_price_we_fill_only_after_the_displayed_size_ahead_has_traded(tmp_path):
    r = Replay(tape(tmp_path, [(1, 50, "no", 5), (2, 50, "no", 4), (3, 50, "no", 3)]))
    r.step(0)  # provider bid 10 at 50, 5 traded: 5 displayed
    ours = r.place("bid", "0.50", 3)
    assert r.queue_ahead(ours) == 5
    r.step(1)  # 4 of the 5 ahead trade; the provider's top-up joins behind us
    assert r.filled(ours) == 0
    assert r.queue_ahead(ours) == 1
    r.step(2)  # 1 ahead, then 2 of ours
    assert r.filled(ours) == 2


def test_a_trade_strictly_through_our_bid_fills_us_at_our_price_whatever_the_taker_side(tmp_path):
    r = Replay(tape(tmp_path, [(1, 50, "no", 5), (2, 47, "yes", 2), (3, 46, "yes", 9)]))
    r.step(0)
    ours = r.place("bid", "0.50", 3)  # 5 displayed ahead of us: they do not matter once traded through
    r.step(1)
    assert r.filled(ours) == 2  # limited by the trade's size
    fills = [f for f in r.exchange.fills if f.account_id == "us"]
    assert {f.price for f in fills} == {Decimal("0.50")}
    r.step(2)
    assert r.filled(ours) == 3


def test_a_trade_at_our_price_on_the_other_side_does_not_fill_us(tmp_path):
    r = Replay(tape(tmp_path, [(1, 50, "no", 5), (2, 50, "yes", 20), (3, 52, "yes", 20)]))
    r.step(0)
    ours = r.place("bid", "0.50", 3)
    r.step(1)  # a buyer lifted asks at 50: our bid at 50 is on the wrong side
    r.step(2)
    assert r.filled(ours) == 0


def test_ask_side_mirror_through_and_at_price(tmp_path):
    r = Replay(tape(tmp_path, [(1, 60, "yes", 4), (2, 60, "yes", 8), (3, 63, "no", 2)]))
    r.step(0)  # provider ask 10 at 60, 4 traded: 6 displayed
    ours = r.place("ask", "0.60", 5)
    assert r.queue_ahead(ours) == 6
    r.step(1)  # 6 ahead, then 2 of ours
    assert r.filled(ours) == 2
    r.step(2)  # a trade at 63 is through our 60 ask
    assert r.filled(ours) == 4


def test_the_provider_keeps_the_orders_ahead_of_us_when_the_price_moves_away_and_back(tmp_path):
    r = Replay(tape(tmp_path, [(1, 50, "no", 5), (2, 56, "no", 1), (3, 50, "no", 6)]))
    r.step(0)
    ours = r.place("bid", "0.50", 3)
    r.step(1)  # the market moved up: the provider's 5 at 50 stay ahead of us, not re-queued behind
    assert r.queue_ahead(ours) == 5
    r.step(2)
    assert r.filled(ours) == 1


def test_every_tape_trade_prints_when_nothing_of_ours_is_in_the_way(tmp_path):
    r = Replay(tape(tmp_path, [(1, 50, "no", 5), (2, 55, "yes", 30), (3, 40, "no", 12)]))
    for i in range(3):
        r.step(i)
    prints = [(t.price, t.count, t.taker_side) for t in r.exchange.trades]
    assert prints == [(Decimal("0.50"), 5, "ask"), (Decimal("0.55"), 30, "bid"), (Decimal("0.40"), 12, "ask")]


def test_replaying_a_tape_twice_gives_identical_fills(tmp_path):
    path = tape(tmp_path, [(1, 50, "no", 5), (2, 50, "no", 7), (3, 49, "yes", 3), (4, 51, "no", 9)])
    outcomes = []
    for _ in range(2):
        r = Replay(path)
        r.step(0)
        r.place("bid", "0.50", 4)
        r.place("ask", "0.52", 4)
        for i in range(1, 4):
            r.step(i)
        outcomes.append([(f.order_id, f.price, f.count) for f in r.exchange.fills if f.account_id == "us"])
    assert outcomes[0] == outcomes[1] and outcomes[0]


def ticker_file(tmp_path, lines: list[tuple[int, float, float, float, int]]) -> str:
    path = tmp_path / f"{TICKER}.jsonl"
    path.write_text("".join(json.dumps({"kalshi_ts": T0 + dt, "yes_bid_prob": b, "yes_ask_prob": a,
                                        "price_prob": last, "volume": v, "market_ticker": TICKER}) + "\n"
                            for dt, b, a, last, v in lines))
    return str(path)


def test_ticker_file_rows_carry_the_book_and_the_volume_traded_since_the_last_line(tmp_path):
    rows = read_ticker_file(ticker_file(tmp_path, [(1, 0.45, 0.47, 0.46, 100), (2, 0.45, 0.47, 0.45, 130),
                                                   (3, 0.0, 1.0, 0.47, 130), (4, 0.46, 0.48, 0.48, 140)]))
    assert rows[0] == TickerRow(START_NS + S, 45, 47, 46, Decimal(100), None)
    assert (rows[1].trade.yes_price_cents, rows[1].trade.taker_side, rows[1].trade.size) == (45, "no", 30)
    assert rows[2].bid_cents is None and rows[2].ask_cents is None and rows[2].trade is None
    assert (rows[3].trade.taker_side, rows[3].trade.size) == ("yes", 10)


def test_ticker_replay_fills_our_bid_after_the_size_ahead(tmp_path):
    r = Replay(ticker_file(tmp_path, [(1, 0.45, 0.47, 0.46, 100), (2, 0.45, 0.47, 0.45, 130)]))
    r.step(0)  # provider: 10 at 45 (bid) and 47 (ask)
    ours = r.place("bid", "0.45", 5)
    assert r.queue_ahead(ours) == 10
    r.step(1)  # 30 traded at the bid: 10 ahead, our 5, then 15 of the provider's top-up
    assert r.filled(ours) == 5


def test_a_level_we_improve_alone_fills_first(tmp_path):
    r = Replay(ticker_file(tmp_path, [(1, 0.45, 0.48, 0.46, 100), (2, 0.45, 0.48, 0.46, 104)]))
    r.step(0)
    ours = r.place("bid", "0.46", 3)  # inside the recorded 45/48 spread: nobody ahead
    assert r.queue_ahead(ours) == 0
    r.step(1)  # 4 traded at 46, nearer the bid: a seller hit 46
    assert r.filled(ours) == 3


def test_bad_rows_name_their_line(tmp_path):
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text(HEADER + f"1,{T0},x,50,50,no,3\n2,{T0},x,150,-50,no,3\n")
    with pytest.raises(ValueError, match=r"bad.csv:3"):
        read_tape(bad_csv)
    bad_jsonl = tmp_path / "bad.jsonl"
    bad_jsonl.write_text('{"kalshi_ts": 1, "yes_bid_prob": 0.4, "yes_ask_prob": 0.5, "price_prob": 0.4, "volume": 1}\n'
                         '{"kalshi_ts": 2, "yes_bid_prob": "x"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2"):
        read_ticker_file(bad_jsonl)
