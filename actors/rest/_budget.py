"""Client-side token buckets mirroring Kalshi's read and write budgets (kalshi-api.md §8).

Tokens refill continuously at `rate_per_s` up to `capacity_tokens`. Time is whatever
`now_ns` the caller passes (the actor's injected clock): the bucket never reads a clock.
Integer arithmetic throughout: one token is held as 10**9 "token-nanoseconds" of refill,
so refill at any rate is exact and replays are identical.
"""

from __future__ import annotations

__all__ = ["TokenBucket"]

_SCALE = 1_000_000_000  # one token, in units of (token/s) x ns


class TokenBucket:
    """Starts full. `try_take` spends tokens now or not at all; `ns_until` says how long to wait."""

    def __init__(self, rate_per_s: int, capacity_tokens: int) -> None:
        if rate_per_s <= 0 or capacity_tokens <= 0:
            raise ValueError(f"token bucket needs positive rate and capacity, got {rate_per_s}, {capacity_tokens}")
        self.rate_per_s = int(rate_per_s)
        self.capacity_tokens = int(capacity_tokens)
        self._scaled = self.capacity_tokens * _SCALE
        self._last_ns: int | None = None

    def _refill(self, now_ns: int) -> None:
        if self._last_ns is None:
            self._last_ns = now_ns
            return
        elapsed = now_ns - self._last_ns
        if elapsed <= 0:  # a wall clock stepping back must not mint or burn tokens
            return
        self._scaled = min(self.capacity_tokens * _SCALE, self._scaled + elapsed * self.rate_per_s)
        self._last_ns = now_ns

    def _check_cost(self, cost: int) -> None:
        if cost <= 0 or cost > self.capacity_tokens:
            raise ValueError(f"cost {cost} outside 1..{self.capacity_tokens}: it could never be paid")

    def _needed(self, cost: int, keep: int) -> int:
        """Tokens that must be there to spend `cost` and still hold `keep` (never more than
        the capacity: a cost as large as the bucket goes from a full one)."""
        return min(self.capacity_tokens, cost + max(0, keep))

    def try_take(self, cost: int, now_ns: int, keep: int = 0) -> bool:
        """Spend `cost` if `keep` tokens would still be left over (see `_needed`)."""
        self._check_cost(cost)
        self._refill(now_ns)
        if self._scaled < self._needed(cost, keep) * _SCALE:
            return False
        self._scaled -= cost * _SCALE
        return True

    def charge(self, cost: int, now_ns: int) -> None:
        """Spend `cost` that went out anyway (a retry): the bucket may go below zero, and
        nothing can be taken until it has refilled past the debt."""
        self._check_cost(cost)
        self._refill(now_ns)
        self._scaled -= cost * _SCALE

    def ns_until(self, cost: int, now_ns: int, keep: int = 0) -> int:
        """Nanoseconds until `cost` tokens (and `keep` more) are available (0 = now)."""
        self._check_cost(cost)
        self._refill(now_ns)
        missing = self._needed(cost, keep) * _SCALE - self._scaled
        if missing <= 0:
            return 0
        return -(-missing // self.rate_per_s)  # ceiling: waking early would find too few tokens

    def available(self, now_ns: int) -> int:
        """Whole tokens available at now_ns."""
        self._refill(now_ns)
        return self._scaled // _SCALE
