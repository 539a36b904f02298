"""Client-side token buckets mirroring Kalshi's read and write budgets (kalshi-api.md §8).

Tokens refill continuously at `rate_per_s` up to `capacity_tokens`. Time is whatever
`now_ns` the caller passes (the actor's injected clock): the bucket never reads a clock.
Integer arithmetic throughout: one token is held as 10**9 "token-nanoseconds" of refill,
so refill at any rate is exact and replays are identical.

A hold (`hold`) stands for a charge the exchange may make at some unknown time before a
deadline (a request that timed out may still arrive and be charged): the tokens are spent
now (as debt: the level may go below zero) and the bucket cannot refill past `capacity - held` until the
deadline. Whenever the charge lands there, the exchange's bucket still holds at least what
ours does plus the held tokens: it never finds itself short of what we spend meanwhile.
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
        self._holds: list[tuple[int, int]] = []  # (until_ns, tokens), soonest first

    def _refill(self, now_ns: int) -> None:
        if self._last_ns is None:
            self._last_ns = now_ns
            return
        # refill piecewise: up to each hold's end under the cap it imposed, then without it
        while self._holds and self._holds[0][0] <= now_ns:
            until_ns, _tokens = self._holds[0]
            self._refill_to(until_ns)
            self._holds.pop(0)
        self._refill_to(now_ns)

    def _refill_to(self, now_ns: int) -> None:
        assert self._last_ns is not None
        elapsed = now_ns - self._last_ns
        if elapsed <= 0:  # a wall clock stepping back must not mint or burn tokens
            return
        self._scaled = min(self._cap_scaled(), self._scaled + elapsed * self.rate_per_s)
        self._last_ns = now_ns

    def _cap_scaled(self) -> int:
        if not self._holds:  # the common case (always, in replay): no sum on every refill
            return self.capacity_tokens * _SCALE
        return max(0, self.capacity_tokens - self._held()) * _SCALE

    def _check_cost(self, cost: int) -> None:
        if cost <= 0 or cost > self.capacity_tokens:
            raise ValueError(f"cost {cost} outside 1..{self.capacity_tokens}: it could never be paid")

    def _needed(self, cost: int, keep: int) -> int:
        """Tokens that must be there to spend `cost` and still hold `keep` (never more than
        the capacity: a cost as large as the bucket goes from a full one)."""
        return min(self.capacity_tokens, cost + max(0, keep))

    def _held(self) -> int:
        return sum(tokens for _until, tokens in self._holds)

    def try_take(self, cost: int, now_ns: int, keep: int = 0) -> bool:
        """Spend `cost` if `keep` tokens would still be left over (see `_needed`)."""
        self._check_cost(cost)
        self._refill(now_ns)
        if self._scaled < self._needed(cost, keep) * _SCALE:
            return False
        self._scaled -= cost * _SCALE
        return True

    def fits(self, cost: int, now_ns: int, keep: int = 0) -> bool:
        """Whether refill alone can pay `cost` and leave `keep` (no hold keeps the level below)."""
        self._refill(now_ns)
        return self._needed(cost, keep) <= self.capacity_tokens - self._held()

    def hold(self, tokens: int, now_ns: int, until_ns: int) -> None:
        """A charge the exchange may make at any time up to `until_ns`: `tokens` are spent now
        (the level may go below zero) and the level refills no higher than `capacity - held`
        until the hold ends (Hazard: refilled to the full capacity meanwhile, ours would be
        full while the exchange's, charged late, is `tokens` short)."""
        if tokens <= 0 or until_ns <= now_ns:
            return
        self._refill(now_ns)
        tokens = min(tokens, self.capacity_tokens)
        self._holds.append((until_ns, tokens))
        self._holds.sort()
        self._scaled = min(self._scaled - tokens * _SCALE, self._cap_scaled())

    def ns_until(self, cost: int, now_ns: int, keep: int = 0) -> int:
        """Nanoseconds until `cost` tokens (and `keep` more) are available (0 = now)."""
        self._check_cost(cost)
        self._refill(now_ns)
        # a hold caps the refill until it ends: wait for the first stretch whose cap allows it
        at_ns, level, held = now_ns, self._scaled, self._held()
        for until_ns, tokens in [*self._holds, (None, 0)]:
            needed = self._needed(cost, keep) * _SCALE
            if until_ns is None or needed <= (self.capacity_tokens - held) * _SCALE:
                missing = needed - level
                waited = at_ns - now_ns
                # ceiling: waking early would find too few tokens
                return waited if missing <= 0 else waited + -(-missing // self.rate_per_s)
            level = min((self.capacity_tokens - held) * _SCALE, level + (until_ns - at_ns) * self.rate_per_s)
            at_ns, held = until_ns, held - tokens
        raise AssertionError("unreachable: the last stretch has no hold")

    def available(self, now_ns: int) -> int:
        """Whole tokens available at now_ns."""
        self._refill(now_ns)
        return self._scaled // _SCALE
