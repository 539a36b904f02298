"""The maker actor's outputs on the bus: MakerStatus, RealizationRecorded, MakerFinished,
and fills found only by the REST reconciliation after a feed outage."""

from dataclasses import replace
from decimal import Decimal as D

import pytest

from actors._base import MmdActor, handles
from actors.maker import MakerActor, MakerState
from actors.market_state import MarketStateActor
from messages import (
    ExitUrgency,
    KillSwitchEngaged,
    FeedHealthChanged,
    MakerFinished,
    MakerStatus,
    OrderFilled,
    PlaceOrder,
    RealizationRecorded,
    RestReadCompleted,
    RestReadRequested,
    RiskDirective,
    StopSession,
    TradePrinted,
)
from kernel.bus import post
from kernel.directory import Directory

from .factories import TICKER, fill, snapshot

DEEP = {"bids": (("0.45", 200),), "asks": (("0.55", 200),)}


class BusRecorder(MmdActor):
    def __init__(self, **wiring) -> None:
        super().__init__(**wiring)
        self.seen: list = []

    @handles(MakerStatus, MakerFinished, RealizationRecorded, OrderFilled)
    def _record(self, message) -> None:
        self.seen.append(message)

    def messages(self, kind=object) -> list:
        return [m for m in self.seen if isinstance(m, kind)]


class FakeRest(MmdActor):
    """Answers a fills read with what the exchange holds, to the reader the request names
    (through `readers`, as the REST actor does)."""

    def __init__(self, fills: list[dict], readers: Directory, **wiring) -> None:
        super().__init__(**wiring)
        self.readers = readers
        self.fills = fills
        self.requests: list = []

    @handles(RestReadRequested)
    def _read(self, request: RestReadRequested) -> None:
        self.requests.append(request)
        body = {"fills": list(self.fills)}
        post(
            self.readers.resolve(request.reply_to),
            RestReadCompleted(
                request_id=request.request_id, path=request.path, status=200, body=body, error="", ts_recv=0
            ),
            self.tracker,
        )

    def seen(self) -> list:
        return list(self.requests)


@pytest.fixture
def recorder(harness):
    ref = BusRecorder.start(**harness.wiring)
    for kind in (MakerStatus, MakerFinished, RealizationRecorded, OrderFilled):
        harness.bus.subscribe(ref, kind)
    return ref


def rest_fill(fill_id, order_id, client_order_id, side="bid", price="0.4900", count="2.00"):
    return {
        "fill_id": fill_id,
        "order_id": order_id,
        "client_order_id": client_order_id,
        "market_ticker": TICKER,
        "book_side": side,
        "yes_price_dollars": price,
        "count_fp": count,
        "fee_cost": "0.01",
        "is_taker": False,
        "ts_ms": 1_700_000_006_000,
    }


@pytest.fixture
def readers():
    return Directory()


@pytest.fixture
def start_maker(harness, risk, maker_config, readers):
    MarketStateActor.start(**harness.wiring, config=harness_config_market_state())

    def start(rest=None):
        ref = MakerActor.start(
            **harness.wiring, ticker=TICKER, session_id="s1", config=maker_config, order_sink=risk, rest=rest,
            directory=readers,
        )
        harness.quiet()
        harness.publish(snapshot(**DEEP))
        harness.run_for(5)
        return ref

    return start


def harness_config_market_state():
    from config import load_config

    return load_config().market_state


def places(gateway):
    return [c for c in gateway.proxy().commands().get() if isinstance(c, PlaceOrder)]


def test_status_is_published_on_each_state_change(harness, start_maker, recorder):
    maker = start_maker()

    states = [m.state for m in recorder.proxy().messages(MakerStatus).get()]

    assert states[:2] == [MakerState.WAIT_DATA, MakerState.QUOTING]
    assert maker.proxy().get_status().get()["state"] == MakerState.QUOTING


def test_a_round_trip_is_recorded_and_the_finished_session_reports_its_pnl(harness, start_maker, recorder, gateway):
    maker = start_maker()
    bid, ask = places(gateway)[:2]
    harness.publish(fill("bid", "0.49", 2, fee="0.01", fill_id="f1", order_id="ex-1", client_order_id=bid.client_order_id))
    harness.publish(fill("ask", "0.51", 2, fee="0.01", fill_id="f2", order_id="ex-2", client_order_id=ask.client_order_id))

    harness.tell(maker, StopSession(ticker=TICKER, reason="ttl", ts=0, urgency=ExitUrgency.PASSIVE))

    (realization,) = recorder.proxy().messages(RealizationRecorded).get()
    assert (realization.side, realization.count, realization.pnl, realization.exit_reason) == (
        "long", D(2), D("0.02"), "quote",
    )
    (finished,) = recorder.proxy().messages(MakerFinished).get()
    assert (finished.reason, finished.position, finished.realized_pnl, finished.fees) == ("ttl", D(0), D("0.02"), D("0.02"))


def test_a_risk_flatten_is_a_hard_exit_with_an_ioc_order(harness, start_maker, gateway, recorder):
    maker = start_maker()
    bid = places(gateway)[0]
    harness.publish(fill("bid", "0.49", 3, fill_id="f1", order_id="ex-1", client_order_id=bid.client_order_id))

    harness.publish(RiskDirective(ticker=TICKER, action="flatten", reason="excursion", ts=0))

    exits = [c for c in places(gateway) if not c.post_only]
    assert [(c.side, c.price, c.count, c.time_in_force) for c in exits] == [("ask", D("0.45"), D(3), "immediate_or_cancel")]
    assert maker.proxy().get_status().get()["state"] == MakerState.FLATTENING


def flattened_by_risk(harness, gateway):
    """Long 3, then a risk flatten whose IOC sells the 3: returns the IOC."""
    bid = places(gateway)[0]
    harness.publish(fill("bid", "0.49", 3, fill_id="f1", order_id="ex-1", client_order_id=bid.client_order_id))
    harness.publish(RiskDirective(ticker=TICKER, action="flatten", reason="excursion", ts=0))
    (ioc,) = [c for c in places(gateway) if not c.post_only]
    return ioc


def test_after_a_risk_flatten_the_session_waits_for_the_resume_then_quotes_again(harness, start_maker, gateway, recorder):
    maker = start_maker()
    ioc = flattened_by_risk(harness, gateway)

    harness.publish(fill("ask", "0.45", 3, fill_id="f2", order_id="ex-x", client_order_id=ioc.client_order_id))

    status = maker.proxy().get_status().get()
    assert (status["state"], status["position"], status["exit"]) == (MakerState.PAUSED, "0", None)
    assert status["why_not_quoting"].startswith("risk flatten done: waiting for the risk governor")
    assert recorder.proxy().messages(MakerFinished).get() == []  # the session goes on
    (realization,) = recorder.proxy().messages(RealizationRecorded).get()
    assert (realization.count, realization.exit_reason) == (D(3), "risk flatten: excursion")
    quotes_before = len(places(gateway))

    harness.publish(RiskDirective(ticker=TICKER, action="resume", reason="lifted: restriction over", ts=0))

    status = maker.proxy().get_status().get()
    assert (status["state"], status["last_risk_flatten"], status["counters"]["risk_flattens"]) == (
        MakerState.QUOTING, "risk flatten: excursion", 1,
    )
    assert [(c.side, c.post_only) for c in places(gateway)[quotes_before:]] == [("bid", True), ("ask", True)]
    harness.run_for(10)
    assert recorder.proxy().messages(MakerFinished).get() == []


def test_a_resume_heard_before_the_flat_fill_quotes_as_soon_as_the_flatten_is_flat(harness, start_maker, gateway, recorder):
    maker = start_maker()
    ioc = flattened_by_risk(harness, gateway)
    harness.publish(RiskDirective(ticker=TICKER, action="resume", reason="lifted", ts=0))
    assert maker.proxy().get_status().get()["state"] == MakerState.FLATTENING  # the maker is not flat yet

    harness.publish(fill("ask", "0.45", 3, fill_id="f2", order_id="ex-x", client_order_id=ioc.client_order_id))

    assert maker.proxy().get_status().get()["state"] == MakerState.QUOTING


def test_a_supervisor_stop_during_a_risk_flatten_ends_the_session_once_flat(harness, start_maker, gateway, recorder):
    maker = start_maker()
    ioc = flattened_by_risk(harness, gateway)
    harness.tell(maker, StopSession(ticker=TICKER, reason="ttl", ts=0, urgency=ExitUrgency.PASSIVE))

    harness.publish(fill("ask", "0.45", 3, fill_id="f2", order_id="ex-x", client_order_id=ioc.client_order_id))

    (finished,) = recorder.proxy().messages(MakerFinished).get()
    assert finished.position == D(0)
    assert maker.proxy().get_status().get()["state"] == MakerState.DONE


def test_fills_lost_during_a_feed_outage_are_found_over_rest_and_applied_once(harness, start_maker, recorder, gateway, readers):
    rest = FakeRest.start(fills=[], readers=readers, **harness.wiring)
    maker = start_maker(rest=rest)
    bid = places(gateway)[0]
    seen_on_ws = rest_fill("f1", "ex-1", bid.client_order_id)
    lost = rest_fill("f2", "ex-1", bid.client_order_id)
    harness.publish(fill("bid", "0.49", 2, fee="0.01", fill_id="f1", order_id="ex-1", client_order_id=bid.client_order_id))
    rest.proxy().fills.get().extend([seen_on_ws, lost, rest_fill("f3", "ex-9", "other-session-1")])

    harness.publish(FeedHealthChanged(healthy=False, reason="socket closed", ts_recv=0))
    harness.publish(FeedHealthChanged(healthy=True, reason="connected", ts_recv=0))

    (request,) = rest.proxy().seen().get()
    assert request.path == "/portfolio/fills" and ("ticker", TICKER) in request.query
    fills = recorder.proxy().messages(OrderFilled).get()
    assert [f.fill_id for f in fills] == ["f1", "f2"]  # f2 published once; f3 is not ours
    status = maker.proxy().get_status().get()
    assert D(status["position"]) == 4 and status["fills_reconciled"] == 1


def test_ws_and_rest_fills_of_orders_not_this_sessions_are_left_out_alike(harness, start_maker, recorder, gateway, readers):
    rest = FakeRest.start(fills=[], readers=readers, **harness.wiring)
    maker = start_maker(rest=rest)
    bid = places(gateway)[0]
    # WS: another session's order and a manual order on the same market, then one of ours
    harness.publish(fill("bid", "0.49", 7, fill_id="w1", order_id="ex-old", client_order_id="s2-4"))
    harness.publish(fill("bid", "0.49", 5, fill_id="w2", order_id="ex-manual", client_order_id=""))
    harness.publish(fill("bid", "0.49", 2, fill_id="w3", order_id="ex-1", client_order_id=bid.client_order_id))
    assert D(maker.proxy().get_status().get()["position"]) == 2
    # REST: the same rule: ours by client id (f4) or by an exchange id we know (f5, no client id)
    rest.proxy().fills.get().extend([
        rest_fill("f4", "ex-1", bid.client_order_id),
        rest_fill("f5", "ex-1", ""),
        rest_fill("f6", "ex-old", "s2-5"),
        rest_fill("f7", "ex-manual", ""),
    ])

    harness.publish(FeedHealthChanged(healthy=False, reason="socket closed", ts_recv=0))
    harness.publish(FeedHealthChanged(healthy=True, reason="connected", ts_recv=0))

    status = maker.proxy().get_status().get()
    assert (D(status["position"]), status["fills_reconciled"]) == (6, 2)
    assert status["counters"]["foreign_fills"] == 2  # the two WS fills; REST leaves its own out unseen


def test_a_stopped_maker_still_reports_finished(harness, start_maker, recorder):
    maker = start_maker()

    maker.stop()
    harness.quiet()

    (finished,) = recorder.proxy().messages(MakerFinished).get()
    assert finished.reason == "maker stopped"


@pytest.fixture
def no_sigma_guard(maker_config):
    """A static test book has sigma 0: judge sigma never, to see the other guardrails."""
    return replace(maker_config, guardrails=replace(maker_config.guardrails, sigma_window_s=1e9))


def test_trades_keep_the_no_trade_guardrail_quiet(harness, risk, no_sigma_guard, recorder):
    maker = MakerActor.start(**harness.wiring, ticker=TICKER, session_id="s1", config=no_sigma_guard, order_sink=risk)
    MarketStateActor.start(**harness.wiring, config=harness_config_market_state())
    harness.publish(snapshot(**DEEP))
    harness.run_for(5)
    for second in range(20):
        harness.publish(
            TradePrinted(
                ticker=TICKER, trade_id=f"t{second}", price=D("0.50"), count=D(1), taker_side="bid",
                ts_event=harness.clock.now_ns(), ts_recv=harness.clock.now_ns(),
            )
        )
        harness.run_for(1)

    assert maker.proxy().get_status().get()["state"] == MakerState.QUOTING
    harness.run_for(16)
    status = maker.proxy().get_status().get()
    assert (status["state"], status["why_not_quoting"]) == (MakerState.PAUSED, "no trades for 15 s")


def test_makers_whose_warm_ups_end_together_quote_in_ticker_order(harness, gateway, risk, maker_config):
    MarketStateActor.start(**harness.wiring, config=harness_config_market_state())
    for ticker in ("KX-B", "KX-A"):  # started B first: equal deadlines still go by ticker
        MakerActor.start(**harness.wiring, ticker=ticker, session_id=f"s-{ticker}", config=maker_config, order_sink=risk)
        harness.quiet()
        harness.publish(snapshot(**DEEP, ticker=ticker))

    harness.run_for(maker_config.warmup_s)

    assert [c.ticker for c in places(gateway)] == ["KX-A", "KX-A", "KX-B", "KX-B"]


def test_status_is_published_when_the_pause_reason_changes_within_a_state(harness, risk, no_sigma_guard, recorder):
    MakerActor.start(**harness.wiring, ticker=TICKER, session_id="s1", config=no_sigma_guard, order_sink=risk)
    MarketStateActor.start(**harness.wiring, config=harness_config_market_state())
    harness.publish(snapshot(**DEEP))
    harness.run_for(no_sigma_guard.warmup_s + 16)  # no trades for 15 s: paused

    harness.publish(KillSwitchEngaged(reason="operator", ts=harness.clock.now_ns()))

    statuses = [(m.state, m.why_not_quoting) for m in recorder.proxy().messages(MakerStatus).get()]
    assert statuses[-2:] == [
        (MakerState.PAUSED, "no trades for 15 s"), (MakerState.PAUSED, "kill switch engaged: operator"),
    ]
