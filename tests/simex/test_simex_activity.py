"""Background participants and tape replay."""

import json
from decimal import Decimal
from pathlib import Path

from simex_testkit import START_NS, VirtualClock

from simex import DEFAULT_MARKET, OrderRequest, TapeMarketDriver, build_default_exchange, read_tape

D = Decimal
NS = 1_000_000_000
TAPE = "TRADES_KXNHLGAME-26APR04FLAPIT-PIT.csv"  # in the recorded data folder (fixture shared_data)


def run_market(seed: int, seconds: int, step_s: int = 1):
    clock = VirtualClock(START_NS)
    ex = build_default_exchange(seed=seed, now_ns=clock)
    for _ in range(seconds // step_s):
        ex.advance(clock.tick(step_s))
    return ex


def trade_stream(ex) -> str:
    return json.dumps([t.to_json() for t in ex.trades])


def test_default_market_is_listed_with_a_two_sided_book():
    ex = run_market(seed=1, seconds=0)
    book = ex.markets[DEFAULT_MARKET.ticker].book
    assert DEFAULT_MARKET.ticker == "KXSIMRATE-26DEC31-T4.25"
    assert book.best("bid") < book.best("ask")
    assert len(book.levels("bid")) >= 3 and len(book.levels("ask")) >= 3


def test_same_seed_gives_an_identical_trade_stream_regardless_of_step_size():
    fine = run_market(seed=5, seconds=300, step_s=1)
    coarse = run_market(seed=5, seconds=300, step_s=60)
    assert len(fine.trades) > 50
    assert trade_stream(fine) == trade_stream(coarse)


def test_different_seeds_give_different_trade_streams():
    assert trade_stream(run_market(seed=1, seconds=120)) != trade_stream(run_market(seed=2, seconds=120))


def test_a_maker_joining_the_touch_is_filled_within_two_minutes():
    for seed in range(5):
        clock = VirtualClock(START_NS)
        ex = build_default_exchange(seed=seed, now_ns=clock)
        ex.register_account("maker", 1_000_000)
        book = ex.markets[DEFAULT_MARKET.ticker].book
        for side in ("bid", "ask"):
            ex.place_order("maker", OrderRequest(DEFAULT_MARKET.ticker, side, book.best(side), D(5), post_only=True))
        for _ in range(120):
            ex.advance(clock.tick(1))
        assert any(f.account_id == "maker" for f in ex.fills), f"seed {seed}: no fill in 2 minutes"


def test_participants_keep_prices_on_the_grid_and_in_range():
    ex = run_market(seed=3, seconds=600, step_s=10)
    assert all(D("0.01") <= t.price <= D("0.99") and t.price % D("0.01") == 0 for t in ex.trades)


def write_tape(path: Path, rows: list[tuple[int, int, str, int]]) -> Path:
    lines = ["Sequence id,Time sec,Datetime,Yes px,No px,Side taken,Size"]
    for i, (ts, px, side, size) in enumerate(rows, start=1):
        lines.append(f"{i},{ts},2026-04-04T06:00:00,{px},{100 - px},{side},{size}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_tape_driver_fills_our_resting_bid_at_the_touch_after_the_queue_ahead(tmp_path):
    tape = write_tape(tmp_path / "t.csv", [(1_775_308_000, 60, "yes", 5), (1_775_308_010, 59, "no", 12),
                                           (1_775_308_020, 59, "no", 5)])
    clock = VirtualClock(1_775_307_990 * NS)
    ex = build_default_exchange(seed=0, now_ns=clock, markets=())
    driver = TapeMarketDriver(ex, "KXNHLGAME-TEST-PIT", tape)
    ex.register_account("maker", 100_000)
    events = driver.events()
    assert [ts for ts, _ in events] == [1_775_308_000 * NS, 1_775_308_010 * NS, 1_775_308_020 * NS]
    driver.apply(events[0][1])
    ours = ex.place_order("maker", OrderRequest("KXNHLGAME-TEST-PIT", "bid", D("0.59"), D(3)))
    driver.apply(events[1][1])  # 12 sold at 0.59: the provider's 10 queued ahead, then 2 of ours
    assert ours.filled == D(2)
    driver.apply(events[2][1])
    assert ours.filled == D(3) and ours.status == "executed"
    assert [t.price for t in ex.trades if t.ticker == "KXNHLGAME-TEST-PIT"][-1] == D("0.59")


def test_tape_driver_prints_every_real_tape_trade_at_its_price(shared_data):
    tape = shared_data / TAPE
    clock = VirtualClock(START_NS)
    ex = build_default_exchange(seed=0, now_ns=clock, markets=())
    driver = TapeMarketDriver(ex, "KXNHLGAME-26APR04FLAPIT-PIT", tape)
    events = driver.events()[:200]
    assert len(driver.events()) == len(read_tape(tape))
    for ts_ns, row in events:
        clock.ns = ts_ns
        before = len(ex.trades)
        driver.apply(row)
        printed = ex.trades[before:]
        assert sum(t.count for t in printed) == row.size
        assert {t.price for t in printed} == {row.yes_price}
        assert {t.taker_side for t in printed} == {"bid" if row.taker_side == "yes" else "ask"}
