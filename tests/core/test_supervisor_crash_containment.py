"""A maker that fails costs its session, never the supervisor: its session is closed as
`crashed`, its ticker swept (CancelAllOrders through risk) and its actor stopped, whether
it reported its crash, was found dead on a monitor tick, could not be told to stop, or
could not even start. SupervisorCore, no actors."""

from __future__ import annotations

from decimal import Decimal

from actors.supervisor import MakerCrashed, StartMaker, StopMaker
from kernel.clock import seconds
from messages import CancelAllOrders, MakerFinished, MarketSelected, RiskDirective, SessionStarted, VolatilityEnded
from test_supervisor_factories import T0, CoreHarness


def test_a_crash_report_closes_the_session_as_crashed_sweeps_its_ticker_and_stops_its_maker():
    h = CoreHarness()
    h.start_one("KX-A")
    sid = h.session_id("KX-A")
    h.feed(MakerCrashed(session_id=sid, ticker="KX-A", error="ZeroDivisionError", ts=h.now))
    assert h.stopped() == [("KX-A", "crashed", None)]
    assert [c.ticker for c in h.sent(CancelAllOrders, to="order_gateway")] == ["KX-A"]
    assert StopMaker(sid) in h.carried and h.makers == set()
    h.start_one("KX-A", event_id="ev-2")  # the supervisor keeps admitting
    assert [s.ticker for s in h.started()] == ["KX-A", "KX-A"]


def test_a_maker_found_dead_on_the_monitor_tick_is_closed_as_crashed():
    h = CoreHarness()
    h.start_one("KX-A")
    h.gone.add(h.session_id("KX-A"))  # its actor stopped without a report
    h.run_until(h.now + seconds(1), regimes=("KX-A",))
    assert h.stopped() == [("KX-A", "crashed", None)]
    assert [c.ticker for c in h.sent(CancelAllOrders)] == ["KX-A"]


def test_a_maker_that_cannot_be_told_to_stop_is_closed_as_crashed_at_once():
    h = CoreHarness()
    h.start_one("KX-A")
    h.gone.add(h.session_id("KX-A"))
    h.feed(RiskDirective(ticker="KX-A", action="end_session", reason="daily_loss", ts=h.now))
    assert h.stopped() == [("KX-A", "crashed", None)]
    assert h.core.open_session_count() == 0


def test_a_late_crash_report_of_an_old_maker_does_not_close_the_newer_session_on_its_ticker():
    h = CoreHarness(finishes=False)
    h.start_one()
    old = h.started()[0]
    h.feed(VolatilityEnded(event_id=old.event_id, ticker="KX-A", reason="sigma_below_threshold", ts=0))
    h.run_until(h.now + seconds(h.config.exit_timeout_s + 1), regimes=("KX-A",))  # exit deadline: the old session closes
    h.start_one(event_id="ev-2")
    new = h.started()[-1]
    h.feed(MakerCrashed(session_id=old.session_id, ticker="KX-A", error="late", ts=h.now))
    assert h.stopped() == [("KX-A", "volatility_ended", None)]
    assert new.session_id in h.makers


def test_a_crash_report_without_a_session_id_falls_back_to_the_ticker():
    h = CoreHarness()
    h.start_one()
    h.feed(MakerCrashed(session_id="", ticker="KX-A", error="no id", ts=h.now))
    assert h.stopped() == [("KX-A", "crashed", None)]


def test_a_final_report_after_a_crash_keeps_the_crash_reason():
    h = CoreHarness()
    h.start_one()
    sid = h.session_id("KX-A")
    h.feed(MakerCrashed(session_id=sid, ticker="KX-A", error="bug", ts=h.now))
    h.feed(MakerFinished(session_id=sid, ticker="KX-A", reason="maker stopped", position=Decimal("2"),
                         realized_pnl=Decimal("-0.21"), fees=Decimal("0.03"), ts=h.now))
    assert h.stopped() == [("KX-A", "crashed", None), ("KX-A", "crashed", Decimal("-0.21"))]


def test_a_maker_that_cannot_start_costs_its_session_and_nothing_else():
    h = CoreHarness()
    h.refuse_to_start = True
    h.feed(MarketSelected(ticker="KX-A", reason="configured", ts=T0))
    (start,) = [e for e in h.carried if isinstance(e, StartMaker)]
    assert h.core.open_session_count() == 0
    assert h.published(SessionStarted) == [] and h.reads() == [] and h.timers == {}  # its `then` never ran
    h.refuse_to_start = False
    h.feed(MarketSelected(ticker="KX-A", reason="configured", ts=T0))
    assert [s.ticker for s in h.started()] == ["KX-A"]
    assert h.core.open_session_count() == 1 and "monitor" in h.timers  # the monitor runs for it
