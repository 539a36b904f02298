"""WebSocket fan-out of the simulated exchange: prints figures, asserts nothing.

    .venv/bin/python bench/bench_simex_fanout.py [--markets 200] [--clients 4] [--rounds 20]

200 quiet markets; each client subscribes `orderbook_delta` (plus `ticker` and `trade`) for all
of them over a real loopback socket. The producer places then cancels one order per market per
round on the server's loop, so every round is 2 book deltas per market per client. Printed:
the core alone (frames encoded, no sockets) and end to end (frames received by the clients).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kalshi.auth import Signer, generate_key_pair, load_private_key  # noqa: E402
from simex import Exchange, MarketSpec, OrderRequest, SimServer  # noqa: E402

DELTA_MARK = '"type":"orderbook_delta"'


def build_exchange(markets: int, now_ns) -> tuple[Exchange, list[str]]:
    ex = Exchange(now_ns=now_ns, seed=1)
    tickers = [f"KXBENCH-26DEC31-M{i:03d}" for i in range(markets)]
    for ticker in tickers:
        ex.add_market(MarketSpec(ticker=ticker, event_ticker="KXBENCH-26DEC31", series_ticker="KXBENCH"))
    ex.register_account("producer", 1_000_000_000)
    return ex, tickers


def churn(ex: Exchange, tickers: list[str], round_no: int) -> None:
    """One round: a resting bid per market, then its cancel (2 book deltas per market)."""
    price = Decimal("0.10") + Decimal(round_no % 20) / 100
    orders = [ex.place_order("producer", OrderRequest(t, "bid", price, Decimal(1))) for t in tickers]
    for order in orders:
        ex.cancel_order("producer", order.order_id)


def subscribe_all(session_send, tickers: list[str]) -> None:
    session_send(json.dumps({"id": 1, "cmd": "subscribe", "params": {
        "channels": ["orderbook_delta", "ticker", "trade"], "market_tickers": tickers}}))


def bench_core(markets: int, clients: int, rounds: int) -> None:
    ex, tickers = build_exchange(markets, time.time_ns)
    counts = [0] * clients
    for i in range(clients):
        session = ex.open_session(f"client-{i}", lambda text, i=i: counts.__setitem__(i, counts[i] + 1))
        subscribe_all(session.receive, tickers)
    before = sum(counts)
    started = time.perf_counter()
    for r in range(rounds):
        churn(ex, tickers, r)
    elapsed = time.perf_counter() - started
    frames = sum(counts) - before
    print(f"core only:   {frames:,} frames to {clients} sessions x {markets} markets in {elapsed:.2f} s "
          f"= {frames / elapsed:,.0f} msgs/s")


def bench_sockets(markets: int, clients: int, rounds: int, tmp: Path) -> None:
    import websocket

    ex, tickers = build_exchange(markets, time.time_ns)
    private_path, public_path = generate_key_pair(tmp, "bench-key")
    signer = Signer("bench-key", load_private_key(private_path.read_text()))
    server = SimServer(ex, ping_interval_s=0)
    server.authorize_key("bench-key", public_path.read_bytes(), "bench")
    server.start_in_thread()
    expected = 2 * markets * rounds  # book deltas per client
    received = [0] * clients
    deltas = [0] * clients
    done = threading.Barrier(clients + 1)
    sockets = []
    for _ in range(clients):
        headers = signer.headers(int(time.time() * 1000), "GET", "/trade-api/ws/v2")
        ws = websocket.create_connection(server.ws_url, header=[f"{k}: {v}" for k, v in headers.items()], timeout=60)
        subscribe_all(ws.send, tickers)
        for _ in range(3 + markets):  # 3 acks and one snapshot per market
            ws.recv()
        sockets.append(ws)

    def reader(i: int) -> None:
        ws = sockets[i]
        while deltas[i] < expected:
            text = ws.recv()
            received[i] += 1
            if DELTA_MARK in text:
                deltas[i] += 1
        done.wait()

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    started = time.perf_counter()
    for r in range(rounds):
        server.call(lambda r=r: churn(ex, tickers, r))
    produced = time.perf_counter() - started
    done.wait()
    elapsed = time.perf_counter() - started
    total = sum(received)
    for ws in sockets:
        ws.close()
    server.stop()
    print(f"end to end:  {total:,} frames ({sum(deltas):,} book deltas) to {clients} clients x {markets} markets "
          f"in {elapsed:.2f} s = {total / elapsed:,.0f} msgs/s received "
          f"({total / elapsed / clients:,.0f} per client; events produced in {produced:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markets", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    import tempfile

    bench_core(args.markets, args.clients, args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        bench_sockets(args.markets, args.clients, args.rounds, Path(tmp))


if __name__ == "__main__":
    main()
