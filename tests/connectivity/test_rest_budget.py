import pytest

from actors.rest import TokenBucket

SECOND = 1_000_000_000


def test_bucket_starts_full_and_refuses_beyond_capacity():
    bucket = TokenBucket(rate_per_s=100, capacity_tokens=100)
    assert all(bucket.try_take(10, 0) for _ in range(10))
    assert not bucket.try_take(10, 0)
    assert not bucket.try_take(2, 0)


def test_bucket_refills_continuously_at_its_rate():
    bucket = TokenBucket(rate_per_s=100, capacity_tokens=100)
    assert bucket.try_take(100, 0)
    assert not bucket.try_take(10, SECOND // 10 - 1)  # 9.99... tokens
    assert bucket.try_take(10, SECOND // 10)  # 100 ms at 100/s = 10 tokens


def test_bucket_never_refills_above_capacity():
    bucket = TokenBucket(rate_per_s=100, capacity_tokens=50)
    bucket.try_take(10, 0)
    assert bucket.available(60 * SECOND) == 50


def test_ns_until_is_the_exact_wait_for_the_missing_tokens():
    bucket = TokenBucket(rate_per_s=200, capacity_tokens=400)
    assert bucket.try_take(400, 0)
    assert bucket.ns_until(10, 0) == SECOND * 10 // 200  # 50 ms
    wait = bucket.ns_until(10, 0)
    assert not bucket.try_take(10, wait - 1)
    assert bucket.try_take(10, wait)
    assert bucket.ns_until(2, wait + SECOND) == 0


def test_cost_above_capacity_is_refused_as_never_payable():
    bucket = TokenBucket(rate_per_s=10, capacity_tokens=10)
    with pytest.raises(ValueError):
        bucket.try_take(11, 0)
    with pytest.raises(ValueError):
        bucket.ns_until(11, 0)


def test_clock_stepping_back_neither_mints_nor_burns_tokens():
    bucket = TokenBucket(rate_per_s=100, capacity_tokens=100)
    bucket.try_take(100, 10 * SECOND)
    assert bucket.available(5 * SECOND) == 0
    assert bucket.available(10 * SECOND + SECOND // 2) == 50
