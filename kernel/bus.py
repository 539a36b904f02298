"""Message delivery between actors: the in-flight tracker and the publish/subscribe bus.

Every Message sent to an actor goes through `post()`, which counts it in the tracker
before the tell; the actor base class marks it done after handling. The replay driver
waits on the tracker to know when the actors have gone quiet before moving time.

The bus is the listener pattern: events go *up* the actor graph by topic
(message type, optionally one ticker) to every subscribed actor, in subscription order.

A subscriber may take a topic without being woken by it (`subscribe(..., wake=False)`):
a fact it only keeps for its next decision, whose handling has no effects (the risk
governor's exposure, published after every order command). The message joins the
actor's inbox in its place, as `Unwoken(message)`, but its thread sleeps on until the
next message that wakes it. Hazard it answers: on the tick-to-order path the exposure
woke the maker's and the supervisor's threads while the order gateway's was sending, and
they took the interpreter from it. Such a message is not counted in flight (nobody waits
for it to be handled), and one still waiting at the end of the inbox is replaced by the
next of its type (the actor keeps only the latest). In the deterministic runtime (one FIFO, no threads) it is queued
like any message, so replays handle everything in the same order as before.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pykka
from pykka._envelope import Envelope  # pykka's inbox item: a wakeless put makes its own

log = logging.getLogger(__name__)

__all__ = ["InFlightTracker", "post", "Bus", "Unwoken"]


class InFlightTracker:
    """Counts messages sent but not yet handled. Thread-safe."""

    def __init__(self) -> None:
        self._count = 0
        self._cond = threading.Condition(threading.Lock())  # never re-entered: a plain lock is cheaper
        self.underflows = 0

    def sent(self, n: int = 1) -> None:
        with self._cond:
            self._count += n

    def done(self, n: int = 1) -> None:
        with self._cond:
            self._count -= n
            if self._count < 0:
                # a Message told without post(): quiescence would be misjudged
                self.underflows += 1
                self._count = 0
            if self._count == 0:
                self._cond.notify_all()

    @property
    def in_flight(self) -> int:
        with self._cond:
            return self._count

    def wait_quiet(self, timeout: float = 30.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._count == 0, timeout=timeout)


def post(target: Any, message: Any, tracker: InFlightTracker | None) -> bool:
    """Tell `message` to actor ref `target`, counting it. False when the actor is gone."""
    if tracker is not None:
        tracker.sent()
    try:
        target.tell(message)
        return True
    except pykka.ActorDeadError:
        if tracker is not None:
            tracker.done()
        return False


@dataclass(frozen=True, slots=True)
class Unwoken:
    """A message delivered without waking its actor (see the module docstring); the actor
    base class hands `message` to its handler and does not count it done."""

    message: Any


def _put_unwoken(ref: Any, message: Any) -> None:
    """Queue `Unwoken(message)` in the actor's inbox without waking its thread."""
    inbox = ref.actor_inbox
    if not isinstance(inbox, queue.Queue):  # the deterministic runtime's FIFO: a plain tell
        ref.tell(Unwoken(message))
        return
    if not ref.is_alive():
        raise pykka.ActorDeadError(f"{ref} not found")
    with inbox.mutex:  # queue.Queue.put without its not_empty.notify()
        waiting = inbox.queue
        last = waiting[-1].message if waiting else None
        if type(last) is Unwoken and type(last.message) is type(message):
            # the newer fact replaces the one nothing has followed yet: the same to an actor
            # that keeps only the latest, and an idle actor's inbox does not grow with them
            waiting[-1] = Envelope(Unwoken(message))
            return
        inbox._put(Envelope(Unwoken(message)))
        inbox.unfinished_tasks += 1


class Bus:
    """Topic-based fan-out of events to actor refs. Topic = (message type, ticker|None)."""

    def __init__(self, tracker: InFlightTracker | None = None) -> None:
        self.tracker = tracker
        self._lock = threading.Lock()
        self._subs: dict[tuple[type, str | None], list[Any]] = defaultdict(list)
        self._unwoken: set[tuple[type, Any]] = set()  # (message type, ref) delivered without waking
        # (message type, ticker) -> its subscribers in delivery order, each with whether it
        # is woken, and how many are; dropped on every change of subscriptions (they change
        # at session starts and ends, not per message)
        self._fanout: dict[tuple[type, str | None], tuple[tuple[tuple[Any, bool], ...], int]] = {}

    def subscribe(self, ref: Any, message_type: type, ticker: str | None = None, *, wake: bool = True) -> None:
        """`wake=False`: the type's messages join the actor's inbox without waking it (for
        facts kept for the next decision only; see the module docstring)."""
        with self._lock:
            subs = self._subs[(message_type, ticker)]
            if ref not in subs:
                subs.append(ref)
            if not wake:
                self._unwoken.add((message_type, ref))
            self._fanout.clear()

    def unsubscribe_all(self, ref: Any) -> None:
        with self._lock:
            for topic in [topic for topic, subs in self._subs.items() if ref in subs]:
                subs = self._subs[topic]
                subs.remove(ref)
                if not subs:  # a finished maker's ticker topics go with it: memory stays with the live actors
                    del self._subs[topic]
            self._unwoken = {kept for kept in self._unwoken if kept[1] != ref}
            self._fanout.clear()

    def subscribers(self, message: Any) -> list[Any]:
        deliveries, _ = self._subscribers(type(message), getattr(message, "ticker", None))
        return [ref for ref, _ in deliveries]

    def _subscribers(self, message_type: type, ticker: str | None) -> tuple[tuple[tuple[Any, bool], ...], int]:
        key = (message_type, ticker)
        with self._lock:
            fanout = self._fanout.get(key)
            if fanout is None:
                found = list(self._subs.get((message_type, None), ()))
                if ticker is not None:
                    found.extend(r for r in self._subs.get(key, ()) if r not in found)
                deliveries = tuple((r, (message_type, r) not in self._unwoken) for r in found)
                fanout = self._fanout[key] = (deliveries, sum(wake for _, wake in deliveries))
        return fanout

    def publish(self, message: Any) -> int:
        """Deliver to every subscriber; dead ones are dropped. Returns deliveries made."""
        deliveries, woken = self._subscribers(type(message), getattr(message, "ticker", None))
        tracker = self.tracker
        if tracker is not None and woken:
            tracker.sent(woken)  # counted at once (one lock, not one per subscriber), before any can be handled
        delivered = 0
        for ref, wake in deliveries:
            try:
                if wake:
                    ref.tell(message)
                else:
                    _put_unwoken(ref, message)
                delivered += 1
            except pykka.ActorDeadError:
                if tracker is not None and wake:
                    tracker.done()
                self.unsubscribe_all(ref)
        return delivered
