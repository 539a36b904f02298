"""Message delivery between actors: the in-flight tracker and the publish/subscribe bus.

Every Message sent to an actor goes through `post()`, which counts it in the tracker
before the tell; the actor base class marks it done after handling. The replay driver
waits on the tracker to know when the actors have gone quiet before moving time.

The bus is the listener pattern: events go *up* the actor graph by topic
(message type, optionally one ticker) to every subscribed actor, in subscription order.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import Any

import pykka

log = logging.getLogger(__name__)

__all__ = ["InFlightTracker", "post", "Bus"]


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


class Bus:
    """Topic-based fan-out of events to actor refs. Topic = (message type, ticker|None)."""

    def __init__(self, tracker: InFlightTracker | None = None) -> None:
        self.tracker = tracker
        self._lock = threading.Lock()
        self._subs: dict[tuple[type, str | None], list[Any]] = defaultdict(list)
        # (message type, ticker) -> its subscribers in delivery order; dropped on every
        # change of subscriptions (they change at session starts and ends, not per message)
        self._fanout: dict[tuple[type, str | None], tuple[Any, ...]] = {}

    def subscribe(self, ref: Any, message_type: type, ticker: str | None = None) -> None:
        with self._lock:
            subs = self._subs[(message_type, ticker)]
            if ref not in subs:
                subs.append(ref)
                self._fanout.clear()

    def unsubscribe_all(self, ref: Any) -> None:
        with self._lock:
            for topic in [topic for topic, subs in self._subs.items() if ref in subs]:
                subs = self._subs[topic]
                subs.remove(ref)
                if not subs:  # a finished maker's ticker topics go with it: memory stays with the live actors
                    del self._subs[topic]
            self._fanout.clear()

    def subscribers(self, message: Any) -> list[Any]:
        return list(self._subscribers(type(message), getattr(message, "ticker", None)))

    def _subscribers(self, message_type: type, ticker: str | None) -> tuple[Any, ...]:
        key = (message_type, ticker)
        with self._lock:
            refs = self._fanout.get(key)
            if refs is None:
                found = list(self._subs.get((message_type, None), ()))
                if ticker is not None:
                    found.extend(r for r in self._subs.get(key, ()) if r not in found)
                refs = self._fanout[key] = tuple(found)
        return refs

    def publish(self, message: Any) -> int:
        """Deliver to every subscriber; dead ones are dropped. Returns deliveries made."""
        refs = self._subscribers(type(message), getattr(message, "ticker", None))
        tracker = self.tracker
        if tracker is not None and refs:
            tracker.sent(len(refs))  # counted at once (one lock, not one per subscriber), before any can be handled
        delivered = 0
        for ref in refs:
            try:
                ref.tell(message)
                delivered += 1
            except pykka.ActorDeadError:
                if tracker is not None:
                    tracker.done()
                self.unsubscribe_all(ref)
        return delivered
