"""A simulated exchange on loopback that accepts the paper key of a data dir, and a REST
client of that key: what the reconciliation and cancel-all tests start from."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import simex

from config import load_config
from mmd import runner

FAST_REST = {"rest": {"max_attempts": 2, "backoff_base_s": 0.01, "backoff_cap_s": 0.02}}


def quiet_config():
    """Any free loopback ports, no metrics port, quick REST retries."""
    return load_config(overrides={"status": {"port": 0}, "metrics": {"port": 0}, **FAST_REST})


@dataclass
class PaperExchange:
    server: simex.SimServer
    data_dir: Path
    client: object  # KalshiRestClient of the paper key
    ticker: str

    @property
    def url(self) -> str:
        return self.server.base_url

    def rest(self, client_order_id: str, price: str = "0.05", ticker: str | None = None) -> str:
        """A resting bid far from the market; returns its exchange order id."""
        placed = self.client.create_order(ticker or self.ticker, "bid", Decimal(price), Decimal(1), client_order_id)
        return placed.order_id

    def take(self, count: int) -> None:
        """Buy `count` YES at the best ask: a position held before the daemon starts."""
        best_ask = self.client.get_orderbook(self.ticker).asks[0][0]
        self.client.create_order(
            self.ticker, "bid", best_ask, Decimal(count), "manual-take",
            post_only=False, time_in_force="immediate_or_cancel",
        )  # fmt: skip

    def resting_ids(self) -> set[str]:
        return {o.client_order_id for o in self.client.get_orders(status="resting")}

    def all_ids(self) -> set[str]:
        return {o.client_order_id for o in self.client.get_orders()}

    def fail_rest(self, count: int) -> None:
        exchange = self.server.exchange
        self.server.call(lambda: simex.faults_of(exchange).burst_5xx(count=count))

    def heal(self) -> None:
        exchange = self.server.exchange
        self.server.call(lambda: simex.faults_of(exchange).clear())


def start_paper_exchange(data_dir: Path, seed: int = 3) -> PaperExchange:
    data_dir.mkdir(parents=True, exist_ok=True)
    _, public_path = runner._paper_key(data_dir)
    # the paper scenario (many markets), as `mmd start --env paper` trades it
    exchange, _run = simex.build_scenario_exchange(runner.PAPER_SCENARIO, seed=seed, now_ns=time.time_ns)
    server = simex.SimServer(exchange).start_in_thread()
    server.authorize_key(runner.PAPER_KEY_ID, public_path.read_bytes(), runner.PAPER_KEY_ID, balance_cents=100_000)
    client = runner.cancel_all_client(quiet_config(), "paper", server.base_url, data_dir)
    ticker = sorted(m["ticker"] for m in client.get_markets())[0]
    return PaperExchange(server, data_dir, client, ticker)
