"""How actors run: Pykka threads for live trading, one deterministic thread for replays.

The same actor classes run under both. A runtime starts an actor class with its keyword
arguments and hands back a Pykka `ActorRef`; everything above (tell, ask, proxies, stop,
the registry) is Pykka's own.

- `ThreadingRuntime`: `ThreadingActor.start`, one thread per actor (live and paper trading,
  and the threaded replay that actor tests use with frozen time).
- `DeterministicRuntime`: Pykka's documented extension point for other concurrency models
  (`_create_actor_inbox`, `_create_future`, `_start_actor_loop`) is filled in by a subclass
  made per actor class: every inbox is one global FIFO of (actor, envelope), and the replay
  driver runs it to empty in one thread. No thread hand-offs and no waiting for quiet: when
  the FIFO is empty, the actors are quiet.

Determinism: a message sent while handling another goes to the back of the one FIFO, so
the order of handling is a pure function of the order of sends. Timers come from the
replay clock through the same `tell`, one at a time, in its (deadline, kind, order) order.

Hazards named:
- an ask from inside a handler cannot be answered (the one thread is busy with the asker):
  it raises `NestedAskError` naming both actors instead of deadlocking; actors must not ask
  each other at run time (messages only);
- a message loop (actors sending each other messages forever) would never let the FIFO
  empty: `run_until_idle` stops after `max_messages_per_step` and raises `MessageLoopError`
  naming the actors and message types that dominated the last deliveries.
"""

from __future__ import annotations

import sys
from collections import Counter, deque
from typing import Any, Callable

import pykka
from pykka import ActorDeadError, Future, Timeout
from pykka import messages as pykka_messages

from messages import Message  # kernel imports no actors; messages is kernel-level

__all__ = [
    "ThreadingRuntime",
    "DeterministicRuntime",
    "DeterministicFuture",
    "MessageLoopError",
    "NestedAskError",
    "runtime_named",
    "RUNTIMES",
]

RUNTIMES = ("deterministic", "threading")
_LOOP_WINDOW = 2_000  # deliveries remembered to describe a message loop


class MessageLoopError(RuntimeError):
    """The actors kept sending messages without going quiet (a message loop)."""


class NestedAskError(RuntimeError):
    """An actor asked another actor (or itself) and waited, inside a handler."""


class ThreadingRuntime:
    """One Pykka thread per actor: live trading and the threaded replay."""

    name = "threading"

    def start(self, actor_class: type, **kwargs: Any) -> Any:
        return actor_class.start(**kwargs)

    def run_until_idle(self) -> int:  # threads run by themselves; the tracker says when quiet
        return 0


class DeterministicFuture(Future):
    """A Pykka future whose `get` runs the deterministic scheduler until it is resolved.
    Each runtime has its own subclass (`_runtime` set): Pykka makes futures by calling the
    class with no arguments."""

    _runtime: "DeterministicRuntime"

    def __init__(self) -> None:
        super().__init__()
        self._done = False
        self._value: Any = None
        self._exc_info: Any = None

    def get(self, *, timeout: float | None = None) -> Any:
        try:
            return super().get(timeout=timeout)  # a get hook (join/map/filter) answers first
        except NotImplementedError:
            pass
        if not self._done:
            self._runtime.run_until(lambda: self._done, waiting_for=self)
        if not self._done:
            raise Timeout("the actors went quiet without answering (deterministic runtime)")
        if self._exc_info is not None:
            _type, value, traceback = self._exc_info
            raise value.with_traceback(traceback)
        return self._value

    def set(self, value: Any | None = None) -> None:
        self._value, self._done = value, True

    def set_exception(self, exc_info: Any = None) -> None:
        self._exc_info, self._done = (exc_info or sys.exc_info()), True


class _FifoInbox:
    """An actor's view of the global FIFO: put appends (actor, envelope) to it."""

    def __init__(self, runtime: "DeterministicRuntime", actor: Any) -> None:
        self._runtime = runtime
        self._actor = actor

    def put(self, envelope: Any) -> None:
        self._runtime._fifo.append((self._actor, envelope))

    def get(self) -> Any:  # envelopes are taken by the scheduler, never by the actor
        raise RuntimeError("the deterministic runtime's inbox is drained by its scheduler")

    def empty(self) -> bool:
        return True


_START = object()  # queued by _start_actor_loop: run on_start before the actor's first message


class DeterministicRuntime:
    """One thread, one global FIFO of messages, virtual-time timers from the replay clock."""

    name = "deterministic"

    def __init__(self, *, max_messages_per_step: int = 2_000_000) -> None:
        self.max_messages_per_step = max_messages_per_step
        self._fifo: deque[tuple[Any, Any]] = deque()
        self._classes: dict[type, type] = {}
        self._handling: Any = None  # the actor whose handler is running (None between messages)
        self._recent: deque[tuple[str, str, str]] = deque(maxlen=_LOOP_WINDOW)
        self.delivered = 0
        self._future_class = type("DeterministicFuture", (DeterministicFuture,), {"_runtime": self})

    # -- starting actors ----------------------------------------------------------------
    def start(self, actor_class: type, **kwargs: Any) -> Any:
        return self._runtime_class(actor_class).start(**kwargs)

    def _runtime_class(self, actor_class: type) -> type:
        """`actor_class` with Pykka's three concurrency hooks pointed at this runtime."""
        derived = self._classes.get(actor_class)
        if derived is not None:
            return derived
        runtime = self

        def _create_actor_inbox(actor: Any) -> _FifoInbox:  # Actor.__init__ calls it on the instance
            return _FifoInbox(runtime, actor)

        def _start_actor_loop(actor: Any) -> None:
            runtime._fifo.append((actor, _START))

        derived = type(
            actor_class.__name__,
            (actor_class,),
            {
                "__module__": actor_class.__module__,
                "__qualname__": actor_class.__qualname__,
                "_create_actor_inbox": _create_actor_inbox,
                "_create_future": staticmethod(runtime._future_class),
                "_start_actor_loop": _start_actor_loop,
            },
        )
        self._classes[actor_class] = derived
        return derived

    # -- running ------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        return len(self._fifo)

    def run_until_idle(self) -> int:
        """Handle messages until the FIFO is empty. Returns how many were handled."""
        if self._handling is not None:
            self._refuse_nested_ask()
        fifo = self._fifo
        if not fifo:
            return 0
        deliver = self._deliver
        watch_from = self.max_messages_per_step - _LOOP_WINDOW  # only a loop's last deliveries are described
        handled = 0
        popleft = fifo.popleft
        while fifo:
            actor, item = popleft()
            handled += 1
            if handled > watch_from:
                self._note(actor, item, handled)
            deliver(actor, item)
        self.delivered += handled
        return handled

    def run_until(self, done: Callable[[], bool], waiting_for: Any = None) -> int:
        if self._handling is not None:
            self._refuse_nested_ask()
        handled = 0
        fifo = self._fifo
        watch_from = self.max_messages_per_step - _LOOP_WINDOW
        while fifo and not done():
            actor, item = fifo.popleft()
            handled += 1
            if handled > watch_from:
                self._note(actor, item, handled)
            self._deliver(actor, item)
        self.delivered += handled
        return handled

    def _refuse_nested_ask(self) -> None:
        asker = type(self._handling).__name__
        raise NestedAskError(
            f"{asker} waited on an ask inside a handler; in the deterministic runtime actors "
            "must not ask each other (publish the state instead)"
        )

    def _note(self, actor: Any, item: Any, handled: int) -> None:
        """Remember one of the last deliveries before the bound; past it, stop the run."""
        if handled > self.max_messages_per_step:
            self.delivered += handled - 1
            raise MessageLoopError(self._describe_loop(handled - 1))
        message = getattr(item, "message", item)
        call = message.attr_path[-1] if isinstance(message, pykka_messages.ProxyCall) else ""
        self._recent.append((type(actor).__name__, type(message).__name__, call))

    def _deliver(self, actor: Any, item: Any) -> None:
        if item is _START:
            self._handling = actor
            try:
                actor._actor_loop_setup()  # on_start (Pykka logs and stops the actor on failure)
            finally:
                self._handling = None
            if actor.actor_stopped.is_set():
                actor._actor_loop_teardown()
            return
        envelope = item
        if actor.actor_stopped.is_set():
            self._discard(actor, envelope)
            return
        message = envelope.message
        self._handling = actor
        try:
            # our own messages go straight to on_receive (what Pykka's _handle_receive does
            # with anything that is not a stop or a proxy call)
            response = actor.on_receive(message) if isinstance(message, Message) else actor._handle_receive(message)
            if envelope.reply_to is not None:
                envelope.reply_to.set(response)
        except Exception:
            if envelope.reply_to is not None:
                envelope.reply_to.set_exception()
            else:  # as Pykka's loop: a failing tell stops the actor, on_failure runs
                exc_info = sys.exc_info()
                actor._handle_failure(*exc_info)
                try:
                    actor.on_failure(*exc_info)
                except Exception:  # noqa: BLE001
                    actor._handle_failure(*sys.exc_info())
        finally:
            self._handling = None
        if actor.actor_stopped.is_set():
            actor._actor_loop_teardown()

    @staticmethod
    def _discard(actor: Any, envelope: Any) -> None:
        """A message that reached a stopped actor: what Pykka's teardown does with it."""
        if envelope.reply_to is not None:
            if isinstance(envelope.message, pykka_messages._ActorStop):  # noqa: SLF001
                envelope.reply_to.set(None)
            else:
                try:
                    raise ActorDeadError(f"{actor.actor_ref} stopped before handling the message")
                except ActorDeadError:
                    envelope.reply_to.set_exception()
            return
        tracker = getattr(actor, "tracker", None)
        if tracker is not None and isinstance(envelope.message, Message):
            tracker.done()  # it was counted when posted

    def _describe_loop(self, handled: int) -> str:
        counts = Counter(self._recent)
        top = ", ".join(
            f"{actor} <- {message}{'.' + call if call else ''} x{n}" for (actor, message, call), n in counts.most_common(6)
        )
        actors = sorted({actor for actor, _m, _c in self._recent})
        return (
            f"message loop: {handled:,} messages in one replay step without going quiet; "
            f"actors {', '.join(actors)}; last {len(self._recent):,} deliveries: {top}"
        )


def runtime_named(name: str) -> ThreadingRuntime | DeterministicRuntime:
    if name == "deterministic":
        return DeterministicRuntime()
    if name == "threading":
        return ThreadingRuntime()
    raise ValueError(f"unknown runtime {name!r} (choose from {', '.join(RUNTIMES)})")


def stop_all_actors(timeout: float | None = None) -> None:  # pragma: no cover - convenience for tests
    pykka.ActorRegistry.stop_all(timeout=timeout)
