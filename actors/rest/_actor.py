"""The REST client actor: rate budget, priority queues and a worker per blocking call.

Direction: commands come *down* (maker/risk -> PlaceOrder...; anyone -> RestReadRequested)
as tells; outcomes go *up* on the bus (OrderAccepted, OrderRejected, ...), and read
replies are told to `reply_to`. Nobody asks this actor for anything but get_status().

The blocking HTTP call runs on `executor` (a thread pool live; InlineExecutor in
replay). The worker never touches actor state: it posts RestCallFinished back to the
actor, which turns the result into events on its own thread.

Batches: places (or cancels) a maker decided together carry `batch`, the client ids of
the whole group. They pass the risk governor one by one (it sees and may refuse each);
here they are gathered until every id has arrived or been refused by risk, then sent as
one V2 batch create / batch cancel (chunked to what the write bucket holds at once; a
batch costs its per-item cost times the items). Per-item results come back as the usual
OrderAccepted / OrderCancelled / OrderRejected, one per item, in the group's order.
Hazard: a group whose last item never comes (its sender died) must not hold the others
for ever: after `batch_gather_ns` what has arrived is sent. Completion depends only on
message content, never on thread timing, so replays stay byte-for-byte repeatable.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any, Callable

from messages import (
    AllOrdersCancelled,
    AmendOrder,
    BudgetRefillDue,
    CancelAllOrders,
    CancelOrder,
    Message,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderRejected,
    PlaceOrder,
    RestReadCompleted,
    RestReadRequested,
    message,
    rejection_of,
)
from kernel.bus import post
from kernel.ids import CLIENT_ORDER_PREFIX
from kalshi.wire import WireFormatError

from actors._base import MmdActor, handles

from ._budget import TokenBucket
from ._client import (
    AmendedOrder,
    CancelAllResult,
    CancelledOrder,
    CreateItem,
    KalshiRestClient,
    OrderOutcomeUnknown,
    PlacedOrder,
    RestError,
)
from ._transport import TransportError

__all__ = ["RestClientActor", "RestCallFinished", "InlineExecutor"]

# Lanes in priority order. Cancels and creates share the write bucket, but a cancel is
# always served first: a queued create must never delay pulling a quote.
_CANCEL, _WRITE, _READ = "cancel", "write", "read"
_LANES = (_CANCEL, _WRITE, _READ)


class InlineExecutor(Executor):
    """Runs each submitted call synchronously in the caller (replay: deterministic)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed back through the future
            future.set_exception(exc)
        return future


@message
class RestCallFinished(Message):
    """A worker's result coming back to the REST actor (internal)."""

    job_id: int
    result: Any = None
    error: BaseException | None = None


@message
class RestBatch(Message):
    """Places, or cancels, of one market sent as one batch call (internal job command)."""

    commands: tuple


@message
class BatchGatherDue(Message):
    """Internal timer: a batch group has waited `batch_gather_ns` for its missing items."""

    ts: int


@dataclass(slots=True)
class _Gathering:
    started_ns: int
    items: dict[str, PlaceOrder | CancelOrder | None] = field(default_factory=dict)  # None: refused by risk


_FLUSHED_MEMORY = 1024  # groups remembered after sending, so a straggler goes alone


@dataclass(slots=True)
class _Job:
    job_id: int
    command: Message
    lane: str
    cost: int
    call: Callable[[], Any]  # closes over the client and the immutable command only


def _call(call: Callable[[], Any], job_id: int) -> RestCallFinished:
    try:
        return RestCallFinished(job_id=job_id, result=call())
    except Exception as exc:  # every failure goes back to the actor as data
        return RestCallFinished(job_id=job_id, error=exc)


def _run_on_worker(call: Callable[[], Any], job_id: int, actor_ref: Any, tracker: Any) -> None:
    """Worker thread body: do the blocking call, post the outcome. Touches no actor state."""
    post(actor_ref, _call(call, job_id), tracker)


def _query_dict(pairs: tuple[tuple[str, str], ...]) -> dict[str, str | list[str]]:
    """Query pairs to a dict; a repeated key becomes a list (a repeated URL parameter)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            out[key] = [*out[key], value] if isinstance(out[key], list) else [out[key], value]
        else:
            out[key] = value
    return out


def _rejection_source_and_code(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, RestError):
        return "exchange", exc.code
    if isinstance(exc, WireFormatError):
        return "exchange", "bad_response"
    if isinstance(exc, OrderOutcomeUnknown):
        return "transport", "outcome_unknown"
    if isinstance(exc, TransportError):
        return "transport", "transport_error"
    return "transport", "client_error"


class RestClientActor(MmdActor):
    def __init__(
        self,
        *,
        clock: Any,
        bus: Any,
        tracker: Any,
        client: KalshiRestClient,
        executor: Executor,
        read_rate: int,
        read_capacity: int,
        write_rate: int,
        write_capacity: int,
        default_cost: int = 10,
        cancel_cost: int = 2,
        batch_max_items: int = 20,
        batch_gather_ns: int = 2_000_000,
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        if default_cost > min(read_capacity, write_capacity) or cancel_cost > write_capacity:
            raise ValueError("a request cost exceeds a bucket's capacity: it could never be sent")
        self._client = client
        self._executor = executor
        self._buckets = {
            _CANCEL: TokenBucket(write_rate, write_capacity),
            _READ: TokenBucket(read_rate, read_capacity),
        }
        self._buckets[_WRITE] = self._buckets[_CANCEL]  # one write budget, two priorities
        self._default_cost = default_cost
        self._cancel_cost = cancel_cost
        self._queues: dict[str, deque[_Job]] = {lane: deque() for lane in _LANES}
        self._running: dict[int, _Job] = {}
        self._next_job_id = 0
        self._refill_timer: Any = None
        self._sent = 0
        self._completed = 0
        self._rejected = 0
        self._queued_total = 0
        self._batch_max_items = batch_max_items
        self._batch_gather_ns = batch_gather_ns
        self._gathering: dict[tuple, _Gathering] = {}  # (action, ticker, ids) -> group, in arrival order
        self._gather_of: dict[tuple[str, str], tuple] = {}  # (action, client id) -> its group
        self._flushed: deque[tuple] = deque()
        self._flushed_set: set[tuple] = set()
        self._gather_timer: Any = None
        self._batches_sent = 0
        self._batched_items = 0

    # -- commands -------------------------------------------------------------------
    @handles(PlaceOrder)
    def on_place_order(self, cmd: PlaceOrder) -> None:
        if self._gatherable("place", cmd):
            self._gather("place", cmd)
        else:
            self._send_place(cmd)

    def _send_place(self, cmd: PlaceOrder) -> None:
        client = self._client
        self._enqueue(
            cmd,
            _WRITE,
            self._default_cost,
            lambda: client.create_order(
                cmd.ticker,
                cmd.side,
                cmd.price,
                cmd.count,
                cmd.client_order_id,
                post_only=cmd.post_only,
                time_in_force=cmd.time_in_force,
                reduce_only=cmd.reduce_only,
            ),
        )

    @handles(AmendOrder)
    def on_amend_order(self, cmd: AmendOrder) -> None:
        client = self._client
        self._enqueue(
            cmd,
            _WRITE,
            self._default_cost,
            lambda: client.amend_order(
                cmd.order_id, cmd.ticker, cmd.side, cmd.price, cmd.count, cmd.client_order_id, cmd.updated_client_order_id
            ),
        )

    @handles(CancelOrder)
    def on_cancel_order(self, cmd: CancelOrder) -> None:
        if self._gatherable("cancel", cmd):
            self._gather("cancel", cmd)
        else:
            self._send_cancel(cmd)

    def _send_cancel(self, cmd: CancelOrder) -> None:
        client = self._client
        self._enqueue(cmd, _CANCEL, self._cancel_cost, lambda: client.cancel_order(cmd.order_id, cmd.ticker))

    @handles(CancelAllOrders)
    def on_cancel_all_orders(self, cmd: CancelAllOrders) -> None:
        # Charged as one cancel: this is the emergency path and must not starve. Its reads
        # and per-order cancels are not pre-charged; a 429 there is retried with backoff.
        self._drop_queued_writes(cmd.ticker, cmd.reason)
        self._settle_gathering(cmd.ticker, cmd.reason)
        client = self._client
        self._enqueue(
            cmd,
            _CANCEL,
            self._cancel_cost,
            lambda: client.cancel_all(cmd.ticker, client_order_prefix=CLIENT_ORDER_PREFIX),
        )

    def _drop_queued_writes(self, ticker: str | None, reason: str) -> None:
        """Hazard: a place or amend still waiting for write budget would go out after a
        cancel-all and rest untracked. Drop them; their senders hear a rejection."""
        now = self.clock.now_ns()
        kept: deque[_Job] = deque()
        for job in self._queues[_WRITE]:
            cmd = job.command
            items = cmd.commands if isinstance(cmd, RestBatch) else (cmd,)
            if all(isinstance(c, PlaceOrder | AmendOrder) and ticker in (None, c.ticker) for c in items):
                for item in items:
                    self._publish_dropped(item, reason, now)
            else:
                kept.append(job)
        self._queues[_WRITE] = kept

    def _publish_dropped(self, cmd: PlaceOrder | AmendOrder, reason: str, now: int) -> None:
        self.publish(
            rejection_of(
                cmd,
                source="client",  # never sent: the exchange knows nothing of it
                code="dropped_by_cancel_all",
                reason=f"not sent: cancel-all ({reason})",
                ts_recv=now,
            )
        )

    def _settle_gathering(self, ticker: str | None, reason: str) -> None:
        """A cancel-all: gathered places of that market are dropped like queued ones (they
        would rest untracked after it); gathered cancels go out now."""
        now = self.clock.now_ns()
        for key in [k for k in self._gathering if ticker in (None, k[1])]:
            if key[0] == "place":
                group = self._take_group(key)
                for cmd in group.items.values():
                    if isinstance(cmd, PlaceOrder):
                        self._publish_dropped(cmd, reason, now)
            else:
                self._flush(key)

    @handles(OrderRejected)
    def on_refused_upstream(self, refusal: OrderRejected) -> None:
        # The risk governor's refusals are published from here, so every outcome of a
        # command reaches listeners from one thread (deterministic in replay). A refusal
        # goes out at once: it may precede the outcome of an earlier command still
        # waiting for budget.
        self.publish(refusal)
        key = self._gather_of.get((refusal.action, refusal.client_order_id))
        if key is not None and key in self._gathering:
            self._gathering[key].items.setdefault(refusal.client_order_id, None)
            self._flush_if_complete(key)

    @handles(RestReadRequested)
    def on_rest_read_requested(self, cmd: RestReadRequested) -> None:
        client = self._client
        query = _query_dict(cmd.query)
        if cmd.all_pages:
            call = lambda: {cmd.list_key: client.get_all_pages(cmd.path, query, cmd.list_key)}  # noqa: E731
        else:
            call = lambda: client.get(cmd.path, query)  # noqa: E731
        self._enqueue(cmd, _READ, self._default_cost, call)

    # -- batch gathering --------------------------------------------------------------
    def _gatherable(self, action: str, cmd: PlaceOrder | CancelOrder) -> bool:
        return (
            len(cmd.batch) > 1
            and cmd.client_order_id in cmd.batch
            and (action, cmd.ticker, cmd.batch) not in self._flushed_set
        )

    def _gather(self, action: str, cmd: PlaceOrder | CancelOrder) -> None:
        key = (action, cmd.ticker, cmd.batch)
        group = self._gathering.get(key)
        if group is None:
            now = self.clock.now_ns()
            group = self._gathering[key] = _Gathering(started_ns=now)
            for client_order_id in cmd.batch:
                self._gather_of[(action, client_order_id)] = key
            if self._gather_timer is None:
                self._gather_timer = self.timer(self._batch_gather_ns, BatchGatherDue(ts=now + self._batch_gather_ns))
        group.items[cmd.client_order_id] = cmd
        self._flush_if_complete(key)

    def _flush_if_complete(self, key: tuple) -> None:
        if all(client_order_id in self._gathering[key].items for client_order_id in key[2]):
            self._flush(key)

    def _take_group(self, key: tuple) -> _Gathering:
        group = self._gathering.pop(key)
        for client_order_id in key[2]:
            self._gather_of.pop((key[0], client_order_id), None)
        self._flushed.append(key)
        self._flushed_set.add(key)
        if len(self._flushed) > _FLUSHED_MEMORY:
            self._flushed_set.discard(self._flushed.popleft())
        if not self._gathering:
            self.clock.cancel(self._gather_timer)
            self._gather_timer = None
        return group

    def _flush(self, key: tuple) -> None:
        """Send a group's arrived items (in the group's order) as batches."""
        group = self._take_group(key)
        commands = [group.items[i] for i in key[2] if group.items.get(i) is not None]
        single = self._send_place if key[0] == "place" else self._send_cancel
        per_item = self._default_cost if key[0] == "place" else self._cancel_cost
        # the whole batch must fit the write bucket at once, or it could never be sent
        most = max(1, min(self._batch_max_items, self._buckets[_WRITE].capacity_tokens // per_item))
        for start in range(0, len(commands), most):
            chunk = commands[start : start + most]
            if len(chunk) == 1:
                single(chunk[0])  # type: ignore[arg-type]
            else:
                self._send_batch(key[0], tuple(chunk), per_item)

    def _send_batch(self, action: str, commands: tuple, per_item: int) -> None:
        client = self._client
        self._batches_sent += 1
        self._batched_items += len(commands)
        if action == "place":
            items = [
                CreateItem(
                    c.ticker, c.side, c.price, c.count, c.client_order_id,
                    post_only=c.post_only, time_in_force=c.time_in_force, reduce_only=c.reduce_only,
                )  # fmt: skip
                for c in commands
            ]
            self._enqueue(RestBatch(commands=commands), _WRITE, per_item * len(commands), lambda: client.batch_create(items))
        else:
            pairs = [(c.order_id, c.ticker) for c in commands]
            self._enqueue(RestBatch(commands=commands), _CANCEL, per_item * len(commands), lambda: client.batch_cancel(pairs))

    @handles(BatchGatherDue)
    def on_batch_gather_due(self, _msg: BatchGatherDue) -> None:
        self._gather_timer = None
        now = self.clock.now_ns()
        for key in [k for k, g in self._gathering.items() if now >= g.started_ns + self._batch_gather_ns]:
            self._flush(key)
        if self._gathering:
            deadline = min(g.started_ns for g in self._gathering.values()) + self._batch_gather_ns
            self._gather_timer = self.timer(max(1, deadline - now), BatchGatherDue(ts=deadline))

    @handles(BudgetRefillDue)
    def on_budget_refill_due(self, _msg: BudgetRefillDue) -> None:
        self._refill_timer = None
        self._pump()

    # -- budget and queues ----------------------------------------------------------
    def _enqueue(self, cmd: Message, lane: str, cost: int, call: Callable[[], Any]) -> None:
        self._next_job_id += 1
        job = _Job(self._next_job_id, cmd, lane, cost, call)
        self._queues[lane].append(job)
        self._pump()
        if any(waiting is job for waiting in self._queues[lane]):
            self._queued_total += 1  # had to wait for budget (or behind higher priority)

    def _pump(self) -> None:
        """Send what the budget allows, lanes in priority order, FIFO within a lane."""
        now = self.clock.now_ns()
        for lane in _LANES:
            queue, bucket = self._queues[lane], self._buckets[lane]
            while queue and bucket.try_take(queue[0].cost, now):
                self._start_job(queue.popleft())
        waits = [self._buckets[lane].ns_until(q[0].cost, now) for lane, q in self._queues.items() if q]
        if not waits:
            return
        deadline = now + max(1, min(waits))
        if self._refill_timer is not None and self._refill_timer.deadline_ns <= deadline:
            return
        self.clock.cancel(self._refill_timer)
        self._refill_timer = self.timer(deadline - now, BudgetRefillDue(ts=deadline))

    def _start_job(self, job: _Job) -> None:
        self._running[job.job_id] = job
        self._sent += 1
        if self.tracker is not None:
            # the HTTP call counts as in flight until its result is handled, so "quiet"
            # also means no request is outstanding (released in on_rest_call_finished)
            self.tracker.sent()
        if isinstance(self._executor, InlineExecutor):
            # Replay: handle the outcome now, on this thread. Posted back to the inbox, it
            # could be overtaken by a message from another actor (e.g. a risk refusal),
            # and the order of published outcomes would depend on thread timing.
            self.on_rest_call_finished(_call(job.call, job.job_id))
            return
        self._executor.submit(_run_on_worker, job.call, job.job_id, self.actor_ref, self.tracker)

    # -- outcomes -------------------------------------------------------------------
    @handles(RestCallFinished)
    def on_rest_call_finished(self, done: RestCallFinished) -> None:
        job = self._running.pop(done.job_id, None)
        if job is None:
            self.errors["unknown_job"] += 1
            return
        if self.tracker is not None:
            self.tracker.done()
        self._completed += 1
        now = self.clock.now_ns()
        cmd = job.command
        if isinstance(cmd, RestReadRequested):
            self.send(cmd.reply_to, self._read_completed(cmd, done, now))
            return
        if isinstance(cmd, CancelAllOrders):
            self.publish(self._all_cancelled(cmd, done, now))
            return
        if isinstance(cmd, RestBatch):
            self._batch_finished(cmd, done, now)
            return
        if done.error is not None:
            self._rejected += 1
            if not isinstance(done.error, RestError | TransportError | OrderOutcomeUnknown | WireFormatError):
                self.log.error("REST call failed unexpectedly", exc_info=done.error)
            self.publish(self._order_rejected(cmd, done.error, now))
        elif isinstance(cmd, PlaceOrder):
            self.publish(self._order_accepted(cmd, done.result, now))
        elif isinstance(cmd, AmendOrder):
            self.publish(self._order_amended(cmd, done.result, now))
        elif isinstance(cmd, CancelOrder):
            self.publish(self._order_cancelled(cmd, done.result, now))

    def _batch_finished(self, batch: RestBatch, done: RestCallFinished, now: int) -> None:
        """One event per item, in the batch's order."""
        if done.error is not None:
            if not isinstance(done.error, RestError | TransportError | OrderOutcomeUnknown | WireFormatError):
                self.log.error("REST batch call failed unexpectedly", exc_info=done.error)
            results: list = [done.error] * len(batch.commands)
        else:
            results = list(done.result)
        for cmd, result in zip(batch.commands, results):
            if isinstance(result, BaseException):
                self._rejected += 1
                self.publish(self._order_rejected(cmd, result, now))
            elif isinstance(cmd, PlaceOrder):
                self.publish(self._order_accepted(cmd, result, now))
            else:
                self.publish(self._order_cancelled(cmd, result, now))

    @staticmethod
    def _order_accepted(cmd: PlaceOrder, placed: PlacedOrder, now: int) -> OrderAccepted:
        return OrderAccepted(
            client_order_id=cmd.client_order_id,
            order_id=placed.order_id,
            ticker=cmd.ticker,
            side=cmd.side,
            price=cmd.price,
            count=cmd.count,
            filled=placed.filled,
            remaining=placed.remaining,
            ts_event=placed.ts_event if placed.ts_event is not None else now,
            ts_recv=now,
            session_id=cmd.session_id,
        )

    @staticmethod
    def _order_amended(cmd: AmendOrder, amended: AmendedOrder, now: int) -> OrderAmended:
        return OrderAmended(
            order_id=amended.order_id,
            client_order_id=amended.client_order_id,
            previous_client_order_id=cmd.client_order_id,
            ticker=cmd.ticker,
            side=cmd.side,
            price=cmd.price,
            count=cmd.count,
            filled=amended.filled,
            remaining=amended.remaining,
            ts_event=amended.ts_event if amended.ts_event is not None else now,
            ts_recv=now,
            session_id=cmd.session_id,
        )

    @staticmethod
    def _order_cancelled(cmd: CancelOrder, cancelled: CancelledOrder, now: int) -> OrderCancelled:
        return OrderCancelled(
            order_id=cancelled.order_id,
            client_order_id=cmd.client_order_id or cancelled.client_order_id,
            ticker=cmd.ticker,
            reduced_by=cancelled.reduced_by,
            reason=cmd.reason,
            ts_event=cancelled.ts_event if cancelled.ts_event is not None else now,
            ts_recv=now,
            session_id=cmd.session_id,
        )

    @staticmethod
    def _order_rejected(cmd: PlaceOrder | AmendOrder | CancelOrder, exc: BaseException, now: int) -> OrderRejected:
        source, code = _rejection_source_and_code(exc)
        return rejection_of(cmd, source=source, code=code, reason=str(exc), ts_recv=now)

    @staticmethod
    def _all_cancelled(cmd: CancelAllOrders, done: RestCallFinished, now: int) -> AllOrdersCancelled:
        if done.error is not None:
            # still_resting = -1: not confirmed (the resting orders could not be read back)
            return AllOrdersCancelled(
                reason=f"{cmd.reason}; not confirmed: {done.error}",
                cancelled=0,
                still_resting=-1,
                ts_recv=now,
                ticker=cmd.ticker,
            )
        result: CancelAllResult = done.result
        return AllOrdersCancelled(
            reason=cmd.reason,
            cancelled=result.cancelled,
            still_resting=result.still_resting,
            ts_recv=now,
            ticker=cmd.ticker,
        )

    @staticmethod
    def _read_completed(cmd: RestReadRequested, done: RestCallFinished, now: int) -> RestReadCompleted:
        exc = done.error
        if exc is None:
            status, body, error = 200, done.result, ""
        elif isinstance(exc, RestError):
            status, body, error = exc.status, exc.body, str(exc)
        else:
            status, body, error = 0, None, f"{type(exc).__name__}: {exc}"
        return RestReadCompleted(
            request_id=cmd.request_id, path=cmd.path, status=status, body=body, error=error, ts_recv=now
        )

    # -- status (ask / proxy) ---------------------------------------------------------
    def get_status(self) -> dict[str, Any]:
        now = self.clock.now_ns()
        client_stats = self._client.stats()
        return {
            "sent": self._sent,
            "completed": self._completed,
            "rejected": self._rejected,
            "retried": client_stats["retries"],
            "http_requests": client_stats["requests"],
            "in_flight": len(self._running),
            "queued": {lane: len(queue) for lane, queue in self._queues.items()},
            "queued_total": self._queued_total,
            "batches_sent": self._batches_sent,
            "batched_items": self._batched_items,
            "gathering": sum(len(g.items) for g in self._gathering.values()),
            "tokens": {
                "read": self._buckets[_READ].available(now),
                "write": self._buckets[_WRITE].available(now),
            },
            "errors": dict(self.errors),
        }

    def on_stop(self) -> None:
        self.clock.cancel(self._refill_timer)
        self.clock.cancel(self._gather_timer)
        if self.tracker is not None and self._running:
            self.tracker.done(len(self._running))  # their results will never be handled
        self._running.clear()
