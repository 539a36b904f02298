"""The thin shell every mmd actor shares: injected collaborators and one dispatch.

Pykka stops an actor when a `tell` handler raises. A market maker must not die on one
bad message, so dispatch logs and counts handler errors and carries on; only a
`FatalActorError` is re-raised, stopping the actor so its supervisor's on_failure runs.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, Callable, ClassVar

import pykka

from kernel.bus import Bus, InFlightTracker, Unwoken, post
from kernel.effects import ArmOnGrid, ArmTimer, CancelTimer, Publish, Send
from kernel.timers import KeyedTimers
from messages import Message

__all__ = ["MmdActor", "handles", "FatalActorError"]


class FatalActorError(Exception):
    """Raised by a handler when the actor cannot safely go on (stops the actor)."""


def handles(*message_types: type) -> Callable:
    """Mark a method as the handler of the given message types."""

    def mark(fn: Callable) -> Callable:
        fn._handles = message_types  # type: ignore[attr-defined]
        return fn

    return mark


class MmdActor(pykka.ThreadingActor):
    """Base for mmd actors. Subclasses declare handlers with @handles(MessageType) and
    their bus topics declaratively:

    - `subscriptions`: message types received for every ticker;
    - `ticker_subscriptions`: message types received for `self.ticker` only;
    - `unwoken_subscriptions`: message types received for every ticker without waking the
      actor (kernel.bus `Unwoken`): facts kept for its next decision, whose handling has no
      effects; they are handled, in their place in the inbox, when the next message wakes it.

    All are subscribed before `on_start` runs and dropped when the actor stops.
    Timers are keyed (`self.timers`, kernel.timers.KeyedTimers); a plain core's effects are
    carried out by `carry_out` (kernel.effects), with `route(name)` naming collaborators.

    ThreadingActor is the default runtime; kernel.runtime.DeterministicRuntime runs the same
    class in one thread for replays (Pykka's hooks for other concurrency models).
    """

    _dispatch: dict[type, str] = {}
    subscriptions: ClassVar[tuple[type, ...]] = ()
    ticker_subscriptions: ClassVar[tuple[type, ...]] = ()
    unwoken_subscriptions: ClassVar[tuple[type, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: dict[type, str] = {}
        for klass in reversed(cls.__mro__):
            for name, attr in vars(klass).items():
                for message_type in getattr(attr, "_handles", ()):
                    table[message_type] = name
        cls._dispatch = table

    def __init__(self, *, clock: Any, bus: Bus, tracker: InFlightTracker | None = None) -> None:
        super().__init__()
        self.clock = clock
        self.bus = bus
        self.tracker = tracker
        self.log = logging.getLogger(f"mmd.{type(self).__name__}")
        self.errors: Counter[str] = Counter()
        self.handler_failures = 0  # handler exceptions swallowed (errors["handler:..."] summed)
        self.timers = KeyedTimers(clock, self.actor_ref)

    def _actor_loop_setup(self) -> None:
        # declared topics first: on_start may publish, and replies may come back at once
        for message_type in self.subscriptions:
            self.bus.subscribe(self.actor_ref, message_type)
        ticker = getattr(self, "ticker", None)
        for message_type in self.ticker_subscriptions:
            self.bus.subscribe(self.actor_ref, message_type, ticker=ticker)
        for message_type in self.unwoken_subscriptions:
            self.bus.subscribe(self.actor_ref, message_type, wake=False)
        super()._actor_loop_setup()

    # -- sending --------------------------------------------------------------------
    def send(self, target: Any, message: Message) -> bool:
        return post(target, message, self.tracker)

    def publish(self, message: Message) -> int:
        return self.bus.publish(message)

    def timer(self, delay_ns: int, message: Message):
        """Schedule `message` to come back to this actor after delay_ns (virtual or wall)."""
        return self.clock.call_later(delay_ns, self.actor_ref, message)

    def route(self, name: str) -> Any:
        """The actor ref a core's Send(to=name) goes to (None: nobody, see on_undelivered).
        Shells that send override it."""
        raise KeyError(f"{type(self).__name__} has no collaborator named {name!r}")

    def carry_out(self, effects: Any) -> None:
        """Carry out a plain core's effects in order. An effect the base does not know goes
        to `on_effect` (a shell's own kinds: start a maker, a REST read, ...)."""
        for effect in effects or ():
            if isinstance(effect, Publish):
                self.publish(effect.message)
            elif isinstance(effect, Send):
                target = self.route(effect.to)
                if target is None or not self.send(target, effect.message):
                    self.on_undelivered(effect)
            elif isinstance(effect, ArmTimer):
                self.timers.arm_at(effect.key, effect.deadline_ns, effect.message)
            elif isinstance(effect, CancelTimer):
                self.timers.cancel(effect.key)
            elif isinstance(effect, ArmOnGrid):
                deadline = self.timers.arm_on_grid(
                    effect.key, anchor_ns=effect.anchor_ns, interval_ns=effect.interval_ns,
                    not_before_ns=effect.not_before_ns, message=effect.message,
                )
                self.on_grid_armed(effect, deadline)
            else:
                self.on_effect(effect)

    def on_grid_armed(self, effect: ArmOnGrid, deadline_ns: int) -> None:
        """The tick an ArmOnGrid settled on; a shell whose core keeps its own copy of the
        deadline overrides it to hand the deadline back."""

    def on_undelivered(self, effect: Send) -> None:
        """A Send whose collaborator `route` did not know (None) or that has stopped.
        Dropped by default; a shell that must know overrides it (the REST actor counts
        replies whose reader is gone)."""

    def on_effect(self, effect: Any) -> None:
        self.errors["unknown_effect"] += 1
        self.log.warning("ignored unknown effect %s", type(effect).__name__)

    def _actor_loop_teardown(self) -> None:
        # Hazard: Pykka drops tells still queued behind a stop. They were counted when
        # posted, so mark them done, or replay would wait for quiet forever. Replies to
        # asks are left for Pykka's own teardown (private hook of pykka.Actor).
        self.bus.unsubscribe_all(self.actor_ref)
        pending_asks = []
        while not self.actor_inbox.empty():
            envelope = self.actor_inbox.get()
            if envelope.reply_to is not None:
                pending_asks.append(envelope)
            elif isinstance(envelope.message, Message) and self.tracker is not None:
                self.tracker.done()
        for envelope in pending_asks:
            self.actor_inbox.put(envelope)
        super()._actor_loop_teardown()

    def ping(self) -> bool:
        """Answered only after on_start has run: lets startup wait for readiness."""
        return True

    # -- receiving ------------------------------------------------------------------
    def on_receive(self, message: Any) -> Any:
        if type(message) is Unwoken:  # not counted in flight (kernel.bus)
            return self.handle_message(message.message)
        try:
            return self.handle_message(message)
        finally:
            # done only after the handling and whatever a subclass reports about it
            if self.tracker is not None and isinstance(message, Message):
                self.tracker.done()

    def handle_message(self, message: Any) -> Any:
        """Dispatch to the handler; a handler's exception (not FatalActorError) is logged,
        counted (errors["handler:<type>"], handler_failures) and swallowed."""
        name = self._dispatch.get(type(message))
        if name is None:
            self.errors["unknown_message"] += 1
            self.log.warning("ignored unknown message %s", type(message).__name__)
            return None
        try:
            return getattr(self, name)(message)
        except FatalActorError:
            raise
        except Exception:  # one bad message must not kill a trading actor
            self.handler_failures += 1
            self.errors[f"handler:{type(message).__name__}"] += 1
            self.log.exception("error handling %s", type(message).__name__)
            return None
