"""The supervisor shell (SessionSupervisorActor) on a virtual clock, with stand-in makers,
REST client and order gateway: it starts, tells and stops real maker actors for the core,
finds dead ones, reads over REST with replies coming back to it, takes the governor's
exposure from the bus and publishes balances to it, and asks no actor at run time (it runs
in the deterministic runtime). Decisions themselves are specified on SupervisorCore."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from actors._base import FatalActorError, MmdActor, handles
from actors.supervisor import SessionSupervisorActor, crash_reporting
from kernel.bus import Bus, InFlightTracker, post
from kernel.clock import ReplayClock, seconds
from kernel.directory import Directory
from kernel.runtime import DeterministicRuntime
from messages import (
    BalanceRead,
    CancelAllOrders,
    ExitUrgency,
    MakerFinished,
    MakerStatus,
    MarketSelected,
    Message,
    RestReadCompleted,
    RestReadRequested,
    RiskDirective,
    SessionStarted,
    SessionStopped,
    StopSession,
    SubscribeMarkets,
    message,
)
from test_supervisor_factories import (
    SAMPLE_INTERVAL_S,
    T0,
    exposure,
    market_config,
    regime_update,
    supervisor_config,
    volatility_event,
)


@message
class Crash(Message):
    """Test-only: makes a FakeMaker fail like a maker with a bug."""

    ts: int


class FakeMaker(MmdActor):
    """Answers StopSession with MakerFinished (unless told to hang), crashes on Crash."""

    def __init__(self, *, ticker, session_id, market_config, finishes=True, log_to, **kwargs):
        super().__init__(**kwargs)
        self.ticker, self.session_id, self.market_config = ticker, session_id, market_config
        self.finishes = finishes
        self.got = log_to

    @handles(StopSession)
    def on_stop_session(self, command):
        self.got.append(command)
        if self.finishes:
            self.publish(
                MakerFinished(
                    session_id=self.session_id, ticker=self.ticker, reason=command.reason, position=Decimal("0"),
                    realized_pnl=Decimal("0.37"), fees=Decimal("0.02"), ts=self.clock.now_ns(),
                )
            )

    @handles(Crash)
    def on_crash(self, _):
        raise FatalActorError("maker bug")

    def get_status(self):
        raise AssertionError("the supervisor must not ask a maker for its status")


class Recorder(MmdActor):
    """The order gateway (sweeps pass through risk) or anything else that is only told."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.got = []

    @handles(CancelAllOrders, BalanceRead)
    def on_any(self, m):
        self.got.append(m)

    def get_got(self):
        return list(self.got)


FAR_CLOSE = "2099-01-01T00:00:00Z"  # GET /markets/{ticker}: a market that closes long after any test


class FakeRest(MmdActor):
    """GET /portfolio/balance from a shared one-item list of cents; GET /markets/{ticker}
    with the close time in `closes` (shared dict ticker -> RFC 3339 or an HTTP status).
    Replies go to the reader a request names, as the REST actor's do (through `readers`)."""

    def __init__(self, *, balance, readers, closes=None, **kwargs):
        super().__init__(**kwargs)
        self.readers = readers
        self.balance = balance
        self.closes = {} if closes is None else closes
        self.paths = []

    @handles(RestReadRequested)
    def on_read(self, request):
        self.paths.append(request.path)
        status = 200
        if request.path.startswith("/markets/"):
            close = self.closes.get(request.path.removeprefix("/markets/"), FAR_CLOSE)
            status, body = (close, {"error": "not found"}) if isinstance(close, int) else (200, {"market": {"close_time": close}})
        else:
            body = {"balance": self.balance[0], "balance_dollars": "x", "portfolio_value": 0, "updated_ts": 0}
        self.send(
            self.readers.resolve(request.reply_to),
            RestReadCompleted(request_id=request.request_id, path=request.path, status=status, body=body, error="",
                              ts_recv=self.clock.now_ns()),
        )

    def get_paths(self):
        return list(self.paths)


class Sink(MmdActor):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.got = []

    @handles(SessionStarted, SessionStopped, SubscribeMarkets)
    def on_any(self, m):
        self.got.append(m)

    def get_got(self):
        return list(self.got)


@dataclass
class Rig:
    clock: ReplayClock
    bus: Bus
    tracker: InFlightTracker
    supervisor: object
    gateway: object
    events: object
    makers: dict  # session_id -> FakeMaker ref
    told: dict  # session_id -> messages the maker got
    balance: list
    rest: object = None

    def publish(self, m):
        self.bus.publish(m)
        self.quiet()

    def quiet(self):
        assert self.tracker.wait_quiet(10)

    def run_until(self, t_ns, regimes=()):
        """Fire timers one at a time up to t_ns; publish a fresh regime for `regimes` each second."""
        next_regime = self.clock.now_ns()
        while True:
            due = self.clock.next_deadline()
            step = min(x for x in (due, t_ns, next_regime if regimes else None) if x is not None)
            if step > t_ns:
                break
            if regimes and step == next_regime:
                self.clock.advance_to(step)
                for ticker in regimes:
                    self.publish(regime_update(ticker, ts=step))
                next_regime += seconds(1)
                continue
            if due is None or due > t_ns:
                break
            self.clock.fire_next_due(due)
            self.quiet()
        self.clock.advance_to(max(t_ns, self.clock.now_ns()))

    def started(self):
        return [m for m in self.events.proxy().get_got().get() if isinstance(m, SessionStarted)]

    def stopped(self):
        return [(m.ticker, m.reason, m.pnl) for m in self.events.proxy().get_got().get() if isinstance(m, SessionStopped)]

    def maker_for(self, ticker):
        (sid,) = [s.session_id for s in self.started() if s.ticker == ticker][-1:]
        return self.makers[sid], self.told[sid]

    def status(self):
        return self.supervisor.proxy().get_status().get()


def rig(finishes=True, style="volatility", balance_cents=100_000, maker_class=FakeMaker, closes=None, **overrides) -> Rig:
    tracker = InFlightTracker()
    clock = ReplayClock(T0, tracker)
    bus = Bus(tracker)
    balance = [balance_cents]
    events = Sink.start(clock=clock, bus=bus, tracker=tracker)
    for t in (SessionStarted, SessionStopped):
        bus.subscribe(events, t)
    gateway = Recorder.start(clock=clock, bus=bus, tracker=tracker)
    readers = Directory()
    rest = FakeRest.start(clock=clock, bus=bus, tracker=tracker, balance=balance, closes=closes, readers=readers)
    makers, told = {}, {}

    def factory(ticker, session_id, market_config):
        told[session_id] = []
        makers[session_id] = maker_class.start(
            clock=clock, bus=bus, tracker=tracker, ticker=ticker, session_id=session_id, market_config=market_config,
            finishes=finishes, log_to=told[session_id],
        )
        return makers[session_id]

    supervisor = SessionSupervisorActor.start(
        clock=clock, bus=bus, tracker=tracker, config=supervisor_config(**overrides), run_id="run-t",
        maker_factory=factory, feed=events, order_gateway=gateway, rest=rest, style=style,
        regime_sample_interval_s=SAMPLE_INTERVAL_S, directory=readers,
    )
    supervisor.proxy().ping().get()
    return Rig(clock, bus, tracker, supervisor, gateway, events, makers, told, balance, rest)


def start_one(r: Rig, ticker="KX-A", also=(), **event_fields):
    """Publish an event and run past the regime wait, keeping `ticker` and `also` regimes fresh."""
    r.publish(volatility_event(ticker, ts=r.clock.now_ns(), **event_fields))
    r.run_until(r.clock.now_ns() + seconds(5), regimes=(ticker, *also))


def told_pairs(told):
    return [(m.reason, m.urgency) for m in told]


def test_an_admitted_event_starts_a_maker_actor_with_the_session_config_and_subscribes_its_ticker():
    r = rig()
    start_one(r)
    (started,) = r.started()
    maker = r.makers[started.session_id]
    assert maker.proxy().market_config.get() == market_config("KX-A")
    subs = [m for m in r.events.proxy().get_got().get() if isinstance(m, SubscribeMarkets)]
    assert subs[0].tickers == ("KX-A",)


def test_the_maker_is_told_to_stop_and_its_actor_stopped_once_it_finished():
    r = rig(explicit_session_ttl_s=0)
    start_one(r)
    maker, told = r.maker_for("KX-A")
    r.run_until(r.clock.now_ns() + seconds(300), regimes=("KX-A",))
    assert told_pairs(told) == [("ttl", ExitUrgency.PASSIVE)]
    assert r.stopped() == [("KX-A", "ttl", Decimal("0.37"))]
    assert maker.actor_stopped.wait(5)
    assert r.gateway.proxy().get_got().get() == []  # the maker confirmed its orders gone: no sweep


def test_a_maker_that_does_not_finish_its_exit_is_stopped_at_the_deadline_and_its_ticker_swept():
    r = rig(finishes=False)
    start_one(r)
    maker, _ = r.maker_for("KX-A")
    r.publish(RiskDirective(ticker="KX-A", action="end_session", reason="daily_loss", ts=r.clock.now_ns()))
    r.run_until(r.clock.now_ns() + seconds(supervisor_config().exit_timeout_s), regimes=("KX-A",))
    assert r.stopped() == [("KX-A", "risk:daily_loss", None)]
    assert maker.actor_stopped.wait(5)
    (sweep,) = r.gateway.proxy().get_got().get()
    assert sweep.ticker == "KX-A"


def test_the_governors_published_exposure_decides_admission():
    r = rig()
    r.publish(exposure(positions={"KX-A": 4}))
    start_one(r)
    assert r.started() == []
    assert "open position" in r.status()["dropped_events"][0]["reason"]


def test_each_balance_read_is_published_on_the_bus():
    r = rig(balance_cents=30_000)
    r.bus.subscribe(r.gateway, BalanceRead)
    r.publish(volatility_event("KX-A", ts=r.clock.now_ns()))
    (read,) = [m for m in r.gateway.proxy().get_got().get() if isinstance(m, BalanceRead)]
    assert read.available == Decimal("300")
    assert r.rest.proxy().get_paths().get() == ["/portfolio/balance"]


def test_the_status_shows_each_makers_latest_published_status_without_asking_it():
    r = rig()
    start_one(r)
    sid = r.started()[0].session_id
    r.publish(MakerStatus(session_id=sid, ticker="KX-A", state="QUOTING", why_not_quoting="", adverse_selection=False,
                          position=Decimal("2"), realized_pnl=Decimal("0.10"), unrealized_pnl=Decimal("0"),
                          ts=r.clock.now_ns()))
    (active,) = r.status()["active"]
    assert (active["session_id"], active["maker"]["state"], active["maker"]["position"]) == (sid, "QUOTING", Decimal("2"))


def test_a_crashed_maker_is_found_dead_on_the_monitor_tick_and_its_orders_swept():
    r = rig()
    start_one(r)
    maker, _ = r.maker_for("KX-A")
    post(maker, Crash(ts=0), r.tracker)  # no crash hook: Pykka stops it, nobody reports
    r.quiet()
    assert maker.actor_stopped.wait(5)
    r.run_until(r.clock.now_ns() + seconds(1), regimes=("KX-A",))
    assert r.stopped() == [("KX-A", "crashed", None)]
    (sweep,) = r.gateway.proxy().get_got().get()
    assert sweep.ticker == "KX-A"
    assert r.supervisor.is_alive()
    start_one(r, "KX-A")  # the supervisor keeps admitting
    assert [s.ticker for s in r.started()] == ["KX-A", "KX-A"]


def test_with_the_crash_hook_a_crash_is_recorded_at_once_without_waiting_for_the_monitor():
    r = rig(maker_class=crash_reporting(FakeMaker))
    start_one(r, "KX-A")
    maker, _ = r.maker_for("KX-A")
    assert maker.actor_class.__name__ == "CrashReportingFakeMaker"
    before = r.clock.now_ns()
    post(maker, Crash(ts=0), r.tracker)
    r.quiet()
    assert r.stopped() == [("KX-A", "crashed", None)]
    assert r.clock.now_ns() == before
    assert [c.ticker for c in r.gateway.proxy().get_got().get()] == ["KX-A"]


def test_a_maker_gone_when_told_to_stop_is_closed_as_crashed_at_once():
    r = rig()
    start_one(r)
    maker, _ = r.maker_for("KX-A")
    maker.stop()  # gone, and the supervisor has not looked yet
    r.publish(RiskDirective(ticker="KX-A", action="end_session", reason="daily_loss", ts=r.clock.now_ns()))
    assert r.stopped() == [("KX-A", "crashed", None)]


def test_a_maker_that_cannot_start_costs_the_session_but_not_the_supervisor():
    tracker = InFlightTracker()
    clock = ReplayClock(T0, tracker)
    bus = Bus(tracker)

    def broken_factory(ticker, session_id, market_config):
        raise ValueError("maker config rejected")

    supervisor = SessionSupervisorActor.start(
        clock=clock, bus=bus, tracker=tracker, config=supervisor_config(), run_id="run-t",
        maker_factory=broken_factory, feed=Sink.start(clock=clock, bus=bus, tracker=tracker), order_gateway=None,
        regime_sample_interval_s=SAMPLE_INTERVAL_S,
    )
    supervisor.proxy().ping().get()
    bus.publish(MarketSelected(ticker="KX-A", reason="configured", ts=T0))
    assert tracker.wait_quiet(10)
    assert supervisor.is_alive()
    assert supervisor.proxy().open_session_count().get() == 0
    assert supervisor.proxy().errors.get()["maker_start"] == 1


def test_stop_all_sessions_is_answered_with_how_many_were_told():
    r = rig()
    start_one(r, "KX-A")
    _, told = r.maker_for("KX-A")
    assert r.supervisor.proxy().stop_all_sessions("shutdown").get() == 1
    r.quiet()
    assert told_pairs(told) == [("shutdown", ExitUrgency.CANCEL)]
    assert r.stopped() == [("KX-A", "shutdown", Decimal("0.37"))]
    assert r.supervisor.proxy().open_session_count().get() == 0


def test_stopping_the_supervisor_tells_an_exiting_maker_to_cancel_stops_it_and_records_it():
    r = rig(finishes=False)
    start_one(r)
    maker, told = r.maker_for("KX-A")
    r.run_until(r.clock.now_ns() + seconds(300), regimes=("KX-A",))
    r.supervisor.stop()
    assert not maker.is_alive()
    r.quiet()
    assert told_pairs(told) == [("ttl", ExitUrgency.PASSIVE), ("shutdown", ExitUrgency.CANCEL)]
    assert r.stopped() == [("KX-A", "shutdown", None)]


def test_the_supervisor_asks_no_actor_at_run_time_so_it_runs_in_the_deterministic_runtime():
    runtime = DeterministicRuntime()
    clock = ReplayClock(T0)
    bus = Bus()
    wiring = {"clock": clock, "bus": bus}
    events = runtime.start(Sink, **wiring)
    for t in (SessionStarted, SessionStopped):
        bus.subscribe(events, t)
    told = {}

    def factory(ticker, session_id, market_config):
        told[session_id] = []
        return runtime.start(FakeMaker, **wiring, ticker=ticker, session_id=session_id, market_config=market_config,
                             log_to=told[session_id])

    readers = Directory()
    supervisor = runtime.start(
        SessionSupervisorActor, **wiring, config=supervisor_config(), run_id="run-t", maker_factory=factory,
        feed=events, order_gateway=runtime.start(Recorder, **wiring),
        rest=runtime.start(FakeRest, **wiring, balance=[100_000], readers=readers),
        regime_sample_interval_s=SAMPLE_INTERVAL_S, directory=readers,
    )
    runtime.run_until_idle()
    bus.publish(exposure())
    bus.publish(volatility_event("KX-A", ts=T0))
    runtime.run_until_idle()
    for second in range(1, 6):  # regime views each second; the admission timer at 5 s
        clock.advance_to(T0 + seconds(second))
        bus.publish(regime_update("KX-A", ts=clock.now_ns()))
        runtime.run_until_idle()
        while clock.fire_next_due(clock.now_ns()):
            runtime.run_until_idle()
    bus.publish(RiskDirective(ticker="KX-A", action="end_session", reason="daily_loss", ts=clock.now_ns()))
    runtime.run_until_idle()
    got = events.proxy().get_got().get()
    assert [type(m).__name__ for m in got] == ["SubscribeMarkets", "SessionStarted", "SessionStopped"]
    assert supervisor.proxy().get_status().get()["ended"][0]["reason"] == "risk:daily_loss"
