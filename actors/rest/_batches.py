"""BatchGatherer: places (or cancels) a maker decided together, sent as one V2 batch.

Such commands carry `batch`, the client ids of the whole group. They pass the risk
governor one by one (it sees and may refuse each); here they are gathered until every id
has arrived or been refused by risk, then sent in the group's order as batches of at most
`max_items[action]` (a chunk of one goes as a single call).

Hazard: a group whose last item never comes (its sender died) must not hold the others for
ever: `gather_ns` after the group's first item, what has arrived is sent. Completion
depends only on message content, never on thread timing, so replays stay repeatable.

Plain class: it returns what to do (SendNow, DropPlace, ArmTimer / CancelTimer of
BatchGatherDue) in the order it must happen; the REST core budgets the sends.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Mapping

from kernel.effects import ArmTimer, CancelTimer
from messages import CancelOrder, Message, PlaceOrder, message

__all__ = ["BatchGatherer", "BatchCall", "BatchGatherDue", "SendNow", "DropPlace", "GATHER_TIMER"]

GATHER_TIMER = "batch_gather"
_FLUSHED_MEMORY = 1024  # groups remembered after sending, so a straggler goes alone


@message
class BatchGatherDue(Message):
    """Internal timer: a batch group has waited `batch_gather_ns` for its missing items."""

    ts: int


@dataclass(frozen=True, slots=True)
class BatchCall:
    """Places, or cancels, of one market sent as one batch call, in the group's order."""

    action: str  # "place" | "cancel"
    commands: tuple  # tuple[PlaceOrder, ...] | tuple[CancelOrder, ...]


@dataclass(frozen=True, slots=True)
class SendNow:
    """Send this now (budget permitting): a single place or cancel, or a BatchCall."""

    command: PlaceOrder | CancelOrder | BatchCall


@dataclass(frozen=True, slots=True)
class DropPlace:
    """A gathered place that must never go out (a cancel-all of its market came first)."""

    command: PlaceOrder


@dataclass(slots=True)
class _Gathering:
    started_ns: int
    items: dict[str, PlaceOrder | CancelOrder | None] = field(default_factory=dict)  # None: refused by risk


_GroupKey = tuple  # (action, ticker, batch ids)


class BatchGatherer:
    def __init__(self, *, gather_ns: int, max_items: Mapping[str, int]) -> None:
        self.gather_ns = gather_ns
        self.max_items = dict(max_items)  # action -> most items in one batch call
        self._gathering: dict[_GroupKey, _Gathering] = {}  # in arrival order
        self._gather_of: dict[tuple[str, str], _GroupKey] = {}  # (action, client id) -> its group
        self._flushed: deque[_GroupKey] = deque()
        self._flushed_set: set[_GroupKey] = set()
        self._timer_armed = False
        self.batches_sent = 0
        self.batched_items = 0

    @property
    def gathering_items(self) -> int:
        return sum(len(g.items) for g in self._gathering.values())

    def takes(self, action: str, cmd: PlaceOrder | CancelOrder) -> bool:
        """A member of a group of two or more whose group has not been sent yet."""
        return (
            len(cmd.batch) > 1
            and cmd.client_order_id in cmd.batch
            and (action, cmd.ticker, cmd.batch) not in self._flushed_set
        )

    def gather(self, action: str, cmd: PlaceOrder | CancelOrder, now_ns: int) -> list:
        key = (action, cmd.ticker, cmd.batch)
        out: list = []
        group = self._gathering.get(key)
        if group is None:
            group = self._gathering[key] = _Gathering(started_ns=now_ns)
            for client_order_id in cmd.batch:
                self._gather_of[(action, client_order_id)] = key
            if not self._timer_armed:
                self._timer_armed = True
                deadline = now_ns + self.gather_ns
                out.append(ArmTimer(GATHER_TIMER, deadline, BatchGatherDue(ts=deadline)))
        group.items[cmd.client_order_id] = cmd
        out += self._flush_if_complete(key)
        return out

    def refused(self, action: str, client_order_id: str) -> list:
        """Risk refused a member: its group no longer waits for it."""
        key = self._gather_of.get((action, client_order_id))
        if key is None or key not in self._gathering:
            return []
        self._gathering[key].items.setdefault(client_order_id, None)
        return self._flush_if_complete(key)

    def settle_for_cancel_all(self, ticker: str | None) -> list:
        """A cancel-all of `ticker` (None: every market): gathered places are dropped (they
        would rest untracked after it); gathered cancels go out now."""
        out: list = []
        for key in [k for k in self._gathering if ticker in (None, k[1])]:
            if key[0] == "place":
                group, taken = self._take_group(key)
                out += taken
                out += [DropPlace(cmd) for cmd in group.items.values() if isinstance(cmd, PlaceOrder)]
            else:
                out += self._flush(key)
        return out

    def due(self, now_ns: int) -> list:
        """BatchGatherDue came: send the groups that have waited `gather_ns`, re-arm for the
        oldest one left."""
        self._timer_armed = False
        out: list = []
        for key in [k for k, g in self._gathering.items() if now_ns >= g.started_ns + self.gather_ns]:
            out += self._flush(key)
        if self._gathering:
            deadline = min(g.started_ns for g in self._gathering.values()) + self.gather_ns
            self._timer_armed = True
            out.append(ArmTimer(GATHER_TIMER, now_ns + max(1, deadline - now_ns), BatchGatherDue(ts=deadline)))
        return out

    # -- internals ------------------------------------------------------------------
    def _flush_if_complete(self, key: _GroupKey) -> list:
        if all(client_order_id in self._gathering[key].items for client_order_id in key[2]):
            return self._flush(key)
        return []

    def _take_group(self, key: _GroupKey) -> tuple[_Gathering, list]:
        group = self._gathering.pop(key)
        for client_order_id in key[2]:
            self._gather_of.pop((key[0], client_order_id), None)
        self._flushed.append(key)
        self._flushed_set.add(key)
        if len(self._flushed) > _FLUSHED_MEMORY:
            self._flushed_set.discard(self._flushed.popleft())
        if self._gathering or not self._timer_armed:
            return group, []
        self._timer_armed = False
        return group, [CancelTimer(GATHER_TIMER)]

    def _flush(self, key: _GroupKey) -> list:
        """Send a group's arrived items (in the group's order) in chunks of max_items."""
        group, out = self._take_group(key)
        action = key[0]
        commands = [group.items[i] for i in key[2] if group.items.get(i) is not None]
        most = self.max_items[action]
        for start in range(0, len(commands), most):
            chunk = tuple(commands[start : start + most])
            if len(chunk) == 1:
                out.append(SendNow(chunk[0]))  # type: ignore[arg-type]
            else:
                self.batches_sent += 1
                self.batched_items += len(chunk)
                out.append(SendNow(BatchCall(action, chunk)))
        return out
