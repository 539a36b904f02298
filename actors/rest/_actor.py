"""The REST client actor: a thin shell around RestCore (budget, batches, outcomes).

Commands come in as tells (nobody asks this actor for anything but get_status()); the
core's effects go out: StartCall runs the blocking HTTP call on `executor` (a thread pool
live: the worker posts RestCallFinished back to the inbox; InlineExecutor in replay: the
result is handled at once; live, each further request of a running call waits for the
budget's grant, see WorkerBudget), events are published, a read's reply is sent to the reader
its request names (`reply_to`, a role name the `readers` directory resolves). A reply
whose reader has stopped meanwhile (a maker whose session ended) is counted and dropped.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

from actors._base import MmdActor, handles
from kernel.directory import Directory
from kernel.effects import Send
from messages import AmendOrder, BudgetRefillDue, CancelAllOrders, CancelOrder, OrderRejected, PlaceOrder, RestReadRequested

from ._batches import GATHER_TIMER, BatchCall, BatchGatherDue
from ._calls import AttemptAsked, AttemptUnanswered, InlineExecutor, RestCallFinished, WorkerBudget
from ._calls import call_for, finished_call, run_on_worker
from ._client import KalshiRestClient
from ._core import RestCore
from ._effects import GrantAttempt, ReportFailure, StartCall
from ._scheduler import REFILL_TIMER

__all__ = ["RestClientActor", "RestCallFinished", "InlineExecutor", "BatchGatherDue", "BatchCall"]


class RestClientActor(MmdActor):
    def __init__(
        self,
        *,
        clock: Any,
        bus: Any,
        tracker: Any,
        client: KalshiRestClient,
        executor: Executor,
        readers: Directory | None = None,
        **core_terms: Any,  # RestCore's: rates, capacities, costs, batches, the live hazards' terms
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self._client = client
        self._readers = readers if readers is not None else Directory()  # role name -> reader ref
        self._executor = executor
        self._core = RestCore(**core_terms)
        self._budgets: dict[int, WorkerBudget] = {}  # live: job id -> its worker's budget

    # -- messages in ----------------------------------------------------------------
    @handles(PlaceOrder, AmendOrder, CancelOrder, CancelAllOrders, RestReadRequested)
    def on_command(self, command: Any) -> None:
        self.carry_out(self._core.on_command(command, self.clock.now_ns()))

    @handles(OrderRejected)
    def on_refused_upstream(self, refusal: OrderRejected) -> None:
        self.carry_out(self._core.on_refusal(refusal, self.clock.now_ns()))

    @handles(BatchGatherDue)
    def on_batch_gather_due(self, due: BatchGatherDue) -> None:
        if self.timers.fired(GATHER_TIMER, due):
            self.carry_out(self._core.on_gather_due(self.clock.now_ns()))

    @handles(BudgetRefillDue)
    def on_budget_refill_due(self, due: BudgetRefillDue) -> None:
        if self.timers.fired(REFILL_TIMER, due):
            self.carry_out(self._core.on_refill_due(self.clock.now_ns()))

    @handles(RestCallFinished)
    def on_rest_call_finished(self, done: RestCallFinished) -> None:
        if not self._core.knows_job(done.job_id):
            self.errors["unknown_job"] += 1
            return
        if self.tracker is not None:
            self.tracker.done()  # the call itself was in flight (counted in _start_call)
        self._budgets.pop(done.job_id, None)
        self.carry_out(self._core.on_call_finished(done.job_id, done.result, done.error, self.clock.now_ns()))

    @handles(AttemptAsked)
    def on_attempt_asked(self, asked: AttemptAsked) -> None:
        self.carry_out(self._core.on_attempt_asked(asked, self.clock.now_ns()))

    @handles(AttemptUnanswered)
    def on_attempt_unanswered(self, unanswered: AttemptUnanswered) -> None:
        self.carry_out(self._core.on_attempt_unanswered(unanswered, self.clock.now_ns()))

    # -- effects out ----------------------------------------------------------------
    def route(self, name: str) -> Any:
        return self._readers.resolve(name)  # a read's reply: Send(to=request.reply_to)

    def on_undelivered(self, effect: Send) -> None:
        # the reader stopped before its reply came (a maker whose session ended): not fatal
        self.errors["reply_reader_gone"] += 1
        self.log.info("reply %s dropped: reader %r is gone", type(effect.message).__name__, effect.to)

    def on_effect(self, effect: Any) -> None:
        if isinstance(effect, StartCall):
            self._start_call(effect)
        elif isinstance(effect, GrantAttempt):
            budget = self._budgets.get(effect.job_id)
            if budget is not None:
                budget.grant()
        elif isinstance(effect, ReportFailure):
            self.log.error(effect.what, exc_info=effect.error)
        else:
            super().on_effect(effect)

    def _start_call(self, start: StartCall) -> None:
        call = call_for(self._client, start.command)
        if self.tracker is not None:
            # the HTTP call counts as in flight until its result is handled, so "quiet"
            # also means no request is outstanding (released in on_rest_call_finished)
            self.tracker.sent()
        if isinstance(self._executor, InlineExecutor):
            # Replay: handle the outcome now, on this thread. Posted back to the inbox, it
            # could be overtaken by a message from another actor (e.g. a risk refusal),
            # and the order of published outcomes would depend on thread timing.
            self.on_rest_call_finished(finished_call(call, start.job_id))
            return
        budget = WorkerBudget(start.job_id, *self._core.worker_pricing(start.command), self.actor_ref, self.tracker)
        self._budgets[start.job_id] = budget
        self._executor.submit(run_on_worker, call, start.job_id, self.actor_ref, self.tracker, self._client, budget)

    # -- status (ask / proxy) ---------------------------------------------------------
    def get_status(self) -> dict[str, Any]:
        return {**self._core.status(self.clock.now_ns(), self._client.stats()), "errors": dict(self.errors)}

    def on_stop(self) -> None:
        self.timers.cancel_all()
        for budget in self._budgets.values():
            budget.stop()  # a worker waiting for its grant gives up
        self._budgets.clear()
        in_flight = self._core.stop()
        if self.tracker is not None and in_flight:
            self.tracker.done(in_flight)  # their results will never be handled
