"""Token-bucket rate limits: tiers, endpoint costs, 429 body, refill from injected time."""

import pytest
from simex_testkit import TICKER, order_body, place, rest

from simex import Exchange, MarketSpec
from simex._ratelimit import READ, TIERS, WRITE, RateLimiter, TokenBucket, request_cost

S = 1_000_000_000


def test_basic_tier_buckets_hold_two_seconds_of_reads_and_one_of_writes():
    limits = RateLimiter("basic", 0).limits_json()
    assert limits == {"usage_tier": "basic", "read": {"refill_rate": 200, "bucket_capacity": 400},
                      "write": {"refill_rate": 100, "bucket_capacity": 100}, "grants": []}
    assert (TIERS["advanced"].read_capacity, TIERS["advanced"].write_capacity) == (600, 600)
    assert (TIERS["premier"].read_capacity, TIERS["premier"].write_capacity) == (1000, 2000)


def test_unknown_tier_is_refused():
    with pytest.raises(ValueError, match="unknown rate-limit tier"):
        RateLimiter("platinum", 0)


def test_bucket_refuses_a_request_that_does_not_fit_and_refills_continuously():
    limiter = RateLimiter("basic", 0)
    assert all(limiter.admit(WRITE, 10, 0) for _ in range(10))  # 10 orders per second on Basic
    assert not limiter.admit(WRITE, 10, 0)
    assert not limiter.admit(WRITE, 10, S // 10 - 1)  # 9.99... tokens back: not enough
    assert limiter.admit(WRITE, 10, S // 10)  # 100 tokens/s: 10 back after 100 ms
    assert limiter.admit(READ, 400, S // 10)  # the read bucket is independent


def test_bucket_never_exceeds_capacity_and_ignores_time_going_backwards():
    bucket = TokenBucket(100, 100, 0)
    bucket.take(100, 0)
    assert bucket.level(100 * S) == 100
    assert bucket.level(50 * S) == 100


def test_endpoint_costs_follow_kalshi():
    assert request_cost("GET", "/markets") == (READ, 10)
    assert request_cost("POST", "/portfolio/events/orders") == (WRITE, 10)
    assert request_cost("DELETE", "/portfolio/events/orders/abc") == (WRITE, 2)
    assert request_cost("DELETE", "/portfolio/events/orders") == (WRITE, 2)
    assert request_cost("POST", "/portfolio/events/orders/abc/amend") == (WRITE, 10)
    assert request_cost("POST", "/portfolio/events/orders/batched", {"orders": [{}, {}, {}]}) == (WRITE, 30)
    assert request_cost("DELETE", "/portfolio/events/orders/batched", {"orders": [{}, {}]}) == (WRITE, 4)
    assert request_cost("POST", "/portfolio/order_groups/create") == (WRITE, 10)


def test_exchange_answers_429_with_kalshis_exact_body_once_the_write_bucket_is_empty(clock):
    ex = Exchange(now_ns=clock, rate_limit_tier="basic")
    ex.add_market(MarketSpec(ticker=TICKER, event_ticker="KXTEST-26DEC31", series_ticker="KXTEST"))
    ex.register_account("alice", 100_000)
    statuses = [rest(ex, "POST", "/portfolio/events/orders", order_body(price=f"0.{10 + i}"))[0] for i in range(11)]
    assert statuses == [201] * 10 + [429]
    assert rest(ex, "POST", "/portfolio/events/orders", order_body())[1] == {"error": "too many requests"}
    assert rest(ex, "GET", "/portfolio/balance")[0] == 200  # reads draw on their own bucket
    clock.tick(0.1)
    assert rest(ex, "POST", "/portfolio/events/orders", order_body(price="0.30"))[0] == 201


def test_a_batch_that_does_not_fit_the_bucket_is_refused_whole(clock):
    """rate_limits.md: the whole batch must fit in the bucket at once. (A Basic batch of 11 is
    now over the tier's maximum batch size, a 400; this one fits the size but not the tokens.)"""
    ex = Exchange(now_ns=clock, rate_limit_tier="basic")
    ex.add_market(MarketSpec(ticker=TICKER, event_ticker="KXTEST-26DEC31", series_ticker="KXTEST"))
    ex.register_account("alice", 100_000)
    assert rest(ex, "POST", "/portfolio/events/orders", order_body(price="0.05"))[0] == 201  # 90 tokens left
    batch = {"orders": [order_body(price=f"0.{10 + i}") for i in range(10)]}
    status, body = rest(ex, "POST", "/portfolio/events/orders/batched", batch)
    assert (status, body) == (429, {"error": "too many requests"})
    assert len(ex.orders) == 1


def test_accounts_have_separate_buckets_and_limits_are_readable(clock):
    ex = Exchange(now_ns=clock, rate_limit_tier="advanced")
    for name in ("alice", "bob"):
        ex.register_account(name, 100_000)
    ex.limiter("alice").drain(WRITE, clock.ns)
    assert not ex.admit_request("alice", "POST", "/trade-api/v2/portfolio/events/orders", {})
    assert ex.admit_request("bob", "POST", "/trade-api/v2/portfolio/events/orders", {})
    status, body = rest(ex, "GET", "/account/limits", account="bob")
    assert status == 200 and body["usage_tier"] == "advanced" and body["write"]["bucket_capacity"] == 600


def test_unmetered_exchange_never_answers_429(ex):
    for i in range(30):
        place(ex, "alice", "bid", "0.20", 1)
    assert all(rest(ex, "GET", "/markets")[0] == 200 for _ in range(50))


def test_endpoint_costs_endpoint_lists_the_non_default_prices(ex):
    status, body = rest(ex, "GET", "/account/endpoint_costs", account=None)
    assert status == 200 and body["default_cost"] == 10
    assert {"method": "DELETE", "path": "/portfolio/events/orders/{order_id}", "cost": 2} in body["endpoint_costs"]


def test_the_exchange_counts_and_logs_every_429_its_own_limiter_gives(clock, caplog):
    """Not only injected 429s (faults_of(ex).injected) are counted: a client that overruns its
    budget must be visible on the exchange's side, with the shortfall that caused it."""
    ex = Exchange(now_ns=clock, rate_limit_tier="basic")
    ex.add_market(MarketSpec(ticker=TICKER, event_ticker="KXTEST-26DEC31", series_ticker="KXTEST"))
    ex.register_account("alice", 100_000)
    assert ex.rate_limited() == {}
    caplog.set_level("INFO", logger="simex")
    statuses = [rest(ex, "POST", "/portfolio/events/orders", order_body(price=f"0.{10 + i}"))[0] for i in range(12)]
    assert rest(ex, "GET", "/portfolio/balance")[0] == 200

    assert statuses == [201] * 10 + [429] * 2
    assert ex.rate_limited() == {"alice": {"write": 2}}
    refusals = [r.getMessage() for r in caplog.records if "rate limit" in r.getMessage()]
    assert len(refusals) == 2
    assert "alice" in refusals[0] and "POST /portfolio/events/orders costs 10" in refusals[0]
    assert "write bucket holds 0" in refusals[0]
