"""Memory stays bounded however long the daemon runs (SPEC 5: "Memory is bounded whatever
the number of markets"; issue "Fault campaigns", item 4).

Each test drives one structure through many more events than it may remember and measures
what it holds with tracemalloc: the growth between the first batch and a later, larger one
must be what a bounded structure allows (a few kilobytes of noise), not a share of every
event. bench/bench_memory_24h.py finds these over a simulated day; these pin them down in
milliseconds. A test marked xfail(strict) specifies a bound not kept yet: its reason names
the fix, and the marker goes when the fix lands (a strict xfail that passes fails).
"""

from __future__ import annotations

import gc
import tracemalloc
from decimal import Decimal as D
from typing import Callable

import pytest

from actors.ledger import TradingLedger
from actors.scanner import Budgets, RestRead, ScannerCore
from actors.supervisor._sessions import Session, SessionBook, SessionKind
from config import load_config
from kalshi.wire import rfc3339_from_ns
from kernel.bus import Bus
from kernel.clock import ReplayClock, seconds
from kernel.ids import session_id
from kernel.timers import KeyedTimers
from messages import (
    BookUpdated,
    MarketLifecycleChanged,
    OrderFilled,
    RegimeUpdated,
    RestReadCompleted,
    TradePrinted,
)

TICKER = "KXSCALE-26DEC-T4.00"
T0 = 1_795_000_000 * 1_000_000_000
NOISE_BYTES = 64_000  # allocator and interpreter noise, far below one share per event


def growth_in_bytes(warm_up: Callable[[], None], many_more: Callable[[], None]) -> int:
    """Traced bytes still held after `many_more` ran, counted from the end of `warm_up`."""
    tracemalloc.start()
    try:
        warm_up()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        many_more()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def config():
    return load_config()


def fill(n: int, side: str, price: str, client_order_id: str = "") -> OrderFilled:
    return OrderFilled(
        fill_id=f"fill-{n}", order_id="", client_order_id=client_order_id, ticker=TICKER, side=side,
        price=D(price), count=D(1), fee=D("0.01"), is_taker=False, post_position=None, ts_event=T0 + n, ts_recv=T0 + n,
    )


def round_trips_through(ledger: TradingLedger, client_order_id: Callable[[int], str]) -> Callable[[int], Callable]:
    """Buy one, sell one, over and over, each fill followed by the view its writer (the
    risk governor) publishes, which takes the round trips closed since the last one."""
    sequence = iter(range(10**9))

    def round_trips(count: int) -> Callable[[], None]:
        def run() -> None:
            for _ in range(count):
                for side, price in (("bid", "0.40"), ("ask", "0.42")):
                    n = next(sequence)
                    event = fill(n, side, price, client_order_id(n))
                    ledger.apply(event)
                    ledger.changed(TICKER, event, None, T0 + n)
        return run

    return round_trips


def test_a_markets_round_trips_do_not_grow_the_ledger():
    # fills of no session of ours (a manual order, an earlier run's): the market's position only
    ledger = TradingLedger(seen_fill_ids_per_market=100)
    round_trips = round_trips_through(ledger, lambda n: "")

    held = growth_in_bytes(round_trips(500), round_trips(3_000))

    assert ledger.position(TICKER).position == 0
    assert held < NOISE_BYTES, f"{held:,} bytes kept for 3,000 round trips ({held / 3_000:.0f} per round trip)"


def markets_listed_traded_and_settled(governor) -> Callable[[int], Callable]:
    """A paper day's markets through the risk governor's ledger: four a quarter hour, each
    traded by a session of its own (fills, their views), the session ended, the market
    settled; the governor derives its figures as it does for every command."""
    sequence = iter(range(10**9))
    quarter = seconds(900)

    def markets(count: int) -> Callable[[], None]:
        def run() -> None:
            for _ in range(count):
                m = next(sequence)
                ticker, session = f"KXDAY-26DEC07-M{m}", session_id("run-day", m + 1)
                now = T0 + (m // 4) * quarter
                for n in range(4):
                    event = OrderFilled(
                        fill_id=f"fill-{m}-{n}", order_id=f"ex-{m}-{n}", client_order_id=f"{session}-{n}",
                        ticker=ticker, side="bid" if n % 2 else "ask", price=D("0.40"), count=D(1), fee=D("0.01"),
                        is_taker=False, post_position=None, ts_event=now + n, ts_recv=now + n,
                    )
                    governor.apply(event)
                    governor.ledger.changed(ticker, event, None, now + n)
                    governor.global_exposure()
                governor.ledger.end_session(ticker, session)
                governor.settle_market(ticker, D(m % 2), now + 10)
                governor.ledger.changed(ticker, None, None, now + 10)
                governor.market_exposures()
        return run

    return markets


def test_a_day_of_markets_settling_does_not_grow_the_ledger_or_risks_figures(config):
    # ~400 markets listed and settled a day: past the six hours a settled market is still
    # known, each one folded and forgotten leaves nothing behind
    from actors.risk._governor import RiskGovernor

    governor = RiskGovernor(config.risk)
    markets = markets_listed_traded_and_settled(governor)

    held = growth_in_bytes(markets(120), markets(400))  # 7.5 h of warm-up, then 25 h more

    assert governor.ledger.folded.fill_count == 4 * (520 - len(governor.ledger.tickers()))
    assert held < NOISE_BYTES, f"{held:,} bytes kept for 400 markets ({held / 400:.0f} per market)"


def test_a_long_lived_sessions_fills_do_not_grow_the_ledger():
    # an explicit or discovery session runs until shutdown (supervisor.explicit_session_ttl_s
    # 0): days of fills on one market, every one the session's own
    ledger = TradingLedger(seen_fill_ids_per_market=100)
    session = session_id("run-scale", 1)
    round_trips = round_trips_through(ledger, lambda n: f"{session}-{n}")

    held = growth_in_bytes(round_trips(500), round_trips(3_000))

    assert ledger.session_position(TICKER, session).position == 0
    assert held < NOISE_BYTES, f"{held:,} bytes kept for 3,000 round trips ({held / 3_000:.0f} per round trip)"


def test_ended_sessions_are_not_remembered_forever():
    # a paper day runs ~400 volatility sessions, a month ~12,000: the supervisor needs the
    # recent ones (a late MakerFinished, the status page's last 20), not every one ever
    book = SessionBook("run-scale", max_concurrent=3)

    def sessions(count: int) -> Callable[[], None]:
        def run() -> None:
            for _ in range(count):
                sid = book.next_session_id()
                book.add(Session(session_id=sid, ticker=TICKER, reason="volatility", started_ns=T0,
                                 kind=SessionKind.VOLATILITY))
                book.finish(TICKER, T0 + 1, reason="ttl", pnl=D("0.12"), position_left=D(0))
        return run

    held = growth_in_bytes(sessions(3_000), sessions(6_000))

    assert book.ended_by_session_id(session_id("run-scale", 9_000)) is not None  # the latest is still known
    assert held < NOISE_BYTES, f"{held:,} bytes kept for 6,000 ended sessions ({held / 6_000:.0f} per session)"


def market_listing(ticker: str, now_ns: int) -> dict:
    return {
        "ticker": ticker, "event_ticker": ticker.rsplit("-", 1)[0], "market_type": "binary", "status": "active",
        "yes_bid_dollars": "0.45", "yes_ask_dollars": "0.47", "yes_bid_size_fp": "300", "yes_ask_size_fp": "300",
        "last_price_dollars": "0.46", "volume_fp": "30000", "volume_24h_fp": "30000",
        "open_time": rfc3339_from_ns(now_ns - seconds(3600)),
        "close_time": rfc3339_from_ns(now_ns + seconds(10 * 86400)),
    }


def answer_discovery(core: ScannerCore, markets: tuple[dict, ...], now_ns: int) -> int:
    """Run one discovery to its end, answering the listing and every category lookup."""
    pending = core.rediscover(now_ns)
    while core.discovering:
        reads = [o for o in pending if isinstance(o, RestRead)]
        if not reads:  # the rest wait for the scanner's read budget
            now_ns += seconds(1)
            pending = core.pump(now_ns)
            continue
        pending = []
        for read in reads:
            if read.path == "/markets":
                body: dict = {"markets": markets}
            else:  # /events/<event>: its category, so no series lookup follows
                body = {"event": {"event_ticker": read.path.rsplit("/", 1)[1], "category": "Economics"}}
            pending += core.on_reply(RestReadCompleted(request_id=read.request_id, path=read.path, status=200,
                                                       body=body, error="", ts_recv=now_ns), now_ns)
    return now_ns


def test_markets_that_left_the_listing_are_forgotten_by_the_scanner(config):
    # Kalshi lists new markets every day and closed ones drop out of GET /markets?status=open:
    # each rediscovery (every 10 minutes) here finds 30 markets none of which it saw before
    core = ScannerCore(config.scanner, Budgets(per_market=D(8), global_budget=D(60)))
    clock = [T0]
    generation = iter(range(10**6))

    def rediscoveries(count: int) -> Callable[[], None]:
        def run() -> None:
            for _ in range(count):
                g = next(generation)
                listing = tuple(market_listing(f"KXNEW{g}M{i}-26DEC-T{i}", clock[0]) for i in range(30))
                clock[0] = answer_discovery(core, listing, clock[0]) + seconds(600)
        return run

    held = growth_in_bytes(rediscoveries(3), rediscoveries(20))

    assert core.counters["discoveries"] == 23 and len(core.tracked) == 30
    assert held < NOISE_BYTES, f"{held:,} bytes kept for 600 markets no longer listed ({held / 600:.0f} per market)"


def test_a_finished_makers_topics_leave_the_bus():
    # every session's maker subscribes to its own ticker's topics and unsubscribes when it
    # stops; a day of paper trading runs ~400 of them, each on a market of its own
    bus = Bus()
    markets = iter(range(10**9))

    def makers(count: int) -> Callable[[], None]:
        def run() -> None:
            for _ in range(count):
                maker, ticker = object(), f"KXM{next(markets)}-26DEC-T4.00"
                for topic in (BookUpdated, TradePrinted, OrderFilled, RegimeUpdated, MarketLifecycleChanged):
                    bus.subscribe(maker, topic, ticker)
                bus.unsubscribe_all(maker)
        return run

    held = growth_in_bytes(makers(200), makers(3_000))

    assert held < NOISE_BYTES, f"{held:,} bytes kept for 3,000 makers gone ({held / 3_000:.0f} per maker)"


def test_a_cancelled_timer_does_not_wait_in_memory_for_its_deadline():
    # a session's close-window timer is armed for the market's close, days or weeks away,
    # and cancelled when the session ends minutes later
    clock = ReplayClock(T0)
    timers = KeyedTimers(clock, target=None)
    thirty_days = seconds(30 * 86_400)
    sessions = iter(range(10**9))

    def sessions_ending(count: int) -> Callable[[], None]:
        def run() -> None:
            for _ in range(count):
                key = f"close:{next(sessions)}"
                timers.arm_in(key, thirty_days, object())  # any message: it never fires
                timers.cancel(key)
        return run

    held = growth_in_bytes(sessions_ending(200), sessions_ending(5_000))

    assert clock.next_deadline() is None  # nothing is pending
    assert held < NOISE_BYTES, f"{held:,} bytes kept for 5,000 cancelled timers ({held / 5_000:.0f} per timer)"
