"""Trade prints of the simulated exchange: every trade of a tape is printed, even one our own
resting order blocks (without filling us), and on a stepped server a request between two steps
never makes trade times go back (REST orders and WebSocket commands alike)."""

from __future__ import annotations

from decimal import Decimal

from simex_testkit import TICKER, order_body, place, rest
from simex_testkit import WsClient as Client

from simex import BID, Exchange, OrderRequest, TapeMarketDriver
from simex._model import NS_PER_S


# ----- a tape trade blocked by our order on the other side is still printed -----
def test_a_tape_trade_at_our_bid_price_is_printed_without_filling_us(tmp_path, clock):
    tape = tmp_path / "TRADES_KXT-26-X.csv"
    tape.write_text("Sequence id,Time sec,Yes px,Side taken,Size\n1,1000,50,yes,10\n2,1010,50,yes,7\n"
                    "3,1020,50,yes,7\n")
    clock.ns = 999 * NS_PER_S
    ex = Exchange(now_ns=clock)
    ex.register_account("me", 10**7)
    driver = TapeMarketDriver(ex, "KXT-26-X", tape)
    (t1, row1), *rest_rows = driver.events()
    clock.ns = t1
    driver.apply(row1)
    watcher = Client(ex, "me")
    watcher.send(1, "subscribe", {"channels": ["trade"], "market_tickers": ["KXT-26-X"]})
    ours = ex.place_order("me", OrderRequest("KXT-26-X", BID, Decimal("0.50"), Decimal(3)))
    for ts, row in rest_rows:
        clock.ns = ts
        driver.apply(row)
    market = ex.markets["KXT-26-X"]
    assert sum(t.count for t in ex.trades) == sum(r.size for r in driver.rows) == 24
    assert market.volume == 24 and market.last_price == Decimal("0.50")
    assert [f["msg"]["count_fp"] for f in watcher.take() if f["type"] == "trade"] == ["7.00", "7.00"]
    assert ours.filled == 0 and ours.status == "resting"  # pessimistic: the tape traded with someone else
    assert not ex.fills


# ----- a stepped server: requests between steps never make trade times go back -----
def test_trade_times_never_go_back_when_a_request_comes_between_two_steps(ex, clock):
    t0 = clock.ns
    place(ex, "bob", "ask", "0.40", 10)  # resting liquidity
    ex.schedule(t0 + 20_000_000, lambda at: place(ex, "carol", BID, "0.40", 2))  # a background taker at +20 ms
    ex.advance(t0)  # the server's step at t0
    clock.ns = t0 + 60_000_000  # a REST request at +60 ms, before the next step at +100 ms
    status, _ = rest(ex, "POST", "/portfolio/events/orders", order_body(side="bid", price="0.40", count="3"))
    assert status == 201
    clock.ns = t0 + 100_000_000
    ex.advance(clock.ns)  # the next step
    times = [t.ts_ns for t in ex.trades]
    assert times == sorted(times)
    assert times == [t0 + 20_000_000, t0 + 60_000_000]  # each at its own time, in order


def test_a_ws_command_also_runs_what_is_due_first(ex, clock):
    t0 = clock.ns
    place(ex, "bob", "ask", "0.40", 10)
    ex.schedule(t0 + 20_000_000, lambda at: place(ex, "carol", BID, "0.40", 2))
    ex.advance(t0)
    clock.ns = t0 + 60_000_000
    client = Client(ex)
    client.send(1, "subscribe", {"channels": ["orderbook_delta"], "market_ticker": TICKER})
    (snapshot,) = [f for f in client.take() if f["type"] == "orderbook_snapshot"]
    assert snapshot["msg"]["no_dollars_fp"] == [["0.6000", "8.00"]]  # carol's 2 already taken at +20 ms
