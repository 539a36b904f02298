"""Found by the chaos storms phase (answers past the REST timeout, then a 429 burst): a create
whose first attempt timed out while the exchange went on to place it, and whose retries were
then refused 429, was reported as refused. The maker forgot the order; it rested untracked
beside the side's ladder (4 asks where 3 are allowed) until the phase ended.

What must happen: once any attempt's outcome was unknown, a create that finally fails is
settled by reading our orders back (as after a final timeout), so the order is found.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from actors.rest import CreateItem, KalshiRestClient, LoopbackTransport, PlacedOrder, RestError, TransportError
from simex import DEFAULT_MARKET, build_default_exchange

ACCOUNT = "mmd-chaos"
CLIENT_ID = "mmd-run-1-s1-84"


class TimeoutThenTooManyRequests:
    """The first create reaches the exchange but its answer never comes back (a timeout);
    every later create is answered 429; reads pass."""

    def __init__(self, inner: LoopbackTransport) -> None:
        self.inner = inner
        self.creates = 0

    def request(self, method, path, query=None, body=None):
        if method == "POST" and path == "/portfolio/events/orders":
            self.creates += 1
            if self.creates == 1:
                self.inner.request(method, path, query, body)  # the exchange acts on it...
                raise TransportError("POST /portfolio/events/orders: ReadTimeout")  # ...we never hear
            return 429, {"error": "too many requests"}
        return self.inner.request(method, path, query, body)


@pytest.fixture
def client_and_exchange():
    exchange = build_default_exchange(seed=3, now_ns=time.time_ns)
    exchange.register_account(ACCOUNT, 100_000_00)
    transport = TimeoutThenTooManyRequests(LoopbackTransport(exchange, ACCOUNT))
    client = KalshiRestClient(transport, max_attempts=4, backoff_base_s=0, backoff_cap_s=0, sleep=lambda s: None)
    return client, transport


def test_the_exchange_placed_it_on_the_first_attempt_and_refused_every_retry(client_and_exchange):
    client, transport = client_and_exchange
    client.create_order(DEFAULT_MARKET.ticker, "bid", Decimal("0.05"), Decimal(1), CLIENT_ID)
    assert transport.creates == 4
    assert [o.client_order_id for o in client.get_orders(status="resting")] == [CLIENT_ID]


def test_a_create_that_timed_out_then_was_refused_429_is_settled_by_reading_back(client_and_exchange):
    client, _transport = client_and_exchange
    placed = client.create_order(DEFAULT_MARKET.ticker, "bid", Decimal("0.05"), Decimal(1), CLIENT_ID)
    assert placed.client_order_id == CLIENT_ID and placed.read_back


def test_a_create_refused_429_on_every_attempt_is_refused_without_a_read_back(client_and_exchange):
    client, transport = client_and_exchange
    transport.creates = 1  # skip the timed-out attempt: every create is answered 429
    with pytest.raises(RestError) as refused:
        client.create_order(DEFAULT_MARKET.ticker, "bid", Decimal("0.05"), Decimal(1), CLIENT_ID)
    assert refused.value.status == 429
    assert client.get_orders(status="resting") == []


class BatchTimesOutThenPasses:
    """The first batch create reaches the exchange but its answer never comes back; the retry
    passes (the exchange refuses each item as order_already_exists: they are live)."""

    def __init__(self, inner: LoopbackTransport) -> None:
        self.inner = inner
        self.batches = 0

    def request(self, method, path, query=None, body=None):
        if method == "POST" and path == "/portfolio/events/orders/batched":
            self.batches += 1
            if self.batches == 1:
                self.inner.request(method, path, query, body)
                raise TransportError("POST /portfolio/events/orders/batched: ReadTimeout")
        return self.inner.request(method, path, query, body)


def test_a_batch_whose_retry_is_refused_as_already_existing_is_read_back_item_by_item():
    # Found by the full storms phase: the items came back as rejected places; the ledger
    # forgot orders the exchange had already reported resting, and they rested untracked
    # (5 asks where 3 are allowed) until the daemon stopped.
    exchange = build_default_exchange(seed=3, now_ns=time.time_ns)
    exchange.register_account(ACCOUNT, 100_000_00)
    transport = BatchTimesOutThenPasses(LoopbackTransport(exchange, ACCOUNT))
    client = KalshiRestClient(transport, max_attempts=4, backoff_base_s=0, backoff_cap_s=0, sleep=lambda s: None)
    items = [CreateItem(DEFAULT_MARKET.ticker, "ask", Decimal(price), Decimal(1), f"mmd-run-1-s1-{n}")
             for n, price in ((62, "0.97"), (63, "0.98"))]

    outcomes = client.batch_create(items)

    assert transport.batches == 2
    assert all(isinstance(o, PlacedOrder) and o.read_back for o in outcomes), outcomes
    resting = {o.client_order_id: o.order_id for o in client.get_orders(status="resting")}
    assert {o.client_order_id: o.order_id for o in outcomes} == resting
