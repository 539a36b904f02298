"""Tape replay's three fill models pinned on hand-made tapes (simex/_tape.py, "Fill models"):
pessimistic (the floor: the whole displayed queue ahead of us trades first), calibrated (a
share of it stays ahead) and optimistic (the ceiling: any print at or through our price)."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from simex_testkit import START_NS, VirtualClock

from simex import Exchange, OrderRequest
from simex._tape import OPTIMISTIC, PESSIMISTIC, FillModel, TapeMarketDriver, fill_model_named

TICKER = "KXTAPE-26APR04-T"
S = 1_000_000_000
T0 = START_NS // S
HEADER = "Sequence id,Time sec,Datetime,Yes px,No px,Side taken,Size\n"
CALIBRATED = fill_model_named("calibrated")  # queue share 0.5


def tape(tmp_path, rows: list[tuple[int, int, str, int]]) -> str:
    """rows: (seconds after T0, yes price cents, taker side, size)."""
    path = tmp_path / f"TRADES_{TICKER}.csv"
    lines = [f"{i + 1},{T0 + dt},x,{p},{100 - p},{side},{size}\n" for i, (dt, p, side, size) in enumerate(rows)]
    path.write_text(HEADER + "".join(lines))
    return str(path)


class Replay:
    """A driver with one fill model plus our account ('us'); step(n) applies tape row n."""

    def __init__(self, path: str, fill_model: FillModel) -> None:
        self.clock = VirtualClock(START_NS)
        self.exchange = Exchange(now_ns=self.clock, seed=1)
        self.driver = TapeMarketDriver(self.exchange, TICKER, path, fill_model=fill_model)
        self.exchange.register_account("us", 1_000_000)
        self.rows = [row for _, row in self.driver.events()]

    def step(self, index: int) -> None:
        row = self.rows[index]
        self.clock.ns = row.ts_ns
        self.driver.apply(row)

    def place(self, side: str, price: str, count: int):
        request = OrderRequest(TICKER, side, Decimal(price), Decimal(count), post_only=True)
        return self.exchange.place_order("us", request)

    def queue_ahead(self, order) -> Decimal:
        return self.exchange.markets[TICKER].book.queue_ahead(order.order_id)

    def displayed(self, side: str, price: str) -> Decimal:
        return self.exchange.markets[TICKER].book.size_at(side, Decimal(price))

    def our_fills(self) -> list[tuple[Decimal, Decimal]]:
        return [(f.price, f.count) for f in self.exchange.fills if f.account_id == "us"]


# 5 displayed ahead of our 3 at 50; then sellers hit 50 for 4, then for 3
AT_OUR_BID = [(1, 50, "no", 5), (2, 50, "no", 4), (3, 50, "no", 3)]


@pytest.mark.parametrize(("model", "after_first", "after_second"), [
    (PESSIMISTIC, 0, 2),  # 4 of the 5 ahead trade; then 1 ahead and 2 of ours
    (CALIBRATED, 1, 3),   # ceil(0.5 x 5) = 3 stay ahead: 3 then 1 of ours; then our last 2
    (OPTIMISTIC, 3, 3),   # front of the queue: the first print fills all 3
], ids=lambda v: v.label if isinstance(v, FillModel) else str(v))
def test_sellers_at_our_bid_fill_us_after_the_share_of_the_queue_each_model_keeps_ahead(
        tmp_path, model, after_first, after_second):
    r = Replay(tape(tmp_path, AT_OUR_BID), model)
    r.step(0)
    ours = r.place("bid", "0.50", 3)
    r.step(1)
    assert ours.filled == after_first
    r.step(2)
    assert ours.filled == after_second
    assert {price for price, _ in r.our_fills()} <= {Decimal("0.50")}


@pytest.mark.parametrize(("model", "filled"), [(PESSIMISTIC, 0), (CALIBRATED, 0), (OPTIMISTIC, 3)],
                         ids=lambda v: v.label if isinstance(v, FillModel) else str(v))
def test_a_print_at_our_bid_on_the_buying_side_fills_us_only_in_the_optimistic_model(tmp_path, model, filled):
    r = Replay(tape(tmp_path, [(1, 50, "no", 5), (2, 50, "yes", 20)]), model)
    r.step(0)
    ours = r.place("bid", "0.50", 3)
    r.step(1)
    assert ours.filled == filled
    volume = sum((t.count for t in r.exchange.trades), Decimal(0))
    assert volume == 25  # our contracts come out of the print: the tape's volume is kept


def test_the_optimistic_fill_at_our_bid_prints_as_a_sale_into_it_and_the_rest_trades_as_recorded(tmp_path):
    r = Replay(tape(tmp_path, [(1, 50, "no", 5), (2, 50, "yes", 20)]), OPTIMISTIC)
    r.step(0)
    r.place("bid", "0.50", 3)
    r.step(1)
    prints = [(t.price, t.count, t.taker_side) for t in r.exchange.trades[1:]]
    assert prints == [(Decimal("0.50"), 3, "ask"), (Decimal("0.50"), 17, "bid")]


@pytest.mark.parametrize("model", [PESSIMISTIC, CALIBRATED, OPTIMISTIC], ids=lambda m: m.label)
def test_a_print_strictly_through_our_bid_fills_us_at_our_price_in_every_model(tmp_path, model):
    r = Replay(tape(tmp_path, [(1, 50, "no", 5), (2, 47, "yes", 2), (3, 46, "yes", 9)]), model)
    r.step(0)
    ours = r.place("bid", "0.50", 3)
    r.step(1)
    assert r.our_fills() == [(Decimal("0.50"), 2)]  # limited by the print's size
    r.step(2)
    assert ours.filled == 3


@pytest.mark.parametrize(("model", "filled"), [(PESSIMISTIC, 2), (CALIBRATED, 5), (OPTIMISTIC, 5)],
                         ids=lambda v: v.label if isinstance(v, FillModel) else str(v))
def test_buyers_at_our_ask_mirror_the_bid_side(tmp_path, model, filled):
    r = Replay(tape(tmp_path, [(1, 60, "yes", 4), (2, 60, "yes", 8)]), model)
    r.step(0)  # the provider shows 6 at 60
    ours = r.place("ask", "0.60", 5)
    r.step(1)  # pessimistic: 6 ahead, then 2 of ours; calibrated: 3 ahead, then 5 of ours
    assert ours.filled == filled


def test_calibrated_moves_the_share_that_leaves_behind_us_without_changing_the_displayed_size(tmp_path):
    r = Replay(tape(tmp_path, [(1, 50, "no", 5), (2, 55, "no", 1)]), fill_model_named("calibrated", Decimal("0.3")))
    r.step(0)
    ours = r.place("bid", "0.50", 3)
    displayed = r.displayed("bid", "0.50")
    assert r.queue_ahead(ours) == 5
    r.step(1)  # the price moved away; our level is held, and thinned once
    assert r.queue_ahead(ours) == 2  # ceil(0.3 x 5)
    assert r.displayed("bid", "0.50") == displayed


def test_a_queue_is_thinned_once_per_place_in_it_not_again_after_an_amend_that_keeps_it(tmp_path):
    r = Replay(tape(tmp_path, [(1, 50, "no", 5), (2, 55, "no", 1), (3, 55, "no", 1), (4, 55, "no", 1)]),
               CALIBRATED)
    r.step(0)
    ours = r.place("bid", "0.50", 4)
    r.step(1)
    assert r.queue_ahead(ours) == 3
    r.exchange.amend_order("us", ours.order_id, TICKER, "bid", Decimal("0.50"), Decimal(2))  # smaller: keeps its place
    r.step(2)
    assert r.queue_ahead(ours) == 3
    r.exchange.amend_order("us", ours.order_id, TICKER, "bid", Decimal("0.50"), Decimal(6))  # larger: to the back
    assert r.queue_ahead(ours) == 5  # behind the 3 kept ahead and the 2 moved behind its old place
    r.step(3)
    assert r.queue_ahead(ours) == 3  # a new place, thinned again: ceil(0.5 x 5)


def test_calibrated_with_the_whole_queue_kept_fills_exactly_as_the_pessimistic_model(tmp_path):
    rows = [(1, 50, "no", 5), (2, 50, "no", 7), (3, 49, "yes", 3), (4, 51, "no", 9), (5, 52, "yes", 6),
            (6, 52, "yes", 12), (7, 50, "no", 15)]
    outcomes = []
    for model in (PESSIMISTIC, fill_model_named("calibrated", Decimal(1))):
        r = Replay(tape(tmp_path, rows), model)
        r.step(0)
        r.place("bid", "0.50", 4)
        r.place("ask", "0.52", 4)
        for i in range(1, len(rows)):
            r.step(i)
        outcomes.append(r.our_fills())
    assert outcomes[0] == outcomes[1] and outcomes[0]


def test_fill_models_are_named_and_the_calibrated_one_carries_its_share():
    assert fill_model_named("pessimistic") is PESSIMISTIC
    assert fill_model_named("optimistic") is OPTIMISTIC
    assert fill_model_named("calibrated", Decimal("0.25")).label == "calibrated(0.25)"
    assert CALIBRATED.label == "calibrated(0.5)"
    with pytest.raises(ValueError, match="unknown fill model 'generous'"):
        fill_model_named("generous")
    with pytest.raises(ValueError, match="within 0..1"):
        fill_model_named("calibrated", Decimal("1.5"))


@pytest.mark.parametrize("seed", range(12))
def test_for_the_same_resting_orders_the_models_bracket_the_fills_floor_to_ceiling(tmp_path, seed):
    rng = random.Random(seed)
    price, rows = 50, [(1, 50, "no", 5)]  # the book at 50/51: our 49 bid and 52 ask rest outside it
    for dt in range(2, 60):  # a walk over 49..52: prints at, through and away from both of ours
        price = min(52, max(49, price + rng.choice((-1, 0, 0, 1))))
        rows.append((dt, price, rng.choice(("yes", "no")), rng.randint(1, 12)))
    filled = []
    for model in (PESSIMISTIC, fill_model_named("calibrated", Decimal("0.3")), CALIBRATED, OPTIMISTIC):
        r = Replay(tape(tmp_path, rows), model)
        r.step(0)
        orders = [r.place("bid", "0.49", 40), r.place("ask", "0.52", 40)]
        for i in range(1, len(rows)):
            r.step(i)
        filled.append([o.filled for o in orders])
    for side in (0, 1):
        pessimistic, share_03, share_05, optimistic = (f[side] for f in filled)
        assert pessimistic <= share_05 <= share_03 <= optimistic
