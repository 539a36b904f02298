"""Metrics scrape time: the Prometheus text of a busy day, rendered and fetched over loopback.

    .venv/bin/python bench/bench_metrics_scrape.py [--sessions 3] [--scrapes 200]

A MetricsCore is fed the events of `--sessions` concurrent market sessions (each with the
series a busy session leaves: position, exposure, P&L, places, amends, cancels, writes,
fills, rejections under six codes from three sources, 429s, untrusted books by cause) plus
global series and every latency histogram filled. Then it is scraped `--scrapes` times:
once rendering the text in process (prometheus_client.generate_latest), once through the
metrics actor's HTTP server on 127.0.0.1 (a real GET per scrape). Also times the core's
handling of one bus event. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402

from actors.metrics import MetricsCore, MetricsHttpServer  # noqa: E402
from messages import (  # noqa: E402
    BookUntrusted,
    ExposureChanged,
    FeedHealthChanged,
    MakerStatus,
    MarketExposure,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderRequestSent,
    RiskStateChanged,
    RiskWarning,
    SessionStarted,
    SessionStopped,
)

T0 = 1_795_000_000 * 1_000_000_000
MS = 1_000_000
D = Decimal
CODES = (("exchange", "post_only_cross"), ("exchange", "too_many_requests"), ("exchange", "insufficient_balance"),
         ("transport", "transport_error"), ("risk", "market_budget"), ("risk", "reduce_only"))


def session_events(n: int, ticker: str, t: int) -> list:
    events: list = [SessionStarted(session_id=f"s{n}", ticker=ticker, reason="volatility", ts=t)]
    for i in range(200):  # quote updates: place, amend, cancel, each sent and answered
        now = t + i * 100 * MS
        place, amend = f"{ticker}-p{i}", f"{ticker}-a{i}"
        events += [
            OrderRequestSent(action="place", client_order_id=place, ticker=ticker, decided_ts=now - MS, ts=now,
                             trigger_ts_recv=now - 2 * MS),
            OrderAccepted(client_order_id=place, order_id=f"o{i}", ticker=ticker, side="bid", price=D("0.4"),
                          count=D(5), filled=D(0), remaining=D(5), ts_event=now, ts_recv=now + 40 * MS),
            OrderRequestSent(action="amend", client_order_id=place, ticker=ticker, decided_ts=now, ts=now + 50 * MS),
            OrderAmended(order_id=f"o{i}", client_order_id=amend, previous_client_order_id=place, ticker=ticker,
                         side="bid", price=D("0.41"), count=D(5), filled=D(0), remaining=D(5), ts_event=now,
                         ts_recv=now + 90 * MS),
            OrderRequestSent(action="cancel", client_order_id=amend, ticker=ticker, decided_ts=now, ts=now + 95 * MS),
            OrderCancelled(order_id=f"o{i}", client_order_id=amend, ticker=ticker, reduced_by=D(5), reason="requote",
                           ts_event=now, ts_recv=now + 99 * MS),
        ]
        source, code = CODES[i % len(CODES)]
        events.append(OrderRejected(action="place", client_order_id=f"{ticker}-r{i}", order_id=None, ticker=ticker,
                                    side="ask", price=D("0.6"), count=D(5), source=source, code=code, reason=code,
                                    ts_recv=now))
        if i % 10 == 0:
            events.append(OrderFilled(fill_id=f"{ticker}-f{i}", order_id=f"o{i}", client_order_id=place, ticker=ticker,
                                      side="bid", price=D("0.4"), count=D(2), fee=D("0.02"), is_taker=False,
                                      post_position=None, ts_event=now, ts_recv=now))
            events.append(MakerStatus(session_id=f"s{n}", ticker=ticker, state="QUOTING", why_not_quoting="",
                                      adverse_selection=False, position=D(i % 7), realized_pnl=D("0.5"),
                                      unrealized_pnl=D("-0.1"), ts=now))
        if i % 50 == 0:
            for reason in ("sequence gap on sid 1", "feed lost: closed", "book subscription lost"):
                events.append(BookUntrusted(ticker=ticker, reason=reason, ts_recv=now))
    return events


def day_of_events(sessions: int) -> list:
    tickers = [f"KXBENCH-26DEC31-T{n}" for n in range(sessions)]
    events: list = [FeedHealthChanged(healthy=True, reason="connected", ts_recv=T0)]
    for n, ticker in enumerate(tickers):
        events += session_events(n, ticker, T0)
    markets = tuple(MarketExposure(ticker=t, position=D(3), resting_orders=2, resting_order_value=D("4"),
                                   exposure=D("5")) for t in tickers)
    events += [
        ExposureChanged(markets=markets, resting_order_value=D(12), global_exposure=D(15), state="ACTIVE", ts=T0),
        RiskStateChanged(state="REDUCING", reason="drawdown", ts=T0),
        RiskWarning(kind="daily_loss", ticker="", level=D("0.5"), reason="x", ts=T0),
        SessionStopped(session_id="s0", ticker=tickers[0], reason="ttl", ts=T0, pnl=D("1.5")),
        SessionStarted(session_id="s-again", ticker=tickers[0], reason="volatility", ts=T0),
    ]
    return events


def figures(times_ns: list[int]) -> str:
    ordered = sorted(times_ns)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) / 1e6:.3f} ms, p99 {p99 / 1e6:.3f} ms, max {ordered[-1] / 1e6:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument("--scrapes", type=int, default=200)
    args = parser.parse_args()

    core = MetricsCore()
    events = day_of_events(args.sessions)
    started = time.perf_counter_ns()
    for event in events:
        core.on_message(event, T0)
    per_event_us = (time.perf_counter_ns() - started) / len(events) / 1e3

    text = core.exposition()
    series = sum(1 for line in text.splitlines() if line and not line.startswith(b"#"))
    print(f"{args.sessions} sessions: {len(events)} events fed, {per_event_us:.1f} us per event")
    print(f"exposition: {series} series, {len(text) / 1024:.1f} KiB")

    render = []
    for _ in range(args.scrapes):
        t = time.perf_counter_ns()
        core.exposition()
        render.append(time.perf_counter_ns() - t)
    print(f"render (generate_latest, in process), {args.scrapes} scrapes: {figures(render)}")

    server = MetricsHttpServer(core.registry, 0).start()
    try:
        with requests.Session() as http:
            http.get(server.url, timeout=5)  # connection warm
            fetched = []
            for _ in range(args.scrapes):
                t = time.perf_counter_ns()
                response = http.get(server.url, timeout=5)
                response.content
                fetched.append(time.perf_counter_ns() - t)
    finally:
        server.stop()
    print(f"scrape over loopback HTTP (GET {server.url}), {args.scrapes} scrapes: {figures(fetched)}")


if __name__ == "__main__":
    main()
