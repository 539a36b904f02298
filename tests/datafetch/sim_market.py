"""A simulated Kalshi exchange on a loopback port (simex's real server, in process) with
markets whose trades a test makes, plus the test doubles `mmd data fetch` is driven with:
a fake clock and sleeper (no wall sleeps) and transports that count, cut or tamper."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from actors.rest import HttpTransport
from kalshi.wire import CENT
from mmd.datafetch import add_data_parser
from simex import ASK, BID, IOC, Exchange, MarketSpec, OrderRequest, SimServer

NS_PER_S = 1_000_000_000
TICKER = "KXTESTGAME-26APR04AAABBB-AAA"
OTHER_TICKER = "KXTESTGAME-26APR04AAABBB-BBB"
T0_S = 1_775_308_000  # 2026-04-04 13:06:40 UTC
HEADER = "Sequence id,Time sec,Datetime,Yes px,No px,Side taken,Size\n"


class SimulatedMarkets:
    """simex served on 127.0.0.1:<free port>; trades are made through its matching engine."""

    def __init__(self) -> None:
        self.exchange = Exchange(now_ns=time.time_ns)
        self.server = SimServer(self.exchange, ping_interval_s=0)
        for ticker in (TICKER, OTHER_TICKER):
            self.exchange.add_market(MarketSpec(ticker=ticker, event_ticker=ticker.rsplit("-", 1)[0],
                                                series_ticker="KXTESTGAME", category="Sports"))
        for account in ("maker", "taker"):
            self.exchange.register_account(account, 10**12)
        self.server.start_in_thread()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def trade(self, at_ns: int, price_cents: int, count: int, taker_side: str = "yes", ticker: str = TICKER) -> None:
        """A maker rests the other side at the price; the taker's IOC takes it, at `at_ns`."""
        price = Decimal(price_cents) * CENT
        taker_book_side = BID if taker_side == "yes" else ASK
        maker_book_side = ASK if taker_side == "yes" else BID

        def cross() -> None:
            with self.exchange.acting_at(at_ns):
                self.exchange.place_order("maker", OrderRequest(ticker, maker_book_side, price, Decimal(count)))
                self.exchange.place_order("taker", OrderRequest(ticker, taker_book_side, price, Decimal(count),
                                                                time_in_force=IOC))

        self.server.call(cross)

    def settle(self, ticker: str, result: str) -> None:
        def settle() -> None:
            self.exchange.determine_market(ticker, result)
            self.exchange.settle_market(ticker)

        self.server.call(settle)

    def trades_of(self, ticker: str = TICKER) -> list:
        return self.server.call(lambda: [t for t in self.exchange.trades if t.ticker == ticker])

    def faults(self, action: Callable[[Any], None]) -> None:
        self.server.call(lambda: action(self.server.faults))

    def stop(self) -> None:
        self.server.stop()


def expected_tape(trades: list, first_sequence_id: int = 1) -> str:
    """The tape the spec asks for, built independently: oldest first by (time, trade id)."""
    lines = []
    ordered = sorted(trades, key=lambda t: (t.ts_ns, t.trade_id))
    for n, trade in enumerate(ordered, start=first_sequence_id):
        cents = int(trade.price / CENT)
        ts = trade.ts_ns // NS_PER_S
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
        side = "yes" if trade.taker_side == BID else "no"
        lines.append(f"{n},{ts},{stamp},{cents},{100 - cents},{side},{int(trade.count)}\n")
    return "".join(lines)


class FakeTime:
    """A monotonic clock that only sleeping moves: pacing and backoff cost no wall time."""

    def __init__(self) -> None:
        self.ns = 0
        self.sleeps: list[float] = []

    def monotonic_ns(self) -> int:
        return self.ns

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.ns += int(seconds * NS_PER_S)


@dataclass
class Call:
    path: str
    query: dict
    at_ns: int


@dataclass
class RecordingTransport:
    """Real HTTP to `base_url`; records each request (path, query, fake-clock time). `before`
    may raise (an interruption) or tamper; `reply` may rewrite what came back."""

    base_url: str
    clock: FakeTime | None = None
    before: Callable[[int, str], None] | None = None  # (number of this request, path)
    reply: Callable[[str, tuple[int, dict]], tuple[int, dict]] | None = None
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._http = HttpTransport(self.base_url, signer=None, timeout_s=10, now_ms=lambda: 0)

    def request(self, method: str, path: str, query: Any = None, body: Any = None) -> tuple[int, dict]:
        self.calls.append(Call(path, dict(query or {}), self.clock.ns if self.clock else 0))
        if self.before is not None:
            self.before(len(self.calls), path)
        answer = self._http.request(method, path, query, body)
        return self.reply(path, answer) if self.reply is not None else answer

    @property
    def trade_pages(self) -> list[Call]:
        return [c for c in self.calls if c.path == "/markets/trades"]


def fetch_args(*argv: str) -> argparse.Namespace:
    """`mmd data fetch ARGV...` parsed as cli.py will (add_data_parser on its subparsers)."""
    parser = argparse.ArgumentParser(prog="mmd")
    add_data_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["data", "fetch", *argv])
