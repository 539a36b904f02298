"""The scanner actor shell on a virtual clock: reads go to the REST actor (a failed listing
is asked again after retry_after_s), subscriptions to the feed, regimes are published
every second while a session exists."""

from decimal import Decimal as D

from actors._base import MmdActor, handles
from actors.scanner import ScannerActor
from config import load_config
from messages import (
    DiscoveryCompleted,
    RegimeUpdated,
    RestReadCompleted,
    RestReadRequested,
    SessionStarted,
    SessionStopped,
    SubscribeMarkets,
    TickerUpdated,
    VolatilityDetected,
)
from kernel.bus import Bus, InFlightTracker
from kernel.directory import Directory
from kernel.clock import ReplayClock, seconds
from kalshi.wire import rfc3339_from_ns

START = seconds(1_800_000_000)


class Recorder(MmdActor):
    """Records what it is told; with `markets`, answers reads as the REST actor would (to
    the reader the request names, through `readers`)."""

    def __init__(self, *, markets=None, readers=None, **kwargs):
        super().__init__(**kwargs)
        self.got = []
        self.markets = markets
        self.readers = readers

    @handles(RestReadRequested, SubscribeMarkets, RegimeUpdated, DiscoveryCompleted, VolatilityDetected)
    def on_any(self, message):
        self.got.append(message)
        if isinstance(message, RestReadRequested) and self.markets is not None:
            if message.path == "/markets":
                wanted = dict(message.query).get("tickers")
                body = {"markets": [m for m in self.markets if wanted is None or m["ticker"] in wanted.split(",")]}
            elif message.path.startswith("/events/"):
                body = {"event": {"event_ticker": message.path.split("/")[2], "category": "Economics"}}
            else:
                body = None
            self.send(self.readers.resolve(message.reply_to), RestReadCompleted(
                request_id=message.request_id, path=message.path, status=200 if body else 404, body=body,
                error="", ts_recv=self.clock.now_ns()))

    def get_got(self):
        return list(self.got)


def market(ticker):
    return {"ticker": ticker, "event_ticker": "EV-1", "market_type": "binary", "status": "active",
            "yes_bid_dollars": "0.45", "yes_ask_dollars": "0.47", "yes_bid_size_fp": "300", "yes_ask_size_fp": "300",
            "volume_fp": "20000", "volume_24h_fp": "20000", "open_time": rfc3339_from_ns(START - seconds(3600)),
            "close_time": rfc3339_from_ns(START + seconds(10 * 86400))}


def rig():
    tracker = InFlightTracker()
    clock = ReplayClock(START, tracker)
    bus = Bus(tracker)
    listener = Recorder.start(clock=clock, bus=bus, tracker=tracker)
    for kind in (RegimeUpdated, DiscoveryCompleted, VolatilityDetected):
        bus.subscribe(listener, kind)
    readers = Directory()
    rest = Recorder.start(clock=clock, bus=bus, tracker=tracker, markets=[market("KX-A"), market("KX-B")], readers=readers)
    feed = Recorder.start(clock=clock, bus=bus, tracker=tracker)
    cfg = load_config()
    scanner = ScannerActor.start(
        clock=clock, bus=bus, tracker=tracker, config=cfg.scanner, rest=rest, feed=feed, risk_config=cfg.risk, directory=readers
    )
    tracker.wait_quiet()
    return clock, bus, tracker, listener, rest, feed, scanner


def fire_until(clock, tracker, t_ns):
    while clock.fire_next_due(t_ns):
        tracker.wait_quiet()
    clock.advance_to(max(t_ns, clock.now_ns()))


def test_discovery_runs_through_the_rest_actor_and_subscribes_the_tracked_markets():
    clock, bus, tracker, listener, rest, feed, scanner = rig()
    (done,) = [m for m in listener.proxy().get_got().get() if isinstance(m, DiscoveryCompleted)]
    assert [m.category for m in done.markets] == ["economics", "economics"]
    (subscribe,) = feed.proxy().get_got().get()
    assert subscribe.tickers == ("KX-A", "KX-B")
    paths = [r.path for r in rest.proxy().get_got().get()]
    assert paths == ["/markets", "/events/EV-1"]


def test_regime_heartbeat_every_second_while_a_volatility_session_lives():
    clock, bus, tracker, listener, rest, feed, scanner = rig()
    bus.publish(SessionStarted(session_id="s1", ticker="KX-A", reason="t", ts=clock.now_ns(), event_id="ev-1"))
    tracker.wait_quiet()
    for i in range(24):  # a market oscillating on the WS ticker channel, a price every sample (5 s):
        mid = D("0.47") if i % 2 else D("0.53")  # no REST poll is needed for fresh regime data
        fire_until(clock, tracker, START + seconds(5 * i))  # timers due on the way fire first
        bus.publish(TickerUpdated(ticker="KX-A", last_price=mid, yes_bid=mid - D("0.01"), yes_ask=mid + D("0.01"),
                                  yes_bid_size=D(100), yes_ask_size=D(100), volume=None, open_interest=None,
                                  ts_event=clock.now_ns(), ts_recv=clock.now_ns()))
        tracker.wait_quiet()
    updates = [m for m in listener.proxy().get_got().get() if isinstance(m, RegimeUpdated)]
    stamps = [u.ts for u in updates]
    assert stamps[0] == START  # at once on SessionStarted
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert gaps and max(gaps) <= seconds(1)  # never more than a second apart
    assert updates[-1].regime == "MEAN_REVERTING" and updates[-1].stable
    bus.publish(SessionStopped(session_id="s1", ticker="KX-A", reason="ttl", ts=clock.now_ns()))
    tracker.wait_quiet()
    before = len([m for m in listener.proxy().get_got().get() if isinstance(m, RegimeUpdated)])
    fire_until(clock, tracker, clock.now_ns() + seconds(5))
    after = len([m for m in listener.proxy().get_got().get() if isinstance(m, RegimeUpdated)])
    assert after - before <= 1  # at most the already-scheduled tick, then silence
    status = scanner.proxy().get_status().get()
    assert status["sessions"] == {} and status["mode"] == "volatility"


def test_a_pinned_sessions_regime_is_told_on_news_only_and_its_quiet_market_still_polled_every_sample():
    """The supervisor judges nothing on a pinned session's regime (it keeps the view): no
    tick that would repeat it is stepped. A quiet market is still read over REST once
    per sample, at the heartbeat ticks it always was (START + k s)."""
    clock, bus, tracker, listener, rest, feed, scanner = rig()
    bus.publish(SessionStarted(session_id="s1", ticker="KX-A", reason="configured", ts=clock.now_ns()))
    tracker.wait_quiet()
    reads_before = len(rest.proxy().get_got().get())
    fire_until(clock, tracker, START + seconds(60))
    updates = [m for m in listener.proxy().get_got().get() if isinstance(m, RegimeUpdated)]
    assert updates[0].ts == START  # at once on SessionStarted
    contents = [(u.regime, u.candidate, u.stable, u.sigma, u.data_ts) for u in updates]
    assert all(a != b for a, b in zip(contents, contents[1:]))  # each one says something new
    polls = [r for r in rest.proxy().get_got().get()[reads_before:] if dict(r.query).get("tickers") == "KX-A"]
    stamps = [r.ts for r in polls]
    assert stamps and all((t - START) % seconds(1) == 0 for t in stamps)
    assert max(b - a for a, b in zip(stamps, stamps[1:])) <= seconds(6)  # one sample (5 s), on the 1 s grid


def publish_touch(bus, clock, ticker, mid):
    bus.publish(TickerUpdated(ticker=ticker, last_price=mid, yes_bid=mid - D("0.01"), yes_ask=mid + D("0.01"),
                              yes_bid_size=D(100), yes_ask_size=D(100), volume=None, open_interest=None,
                              ts_event=clock.now_ns(), ts_recv=clock.now_ns()))


def test_an_events_regime_is_published_every_second_until_it_expires_without_a_session():
    clock, bus, tracker, listener, rest, feed, scanner = rig()
    for i in range(12):  # an oscillation: a volatility event, and nobody starts a session
        fire_until(clock, tracker, START + seconds(10 * i))
        publish_touch(bus, clock, "KX-A", D("0.47") if i % 2 else D("0.53"))
        tracker.wait_quiet()
    got = listener.proxy().get_got().get()
    (event,) = [m for m in got if isinstance(m, VolatilityDetected)]
    fire_until(clock, tracker, event.ts + seconds(70))
    updates = [m for m in listener.proxy().get_got().get() if isinstance(m, RegimeUpdated) and m.ticker == "KX-A"]
    stamps = [u.ts for u in updates]
    assert stamps[0] == event.ts and updates[0].regime == event.regime and updates[0].stable
    assert max(b - a for a, b in zip(stamps, stamps[1:])) <= seconds(1)
    cfg = load_config().scanner.regimes
    assert event.ts + seconds(cfg.event_publish_s) - seconds(1) <= stamps[-1] <= event.ts + seconds(cfg.event_publish_s)


def test_discovery_finishes_when_its_lookups_exceed_the_per_second_read_budget():
    from dataclasses import replace

    tracker = InFlightTracker()
    clock = ReplayClock(START, tracker)
    bus = Bus(tracker)
    listener = Recorder.start(clock=clock, bus=bus, tracker=tracker)
    bus.subscribe(listener, DiscoveryCompleted)
    markets = [dict(market(f"KX-{i}"), event_ticker=f"EV-{i}") for i in range(5)]
    readers = Directory()
    rest = Recorder.start(clock=clock, bus=bus, tracker=tracker, markets=markets, readers=readers)
    cfg = load_config()
    scanner_cfg = replace(cfg.scanner, style="discovery", volatility=replace(cfg.scanner.volatility, max_requests_per_s=2))
    ScannerActor.start(
        clock=clock, bus=bus, tracker=tracker, config=scanner_cfg, rest=rest, feed=None, risk_config=cfg.risk, directory=readers
    )
    tracker.wait_quiet()
    assert [m for m in listener.proxy().get_got().get() if isinstance(m, DiscoveryCompleted)] == []  # 4 reads wait
    fire_until(clock, tracker, START + seconds(3))  # no sweep timer in discovery style: the pump timer sends them
    (done,) = [m for m in listener.proxy().get_got().get() if isinstance(m, DiscoveryCompleted)]
    assert len(done.markets) == 5 and done.ts == START + seconds(2)


class FailingRest(Recorder):
    """Every read fails as an exchange outage would."""

    @handles(RestReadRequested)
    def on_any(self, message):
        self.got.append(message)
        self.send(self.readers.resolve(message.reply_to), RestReadCompleted(
            request_id=message.request_id, path=message.path, status=503, body=None, error="unavailable",
            ts_recv=self.clock.now_ns()))


def test_a_failed_market_listing_is_asked_again_after_retry_after_s():
    tracker = InFlightTracker()
    clock = ReplayClock(START, tracker)
    bus = Bus(tracker)
    readers = Directory()
    rest = FailingRest.start(clock=clock, bus=bus, tracker=tracker, readers=readers)
    cfg = load_config()
    ScannerActor.start(
        clock=clock, bus=bus, tracker=tracker, config=cfg.scanner, rest=rest, feed=None, risk_config=cfg.risk, directory=readers
    )
    tracker.wait_quiet()
    retry_ns = seconds(cfg.scanner.retry_after_s)

    fire_until(clock, tracker, START + retry_ns - 1)
    assert [r.path for r in rest.proxy().get_got().get()] == ["/markets"]

    fire_until(clock, tracker, START + retry_ns)
    assert [r.path for r in rest.proxy().get_got().get()] == ["/markets", "/markets"]
    fire_until(clock, tracker, START + 2 * retry_ns)
    assert len(rest.proxy().get_got().get()) == 3  # it failed again: asked again
