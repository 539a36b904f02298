"""Which blocking client call each command stands for, and where it runs.

The call runs on `executor`: a thread pool live, InlineExecutor in replay. A worker never
touches actor state: it posts RestCallFinished back to the actor's inbox; live, each request
of the call beyond the one its start paid for is asked of the actor's budget (AttemptAsked)
and waited for (WorkerBudget), and a request that timed out is told (AttemptUnanswered).
"""

from __future__ import annotations

import threading
from concurrent.futures import Executor, Future
from typing import Any, Callable

from kernel.bus import post
from kernel.ids import CLIENT_ORDER_PREFIX
from messages import (
    AmendOrder,
    CancelAllOrders,
    CancelOrder,
    Message,
    PlaceOrder,
    RestReadRequested,
    message,
)

from ._batches import BatchCall
from ._client import CreateItem, KalshiRestClient

__all__ = [
    "InlineExecutor", "RestCallFinished", "AttemptAsked", "AttemptUnanswered", "AttemptNotGranted", "WorkerBudget",
    "call_for", "finished_call", "run_on_worker", "query_dict",
]  # fmt: skip

GRANT_WAIT_S = 120.0  # longer than any backoff plus any budget wait: past it, the actor is gone or wedged


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
class AttemptAsked(Message):
    """A running call's worker asks the budget for one more request (internal)."""

    job_id: int
    kind: str  # "read" | "place" | "cancel" (client.request_kind)
    items: int
    backoff_ns: int  # wait this long first (the retry's backoff)


@message
class AttemptUnanswered(Message):
    """A request of a running call timed out: the exchange may still charge it (internal)."""

    job_id: int
    kind: str
    items: int


class AttemptNotGranted(Exception):
    """The REST actor stopped (or never answered) while a call waited for its budget."""


class WorkerBudget:
    """One call's AttemptBudget on its worker thread. Its first request was paid when the
    call started (StartCall; `prepaid`: that lane and cost) and goes at once if it is the
    request the start priced; every other request posts AttemptAsked and waits for the
    actor's GrantAttempt (`grant`, from the actor's thread)."""

    def __init__(self, job_id: int, prepaid: tuple[str, int], lane_cost: Callable[[str, int], tuple[str, int]],
                 actor_ref: Any, tracker: Any, grant_wait_s: float = GRANT_WAIT_S) -> None:
        self.job_id = job_id
        self._prepaid: tuple[str, int] | None = prepaid
        self._lane_cost = lane_cost  # pure (RestScheduler.request_lane_cost)
        self._actor_ref = actor_ref
        self._tracker = tracker
        self._grant_wait_s = grant_wait_s
        self._granted = threading.Event()
        self._stopped = False

    def before(self, kind: str, items: int, backoff_s: float) -> None:
        prepaid, self._prepaid = self._prepaid, None
        if prepaid is not None and backoff_s <= 0 and self._lane_cost(kind, items) == prepaid:
            return
        self._granted.clear()
        if self._stopped:  # checked after the clear: a stop() just before it set the event cleared
            raise AttemptNotGranted("the REST actor stopped")
        asked = AttemptAsked(job_id=self.job_id, kind=kind, items=items, backoff_ns=max(0, round(backoff_s * 1e9)))
        if not post(self._actor_ref, asked, self._tracker):
            raise AttemptNotGranted("the REST actor is gone")
        if not self._granted.wait(self._grant_wait_s) or self._stopped:  # a stop() from now on sets it
            raise AttemptNotGranted(f"no budget granted for job {self.job_id}")

    def unanswered(self, kind: str, items: int) -> None:
        post(self._actor_ref, AttemptUnanswered(job_id=self.job_id, kind=kind, items=items), self._tracker)

    # -- from the actor's thread --------------------------------------------------------
    def grant(self) -> None:
        self._granted.set()

    def stop(self) -> None:
        """The actor stops: a request waiting for its grant fails (AttemptNotGranted)."""
        self._stopped = True
        self._granted.set()


def finished_call(call: Callable[[], Any], job_id: int) -> RestCallFinished:
    """Run the call; every failure comes back as data."""
    try:
        result = call()
    except Exception as exc:  # every failure goes back to the actor as data
        return RestCallFinished(job_id=job_id, error=exc)
    return RestCallFinished(job_id=job_id, result=result)


def run_on_worker(
    call: Callable[[], Any], job_id: int, actor_ref: Any, tracker: Any, client: Any = None, budget: Any = None
) -> None:
    """Worker thread body: do the blocking call (its requests paid by `budget` through
    `client`), post the outcome. Touches no actor state."""
    if budget is None:
        post(actor_ref, finished_call(call, job_id), tracker)
        return
    with client.paid_by(budget):
        finished = finished_call(call, job_id)
    post(actor_ref, finished, tracker)


def query_dict(pairs: tuple[tuple[str, str], ...]) -> dict[str, str | list[str]]:
    """Query pairs to a dict; a repeated key becomes a list (a repeated URL parameter)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            out[key] = [*out[key], value] if isinstance(out[key], list) else [out[key], value]
        else:
            out[key] = value
    return out


def _create_item(cmd: PlaceOrder) -> CreateItem:
    return CreateItem(
        cmd.ticker, cmd.side, cmd.price, cmd.count, cmd.client_order_id,
        post_only=cmd.post_only, time_in_force=cmd.time_in_force, reduce_only=cmd.reduce_only,
    )  # fmt: skip


def call_for(client: KalshiRestClient, cmd: Any) -> Callable[[], Any]:
    """The blocking call for `cmd`; it closes over the client and the immutable command only."""
    if isinstance(cmd, PlaceOrder):
        return lambda: client.create_order(
            cmd.ticker, cmd.side, cmd.price, cmd.count, cmd.client_order_id,
            post_only=cmd.post_only, time_in_force=cmd.time_in_force, reduce_only=cmd.reduce_only,
        )  # fmt: skip
    if isinstance(cmd, AmendOrder):
        return lambda: client.amend_order(
            cmd.order_id, cmd.ticker, cmd.side, cmd.price, cmd.count, cmd.client_order_id, cmd.updated_client_order_id
        )
    if isinstance(cmd, CancelOrder):
        return lambda: client.cancel_order(cmd.order_id, cmd.ticker)
    if isinstance(cmd, CancelAllOrders):
        return lambda: client.cancel_all(cmd.ticker, client_order_prefix=CLIENT_ORDER_PREFIX)
    if isinstance(cmd, BatchCall):
        if cmd.action == "place":
            items = [_create_item(c) for c in cmd.commands]
            return lambda: client.batch_create(items)
        pairs = [(c.order_id, c.ticker) for c in cmd.commands]
        return lambda: client.batch_cancel(pairs)
    if isinstance(cmd, RestReadRequested):
        query = query_dict(cmd.query)
        if cmd.all_pages:
            return lambda: {cmd.list_key: client.get_all_pages(cmd.path, query, cmd.list_key)}
        return lambda: client.get(cmd.path, query)
    raise TypeError(f"no REST call for {type(cmd).__name__}")
