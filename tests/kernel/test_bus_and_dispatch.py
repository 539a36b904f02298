"""Bus fan-out, in-flight tracking, and the dispatch that keeps actors alive on bad input."""

from actors._base import FatalActorError, MmdActor, handles
from messages import FeedConnected, FeedDisconnected, Message, StatusDue, StopSession, message
from kernel.bus import Bus, InFlightTracker, post
from kernel.clock import ReplayClock


@message
class Poke(Message):
    """A test message: `what` says how the handler should react."""

    what: str
    ts: int


class Fragile(MmdActor):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.handled = []

    @handles(Poke)
    def on_timer(self, message):
        if message.what == "boom":
            raise RuntimeError("bad message")
        if message.what == "fatal":
            raise FatalActorError("cannot go on")
        self.handled.append(message.what)

    @handles(StopSession)
    def on_stop_session(self, message):
        self.handled.append(f"stop {message.ticker}")

    def get_handled(self):
        return list(self.handled)

    def get_errors(self):
        return dict(self.errors)


def start(tracker=None):
    tracker = tracker or InFlightTracker()
    return Fragile.start(clock=ReplayClock(0, tracker), bus=Bus(tracker), tracker=tracker), tracker


def test_a_failing_handler_is_logged_and_counted_and_the_actor_lives_on():
    ref, tracker = start()
    post(ref, Poke(what="boom", ts=0), tracker)
    post(ref, Poke(what="after", ts=0), tracker)
    tracker.wait_quiet()
    assert ref.is_alive()
    assert ref.proxy().get_handled().get() == ["after"]
    assert ref.proxy().get_errors().get() == {"handler:Poke": 1}


def test_an_unknown_message_type_is_counted_not_fatal():
    ref, tracker = start()
    post(ref, StatusDue(ts=0), tracker)
    tracker.wait_quiet()
    assert ref.is_alive()
    assert ref.proxy().get_errors().get() == {"unknown_message": 1}


def test_a_fatal_error_stops_the_actor():
    ref, tracker = start()
    post(ref, Poke(what="fatal", ts=0), tracker)
    tracker.wait_quiet()
    ref.actor_stopped.wait(5)
    assert not ref.is_alive()


def test_bus_delivers_by_type_and_ticker_in_subscription_order():
    tracker = InFlightTracker()
    bus = Bus(tracker)
    a, _ = start(tracker)
    b, _ = start(tracker)
    bus.subscribe(a, StopSession, ticker="KX-A")
    bus.subscribe(b, StopSession)
    assert bus.publish(StopSession(ticker="KX-A", reason="r", ts=0)) == 2
    assert bus.publish(StopSession(ticker="KX-B", reason="r", ts=0)) == 1
    tracker.wait_quiet()
    assert a.proxy().get_handled().get() == ["stop KX-A"]
    assert b.proxy().get_handled().get() == ["stop KX-A", "stop KX-B"]


def test_bus_drops_dead_subscribers():
    tracker = InFlightTracker()
    bus = Bus(tracker)
    a, _ = start(tracker)
    bus.subscribe(a, FeedConnected)
    a.stop()
    assert bus.publish(FeedConnected(ts_recv=0)) == 0
    assert bus.subscribers(FeedConnected(ts_recv=0)) == []
    assert tracker.in_flight == 0


def test_tracker_waits_until_every_message_is_handled():
    tracker = InFlightTracker()
    ref, _ = start(tracker)
    for i in range(50):
        post(ref, Poke(what=str(i), ts=0), tracker)
    assert tracker.wait_quiet(timeout=10)
    assert len(ref.proxy().get_handled().get()) == 50
    assert tracker.underflows == 0


def test_messages_are_frozen():
    message = FeedDisconnected(reason="x", ts_recv=1)
    try:
        message.reason = "y"
    except AttributeError:
        pass
    else:
        raise AssertionError("messages must be immutable")


def test_messages_queued_behind_a_stop_are_marked_done_and_the_actor_leaves_the_bus():
    tracker = InFlightTracker()
    bus = Bus(tracker)
    ref = Fragile.start(clock=ReplayClock(0, tracker), bus=bus, tracker=tracker)
    bus.subscribe(ref, Poke)
    ref.stop(block=False)
    post(ref, Poke(what="late", ts=0), tracker)  # may land behind the stop
    ref.actor_stopped.wait(5)
    assert tracker.wait_quiet(timeout=5)
    assert bus.subscribers(Poke(what="x", ts=0)) == []
