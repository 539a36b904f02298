"""What one tracked market costs (issue "Fault campaigns", item 4: <= 0.3 MB per tracked
market, 200 markets <= 100 MB): its rings are packed into arrays, bounded by SPEC's sizes,
and read back exactly what was put in.

SPEC 5 keeps per market a ring of the last 1,000 trades and mid/spread history of at most
1,000 points; the scanner keeps its last 1,000 trades (ts, dollars) and one price point per
5-second sample over 15 minutes. Held as message objects with Decimals, the trade rings
alone were ~0.6 MB a busy market; the bounds below are what the packed rings allow.
"""

from __future__ import annotations

import gc
import tracemalloc
from dataclasses import replace
from decimal import Decimal as D

import pytest

from actors.analytics._sampling import SnapshotSampler
from actors.market_state import DecimalColumn, FloatColumn, IdColumn, IntColumn, MarketStore, PackedRing, TextColumn
from actors.scanner import PricePoint, PriceHistory
from actors.supervisor import SupervisorCore
from actors.ws._silence import SilenceWatch
from config import load_config
from messages import BookDelta, BookSnapshot, RegimeUpdated, TradePrinted

TICKER = "KXSCALE-26DEC-T4.00"
T0 = 1_795_000_000 * 1_000_000_000
SECOND = 1_000_000_000


@pytest.fixture(scope="module")
def market_state_config():
    return load_config().market_state


def traced_bytes(build):
    """Bytes still held by what `build()` returns."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = build()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before, kept
    finally:
        tracemalloc.stop()


def trade(n: int, *, trade_id: str | None = None, price: str = "0.4500", count: str = "3.00") -> TradePrinted:
    return TradePrinted(
        ticker=TICKER, trade_id=trade_id or f"{n:08x}-1c2d-4e5f-8a9b-{n:012x}", price=D(price), count=D(count),
        taker_side="bid" if n % 2 else "ask", ts_event=T0 + n * SECOND, ts_recv=T0 + n * SECOND + 7,
    )


# -- exact read-back --------------------------------------------------------------------
@pytest.mark.parametrize("value", ["0.45", "0.4500", "0", "0.00", "-0.0300", "12", "1E+2", "3.5E-7"])
def test_a_packed_decimal_reads_back_with_the_same_exponent(value):
    column = DecimalColumn()
    column.put(0, D(value))

    assert str(column.get(0)) == value


@pytest.mark.parametrize("value", ["-0", "NaN", "Infinity", "123456789012345678901234567", "1E-200"])
@pytest.mark.parametrize("narrow", [False, True])
def test_a_decimal_that_does_not_pack_is_kept_whole(value, narrow):
    column = DecimalColumn(narrow=narrow)
    column.put(0, D(value))
    column.put(0, D(value))  # and overwriting a slot keeps it right

    assert str(column.get(0)) == str(D(value))


def test_equal_decimals_written_differently_each_read_back_as_written():
    values = ["0.5", "0.50", "0.500", "0", "-0", "0.00", "5E-1", "21474836.48", "21474836.48"]
    wide, narrow = DecimalColumn(), DecimalColumn(narrow=True)
    for slot, value in enumerate(values):  # the same texts in both widths, in either order
        for column in (wide, narrow) if slot % 2 else (narrow, wide):
            column.put(slot, D(value))

    written = [D(value).as_tuple() for value in values]  # sign, digits and exponent
    assert [wide.get(slot).as_tuple() for slot in range(len(values))] == written
    assert [narrow.get(slot).as_tuple() for slot in range(len(values))] == written


def test_a_narrow_column_keeps_whole_what_passes_four_bytes():
    column = DecimalColumn(narrow=True)
    for slot, value in enumerate(["21474836.47", "21474836.48", "-21474836.48", "-21474836.49"]):
        column.put(slot, D(value))

    assert [str(column.get(slot)) for slot in range(4)] == ["21474836.47", "21474836.48", "-21474836.48", "-21474836.49"]


def test_a_packed_slot_overwritten_by_an_unpackable_value_and_back_reads_the_newest():
    column = DecimalColumn()
    column.put(0, D("0.45"))
    column.put(0, None)
    assert column.get(0) is None
    column.put(0, D("0.46"))
    assert column.get(0) == D("0.46")


def test_ids_that_are_not_canonical_uuids_are_kept_as_given():
    column = IdColumn()
    ids = ["3f2b1c2d-1c2d-4e5f-8a9b-0123456789ab", "3F2B1C2D-1C2D-4E5F-8A9B-0123456789AB", "t2", "{3f2b1c2d-1c2d}"]
    for slot, trade_id in enumerate(ids):
        column.put(slot, trade_id)

    assert [column.get(slot) for slot in range(len(ids))] == ids


def test_a_packed_ring_is_a_bounded_deque():
    ring = PackedRing(3, IntColumn(), TextColumn())
    for n in range(5):
        ring.append((n, "bid" if n % 2 else "ask"))

    assert list(ring) == [(2, "ask"), (3, "bid"), (4, "ask")]
    ring.popleft()
    ring.replace_last((40, "bid"))
    ring.append((5, "bid"))
    assert list(ring) == [(3, "bid"), (40, "bid"), (5, "bid")]
    assert ring.value(0, 0) == 3 and ring.value(-1, 0) == 5 and list(ring.values(0, 1)) == [40, 5]


def test_a_number_columns_values_read_as_one_list_equal_their_row_by_row_reading():
    ring = PackedRing(5, IntColumn(), FloatColumn())
    for n in range(23):  # grows, fills, wraps round the slots, shrinks from the left
        ring.append((n, n / 7))
        if n % 4 == 3:
            ring.popleft()
        for column in (0, 1):
            for start in range(len(ring) + 2):
                assert ring.number_values(column, start) == list(ring.values(column, start))


# -- market state -----------------------------------------------------------------------
def test_the_trade_ring_holds_the_last_trades_and_reads_them_back_equal(market_state_config):
    store = MarketStore(replace(market_state_config, trade_buffer=1_000))
    trades = [trade(n, price=f"0.{n % 100:02d}{'00' if n % 3 else ''}") for n in range(1_500)]
    trades[1_234] = trade(1_234, trade_id="not-a-uuid")
    for t in trades:
        store.apply(t, T0)

    kept = list(store.market(TICKER).trades)
    assert kept == trades[-1_000:]
    assert [str(t.price) for t in kept] == [str(t.price) for t in trades[-1_000:]]  # same exponents too


def test_a_markets_full_rings_cost_under_100_bytes_a_row(market_state_config):
    # 1,000 trades and 1,000 mid/spread points (a book touched every second for 15 minutes)
    config = replace(market_state_config, trade_buffer=1_000, history_max_points=1_000, history_window_s=900)
    trades = [trade(n) for n in range(1_000)]

    def full_market():
        store = MarketStore(config)
        store.apply(BookSnapshot(ticker=TICKER, bids=((D("0.44"), D(10)),), asks=((D("0.46"), D(10)),), seq=1,
                                 ts_event=T0, ts_recv=T0), T0)
        for n in range(1, 1_000):
            ts = T0 + n * SECOND
            store.apply(BookDelta(ticker=TICKER, side="bid", price=D("0.44"), delta=D(1), seq=n + 1,
                                       ts_event=ts, ts_recv=ts), ts)
        for t in trades:
            store.apply(t, T0)
        return store

    held, store = traced_bytes(full_market)

    market = store.market(TICKER)
    assert len(market.trades) == 1_000 and len(market.history) >= 900
    assert held < 100 * 2_000, f"{held:,} bytes for 1,000 trades and {len(market.history)} points"


# -- scanner ----------------------------------------------------------------------------
def test_the_scanners_price_history_reads_back_the_points_it_kept():
    history = PriceHistory(sample_interval_s=5, window_s=900, max_points=1_000)
    points = [PricePoint(T0 + n * 5 * SECOND, D(f"0.{40 + n % 20}5"), None if n % 7 == 0 else D("0.010"), D(n))
              for n in range(400)]
    for point in points:
        history.add(point)

    kept = history.points
    assert kept == points[-181:]  # 15 minutes of 5-second samples, both ends included
    assert history.latest is points[-1]
    assert history.mids_since(points[-10].ts_ns) == [float(p.mid) for p in points[-10:]]
    assert history.since(points[-3].ts_ns) == points[-3:]


def test_the_scanners_history_of_a_market_costs_under_100_bytes_a_point():
    points = [PricePoint(T0 + n * 5 * SECOND, D(f"0.{40 + n % 20}5"), D("0.010"), D(n)) for n in range(181)]

    def full_history():
        history = PriceHistory(sample_interval_s=5, window_s=900, max_points=1_000)
        for point in points:
            history.add(point)
        return history

    held, history = traced_bytes(full_history)

    assert len(history) == 181
    assert held < 100 * 181 + 500, f"{held:,} bytes for 181 points"  # + the newest point, kept as an object


# -- per-market maps of times: nothing heard long ago is kept ---------------------------
def test_the_silence_watch_forgets_markets_heard_long_ago():
    watch = SilenceWatch(window_ns=10 * SECOND)
    for n in range(20_000):  # a new market every second, each heard once
        watch.heard("orderbook_delta", f"KXM{n}", T0 + n * SECOND)

    assert len(watch._heard) <= 1_024
    # a market heard within the window still answers evidence; one heard long ago does not
    now = T0 + 19_999 * SECOND
    assert watch.expect("orderbook_delta", "KXM19995", now) is False
    assert watch.expect("orderbook_delta", "KXM5", now) is True


def test_the_snapshot_sampler_forgets_tickers_sampled_long_ago():
    sampler = SnapshotSampler(interval_ns=5 * SECOND)
    for n in range(20_000):
        sampler.should_sample(f"KXM{n}", T0 + n * SECOND)

    assert len(sampler._last) <= 1_024
    assert sampler.should_sample("KXM19999", T0 + 20_000 * SECOND) is False  # still inside its interval
    assert sampler.should_sample("KXM5", T0 + 20_000 * SECOND) is True


def test_the_snapshot_sampler_holds_a_days_markets_as_the_few_printing_at_once():
    # a paper day: ~400 markets, four listed a quarter hour, each printing books for an hour
    sampler = SnapshotSampler(interval_ns=5 * SECOND)
    for quarter in range(96):
        live = [f"KXD{m}" for m in range(max(0, 4 * quarter - 12), 4 * quarter + 4)]
        for step in range(0, 900, 5):
            for ticker in live:
                sampler.should_sample(ticker, T0 + (quarter * 900 + step) * SECOND)

    assert len(sampler._last) <= 64


def regime_update(ticker: str, ts: int) -> RegimeUpdated:
    return RegimeUpdated(
        ticker=ticker, regime="QUIET", candidate="QUIET", stable=True, sigma=D("0.01"), drift_z=D("0.01"),
        mr_score=D("0.7"), gamma_multiplier=D("1.0"), k_multiplier=D("1.0"), ts=ts, data_ts=ts,
    )


def test_the_supervisor_forgets_regime_views_gone_stale():
    # a regime is published for every market with an event or a session: a paper day has
    # hundreds of them, each on a market of its own
    config = load_config()
    core = SupervisorCore(config.supervisor, run_id="run-scale",
                          regime_sample_interval_s=config.scanner.volatility.sample_interval_s, style="volatility")
    for n in range(5_000):  # a new market's regime every 10 s
        core.handle(regime_update(f"KXM{n}", T0 + n * 10 * SECOND), T0 + n * 10 * SECOND)

    assert len(core.regimes) <= 512
    assert "KXM4999" in core.regimes  # the fresh ones stay: admission reads them
