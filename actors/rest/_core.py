"""RestCore: the REST client's decisions, plain and synchronous.

Direction: commands come *down* (maker/risk -> PlaceOrder...; anyone -> RestReadRequested);
outcomes go *up* on the bus (OrderAccepted, OrderRejected, ...), read replies to the
reader the request names. Given a message and the time, the core returns effects in the
order they must happen: StartCall (the shell runs the HTTP call and hands the result back
through `on_call_finished`; the RequestSent events of its requests are published just before
it), GrantAttempt (a running call's further request may go), Publish, Send (a read's reply,
to the role name in its `reply_to`), ReportFailure, ArmTimer / CancelTimer.

It puts together the rate budget (RestScheduler), batch gathering (BatchGatherer) and
outcome translation (outcome_effects).
"""

from __future__ import annotations

from typing import Any

from kernel.effects import Publish
from messages import CancelAllOrders, CancelOrder, OrderRejected, PlaceOrder

from ._batches import BatchGatherer, DropPlace, SendNow
from ._calls import AttemptAsked, AttemptUnanswered
from ._effects import StartCall
from ._outcomes import dropped_by_cancel_all, outcome_effects, requests_sent
from ._scheduler import RestScheduler

__all__ = ["RestCore"]


class RestCore:
    def __init__(
        self,
        *,
        read_rate: int,
        read_capacity: int,
        write_rate: int,
        write_capacity: int,
        default_cost: int = 10,
        cancel_cost: int = 2,
        batch_max_items: int = 20,
        batch_gather_ns: int = 2_000_000,
        headroom_s: float = 0.0,
        max_in_flight: int | None = None,
        unanswered_hold_s: float = 0.0,
    ) -> None:
        self.scheduler = RestScheduler(
            read_rate=read_rate,
            read_capacity=read_capacity,
            write_rate=write_rate,
            write_capacity=write_capacity,
            default_cost=default_cost,
            cancel_cost=cancel_cost,
            headroom_s=headroom_s,
            max_in_flight=max_in_flight,
            unanswered_hold_s=unanswered_hold_s,
        )
        # the whole batch must fit the write bucket at once, or it could never be sent
        max_items = {
            action: max(1, min(batch_max_items, self.scheduler.write_capacity // self.scheduler.item_cost(action)))
            for action in ("place", "cancel")
        }
        self.gatherer = BatchGatherer(gather_ns=batch_gather_ns, max_items=max_items)
        self.completed = 0
        self.rejected = 0

    # -- commands -------------------------------------------------------------------
    def on_command(self, command: Any, now_ns: int) -> list:
        """PlaceOrder, AmendOrder, CancelOrder, CancelAllOrders or RestReadRequested."""
        if isinstance(command, CancelAllOrders):
            return self._announced(self._cancel_all(command, now_ns), now_ns)
        if isinstance(command, PlaceOrder | CancelOrder):
            action = "place" if isinstance(command, PlaceOrder) else "cancel"
            if self.gatherer.takes(action, command):
                return self._announced(self._carry(self.gatherer.gather(action, command, now_ns), now_ns), now_ns)
        return self._announced(self.scheduler.submit(command, now_ns), now_ns)

    def _cancel_all(self, command: CancelAllOrders, now_ns: int) -> list:
        # Hazard: a place or amend still waiting for write budget (or gathered) would go
        # out after the cancel-all and rest untracked. Drop them; their senders hear a
        # rejection. Gathered cancels go out now.
        dropped = self.scheduler.drop_queued_writes(command.ticker)
        effects: list = [Publish(dropped_by_cancel_all(cmd, command.reason, now_ns)) for cmd in dropped]
        effects += self._carry(self.gatherer.settle_for_cancel_all(command.ticker), now_ns, command.reason)
        return effects + self.scheduler.submit(command, now_ns)

    def on_refusal(self, refusal: OrderRejected, now_ns: int) -> list:
        """The risk governor refused a command. Its refusal is published from here, so
        every outcome of a command reaches listeners from one actor (deterministic in
        replay); it goes out at once, maybe ahead of an earlier command's outcome."""
        effects: list = [Publish(refusal)]
        return self._announced(effects + self._carry(self.gatherer.refused(refusal.action, refusal.client_order_id), now_ns), now_ns)

    # -- timers ---------------------------------------------------------------------
    def on_gather_due(self, now_ns: int) -> list:
        return self._announced(self._carry(self.gatherer.due(now_ns), now_ns), now_ns)

    def on_refill_due(self, now_ns: int) -> list:
        return self._announced(self.scheduler.refill_due(now_ns), now_ns)

    # -- results --------------------------------------------------------------------
    def knows_job(self, job_id: int) -> bool:
        return self.scheduler.is_running(job_id)

    def on_attempt_asked(self, asked: AttemptAsked, now_ns: int) -> list:
        """A running call needs one more request (see RestScheduler.ask_attempt): it is
        granted (GrantAttempt) when its backoff (counted from now) has passed and the
        budget pays for it."""
        lane, cost = self.scheduler.request_lane_cost(asked.kind, asked.items)
        return self._announced(self.scheduler.ask_attempt(asked.job_id, lane, cost, now_ns + asked.backoff_ns, now_ns), now_ns)

    def on_attempt_unanswered(self, unanswered: AttemptUnanswered, now_ns: int) -> list:
        """A request timed out; the exchange may still charge it (RestScheduler.hold_unanswered)."""
        lane, cost = self.scheduler.request_lane_cost(unanswered.kind, unanswered.items)
        self.scheduler.hold_unanswered(lane, cost, now_ns)
        return []

    def worker_pricing(self, command: Any) -> tuple[tuple[str, int], Any]:
        """What a live call's worker needs to price its requests (WorkerBudget): the lane and
        cost its start paid, and the pure pricing of any request."""
        return self.scheduler.lane_and_cost(command), self.scheduler.request_lane_cost

    def stop(self) -> int:
        """The shell stops: the calls in flight will never be handled. Returns how many."""
        return self.scheduler.forget_running()

    def on_call_finished(self, job_id: int, result: Any, error: BaseException | None, now_ns: int) -> list:
        job = self.scheduler.finish(job_id)
        if job is None:
            return []
        self.completed += 1
        effects = outcome_effects(job.command, result, error, now_ns)
        self.rejected += sum(1 for e in effects if isinstance(e, Publish) and isinstance(e.message, OrderRejected))
        return self._announced(effects + self.scheduler.worker_freed(now_ns), now_ns)

    @staticmethod
    def _announced(effects: list, now_ns: int) -> list:
        """Each StartCall preceded by the RequestSent events of its requests (for the latency
        metrics; nobody listens in a backtest), published as it starts."""
        if not any(isinstance(effect, StartCall) for effect in effects):
            return effects
        out: list = []
        for effect in effects:
            if isinstance(effect, StartCall):
                out += [Publish(sent) for sent in requests_sent(effect.command, now_ns)]
            out.append(effect)
        return out

    def _carry(self, outputs: list, now_ns: int, cancel_all_reason: str = "") -> list:
        """The gatherer's outputs as effects: sends go through the budget, in order."""
        effects: list = []
        for output in outputs:
            if isinstance(output, SendNow):
                effects += self.scheduler.submit(output.command, now_ns)
            elif isinstance(output, DropPlace):
                effects.append(Publish(dropped_by_cancel_all(output.command, cancel_all_reason, now_ns)))
            else:
                effects.append(output)  # its timer
        return effects

    # -- status ---------------------------------------------------------------------
    def status(self, now_ns: int, client_stats: dict[str, int] | None = None) -> dict[str, Any]:
        """What the shell's get_status reports; `client_stats`: the client's request counts."""
        scheduler, gatherer = self.scheduler, self.gatherer
        retries = {} if client_stats is None else {"retried": client_stats["retries"], "http_requests": client_stats["requests"]}
        return {
            "sent": scheduler.sent,
            "completed": self.completed,
            "rejected": self.rejected,
            **retries,
            "in_flight": scheduler.in_flight,
            "queued": scheduler.queued(),
            "queued_total": scheduler.queued_total,
            "batches_sent": gatherer.batches_sent,
            "batched_items": gatherer.batched_items,
            "gathering": gatherer.gathering_items,
            "tokens": scheduler.tokens(now_ns),
        }
