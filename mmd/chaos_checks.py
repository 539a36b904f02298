"""What a fault campaign checks, as plain functions over what was read: the exchange's own
records against SQLite, samples of resting orders, recovery times. No process, no socket.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from kalshi.shapes import ExchangeOrder

__all__ = [
    "FillComparison",
    "compare_fills",
    "resting_violations",
    "percentile",
    "Recovery",
    "RestAnswer",
    "places_order",
    "burst_answers",
    "burst_end_s",
    "first_order_after_s",
    "why_untimed",
    "NO_ORDER_WAITING",
    "BURST_NOT_SEEN",
    "PhaseResult",
    "format_table",
    "format_recoveries",
    "FEED_COUNTERS",
    "feed_progress",
    "feed_healthy",
]


@dataclass(frozen=True)
class FillComparison:
    """Every fill the exchange reports must be in SQLite exactly once, and nothing else."""

    exchange: int
    stored: int  # order_fills rows with a fill id
    missing: tuple[str, ...]  # on the exchange, not in SQLite
    duplicated: tuple[str, ...]  # in SQLite more than once (across runs)
    unknown: tuple[str, ...]  # in SQLite, not on the exchange

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicated or self.unknown)

    def describe(self) -> str:
        return (f"{self.exchange} on the exchange, {self.stored} stored: {len(self.missing)} missing, "
                f"{len(self.duplicated)} stored twice, {len(self.unknown)} unknown to the exchange")


def compare_fills(exchange_fill_ids: Iterable[str], stored_fill_ids: Iterable[str | None]) -> FillComparison:
    exchange = list(exchange_fill_ids)
    stored = [f for f in stored_fill_ids if f]
    counts = Counter(stored)
    on_exchange = set(exchange)
    return FillComparison(
        exchange=len(on_exchange),
        stored=len(stored),
        missing=tuple(sorted(on_exchange - counts.keys())),
        duplicated=tuple(sorted(f for f, n in counts.items() if n > 1)),
        unknown=tuple(sorted(counts.keys() - on_exchange)),
    )


def resting_violations(resting: Sequence[ExchangeOrder], levels: int) -> list[str]:
    """One sample of the exchange's resting orders: no client order id twice, and at most
    `levels` orders (one per ladder level) on one market and side."""
    problems = []
    by_client = Counter(o.client_order_id for o in resting if o.client_order_id)
    for client_id, n in sorted(by_client.items()):
        if n > 1:
            problems.append(f"{n} resting orders with client id {client_id}")
    by_side = Counter((o.ticker, o.side) for o in resting)
    for (ticker, side), n in sorted(by_side.items()):
        if n > levels:
            ids = sorted(o.client_order_id for o in resting if (o.ticker, o.side) == (ticker, side))
            problems.append(f"{n} resting {side}s on {ticker} (at most {levels}): {', '.join(ids)}")
    return problems


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in [0, 100]); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Recovery:
    fault: str  # Fault.describe()
    kind: str
    basis: str
    seconds: float | None  # None: not recovered within the bound (unless untimed)
    untimed: str = ""  # recovered, but no time counted, and why (a REST burst with no order waiting)

    @property
    def failed(self) -> bool:
        return self.seconds is None and not self.untimed


# ----- a REST burst's recovery, from the relay's answers (mmd/chaos_proxy.py) -----
#
# A burst (429s, 5xx, answers slower than the daemon's REST timeout) is timed from its END to
# the first order the daemon gets out AFTER it, and only when an order was waiting to go:
# - the faulted answers: the first `count` answers bearing the fault's mark (status 429; the
#   5xx status; for slow ones, answered at least `delay_s` after received) among the requests
#   received between the injection and the moment the harness saw the fault used up;
# - its end: when the last faulted request stopped holding the daemon up: its answer, or for a
#   slow one the daemon's own give-up (received + rest.timeout_s) if that came first;
# - an order was waiting when a faulted request was itself an order placement (create, batch
#   create, amend): the daemon wanted an order out and was refused or left unanswered. A burst
#   only reads (or cancels) met says nothing of how long the next order takes: it came in a
#   lull (no order to send), and is left untimed;
# - the first order after the end: the earlier of an order placement the daemon sent at or
#   after the end that the exchange accepted (2xx; the relay's receive time), and an order the
#   daemon recorded accepted or amended at or after the end (SQLite `orders.ts_ns`: it also
#   confirms a placement that timed out but landed, read back).
# The injection time and the daemon's lulls before the burst are not counted. Hazard left: a
# maker that stops wanting the refused order (it pauses for its market's own reasons, a volume
# spike, no trades for 15 s) still reads as slow: storms at scale 0.25, seed 1, one 429 burst
# of 19 read 9.7 s (the next order was the re-quote after the pauses), the other 8 under 2.4 s.

_PLACES_ORDER = re.compile(r"POST /portfolio(/events)?/orders(/batched|/\{id\}/amend)?")
NO_ORDER_WAITING = "no order waiting"
BURST_NOT_SEEN = "burst not seen by the relay"


@dataclass(frozen=True)
class RestAnswer:
    """One REST answer the relay passed: wall-clock seconds it was received and answered."""

    received_s: float
    answered_s: float
    route: str  # chaos_proxy.route_of: "POST /portfolio/events/orders/{id}/amend"
    status: int


def places_order(route: str) -> bool:
    """A create, batch create or amend (a cancel or a read is not an order going out)."""
    return _PLACES_ORDER.fullmatch(route) is not None


def burst_answers(answers: Sequence[RestAnswer], spec: dict, injected_s: float, used_up_s: float) -> list[RestAnswer]:
    """The answers the burst `spec` (as POSTed to /_admin/faults) made, of those relayed."""
    fault = spec["fault"]
    if fault == "burst_429":
        marked = lambda a: a.status == 429  # noqa: E731
    elif fault == "burst_5xx":
        marked = lambda a: a.status == spec.get("status", 503)  # noqa: E731
    elif fault == "slow_responses":
        marked = lambda a: a.answered_s - a.received_s >= spec["delay_s"] - 0.05  # noqa: E731
    else:
        raise ValueError(f"not a REST burst: {fault!r}")
    during = sorted((a for a in answers if injected_s <= a.received_s <= used_up_s and marked(a)),
                    key=lambda a: a.received_s)
    return during[: spec["count"]] if spec.get("count") else during


def burst_end_s(faulted: Sequence[RestAnswer], rest_timeout_s: float) -> float:
    """When the last faulted request stopped holding the daemon up."""
    return max(min(a.answered_s, a.received_s + rest_timeout_s) for a in faulted)


def first_order_after_s(answers: Sequence[RestAnswer], end_s: float, confirmed_s: float | None) -> float | None:
    """The first order out at or after `end_s`: sent and accepted, or recorded confirmed
    (`confirmed_s`: the daemon's first accepted/amended order at or after `end_s`, if any)."""
    sent = [a.received_s for a in answers if a.received_s >= end_s and places_order(a.route) and 200 <= a.status < 300]
    if confirmed_s is not None and confirmed_s >= end_s:
        sent.append(confirmed_s)
    return min(sent, default=None)


def why_untimed(faulted: Sequence[RestAnswer]) -> str:
    """Why a burst with these faulted answers gets no recovery time ("" when it gets one)."""
    if not faulted:
        return BURST_NOT_SEEN
    if not any(places_order(a.route) for a in faulted):
        return NO_ORDER_WAITING
    return ""


@dataclass
class PhaseResult:
    name: str
    faults: int = 0
    fills: FillComparison | None = None
    orphans: list[str] = field(default_factory=list)  # resting after stop, or left over a restart
    duplicates: list[str] = field(default_factory=list)  # violations seen in the samples
    samples: int = 0
    recoveries: list[Recovery] = field(default_factory=list)
    daemon_429: int = 0  # 429 answers the daemon received (counted on its connection)
    daemon_429_routes: dict[str, int] = field(default_factory=dict)  # of those, by request (route)
    injected_429: int = 0  # of those, the ones a burst_429 fault made
    harness_429: int = 0  # 429 answers to the harness's own reads (they share the account's budget)
    limiter_429: int | None = None  # the exchange's own count of its rate limiter's 429s (daemon and harness)
    failures: list[str] = field(default_factory=list)

    @property
    def caused_429(self) -> int:
        return self.daemon_429 - self.injected_429

    @property
    def ok(self) -> bool:
        return not self.failures

    def recovery_seconds(self, kind: str | None = None) -> list[float]:
        """Timed recoveries (an untimed one recovered, but has no time)."""
        return [r.seconds for r in self.recoveries if r.seconds is not None and kind in (None, r.kind)]

    def bases(self) -> str:
        return " / ".join(sorted({r.basis for r in self.recoveries}))


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def format_table(results: Sequence[PhaseResult]) -> str:
    """One row per phase: what the campaign's report shows."""
    header = ("phase", "faults", "fills exch/sqlite", "fills ok", "orphans", "duplicates", "samples",
              "recov p50 s", "recov p99 s", "not recov", "429 caused", "429 injected", "basis")
    rows = [header]
    for r in results:
        seconds = r.recovery_seconds()
        fills = r.fills
        rows.append((
            r.name, str(r.faults),
            "-" if fills is None else f"{fills.exchange}/{fills.stored}",
            "-" if fills is None else ("yes" if fills.ok else "NO"),
            str(len(r.orphans)), str(len(r.duplicates)), str(r.samples),
            _seconds(percentile(seconds, 50)), _seconds(percentile(seconds, 99)),
            str(sum(1 for x in r.recoveries if x.failed)),
            str(r.caused_429), str(r.injected_429), r.bases(),
        ))
    return _columns(rows)


def format_recoveries(results: Sequence[PhaseResult]) -> str:
    """Recovery p50/p99 per fault kind over every phase."""
    kinds: dict[str, list[Recovery]] = {}
    for r in results:
        for rec in r.recoveries:
            kinds.setdefault(rec.kind, []).append(rec)
    rows = [("fault kind", "n", "timed", "p50 s", "p99 s", "max s", "not recov", "measured as")]
    for kind, recs in sorted(kinds.items()):
        seconds = [x.seconds for x in recs if x.seconds is not None]
        rows.append((kind, str(len(recs)), str(len(seconds)), _seconds(percentile(seconds, 50)),
                     _seconds(percentile(seconds, 99)), _seconds(max(seconds) if seconds else None),
                     str(sum(1 for x in recs if x.failed)), recs[0].basis))
    return _columns(rows)


def _columns(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ----- the feed, as the daemon's status shows it (status["feed"]["details"]) -----
FEED_COUNTERS = {
    "ws_drop": "reconnects",
    "seq_skip": "gaps",
    "malformed": "malformed",
    "channel_error": "subscriptions_restored",
}


def feed_progress(kind: str, details: dict) -> int:
    """The counter a feed fault of `kind` must move: how the daemon shows it noticed."""
    value = details.get(FEED_COUNTERS[kind])
    return int(value) if isinstance(value, int) else 0


def feed_healthy(details: dict) -> bool:
    """Connected, healthy, no subscription down."""
    return bool(details.get("ws_healthy")) and bool(details.get("connected")) and not details.get("subscriptions_down")

