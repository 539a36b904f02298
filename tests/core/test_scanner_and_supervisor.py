"""The activity ranking, and the supervisor spawning one maker per explicitly selected market
and stopping them. (The scanner actor's own behaviour is specified in test_scanner_actor.py.)"""

import pykka

from actors._base import MmdActor, handles
from actors.scanner import rank_markets
from actors.supervisor import SessionSupervisorActor
from config import load_config
from messages import (
    MarketLifecycleChanged,
    CancelAllOrders,
    MarketSelected,
    RestReadRequested,
    SessionStarted,
    SessionStopped,
    StopSession,
    SubscribeMarkets,
)
from kernel.bus import Bus, InFlightTracker
from kernel.clock import ReplayClock, seconds

EXIT_TIMEOUT_S = load_config().supervisor.exit_timeout_s  # a maker still exiting is stopped then


def market(ticker, volume_24h="100.00", last="0.5000", status="active", market_type="binary"):
    return {
        "ticker": ticker,
        "status": status,
        "market_type": market_type,
        "volume_24h_fp": volume_24h,
        "volume_fp": volume_24h,
        "last_price_dollars": last,
    }


def test_ranking_prefers_volume_and_skips_inactive_scalar_and_extreme_markets():
    markets = [
        market("KX-QUIET", volume_24h="10.00"),
        market("KX-BUSY", volume_24h="900.00"),
        market("KX-CLOSED", volume_24h="5000.00", status="closed"),
        market("KX-SCALAR", volume_24h="5000.00", market_type="scalar"),
        market("KX-CHEAP", volume_24h="5000.00", last="0.0200"),
        market("KX-BAD", volume_24h="not-a-number"),
        "not a market",
        {"status": "active", "volume_24h_fp": "9999.00"},  # no ticker
        {**market("KX-NULL"), "ticker": None},
    ]
    assert [c.ticker for c in rank_markets(markets, limit=5)] == ["KX-BUSY", "KX-QUIET"]
    assert rank_markets({"markets": "wrong shape"}, limit=5) == []


class Recorder(MmdActor):
    """Stands in for any collaborator: records every message it is sent."""

    def __init__(self, *, sink=None, **kwargs):
        super().__init__(**kwargs)
        self.got = [] if sink is None else sink  # a sink outlives the actor

    @handles(
        RestReadRequested, SubscribeMarkets, StopSession, MarketSelected, SessionStarted, SessionStopped, CancelAllOrders
    )
    def on_any(self, message):
        self.got.append(message)

    def get_got(self):
        return list(self.got)


def harness():
    tracker = InFlightTracker()
    clock = ReplayClock(seconds(1_000), tracker)
    return clock, Bus(tracker), tracker


def start_supervisor(clock, bus, tracker, ttl_s=0.0, max_sessions=3):
    feed = Recorder.start(clock=clock, bus=bus, tracker=tracker)
    gateway = Recorder.start(clock=clock, bus=bus, tracker=tracker)
    makers = {}
    maker_messages = {}

    def factory(ticker, session_id, market_config):
        maker_messages[session_id] = []
        makers[session_id] = Recorder.start(clock=clock, bus=bus, tracker=tracker, sink=maker_messages[session_id])
        return makers[session_id]

    cfg = load_config(
        overrides={"supervisor": {"explicit_session_ttl_s": ttl_s, "max_long_lived_sessions": max_sessions}}
    )
    supervisor = SessionSupervisorActor.start(
        clock=clock, bus=bus, tracker=tracker, config=cfg.supervisor, run_id="run-t", maker_factory=factory, feed=feed,
        order_gateway=gateway, regime_sample_interval_s=cfg.scanner.volatility.sample_interval_s,
    )
    supervisor.proxy().ping().get()
    supervisor.maker_messages = maker_messages
    supervisor.gateway = gateway
    return supervisor, feed, makers


def test_a_selected_market_gets_its_own_maker_and_a_feed_subscription():
    clock, bus, tracker = harness()
    events = Recorder.start(clock=clock, bus=bus, tracker=tracker)
    bus.subscribe(events, SessionStarted)
    supervisor, feed, makers = start_supervisor(clock, bus, tracker)
    bus.publish(MarketSelected(ticker="KX-A", reason="test", ts=0))
    tracker.wait_quiet()
    assert list(makers) == ["mmd-run-t-s1"]
    assert feed.proxy().get_got().get()[0].tickers == ("KX-A",)
    (started,) = events.proxy().get_got().get()
    assert (started.session_id, started.ticker) == ("mmd-run-t-s1", "KX-A")


def test_a_second_selection_of_the_same_ticker_does_not_start_a_second_session():
    clock, bus, tracker = harness()
    supervisor, _, makers = start_supervisor(clock, bus, tracker)
    bus.publish(MarketSelected(ticker="KX-A", reason="test", ts=0))
    bus.publish(MarketSelected(ticker="KX-A", reason="again", ts=0))
    tracker.wait_quiet()
    assert len(makers) == 1


def test_concurrency_limit_refuses_extra_sessions():
    clock, bus, tracker = harness()
    supervisor, _, makers = start_supervisor(clock, bus, tracker, max_sessions=1)
    bus.publish(MarketSelected(ticker="KX-A", reason="t", ts=0))
    bus.publish(MarketSelected(ticker="KX-B", reason="t", ts=0))
    tracker.wait_quiet()
    assert len(makers) == 1


def run_timers_until(clock, tracker, t_ns):
    while clock.fire_next_due(t_ns):
        tracker.wait_quiet()
    clock.advance_to(t_ns)


def test_ttl_tells_the_maker_to_exit_and_a_maker_that_never_finishes_is_stopped_and_its_ticker_swept():
    clock, bus, tracker = harness()
    events = Recorder.start(clock=clock, bus=bus, tracker=tracker)
    bus.subscribe(events, SessionStopped)
    supervisor, _, makers = start_supervisor(clock, bus, tracker, ttl_s=300)
    bus.publish(MarketSelected(ticker="KX-A", reason="t", ts=0))
    tracker.wait_quiet()
    maker = makers["mmd-run-t-s1"]
    run_timers_until(clock, tracker, clock.now_ns() + seconds(301))
    (told,) = supervisor.maker_messages["mmd-run-t-s1"]
    assert isinstance(told, StopSession) and (told.reason, told.urgency) == ("ttl", "passive")
    assert maker.is_alive() and events.proxy().get_got().get() == []  # exiting: not ended yet
    run_timers_until(clock, tracker, clock.now_ns() + seconds(EXIT_TIMEOUT_S))  # the exit deadline
    maker.actor_stopped.wait(5)
    assert not maker.is_alive()
    (stopped,) = events.proxy().get_got().get()
    assert (stopped.ticker, stopped.reason) == ("KX-A", "ttl")
    (sweep,) = supervisor.gateway.proxy().get_got().get()
    assert isinstance(sweep, CancelAllOrders) and sweep.ticker == "KX-A"


def end_pinned_session_on_ttl(clock, tracker, makers, ttl_s=300):
    """TTL, then the stand-in maker never finishes: closed at the exit deadline."""
    run_timers_until(clock, tracker, clock.now_ns() + seconds(ttl_s))
    run_timers_until(clock, tracker, clock.now_ns() + seconds(EXIT_TIMEOUT_S))
    makers["mmd-run-t-s1"].actor_stopped.wait(5)


def test_a_pinned_market_whose_session_ended_gets_a_new_one_after_the_restart_delay():
    clock, bus, tracker = harness()
    supervisor, _, makers = start_supervisor(clock, bus, tracker, ttl_s=300)
    bus.publish(MarketSelected(ticker="KX-A", reason="t", ts=0))
    tracker.wait_quiet()
    end_pinned_session_on_ttl(clock, tracker, makers)
    run_timers_until(clock, tracker, clock.now_ns() + seconds(59))
    assert list(makers) == ["mmd-run-t-s1"]  # not yet

    run_timers_until(clock, tracker, clock.now_ns() + seconds(2))

    assert list(makers) == ["mmd-run-t-s1", "mmd-run-t-s2"]
    (active,) = supervisor.proxy().get_status().get()["active"]
    assert (active["ticker"], active["session_id"]) == ("KX-A", "mmd-run-t-s2")


def test_a_settled_pinned_market_gets_no_new_session():
    clock, bus, tracker = harness()
    supervisor, _, makers = start_supervisor(clock, bus, tracker, ttl_s=300)
    bus.publish(MarketSelected(ticker="KX-A", reason="t", ts=0))
    tracker.wait_quiet()
    bus.publish(MarketLifecycleChanged(ticker="KX-A", event_type="settled", result="yes", close_ts=None,
                                       ts_event=clock.now_ns(), ts_recv=clock.now_ns()))
    tracker.wait_quiet()
    end_pinned_session_on_ttl(clock, tracker, makers)

    run_timers_until(clock, tracker, clock.now_ns() + seconds(600))

    assert list(makers) == ["mmd-run-t-s1"]


def test_stop_all_sessions_refuses_new_ones_afterwards():
    clock, bus, tracker = harness()
    supervisor, _, makers = start_supervisor(clock, bus, tracker)
    bus.publish(MarketSelected(ticker="KX-A", reason="t", ts=0))
    tracker.wait_quiet()
    assert supervisor.proxy().stop_all_sessions("shutdown").get() == 1
    bus.publish(MarketSelected(ticker="KX-B", reason="t", ts=0))
    tracker.wait_quiet()
    assert len(makers) == 1
    status = supervisor.proxy().get_status().get()
    assert status["accepting"] is False
    (exiting,) = status["active"]  # this stand-in maker never reports MakerFinished
    assert (exiting["state"], exiting["end_reason"]) == ("STOPPING", "shutdown")
    supervisor.stop()  # the supervisor's own stop closes what is still exiting
    assert pykka.ActorRegistry.get_by_urn(makers["mmd-run-t-s1"].actor_urn) is None
