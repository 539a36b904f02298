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

Live hazards (both off by default, as in a replay, where calls run inline at once):
- the exchange charges a request when it arrives; our buckets have its rate and capacity,
  so a request sent the instant ours can pay it arrives short whenever it travelled faster
  than the one before it (a few ms of jitter: a 429 we caused). `headroom_s` keeps that
  many seconds of refill in each bucket unspent;
- the client retries a 429, 5xx or timeout on its own (`charge_retry` charges it after),
  and an attempt that timed out may be acted on, and charged, even after its retry
  (charged once more after, per attempt left unanswered);
- a call started while every HTTP worker is busy waits for one, already charged here but
  not yet at the exchange, for as long as a slow answer holds the workers; then the queue
  arrives at once. With `max_in_flight` (the worker count) a call starts, and is charged,
  only when a worker is free; the lanes' priority then also holds for calls waiting on a
  worker (a cancel goes before queued creates);
- slow answers can hold every worker for the whole REST timeout: the cancel lane has one
  worker more (`max_in_flight + 1` calls at once when one is a cancel; the executor has as
  many threads), so pulling a quote never waits for a slow place or amend.
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
from ._effects import StartCall

__all__ = ["RestScheduler", "Job", "CANCEL_LANE", "WRITE_LANE", "READ_LANE", "LANES", "REFILL_TIMER"]

CANCEL_LANE, WRITE_LANE, READ_LANE = "cancel", "write", "read"
LANES = (CANCEL_LANE, WRITE_LANE, READ_LANE)
REFILL_TIMER = "budget_refill"


@dataclass(slots=True)
class Job:
    job_id: int
    command: Any  # PlaceOrder | AmendOrder | CancelOrder | CancelAllOrders | RestReadRequested | BatchCall
    lane: str
    cost: int


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
        if isinstance(command, CancelOrder | CancelAllOrders):
            # a cancel-all is the emergency path and must not starve: charged as one cancel
            # (its reads and per-order cancels are not pre-charged; a 429 there is retried)
            return CANCEL_LANE, self.cancel_cost
        if isinstance(command, PlaceOrder | AmendOrder):
            return WRITE_LANE, self.default_cost
        if isinstance(command, RestReadRequested):
            return READ_LANE, self.default_cost
        if isinstance(command, BatchCall):
            lane = WRITE_LANE if command.action == "place" else CANCEL_LANE
            return lane, self.item_cost(command.action) * len(command.commands)
        raise TypeError(f"no budget rule for {type(command).__name__}")

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

    def charge_retry(self, job: Job, now_ns: int) -> None:
        """The client retried the job's call (a 429, 5xx or timeout), outside this budget:
        the exchange charged the retry when it went through, after our bucket had refilled
        what the first attempt cost (a refused attempt costs nothing there). Hazard: left
        uncharged, the retries that follow a 429 burst arrive together and the writes sent
        next find the exchange's bucket short. Charged once, now, as debt (the bucket may go
        below zero): what is sent next waits for it."""
        self._buckets[job.lane].charge(job.cost, now_ns)

    def worker_freed(self, now_ns: int) -> list:
        """A call came back (after `finish`): with `max_in_flight`, a waiting call may start."""
        return self._pump(now_ns) if self.max_in_flight is not None else []

    def _worker_free(self, lane: str) -> bool:
        if self.max_in_flight is None:
            return True
        return len(self._running) < self.max_in_flight + (1 if lane == CANCEL_LANE else 0)

    def _pump(self, now_ns: int) -> list:
        """Send what the budget (and the workers) allow, lanes in priority order, FIFO within
        a lane; wake when the first waiting head can be paid (a timer already armed earlier
        stays). Waiting for a worker needs no timer: a call coming back pumps again."""
        effects: list = []
        for lane in LANES:
            queue, bucket, keep = self._queues[lane], self._buckets[lane], self._keep[lane]
            while queue and self._worker_free(lane) and bucket.try_take(queue[0].cost, now_ns, keep):
                job = queue.popleft()
                self._running[job.job_id] = job
                self.sent += 1
                effects.append(StartCall(job.job_id, job.command))
        waits = [self._buckets[lane].ns_until(q[0].cost, now_ns, self._keep[lane])
                 for lane, q in self._queues.items() if q and self._worker_free(lane)]
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
        return self._running.pop(job_id, None)

    def forget_running(self) -> int:
        """Stopping: the calls in flight will never be handled. Returns how many."""
        count = len(self._running)
        self._running.clear()
        return count

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def queued(self) -> dict[str, int]:
        return {lane: len(queue) for lane, queue in self._queues.items()}

    def tokens(self, now_ns: int) -> dict[str, int]:
        return {"read": self._buckets[READ_LANE].available(now_ns), "write": self._buckets[WRITE_LANE].available(now_ns)}
