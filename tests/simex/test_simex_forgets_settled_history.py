"""A day of paper runs the simulated exchange in the daemon's own process, so what the
exchange keeps is the operator's memory (issue "Fault campaigns", item 4). Kalshi serves a
market's trades and orders from its live endpoints only until a cutoff, older data moving
to `/historical/...` (kalshi-api.md section 5). The simulator does the same at a much
shorter cutoff: a settled market's public trades and every finished order of it leave the
live endpoints `settled_history_s` after its settlement, and the background participants'
emptied positions in it go at once. What the daemon reads back stays: an account's fills
(start-up reads every fill since the last one it recorded, however old), its settlements
and its positions."""

from __future__ import annotations

from decimal import Decimal

from simex_testkit import QUIET_SPEC, TICKER, VirtualClock, rest

from simex import Exchange, MarketSpec, OrderRequest

D = Decimal
OTHER = "KXTEST-26DEC31-T2"
OTHER_SPEC = MarketSpec(ticker=OTHER, event_ticker="KXTEST-26DEC31", series_ticker="KXTEST")
HOUR_S = 3600


def exchange(clock: VirtualClock, **kwargs) -> Exchange:
    ex = Exchange(now_ns=clock, seed=7, **kwargs)
    for spec in (QUIET_SPEC, OTHER_SPEC):
        ex.add_market(spec)
    ex.register_account("alice", 100_000)
    ex.register_account("bob", 100_000)
    ex.register_account("crowd", 100_000, keep_history=False)
    return ex


def trade(ex: Exchange, ticker: str, maker: str = "bob", taker: str = "alice") -> None:
    ex.place_order(maker, OrderRequest(ticker, "ask", D("0.40"), D(2)))
    ex.place_order(taker, OrderRequest(ticker, "bid", D("0.40"), D(2)))


def settled(ex: Exchange, clock: VirtualClock, ticker: str) -> None:
    ex.determine_market(ticker, "yes")
    ex.settle_market(ticker)


def later(ex: Exchange, clock: VirtualClock, seconds: float) -> None:
    ex.advance(clock.tick(seconds))


def trades_of(ex: Exchange, ticker: str | None = None) -> list[dict]:
    status, body = rest(ex, "GET", "/markets/trades", query={"ticker": ticker} if ticker else {"limit": "1000"})
    assert status == 200
    return body["trades"]


def orders_of(ex: Exchange, account: str, ticker: str) -> list[dict]:
    status, body = rest(ex, "GET", "/portfolio/orders", account=account, query={"ticker": ticker})
    assert status == 200
    return body["orders"]


def fills_of(ex: Exchange, account: str, ticker: str) -> list[dict]:
    status, body = rest(ex, "GET", "/portfolio/fills", account=account, query={"ticker": ticker, "min_ts": "0"})
    assert status == 200
    return body["fills"]


def test_a_settled_markets_trades_are_served_until_the_cutoff_then_leave_the_trades_endpoint(clock):
    ex = exchange(clock, settled_history_s=HOUR_S)
    trade(ex, TICKER)
    trade(ex, OTHER)
    settled(ex, clock, TICKER)

    later(ex, clock, HOUR_S - 1)
    assert len(trades_of(ex, TICKER)) == 1

    later(ex, clock, 1)
    assert trades_of(ex, TICKER) == []
    assert [t["ticker"] for t in trades_of(ex)] == [OTHER]  # an open market's trades stay


def test_a_settled_markets_finished_orders_leave_the_orders_endpoint_after_the_cutoff(clock):
    ex = exchange(clock, settled_history_s=HOUR_S)
    trade(ex, TICKER)
    trade(ex, OTHER)
    settled(ex, clock, TICKER)
    assert len(orders_of(ex, "alice", TICKER)) == 1

    later(ex, clock, HOUR_S)

    assert orders_of(ex, "alice", TICKER) == [] and len(orders_of(ex, "alice", OTHER)) == 1


def test_an_accounts_fills_settlements_and_positions_in_a_settled_market_stay_readable(clock):
    # a restart reads every fill since the last one it recorded, however old
    ex = exchange(clock, settled_history_s=HOUR_S)
    trade(ex, TICKER)
    settled(ex, clock, TICKER)

    later(ex, clock, 24 * HOUR_S)

    assert [f["ticker"] for f in fills_of(ex, "alice", TICKER)] == [TICKER]
    status, body = rest(ex, "GET", "/portfolio/settlements", account="alice")
    assert status == 200 and [s["ticker"] for s in body["settlements"]] == [TICKER]
    status, body = rest(ex, "GET", "/portfolio/positions", account="alice", query={"ticker": TICKER})
    assert status == 200 and [p["ticker"] for p in body["market_positions"]] == [TICKER]


def test_background_participants_positions_in_a_settled_market_are_dropped_at_settlement(clock):
    ex = exchange(clock, settled_history_s=HOUR_S)
    trade(ex, TICKER, maker="crowd")
    trade(ex, OTHER, maker="crowd")

    settled(ex, clock, TICKER)

    assert list(ex.accounts["crowd"].positions) == [OTHER]
    assert TICKER in ex.accounts["bob"].positions or TICKER in ex.accounts["alice"].positions


def test_a_trades_cursor_still_pages_on_after_a_settled_markets_trades_left(clock):
    ex = exchange(clock, settled_history_s=HOUR_S)
    for _ in range(3):
        trade(ex, OTHER)
        trade(ex, TICKER)
    status, first = rest(ex, "GET", "/markets/trades", query={"limit": "2"})
    settled(ex, clock, TICKER)
    later(ex, clock, HOUR_S)

    status, rest_of_them = rest(ex, "GET", "/markets/trades", query={"limit": "10", "cursor": first["cursor"]})

    assert status == 200 and [t["ticker"] for t in rest_of_them["trades"]] == [OTHER, OTHER]


def test_without_a_cutoff_everything_is_kept(clock):
    ex = exchange(clock, settled_history_s=None)
    trade(ex, TICKER)
    settled(ex, clock, TICKER)

    later(ex, clock, 24 * HOUR_S)

    assert len(trades_of(ex, TICKER)) == 1 and len(orders_of(ex, "alice", TICKER)) == 1


def test_a_days_settled_markets_leave_only_what_the_accounts_read_back(clock):
    ex = Exchange(now_ns=clock, seed=7)  # the default cutoff
    ex.register_account("alice", 10_000_000)
    ex.register_account("crowd", 10_000_000, keep_history=False)
    for m in range(96):  # a day at one market every 15 minutes
        ticker = f"KXDAY-26DEC07-M{m}"
        ex.add_market(MarketSpec(ticker=ticker, event_ticker="KXDAY-26DEC07", series_ticker="KXDAY"))
        for _ in range(10):
            trade(ex, ticker, maker="crowd")
        later(ex, clock, 15 * 60)
        settled(ex, clock, ticker)

    live_markets = {t.ticker for t in ex.trades}
    assert len(live_markets) <= 8  # the cutoff's worth of settled markets, not the day's
    assert {o.ticker for o in ex.orders.values()} <= live_markets
    assert len(ex.fills) == 960  # alice's, every one


def test_a_settled_markets_24h_volume_is_kept_by_the_minute_after_the_cutoff(clock):
    # its trades leave, its 24 h volume (GET /markets) goes on: counted by the minute, a
    # minute's contracts leave the window with the minute's last trade (late, never early)
    ex = exchange(clock, settled_history_s=HOUR_S)
    clock.tick(60 - clock.ns // 1_000_000_000 % 60)  # at the start of a minute
    first_ns = clock.ns
    for _ in range(3):  # three trades in one minute, 10 s apart
        trade(ex, TICKER)
        clock.tick(10)
    last_ns = clock.ns - 10 * 1_000_000_000
    settled(ex, clock, TICKER)
    later(ex, clock, HOUR_S)
    market = ex.markets[TICKER]

    assert len(market.recent_trades) == 1 and market.volume_24h(clock.ns) == D(6)
    assert market.volume_24h(first_ns + 86_400 * 1_000_000_000) == D(6)  # the first trade's own time
    assert market.volume_24h(last_ns + 86_400 * 1_000_000_000) == D(0)


def test_a_settled_markets_candles_leave_the_candlestick_endpoint_after_the_cutoff(clock):
    ex = exchange(clock, settled_history_s=HOUR_S)
    trade(ex, TICKER)
    later(ex, clock, 120)
    settled(ex, clock, TICKER)
    query = {"start_ts": "0", "end_ts": str(clock.ns // 1_000_000_000 + 60), "period_interval": "1"}
    path = f"/series/KXTEST/markets/{TICKER}/candlesticks"
    assert rest(ex, "GET", path, query=query)[1]["candlesticks"]  # until the cutoff
    later(ex, clock, HOUR_S)

    status, body = rest(ex, "GET", path, query=query)
    assert status == 200 and body["candlesticks"] == []


def test_a_done_background_account_is_forgotten_and_one_that_keeps_history_never(clock):
    import pytest

    ex = exchange(clock, settled_history_s=HOUR_S)
    ex.forget_account("crowd")
    assert "crowd" not in ex.accounts
    with pytest.raises(ValueError):
        ex.forget_account("alice")


def test_a_settled_markets_emptied_book_is_given_back_at_the_cutoff(clock):
    # a dict never shrinks: the order map of a market's whole trading life (thousands of
    # orders a day for a busy one) would stay allocated, empty, for every market ever listed
    import sys

    ex = exchange(clock, settled_history_s=HOUR_S)
    for _ in range(200):
        ex.place_order("crowd", OrderRequest(TICKER, "bid", D("0.30"), D(1)))
    settled(ex, clock, TICKER)  # closes it first: its orders are cancelled
    assert ex.markets[TICKER].book.is_empty()

    later(ex, clock, HOUR_S)

    book = ex.markets[TICKER].book
    assert book.is_empty() and sys.getsizeof(book._orders) == sys.getsizeof({})


def test_a_settled_market_past_its_cutoff_keeps_a_compact_record_with_the_same_listing(clock):
    # kept for a day after its cutoff (its 24 h volume goes on), every settled market of a
    # day of paper: its window packed (16 B a minute), its listing built when read
    import sys

    from bench.bench_memory_24h import deep_size

    ex = exchange(clock, settled_history_s=HOUR_S)
    tickers = [f"KXDAY-26DEC07-M{m}" for m in range(5)]
    for ticker in tickers:
        ex.add_market(MarketSpec(ticker=ticker, event_ticker="KXDAY-26DEC07", series_ticker="KXDAY"))
        for _ in range(60):  # a trade every 20 s for 20 minutes
            trade(ex, ticker, maker="crowd")
            later(ex, clock, 20)
        settled(ex, clock, ticker)
    later(ex, clock, 60)
    before = {t: rest(ex, "GET", f"/markets/{t}")[1]["market"] for t in tickers}
    listed_before = rest(ex, "GET", "/markets", query={"tickers": ",".join(tickers)})[1]["markets"]

    later(ex, clock, HOUR_S)  # past every cutoff

    for ticker in tickers:
        market = ex.markets[ticker]
        window = deep_size(market.recent_trades)
        assert len(market.recent_trades) == 21 and window < 21 * 16 + 400, window
        after = rest(ex, "GET", f"/markets/{ticker}")[1]["market"]
        same = {k: before[ticker][k] for k in before[ticker] if k != "updated_time"}
        assert {k: after[k] for k in same} == same
        assert (after["volume_fp"], after["volume_24h_fp"]) == ("120.00", "120.00")
        held = deep_size(market, stop_packages=("kalshi", "kernel")) - deep_size(market.spec)
        assert held < 4_000, held  # was ~13 KB and more: a cached listing body, a deque of tuples
    assert rest(ex, "GET", "/markets", query={"tickers": ",".join(tickers)})[1]["markets"] == listed_before
    assert "_json_cache" not in vars(ex.markets[tickers[0]])
    assert sys.getsizeof(ex.markets[tickers[0]].recent_trades) < 200
