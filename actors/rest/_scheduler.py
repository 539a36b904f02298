"""RestScheduler: the client-side rate budget (kalshi-api.md §8) as a plain class.

Given a command and the time it says what to call now (StartCall) and when to wake for
the rest (ArmTimer of BudgetRefillDue); the shell runs the calls.

Costs per endpoint: a place, amend or read costs `default_cost` tokens, a cancel (and a
cancel-all, charged as one cancel) `cancel_cost`, a batch its per-item cost times its
items. Reads spend the read bucket; places, amends and cancels share the write bucket.

Lanes in priority order: cancels, then other writes, then reads; FIFO within a lane.
Cancels and creates share the write bucket, but the cancel lane is served first: a queued
create must never delay pulling a quote. A head that cannot be paid yet stops only its own
lane: a later lane still goes if its head can be paid (reads never wait for writes; a
place may pass a batch cancel that costs more than the bucket holds right now).

Live hazards (off by default, as in a replay, where calls run inline at once):
- the exchange charges a request when it arrives; our buckets have its rate and capacity,
  so a request sent the instant ours can pay it arrives short whenever it travelled faster
  than the one before it (a few ms of jitter: a 429 we caused). `headroom_s` keeps that
  many seconds of refill in each bucket unspent;
- every request a call makes beyond its first (a retry after a 429, 5xx or timeout, a
  read-back, a further page) is paid from the same budget before it leaves: its worker asks
  (`ask_attempt`, with the backoff it must wait first) and goes only when granted
  (GrantAttempt). Hazard: retried outside the budget, the retries that follow a storm land
  together with fresh writes and find the exchange's bucket short;
- a request that timed out may still arrive and be charged, any time after we gave up on
  it: its cost is held out of the bucket (`hold_unanswered`) for `unanswered_hold_s` after
  the timeout, so a late charge there never finds the exchange's bucket short of ours;
- a call started while every HTTP worker is busy waits for one, already charged here but
  not yet at the exchange, for as long as a slow answer holds the workers; then the queue
  arrives at once. With `max_in_flight` (the worker count) a call starts, and is charged,
  only when a worker is free; the lanes' priority then also holds for calls waiting on a
  worker (a cancel goes before queued creates);
- slow answers can hold every worker for the whole REST timeout: the cancel lane has one
  worker more (`max_in_flight + 1` calls at once when one is a cancel; the executor has as
  many threads: `worker_threads`), so pulling a quote never waits for a slow place or amend.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from kernel.effects import ArmTimer
from messages import AmendOrder, BudgetRefillDue, CancelAllOrders, CancelOrder, PlaceOrder, RestReadRequested

from ._batches import BatchCall
from ._budget import TokenBucket
from ._effects import GrantAttempt, StartCall

__all__ = [
    "RestScheduler", "Job", "Ask", "CANCEL_LANE", "WRITE_LANE", "READ_LANE", "LANES", "REFILL_TIMER", "worker_threads",
]  # fmt: skip

CANCEL_LANE, WRITE_LANE, READ_LANE = "cancel", "write", "read"
LANES = (CANCEL_LANE, WRITE_LANE, READ_LANE)
REFILL_TIMER = "budget_refill"
CANCEL_SPARE_WORKERS = 1  # the cancel lane's own worker, beyond max_in_flight (see the module's hazards)


def worker_threads(max_in_flight: int) -> int:
    """HTTP worker threads the executor needs for `max_in_flight` (rest.workers): as many
    calls as may run at once, the cancel lane's spare included."""
    return max_in_flight + CANCEL_SPARE_WORKERS


@dataclass(slots=True)
class Job:
    job_id: int
    command: Any  # PlaceOrder | AmendOrder | CancelOrder | CancelAllOrders | RestReadRequested | BatchCall
    lane: str
    cost: int


@dataclass(slots=True)
class Ask:
    """A running call's next request, waiting for its budget (and its backoff)."""

    job_id: int
    cost: int
    not_before_ns: int


class RestScheduler:
    def __init__(
        self,
        *,
        read_rate: int,
        read_capacity: int,
        write_rate: int,
        write_capacity: int,
        default_cost: int,
        cancel_cost: int,
        headroom_s: float = 0.0,
        max_in_flight: int | None = None,
        unanswered_hold_s: float = 0.0,
    ) -> None:
        if default_cost > min(read_capacity, write_capacity) or cancel_cost > write_capacity:
            raise ValueError("a request cost exceeds a bucket's capacity: it could never be sent")
        if max_in_flight is not None and max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        write_bucket = TokenBucket(write_rate, write_capacity)
        # one write budget, two priorities
        self._buckets = {CANCEL_LANE: write_bucket, WRITE_LANE: write_bucket, READ_LANE: TokenBucket(read_rate, read_capacity)}
        # tokens each lane leaves unspent (headroom_s of its bucket's refill)
        self._keep = {lane: math.ceil(bucket.rate_per_s * headroom_s) for lane, bucket in self._buckets.items()}
        self.max_in_flight = max_in_flight
        self.default_cost = default_cost
        self.cancel_cost = cancel_cost
        self._queues: dict[str, deque[Job]] = {lane: deque() for lane in LANES}
        self._asks: dict[str, list[Ask]] = {lane: [] for lane in LANES}  # by not_before, then asking order
        self._hold_ns = round(unanswered_hold_s * 1_000_000_000)
        self._running: dict[int, Job] = {}
        self._next_job_id = 0
        self._refill_deadline: int | None = None  # the armed BudgetRefillDue, if any
        self.sent = 0
        self.queued_total = 0  # jobs that had to wait (for budget or behind a higher lane)

    # -- costs ----------------------------------------------------------------------
    @property
    def write_capacity(self) -> int:
        return self._buckets[WRITE_LANE].capacity_tokens

    def item_cost(self, action: str) -> int:
        """What one item of a batch of `action` ("place" | "cancel") costs."""
        return self.default_cost if action == "place" else self.cancel_cost

    def lane_and_cost(self, command: Any) -> tuple[str, int]:
        """Lane and cost of a command's call: its first request, priced as any request is
        (`request_lane_cost`), so a worker sees that the request its start paid for is this one."""
        return self.request_lane_cost(*self._request_of(command))

    @staticmethod
    def _request_of(command: Any) -> tuple[str, int]:
        """(kind, items) of the request a command's call starts with, as a worker names it
        (client.request_kind)."""
        if isinstance(command, CancelOrder | CancelAllOrders):
            # a cancel-all is the emergency path and must not starve: charged as one cancel
            # (its reads and per-order cancels are not pre-charged; a 429 there is retried)
            return "cancel", 1
        if isinstance(command, PlaceOrder | AmendOrder):
            return "place", 1  # an amend prices as a place
        if isinstance(command, RestReadRequested):
            return "read", 1
        if isinstance(command, BatchCall):
            return command.action, len(command.commands)
        raise TypeError(f"no budget rule for {type(command).__name__}")

    def request_lane_cost(self, kind: str, items: int = 1) -> tuple[str, int]:
        """Lane and cost of one request of `kind` ("read" | "place" | "cancel"; an amend
        prices as a place) carrying `items` orders: the one pricing rule. A batch never costs
        more than its bucket holds (the gatherer caps batches so; a retry is clamped alike).
        Pure: a worker thread may ask it."""
        if kind == "read":
            return READ_LANE, self.default_cost
        lane = CANCEL_LANE if kind == "cancel" else WRITE_LANE
        return lane, min(self.item_cost(kind) * max(1, items), self._buckets[lane].capacity_tokens)

    # -- scheduling -----------------------------------------------------------------
    def submit(self, command: Any, now_ns: int) -> list:
        """Queue `command` behind its lane and send what the budget allows now."""
        lane, cost = self.lane_and_cost(command)
        self._next_job_id += 1
        job = Job(self._next_job_id, command, lane, cost)
        self._queues[lane].append(job)
        effects = self._pump(now_ns)
        if any(waiting is job for waiting in self._queues[lane]):
            self.queued_total += 1
        return effects

    def refill_due(self, now_ns: int) -> list:
        """The BudgetRefillDue armed by this scheduler came: send what is now paid for."""
        self._refill_deadline = None
        return self._pump(now_ns)

    def ask_attempt(self, job_id: int, lane: str, cost: int, not_before_ns: int, now_ns: int) -> list:
        """A running call needs one more request (a retry, a read-back, a page): it goes
        (GrantAttempt) once `not_before_ns` (its backoff) has come and the lane's bucket can
        pay it, ahead of the commands waiting in that lane (the call is older, and already
        holds its worker)."""
        if job_id not in self._running:
            return []
        cost = min(cost, self._buckets[lane].capacity_tokens)
        asks = self._asks[lane]
        asks.append(Ask(job_id, cost, not_before_ns))
        asks.sort(key=lambda ask: ask.not_before_ns)  # stable: asking order among equals
        return self._pump(now_ns)

    def hold_unanswered(self, lane: str, cost: int, now_ns: int) -> None:
        """A request timed out: the exchange may still charge it, any time now. Its cost is
        held out of the lane's bucket for `unanswered_hold_s` (on top of what it was charged
        when it left: then the exchange had not seen it yet)."""
        self._buckets[lane].hold(cost, now_ns, now_ns + max(1, self._hold_ns))

    def worker_freed(self, now_ns: int) -> list:
        """A call came back (after `finish`): with `max_in_flight`, a waiting call may start."""
        return self._pump(now_ns) if self.max_in_flight is not None else []

    def _worker_free(self, lane: str) -> bool:
        if self.max_in_flight is None:
            return True
        return len(self._running) < self.max_in_flight + (CANCEL_SPARE_WORKERS if lane == CANCEL_LANE else 0)

    def _ask_blocks(self, lane: str, now_ns: int) -> bool:
        """The lane's first ask is due and stops the lane until it is paid. Not while a hold
        keeps the bucket below its cost (a batch after a timeout): the lane's cheaper calls
        go meanwhile, or nothing would go until the hold ends."""
        asks = self._asks[lane]
        return bool(asks) and asks[0].not_before_ns <= now_ns and self._buckets[lane].fits(asks[0].cost, now_ns, self._keep[lane])

    def _pump(self, now_ns: int) -> list:
        """Send what the budget (and the workers) allow, lanes in priority order; within a
        lane the running calls' due requests first, then FIFO; wake when the first waiting
        head can be paid or a backoff ends (a timer already armed earlier stays). Waiting
        for a worker needs no timer: a call coming back pumps again."""
        effects: list = []
        for lane in LANES:
            queue, asks, bucket, keep = self._queues[lane], self._asks[lane], self._buckets[lane], self._keep[lane]
            while asks and asks[0].not_before_ns <= now_ns and bucket.try_take(asks[0].cost, now_ns, keep):
                effects.append(GrantAttempt(asks.pop(0).job_id))
            if self._ask_blocks(lane, now_ns):
                continue  # a due request of a running call goes before anything newer
            while queue and self._worker_free(lane) and bucket.try_take(queue[0].cost, now_ns, keep):
                job = queue.popleft()
                self._running[job.job_id] = job
                self.sent += 1
                effects.append(StartCall(job.job_id, job.command))
        waits: list[int] = []
        for lane in LANES:
            queue, asks, bucket, keep = self._queues[lane], self._asks[lane], self._buckets[lane], self._keep[lane]
            if asks:
                due_in = asks[0].not_before_ns - now_ns
                waits.append(due_in if due_in > 0 else bucket.ns_until(asks[0].cost, now_ns, keep))
                if self._ask_blocks(lane, now_ns):
                    continue  # the lane waits for it alone
            if queue and self._worker_free(lane):
                waits.append(bucket.ns_until(queue[0].cost, now_ns, keep))
        if not waits:
            return effects
        deadline = now_ns + max(1, min(waits))
        if self._refill_deadline is not None and self._refill_deadline <= deadline:
            return effects
        self._refill_deadline = deadline
        effects.append(ArmTimer(REFILL_TIMER, deadline, BudgetRefillDue(ts=deadline)))
        return effects

    def drop_queued_writes(self, ticker: str | None) -> list[PlaceOrder | AmendOrder]:
        """Take out the queued places and amends of `ticker` (None: every market), whole
        batches included, and return them in queue order. A batch that holds anything else
        stays queued."""
        kept: deque[Job] = deque()
        dropped: list[PlaceOrder | AmendOrder] = []
        for job in self._queues[WRITE_LANE]:
            cmd = job.command
            items = cmd.commands if isinstance(cmd, BatchCall) else (cmd,)
            if all(isinstance(c, PlaceOrder | AmendOrder) and ticker in (None, c.ticker) for c in items):
                dropped.extend(items)
            else:
                kept.append(job)
        self._queues[WRITE_LANE] = kept
        return dropped

    # -- calls in flight --------------------------------------------------------------
    def is_running(self, job_id: int) -> bool:
        return job_id in self._running

    def finish(self, job_id: int) -> Job | None:
        """The job whose call came back (None: not one of ours, or already finished)."""
        for lane, asks in self._asks.items():  # a call that ended asks for nothing more
            self._asks[lane] = [ask for ask in asks if ask.job_id != job_id]
        return self._running.pop(job_id, None)

    def forget_running(self) -> int:
        """Stopping: the calls in flight will never be handled. Returns how many."""
        count = len(self._running)
        self._running.clear()
        self._asks = {lane: [] for lane in LANES}
        return count

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def queued(self) -> dict[str, int]:
        return {lane: len(queue) for lane, queue in self._queues.items()}

    def tokens(self, now_ns: int) -> dict[str, int]:
        return {"read": self._buckets[READ_LANE].available(now_ns), "write": self._buckets[WRITE_LANE].available(now_ns)}
