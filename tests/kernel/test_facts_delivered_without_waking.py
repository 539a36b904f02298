"""A fact an actor only keeps for its next decision (subscribed with wake=False) joins its
inbox in order without waking it, is not counted in flight, and one still waiting at the
end of the inbox is replaced by the next of its type."""

import queue

from pykka._envelope import Envelope

from actors._base import MmdActor, handles
from kernel.bus import Bus, InFlightTracker, Unwoken, post
from kernel.clock import ReplayClock
from messages import Message, StopSession, message


@message
class Fact(Message):
    value: int
    ts: int


@message
class Other(Message):
    ts: int


class Keeper(MmdActor):
    unwoken_subscriptions = (Fact,)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.handled = []

    @handles(Fact)
    def on_fact(self, fact):
        self.handled.append(f"fact {fact.value}")

    @handles(StopSession)
    def on_stop_session(self, stop):
        self.handled.append(f"stop {stop.ticker}")

    def get_handled(self):
        return list(self.handled)


class InboxOnly:
    """An actor ref's inbox, liveness and tell (as pykka's), nothing else: what the bus touches."""

    def __init__(self):
        self.actor_inbox = queue.Queue()

    def is_alive(self):
        return True

    def tell(self, message):
        self.actor_inbox.put(Envelope(message))

    def waiting(self):
        return [envelope.message for envelope in self.actor_inbox.queue]


def test_a_kept_fact_is_not_in_flight_and_is_handled_in_its_place_before_the_next_message():
    tracker = InFlightTracker()
    bus = Bus(tracker)
    ref = Keeper.start(clock=ReplayClock(0, tracker), bus=bus, tracker=tracker)
    ref.proxy().ping().get()  # subscribed
    assert bus.publish(Fact(value=1, ts=0)) == 1
    assert tracker.in_flight == 0
    post(ref, StopSession(ticker="KX-A", reason="r", ts=0), tracker)
    assert tracker.wait_quiet(timeout=10)
    assert ref.proxy().get_handled().get() == ["fact 1", "stop KX-A"]
    assert tracker.underflows == 0
    ref.stop()


def test_a_fact_waiting_at_the_end_of_the_inbox_is_replaced_by_the_next_of_its_type():
    bus = Bus()
    ref = InboxOnly()
    bus.subscribe(ref, Fact, wake=False)
    bus.subscribe(ref, Other)
    bus.publish(Fact(value=1, ts=0))
    bus.publish(Fact(value=2, ts=0))
    assert ref.waiting() == [Unwoken(Fact(value=2, ts=0))]
    bus.publish(Other(ts=0))
    bus.publish(Fact(value=3, ts=0))  # behind another message: both stay, in order
    assert ref.waiting() == [Unwoken(Fact(value=2, ts=0)), Other(ts=0), Unwoken(Fact(value=3, ts=0))]


def test_subscribers_woken_or_not_are_delivered_in_subscription_order():
    bus = Bus()
    first, second = InboxOnly(), InboxOnly()
    bus.subscribe(first, Fact, wake=False)
    bus.subscribe(second, Fact)
    assert bus.subscribers(Fact(value=1, ts=0)) == [first, second]
