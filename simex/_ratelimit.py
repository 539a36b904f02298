"""Kalshi's token-bucket rate limits (kalshi-api.md section 8), driven by injected time.

Two independent buckets per account: `read` (GETs and anything not routed to write) and
`write` (order place, amend, cancel, decrease, order groups). Tokens refill continuously at
the tier's per-second budget up to the bucket capacity; a request that does not fit is
refused whole (Kalshi answers 429 `{"error":"too many requests"}` with no headers).

The tier table and endpoint costs are Kalshi's published facts, not our tunables, so they
live here; the tier in use is configuration (the caller picks it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "READ",
    "WRITE",
    "TIERS",
    "DEFAULT_TIER",
    "DEFAULT_COST",
    "TOO_MANY_REQUESTS_BODY",
    "TierLimits",
    "TokenBucket",
    "RateLimiter",
    "request_cost",
    "non_default_costs",
    "max_batch_items",
]

READ = "read"
WRITE = "write"
NS_PER_S = 1_000_000_000
DEFAULT_COST = 10
CANCEL_COST = 2
LEGACY_CREATE_COST = 100  # legacy v1 mutations were priced up before being retired
LEGACY_CANCEL_COST = 20
TOO_MANY_REQUESTS_BODY = {"error": "too many requests"}


@dataclass(frozen=True)
class TierLimits:
    """Tokens per second and bucket capacity (in seconds of budget) for one usage tier."""

    name: str
    read_per_s: int
    write_per_s: int
    read_bucket_s: int
    write_bucket_s: int

    @property
    def read_capacity(self) -> int:
        return self.read_per_s * self.read_bucket_s

    @property
    def write_capacity(self) -> int:
        return self.write_per_s * self.write_bucket_s


def _tier(name: str, read: int, write: int) -> TierLimits:
    # Capacity rule: write holds 1 s on Basic, 2 s above; read holds 2 s on Basic and
    # Advanced, 1 s above Advanced.
    write_s = 1 if name == "basic" else 2
    read_s = 2 if name in ("basic", "advanced") else 1
    return TierLimits(name, read, write, read_s, write_s)


TIERS: dict[str, TierLimits] = {
    t.name: t
    for t in (
        _tier("basic", 200, 100),
        _tier("advanced", 300, 300),
        _tier("expert", 600, 600),
        _tier("premier", 1_000, 1_000),
        _tier("paragon", 2_000, 2_000),
        _tier("prime", 4_000, 4_000),
        _tier("prestige", 10_000, 8_000),
    )
}
DEFAULT_TIER = "basic"


class TokenBucket:
    """Continuous refill, exact: the level is kept in token-nanoseconds (tokens x 1e9), so
    `elapsed_ns x rate` adds without rounding and replays never drift."""

    def __init__(self, per_s: int, capacity: int, now_ns: int) -> None:
        if per_s <= 0 or capacity <= 0:
            raise ValueError("bucket rate and capacity must be positive")
        self.per_s = per_s
        self.capacity = capacity
        self._level = capacity * NS_PER_S  # a fresh bucket starts full
        self._at_ns = now_ns

    def level(self, now_ns: int) -> int:
        """Whole tokens available at `now_ns`."""
        self._refill(now_ns)
        return self._level // NS_PER_S

    def take(self, cost: int, now_ns: int) -> bool:
        self._refill(now_ns)
        need = cost * NS_PER_S
        if need > self._level:
            return False
        self._level -= need
        return True

    def drain(self, now_ns: int) -> None:
        """Empty the bucket (fault injection: force 429s until it refills)."""
        self._refill(now_ns)
        self._level = 0

    def _refill(self, now_ns: int) -> None:
        if now_ns <= self._at_ns:
            return  # time never runs backwards for a bucket
        self._level = min(self.capacity * NS_PER_S, self._level + (now_ns - self._at_ns) * self.per_s)
        self._at_ns = now_ns


class RateLimiter:
    """One account's read and write buckets for a usage tier."""

    def __init__(self, tier: str, now_ns: int) -> None:
        limits = TIERS.get(tier)
        if limits is None:
            raise ValueError(f"unknown rate-limit tier {tier!r}; expected one of {', '.join(TIERS)}")
        self.tier = limits
        self.buckets = {
            READ: TokenBucket(limits.read_per_s, limits.read_capacity, now_ns),
            WRITE: TokenBucket(limits.write_per_s, limits.write_capacity, now_ns),
        }

    def admit(self, kind: str, cost: int, now_ns: int) -> bool:
        """Take `cost` tokens from the `kind` bucket if they are all there; else refuse."""
        bucket = self.buckets.get(kind)
        if bucket is None:
            raise ValueError(f"bucket kind must be {READ!r} or {WRITE!r}, not {kind!r}")
        return bucket.take(cost, now_ns)

    def drain(self, kind: str, now_ns: int) -> None:
        self.buckets[kind].drain(now_ns)

    def limits_json(self) -> dict:
        """The `GET /account/limits` body."""
        t = self.tier
        return {
            "usage_tier": t.name,
            "read": {"refill_rate": t.read_per_s, "bucket_capacity": t.read_capacity},
            "write": {"refill_rate": t.write_per_s, "bucket_capacity": t.write_capacity},
            "grants": [],
        }


# ----- endpoint costs (paths relative to /trade-api/v2) -----
_V2_ORDERS = "/portfolio/events/orders"
_WRITE_PREFIXES = (_V2_ORDERS, "/portfolio/order_groups")
_LEGACY_ORDER = re.compile(r"/portfolio/orders(/batched|/[^/]+(/amend|/decrease)?)?")
_FIXED_COSTS: tuple[tuple[str, str, int], ...] = (
    # (method, path pattern as Kalshi lists it, cost); batches are priced per item below
    ("DELETE", _V2_ORDERS + "/{order_id}", CANCEL_COST),
    ("DELETE", _V2_ORDERS, CANCEL_COST),  # cancel-all costs one cancel since 2026-09-03
    ("POST", "/portfolio/orders", LEGACY_CREATE_COST),
    ("DELETE", "/portfolio/orders/{order_id}", LEGACY_CANCEL_COST),
)


def non_default_costs() -> list[dict]:
    """The `endpoint_costs` list of `GET /account/endpoint_costs` (fixed prices only)."""
    return [{"method": m, "path": p, "cost": c} for m, p, c in _FIXED_COSTS]


def max_batch_items(tier: str | None, method: str) -> int:
    """Largest batch a tier may send (batch-create/cancel-orders-v2.md: the maximum "scales with
    your tier's write budget"; rate_limits.md: the whole batch must fit in the bucket at once):
    the write bucket's capacity over the per-item cost. Basic: 10 creates or 50 cancels; Premier
    200 creates. `None` (unmetered) uses the default tier's size."""
    limits = TIERS[tier or DEFAULT_TIER]
    per_item = CANCEL_COST if method.upper() == "DELETE" else DEFAULT_COST
    return limits.write_capacity // per_item


def _batch_items(body: Any) -> int:
    items = body.get("orders") if isinstance(body, dict) else None
    return len(items) if isinstance(items, list) and items else 1


def request_cost(method: str, sub_path: str, body: Any = None) -> tuple[str, int]:
    """(bucket kind, tokens) for one request; `sub_path` is the path after /trade-api/v2."""
    method = method.upper()
    path = sub_path.rstrip("/") or "/"
    if method == "GET":
        return READ, DEFAULT_COST
    if path == _V2_ORDERS + "/batched":
        per_item = CANCEL_COST if method == "DELETE" else DEFAULT_COST
        return WRITE, per_item * _batch_items(body)
    if path.startswith(_V2_ORDERS):
        return WRITE, CANCEL_COST if method == "DELETE" else DEFAULT_COST
    if _LEGACY_ORDER.fullmatch(path):
        return WRITE, LEGACY_CANCEL_COST if method == "DELETE" else LEGACY_CREATE_COST
    if path.startswith(_WRITE_PREFIXES):
        return WRITE, DEFAULT_COST
    return READ, DEFAULT_COST
