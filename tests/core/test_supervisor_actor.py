"""The supervisor actor on a virtual clock, with stand-in makers, risk and REST actors:
admission, every end reason, exit deadlines, crash containment, kill switch, discovery."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pykka

from actors._base import FatalActorError, MmdActor, handles
from actors.supervisor import SessionSupervisorActor, crash_reporting
from messages import (
    CancelAllOrders,
    DiscoveryCompleted,
    ExitUrgency,
    KillSwitchEngaged,
    KillSwitchReleased,
    MakerFinished,
    MakerStatus,
    Message,
    RestReadCompleted,
    RestReadRequested,
    RiskDirective,
    ScoredMarket,
    SessionStarted,
    SessionStopped,
    StopSession,
    SubscribeMarkets,
    VolatilityEnded,
    message,
)
from kernel.bus import Bus, InFlightTracker, post
from kernel.clock import ReplayClock, seconds
from test_supervisor_factories import (
    SAMPLE_INTERVAL_S,
    T0,
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
        return {"ticker": self.ticker, "state": "QUOTING"}


class FakeRisk(MmdActor):
    def __init__(self, *, snapshot, **kwargs):
        super().__init__(**kwargs)
        self.snapshot = snapshot  # shared dict: the test changes it between steps
        self.got = []

    @handles(CancelAllOrders)
    def on_cancel_all(self, command):
        self.got.append(command)

    def exposure_snapshot(self):
        return dict(self.snapshot)

    def get_got(self):
        return list(self.got)


FAR_CLOSE = "2099-01-01T00:00:00Z"  # GET /markets/{ticker}: a market that closes long after any test


class FakeRest(MmdActor):
    """GET /portfolio/balance from a shared one-item list of cents; GET /markets/{ticker}
    with the close time in `closes` (shared dict ticker -> RFC 3339 or an HTTP status)."""

    def __init__(self, *, balance, closes=None, **kwargs):
        super().__init__(**kwargs)
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
            request.reply_to,
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
    risk: object
    events: object
    makers: dict  # session_id -> FakeMaker ref
    told: dict  # session_id -> messages the maker got
    snapshot: dict
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


def rig(finishes=True, style="volatility", balance_cents=100_000, maker_class=FakeMaker, closes=None, risk_class=None,
        ask_timeout_s=None, **overrides) -> Rig:
    tracker = InFlightTracker()
    clock = ReplayClock(T0, tracker)
    bus = Bus(tracker)
    snapshot = {"positions": {}, "resting_orders": {}, "resting_order_value": "0"}
    balance = [balance_cents]
    events = Sink.start(clock=clock, bus=bus, tracker=tracker)
    for t in (SessionStarted, SessionStopped):
        bus.subscribe(events, t)
    risk = (risk_class or FakeRisk).start(clock=clock, bus=bus, tracker=tracker, snapshot=snapshot)
    rest = FakeRest.start(clock=clock, bus=bus, tracker=tracker, balance=balance, closes=closes)
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
        maker_factory=factory, feed=events, order_gateway=risk, risk=risk, rest=rest, style=style,
        regime_sample_interval_s=SAMPLE_INTERVAL_S, ask_timeout_s=ask_timeout_s,
    )
    supervisor.proxy().ping().get()
    return Rig(clock, bus, tracker, supervisor, risk, events, makers, told, snapshot, balance, rest)


def start_one(r: Rig, ticker="KX-A", also=(), **event_fields):
    """Publish an event and run past the regime wait, keeping `ticker` and `also` regimes fresh."""
    r.publish(volatility_event(ticker, ts=r.clock.now_ns(), **event_fields))
    r.run_until(r.clock.now_ns() + seconds(5), regimes=(ticker, *also))


def test_a_volatility_event_spawns_a_maker_with_the_session_config_after_the_regime_wait():
    r = rig()
    r.publish(volatility_event("KX-A", ts=T0))
    r.run_until(T0 + seconds(4.9), regimes=("KX-A",))
    assert r.makers == {}
    r.run_until(T0 + seconds(5), regimes=("KX-A",))
    (started,) = r.started()
    assert (started.ticker, started.event_id, started.config.ticker) == ("KX-A", "ev-KX-A-" + str(T0), "KX-A")
    maker = r.makers[started.session_id]
    assert maker.proxy().market_config.get() == market_config("KX-A")
    subs = [m for m in r.events.proxy().get_got().get() if isinstance(m, SubscribeMarkets)]
    assert subs[0].tickers == ("KX-A",)


def test_ttl_stops_the_maker_passively_and_records_its_pnl_when_it_finishes():
    r = rig()
    start_one(r)
    maker, told = r.maker_for("KX-A")
    r.run_until(r.clock.now_ns() + seconds(300), regimes=("KX-A",))
    assert [(m.reason, m.urgency) for m in told] == [("ttl", ExitUrgency.PASSIVE)]
    assert r.stopped() == [("KX-A", "ttl", Decimal("0.37"))]
    assert maker.actor_stopped.wait(5)
    assert r.risk.proxy().get_got().get() == []  # the maker confirmed its orders gone: no sweep


def test_a_maker_that_does_not_finish_its_exit_is_stopped_at_the_deadline_and_its_ticker_swept():
    r = rig(finishes=False)
    start_one(r)
    maker, _ = r.maker_for("KX-A")
    r.publish(
        MakerStatus(session_id=r.started()[0].session_id, ticker="KX-A", state="QUOTING", why_not_quoting="",
                    adverse_selection=False, position=Decimal("1"), realized_pnl=Decimal("-0.05"),
                    unrealized_pnl=Decimal("0"), ts=r.clock.now_ns())
    )
    event_id = r.started()[0].event_id
    r.publish(VolatilityEnded(event_id=event_id, ticker="KX-A", reason="sigma_below_threshold", ts=r.clock.now_ns()))
    assert r.stopped() == []  # still exiting
    r.run_until(r.clock.now_ns() + seconds(60), regimes=("KX-A",))
    assert r.stopped() == [("KX-A", "volatility_ended", Decimal("-0.05"))]
    assert maker.actor_stopped.wait(5)
    (sweep,) = r.risk.proxy().get_got().get()
    assert sweep.ticker == "KX-A"


def test_a_fourth_simultaneous_event_waits_for_a_free_slot():
    r = rig()
    now = r.clock.now_ns()
    for ticker in ("KX-A", "KX-B", "KX-C", "KX-D"):
        r.publish(volatility_event(ticker, ts=now))
    r.run_until(now + seconds(5), regimes=("KX-A", "KX-B", "KX-C", "KX-D"))
    assert [s.ticker for s in r.started()] == ["KX-A", "KX-B", "KX-C"]
    status = r.supervisor.proxy().get_status().get()
    assert status["waiting_events"][0]["ticker"] == "KX-D" and "slots" in status["waiting_events"][0]["waiting_for"]
    r.publish(RiskDirective(ticker="KX-B", action="end_session", reason="daily_loss", ts=r.clock.now_ns()))
    assert [s.ticker for s in r.started()] == ["KX-A", "KX-B", "KX-C", "KX-D"]
    assert r.stopped() == [("KX-B", "risk:daily_loss", Decimal("0.37"))]


def test_never_a_session_on_a_ticker_with_an_open_position():
    r = rig()
    r.snapshot["positions"] = {"KX-A": "4"}
    start_one(r)
    assert r.started() == []
    dropped = r.supervisor.proxy().get_status().get()["dropped_events"]
    assert "open position" in dropped[0]["reason"]


def test_trending_soft_kills_and_chaotic_hard_kills():
    r = rig()
    start_one(r, "KX-A")
    start_one(r, "KX-B", also=("KX-A",))
    _, told_a = r.maker_for("KX-A")
    _, told_b = r.maker_for("KX-B")
    r.publish(regime_update("KX-A", "TRENDING", ts=r.clock.now_ns()))
    r.publish(regime_update("KX-B", "CHAOTIC", ts=r.clock.now_ns()))
    assert [(m.reason, m.urgency) for m in told_a] == [("regime_trending", ExitUrgency.PASSIVE)]
    assert [(m.reason, m.urgency) for m in told_b] == [("regime_chaotic", ExitUrgency.IMMEDIATE)]
    assert sorted(t for t, _, _ in r.stopped()) == ["KX-A", "KX-B"]


def test_regime_data_silent_beyond_four_seconds_plus_one_sample_is_a_hard_kill():
    r = rig()
    start_one(r)
    _, told = r.maker_for("KX-A")
    r.run_until(r.clock.now_ns() + seconds(4 + SAMPLE_INTERVAL_S))  # no regime updates any more
    assert told == []
    r.run_until(r.clock.now_ns() + seconds(1))
    assert [(m.reason, m.urgency) for m in told] == [("regime_stale", ExitUrgency.IMMEDIATE)]


def test_sigma_floor_and_market_close_end_sessions():
    r = rig()
    close = r.clock.now_ns() + seconds(5 + 200)
    start_one(r, "KX-A", close_ts=close)
    start_one(r, "KX-B", also=("KX-A",))
    r.publish(regime_update("KX-B", sigma="0.004", ts=r.clock.now_ns()))
    r.run_until(close - seconds(180), regimes=("KX-A",))
    assert sorted(r.stopped()) == [("KX-A", "market_close", Decimal("0.37")), ("KX-B", "sigma_floor", Decimal("0.37"))]


def test_volatility_ended_withdraws_a_waiting_event():
    r = rig()
    r.publish(volatility_event("KX-A", ts=r.clock.now_ns(), event_id="ev-1"))
    r.publish(VolatilityEnded(event_id="ev-1", ticker="KX-A", reason="market_inactive", ts=r.clock.now_ns()))
    r.run_until(r.clock.now_ns() + seconds(10), regimes=("KX-A",))
    assert r.started() == []


def test_a_crashed_maker_is_contained_its_orders_swept_and_the_daemon_carries_on():
    r = rig()
    start_one(r, "KX-A")
    maker, _ = r.maker_for("KX-A")
    post(maker, Crash(ts=0), r.tracker)
    r.quiet()
    assert maker.actor_stopped.wait(5)
    r.run_until(r.clock.now_ns() + seconds(1), regimes=("KX-A",))
    assert r.stopped() == [("KX-A", "crashed", None)]
    (sweep,) = r.risk.proxy().get_got().get()
    assert sweep.ticker == "KX-A"
    assert r.supervisor.is_alive()
    start_one(r, "KX-A")  # the supervisor keeps admitting
    assert [s.ticker for s in r.started()] == ["KX-A", "KX-A"]


def test_kill_switch_cancels_every_session_and_admits_nothing_until_released():
    r = rig()
    start_one(r, "KX-A")
    _, told = r.maker_for("KX-A")
    r.publish(KillSwitchEngaged(reason="manual", ts=r.clock.now_ns()))
    assert [(m.reason, m.urgency) for m in told] == [("kill_switch", ExitUrgency.CANCEL)]
    start_one(r, "KX-B")
    assert [s.ticker for s in r.started()] == ["KX-A"]
    r.publish(KillSwitchReleased(reason="manual", ts=r.clock.now_ns()))
    start_one(r, "KX-B")
    assert [s.ticker for s in r.started()] == ["KX-A", "KX-B"]


def test_a_low_balance_makes_events_wait_until_it_recovers_past_the_hysteresis():
    r = rig(balance_cents=5_000)
    r.publish(volatility_event("KX-A", ts=r.clock.now_ns()))
    r.run_until(r.clock.now_ns() + seconds(8), regimes=("KX-A",))
    assert r.started() == []
    r.balance[0] = 20_000
    r.run_until(r.clock.now_ns() + seconds(10), regimes=("KX-A",))  # next balance poll
    assert [s.ticker for s in r.started()] == ["KX-A"]


def test_shutdown_ends_every_session_with_cancel_and_refuses_new_ones():
    r = rig()
    start_one(r, "KX-A")
    _, told = r.maker_for("KX-A")
    assert r.supervisor.proxy().stop_all_sessions("shutdown").get() == 1
    r.quiet()
    assert [(m.reason, m.urgency) for m in told] == [("shutdown", ExitUrgency.CANCEL)]
    assert r.stopped() == [("KX-A", "shutdown", Decimal("0.37"))]
    assert r.supervisor.proxy().open_session_count().get() == 0
    start_one(r, "KX-B")
    assert len(r.started()) == 1


def test_stopping_the_supervisor_stops_and_records_makers_still_exiting():
    r = rig(finishes=False)
    start_one(r, "KX-A")
    maker, _ = r.maker_for("KX-A")
    r.supervisor.stop()
    assert not maker.is_alive()
    r.quiet()
    assert r.stopped() == [("KX-A", "shutdown", None)]


def scored(ticker, selected=True):
    return ScoredMarket(
        ticker=ticker, title=ticker, category="economics", score=1.0, rank=1, volume_24h=Decimal("9000"),
        spread=Decimal("0.02"), mid=Decimal("0.5"), liquidity=Decimal("500"), reasons=(), config=market_config(ticker),
        selected=selected,
    )


def discovery(run_id, *tickers):
    return DiscoveryCompleted(
        discovery_id=run_id, total_markets=9, binary_markets=9, pre_filtered=9,
        markets=tuple(scored(t) for t in tickers) + (scored("KX-NOT-SELECTED", False),), model_version="v", ts=0,
    )


def test_discovery_style_keeps_makers_on_the_top_markets_and_rotates_dead_ones_unless_they_hold_a_position():
    r = rig(style="discovery")
    r.publish(volatility_event("KX-V", ts=r.clock.now_ns()))  # volatility events are not this style's
    r.publish(discovery("d1", "KX-A", "KX-B", "KX-C"))
    assert [s.ticker for s in r.started()] == ["KX-A", "KX-B", "KX-C"]
    r.snapshot["positions"] = {"KX-B": "2"}
    r.snapshot["resting_orders"] = {"KX-C": 1}
    r.publish(discovery("d2", "KX-D"))
    assert r.stopped() == [("KX-A", "rotated_out", Decimal("0.37"))]
    assert [s.ticker for s in r.started()] == ["KX-A", "KX-B", "KX-C", "KX-D"]
    r.run_until(r.clock.now_ns() + seconds(600))  # long-lived: no TTL, no regime staleness
    assert len(r.stopped()) == 1
    assert all(m.is_alive() for sid, m in r.makers.items() if not sid.endswith("s1"))
    assert pykka.ActorRegistry.get_by_urn(r.makers["mmd-run-t-s1"].actor_urn) is None


def test_a_maker_that_ends_by_itself_is_recorded_with_its_own_reason_and_frees_its_slot():
    r = rig()
    start_one(r, "KX-A")
    maker, _ = r.maker_for("KX-A")
    r.publish(
        MakerFinished(session_id=r.started()[0].session_id, ticker="KX-A", reason="sigma 0.0062 below 0.01",
                      position=Decimal("0"), realized_pnl=Decimal("0.11"), fees=Decimal("0.01"), ts=r.clock.now_ns())
    )
    assert r.stopped() == [("KX-A", "maker:sigma 0.0062 below 0.01", Decimal("0.11"))]
    assert maker.actor_stopped.wait(5)
    assert r.supervisor.proxy().open_session_count().get() == 0


def test_a_malformed_balance_reply_is_counted_and_admission_keeps_waiting():
    r = rig()
    r.publish(volatility_event("KX-A", ts=r.clock.now_ns()))
    reply = RestReadCompleted(request_id="x", path="/portfolio/balance", status=200, body={"balance": "lots"},
                              error="", ts_recv=r.clock.now_ns())
    post(r.supervisor, reply, r.tracker)
    r.quiet()
    assert r.supervisor.is_alive()
    assert r.supervisor.proxy().errors.get()["balance_read"] == 1


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
    assert supervisor.proxy().start_session("KX-A", "test").get() is None
    assert supervisor.proxy().open_session_count().get() == 0
    assert supervisor.proxy().errors.get()["maker_start"] == 1


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
    assert [c.ticker for c in r.risk.proxy().get_got().get()] == ["KX-A"]
