"""Which blocking client call each command stands for, and where it runs.

The call runs on `executor`: a thread pool live, InlineExecutor in replay. A worker never
touches actor state: it posts RestCallFinished back to the actor's inbox.
"""

from __future__ import annotations

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

__all__ = ["InlineExecutor", "RestCallFinished", "call_for", "finished_call", "run_on_worker", "query_dict"]


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
    recharges: int = 0  # times the exchange may charge it beyond its start (KalshiRestClient.recharges_on_this_thread)


def _no_recharges() -> int:
    return 0


def finished_call(call: Callable[[], Any], job_id: int, recharges: Callable[[], int] = _no_recharges) -> RestCallFinished:
    """Run the call; `recharges` (on this thread, after it) says how often the exchange may
    charge it again (retries, attempts left unanswered)."""
    try:
        result = call()
    except Exception as exc:  # every failure goes back to the actor as data
        return RestCallFinished(job_id=job_id, error=exc, recharges=recharges())
    return RestCallFinished(job_id=job_id, result=result, recharges=recharges())


def run_on_worker(
    call: Callable[[], Any], job_id: int, actor_ref: Any, tracker: Any, recharges: Callable[[], int] = _no_recharges
) -> None:
    """Worker thread body: do the blocking call, post the outcome. Touches no actor state."""
    post(actor_ref, finished_call(call, job_id, recharges), tracker)


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
