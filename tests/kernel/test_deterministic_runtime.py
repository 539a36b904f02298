"""The deterministic runtime runs ordinary Pykka actor classes in one thread: one global
FIFO, Pykka's semantics for tell, ask, stop and failures, and clear errors instead of hangs."""

from __future__ import annotations

import pykka
import pytest

from messages import Message, message

from kernel.runtime import DeterministicRuntime, MessageLoopError, NestedAskError, ThreadingRuntime, runtime_named


class Recorder(pykka.ThreadingActor):
    def __init__(self, log: list, name: str, forward_to=None) -> None:
        super().__init__()
        self.log, self.name, self.forward_to = log, name, forward_to
        self.started = False

    def on_start(self) -> None:
        self.started = True
        self.log.append((self.name, "start"))

    def on_receive(self, message):
        self.log.append((self.name, message))
        if self.forward_to is not None and isinstance(message, str):
            self.forward_to.tell(message + ">" + self.name)
        if message == "boom":
            raise ValueError("boom")
        return self.name + ":" + str(message)

    def on_failure(self, *exc_info) -> None:
        self.log.append((self.name, "failed"))

    def answer(self, value):
        return value * 2


class Echo(pykka.ThreadingActor):
    """Sends every message straight back to itself: a message loop."""

    def on_receive(self, message):
        self.actor_ref.tell(message)


class Asker(pykka.ThreadingActor):
    def __init__(self, other) -> None:
        super().__init__()
        self.other = other

    def on_receive(self, message):
        return self.other.ask("question")


@pytest.fixture(autouse=True)
def no_actor_outlives_its_test():
    yield
    pykka.ActorRegistry.stop_all()


def test_messages_are_handled_in_the_order_they_were_sent_across_all_actors():
    runtime, log = DeterministicRuntime(), []
    c = runtime.start(Recorder, log=log, name="c")
    b = runtime.start(Recorder, log=log, name="b", forward_to=c)
    a = runtime.start(Recorder, log=log, name="a", forward_to=b)
    a.tell("x")
    c.tell("y")
    assert log == []  # nothing runs until the driver runs the FIFO
    runtime.run_until_idle()
    assert log == [("c", "start"), ("b", "start"), ("a", "start"), ("a", "x"), ("c", "y"), ("b", "x>a"), ("c", "x>a>b")]


def test_an_ask_from_the_driver_runs_the_actors_until_it_is_answered():
    runtime, log = DeterministicRuntime(), []
    ref = runtime.start(Recorder, log=log, name="r")
    assert ref.ask("q", timeout=1) == "r:q"
    assert ref.proxy().answer(21).get() == 42
    assert log[0] == ("r", "start")


def test_an_ask_nobody_will_answer_times_out_at_once_instead_of_hanging():
    runtime, log = DeterministicRuntime(), []
    ref = runtime.start(Recorder, log=log, name="r")
    future = ref.ask("q", block=False)
    runtime._fifo.clear()  # the question is lost: the actors go quiet without an answer
    with pytest.raises(pykka.Timeout):
        future.get(timeout=10)


def test_an_actor_asking_another_inside_a_handler_is_refused_with_a_clear_error():
    runtime, log = DeterministicRuntime(), []
    other = runtime.start(Recorder, log=log, name="other")
    asker = runtime.start(Asker, other=other)
    with pytest.raises(NestedAskError, match="Asker waited on an ask inside a handler"):
        asker.ask("go")


def test_a_message_loop_stops_the_run_naming_the_actors_and_message_types():
    runtime = DeterministicRuntime(max_messages_per_step=1_000)
    ref = runtime.start(Echo)
    ref.tell("again")
    with pytest.raises(MessageLoopError, match=r"actors Echo; .*Echo <- str"):
        runtime.run_until_idle()


@message
class Ping(Message):
    n: int


@message
class Pong(Message):
    n: int


class Player(pykka.ThreadingActor):
    """Answers a Ping with a Pong and a Pong with a Ping: two actors in a loop."""

    def __init__(self) -> None:
        super().__init__()
        self.other = None

    def on_receive(self, message):
        if isinstance(message, tuple):  # ("meet", other)
            self.other = message[1]
            return
        self.other.tell(Pong(n=message.n + 1) if isinstance(message, Ping) else Ping(n=message.n + 1))


class Pinger(Player):
    pass


class Ponger(Player):
    pass


def test_a_loop_between_two_actors_names_both_and_both_message_types_and_leaves_memory_bounded():
    runtime = DeterministicRuntime(max_messages_per_step=50_000)
    pinger, ponger = runtime.start(Pinger), runtime.start(Ponger)
    pinger.tell(("meet", ponger))
    ponger.tell(("meet", pinger))
    runtime.run_until_idle()
    pinger.tell(Ping(n=0))
    with pytest.raises(MessageLoopError) as raised:
        runtime.run_until_idle()
    text = str(raised.value)
    assert "50,000 messages in one replay step" in text
    assert "actors Pinger, Ponger" in text
    assert "Pinger <- Ping" in text and "Ponger <- Pong" in text
    assert len(runtime._recent) <= 2_000  # only the last deliveries before the bound are described


def test_a_failing_tell_stops_the_actor_and_runs_on_failure_as_pykka_does():
    runtime, log = DeterministicRuntime(), []
    ref = runtime.start(Recorder, log=log, name="r")
    ref.tell("boom")
    runtime.run_until_idle()
    assert ("r", "failed") in log
    assert not ref.is_alive()
    with pytest.raises(pykka.ActorDeadError):
        ref.tell("late")


def test_a_failing_ask_returns_the_error_to_the_caller_and_the_actor_lives():
    runtime, log = DeterministicRuntime(), []
    ref = runtime.start(Recorder, log=log, name="r")
    with pytest.raises(ValueError, match="boom"):
        ref.ask("boom")
    assert ref.is_alive()


def test_stop_handles_what_was_queued_before_it_then_refuses_new_messages():
    runtime, log = DeterministicRuntime(), []
    ref = runtime.start(Recorder, log=log, name="r")
    ref.tell("first")
    assert ref.stop() is True
    assert log == [("r", "start"), ("r", "first")]
    with pytest.raises(pykka.ActorDeadError):
        ref.tell("after")


def test_runtimes_are_chosen_by_name():
    assert isinstance(runtime_named("deterministic"), DeterministicRuntime)
    assert isinstance(runtime_named("threading"), ThreadingRuntime)
    with pytest.raises(ValueError, match="unknown runtime 'fast'"):
        runtime_named("fast")
