"""SupervisorCore admits volatility events (SPEC 7): an event waits out the regime wait,
then starts, keeps waiting or is dropped, deciding from facts that were published to it
(the scanner's regime view, the risk governor's latest ExposureChanged, the last balance
read). No actors, no threads."""

from __future__ import annotations

from decimal import Decimal

from actors.supervisor import StartMaker
from kernel.clock import seconds
from kernel.effects import Send
from messages import RiskDirective, SubscribeMarkets, VolatilityEnded
from test_supervisor_factories import T0, CoreHarness, exposure, market_config, regime_update, volatility_event


def test_an_event_starts_a_session_with_its_market_config_after_the_regime_wait():
    h = CoreHarness()
    h.feed(volatility_event("KX-A", ts=T0))
    h.run_until(T0 + seconds(4.9), regimes=("KX-A",))
    assert h.started() == []
    h.run_until(T0 + seconds(5), regimes=("KX-A",))
    (started,) = h.started()
    assert (started.ticker, started.event_id, started.config) == ("KX-A", f"ev-KX-A-{T0}", market_config("KX-A"))
    (start,) = [e for e in h.carried if isinstance(e, StartMaker)]
    assert (start.ticker, start.session_id, start.market_config) == ("KX-A", started.session_id, market_config("KX-A"))
    (subscribe,) = h.sent(SubscribeMarkets, to="feed")
    assert subscribe.tickers == ("KX-A",) and subscribe.snapshot


def test_the_session_starts_only_once_its_maker_runs():
    """Its timers, subscription and SessionStarted come after the maker's start (StartMaker.then)."""
    h = CoreHarness()
    h.start_one("KX-A")
    start_at = next(i for i, e in enumerate(h.carried) if isinstance(e, StartMaker))
    subscribe_at = next(i for i, e in enumerate(h.carried) if isinstance(e, Send))
    assert start_at < subscribe_at
    (start,) = [e for e in h.carried if isinstance(e, StartMaker)]
    assert any(isinstance(e, Send) for e in start.then)


def test_a_fourth_simultaneous_event_waits_for_a_free_slot():
    h = CoreHarness()
    for ticker in ("KX-A", "KX-B", "KX-C", "KX-D"):
        h.feed(volatility_event(ticker, ts=h.now))
    h.run_until(h.now + seconds(5), regimes=("KX-A", "KX-B", "KX-C", "KX-D"))
    assert [s.ticker for s in h.started()] == ["KX-A", "KX-B", "KX-C"]
    (waiting,) = h.status()["waiting_events"]
    assert waiting["ticker"] == "KX-D" and "slots" in waiting["waiting_for"]
    h.feed(RiskDirective(ticker="KX-B", action="end_session", reason="daily_loss", ts=h.now))
    assert [s.ticker for s in h.started()] == ["KX-A", "KX-B", "KX-C", "KX-D"]
    assert h.stopped() == [("KX-B", "risk:daily_loss", Decimal("0.37"))]


def test_until_the_governor_publishes_its_exposure_nothing_is_held_and_nothing_rests():
    h = CoreHarness()
    h.start_one("KX-A")
    assert [s.ticker for s in h.started()] == ["KX-A"]


def test_never_a_session_on_a_ticker_the_latest_published_exposure_holds():
    h = CoreHarness()
    h.feed(exposure(positions={"KX-A": 4}))
    h.start_one("KX-A")
    assert h.started() == []
    (dropped,) = h.status()["dropped_events"]
    assert "open position of 4" in dropped["reason"]


def test_admission_decides_from_the_latest_exposure_published_not_an_earlier_one():
    h = CoreHarness()
    h.feed(exposure(positions={"KX-A": 4}))
    h.feed(exposure())  # the position was closed
    h.start_one("KX-A")
    assert [s.ticker for s in h.started()] == ["KX-A"]


def test_an_event_waits_while_our_orders_rest_on_its_ticker_and_starts_once_the_governor_says_they_are_gone():
    h = CoreHarness()
    h.feed(exposure(resting={"KX-A": 2}, resting_value="1.10"))
    h.start_one("KX-A")
    assert h.started() == []
    (waiting,) = h.status()["waiting_events"]
    assert "orders of ours still rest" in waiting["waiting_for"]
    h.feed(exposure())  # a change alone decides nothing: the next monitor tick does
    assert h.started() == []
    h.run_until(h.now + seconds(1), regimes=("KX-A",))
    assert [s.ticker for s in h.started()] == ["KX-A"]


def test_resting_order_value_over_the_cap_makes_events_wait():
    h = CoreHarness(max_resting_order_value_dollars="50.00")
    h.feed(exposure(resting={"KX-OTHER": 4}, resting_value="60.00"))
    h.start_one("KX-A")
    assert h.started() == []
    assert "resting orders hold $60.00" in h.status()["waiting_events"][0]["waiting_for"]


def test_an_event_with_no_regime_view_does_not_start_on_the_regime_stamped_in_it():
    h = CoreHarness()
    h.feed(volatility_event("KX-A", ts=h.now, regime="MEAN_REVERTING"))
    h.run_until(h.now + seconds(10))  # the scanner publishes nothing
    assert h.started() == []
    (waiting,) = h.status()["waiting_events"]
    assert "no fresh regime view" in waiting["waiting_for"]


def test_an_event_whose_regime_turned_trending_during_the_wait_is_dropped():
    h = CoreHarness()
    h.feed(volatility_event("KX-A", ts=h.now, regime="MEAN_REVERTING"))
    h.run_until(h.now + seconds(4))
    h.feed(regime_update("KX-A", "TRENDING", ts=h.now))
    h.run_until(h.now + seconds(2))
    assert h.started() == []
    assert "TRENDING" in h.status()["dropped_events"][0]["reason"]


def test_volatility_ended_withdraws_a_waiting_event():
    h = CoreHarness()
    h.feed(volatility_event("KX-A", ts=h.now, event_id="ev-1"))
    h.feed(VolatilityEnded(event_id="ev-1", ticker="KX-A", reason="market_inactive", ts=h.now))
    h.run_until(h.now + seconds(10), regimes=("KX-A",))
    assert h.started() == [] and h.status()["waiting_events"] == []


def test_an_event_on_a_ticker_with_a_session_is_refused_outright():
    h = CoreHarness()
    h.start_one("KX-A")
    h.feed(volatility_event("KX-A", ts=h.now, event_id="ev-again"))
    assert "already active" in h.status()["dropped_events"][-1]["reason"]


def test_a_ticker_that_fires_again_after_its_session_stopped_gets_a_new_session():
    h = CoreHarness()
    h.start_one(event_id="ev-1")
    h.run_until(h.now + seconds(300), regimes=("KX-A",))  # TTL ends it
    assert h.stopped() == [("KX-A", "ttl", Decimal("0.37"))]
    h.start_one(event_id="ev-2")  # re-armed by the scanner, no VolatilityEnded in between
    assert [s.event_id for s in h.started()] == ["ev-1", "ev-2"]
    # a late end of the old event leaves the new session alone
    h.feed(VolatilityEnded(event_id="ev-1", ticker="KX-A", reason="sigma_below_threshold", ts=0))
    assert len(h.stopped()) == 1


def test_a_ticker_whose_event_lapsed_unadmitted_is_admitted_when_it_fires_again():
    h = CoreHarness(balance_cents=5_000)  # under the minimum: the first event waits and lapses
    h.feed(volatility_event("KX-A", ts=h.now, event_id="ev-1"))
    h.run_until(h.now + seconds(61), regimes=("KX-A",))
    assert h.started() == [] and h.status()["dropped_events"][-1]["reason"] == "event too old"
    h.balance_cents = 100_000
    h.run_until(h.now + seconds(10), regimes=("KX-A",))  # the next balance poll
    h.start_one(event_id="ev-2")
    assert [s.event_id for s in h.started()] == ["ev-2"]


def test_no_event_is_admitted_after_stop_all_sessions():
    h = CoreHarness()
    h.stop_all_sessions("shutdown")
    h.start_one("KX-A")
    assert h.started() == []
    assert "shutting down" in h.status()["dropped_events"][0]["reason"]
