"""crash_reporting wraps the maker class: any handler failure of a wrapped maker, a
swallowed ordinary exception included, is reported once as MakerCrashed, and the
supervisor closes its session as crashed, sweeps its ticker and stops it. Unwrapped
actors keep MmdActor's behaviour (log, count, carry on)."""

from __future__ import annotations

from decimal import Decimal

from actors._base import handles
from actors.supervisor import crash_reporting
from kernel.bus import post
from messages import MakerFinished, MakerStatus
from test_supervisor_actor import FakeMaker, Rig, rig, start_one


class BuggyMaker(FakeMaker):
    """A maker whose status handler has a bug (an ordinary exception, not FatalActorError)."""

    @handles(MakerStatus)
    def on_status(self, _):
        raise ZeroDivisionError("bug in requote")


class ReportsOnStop(FakeMaker):
    """Like the real maker: stopped before it finished, it sends MakerFinished from on_stop."""

    def on_stop(self):
        self.publish(
            MakerFinished(session_id=self.session_id, ticker=self.ticker, reason="maker stopped",
                          position=Decimal("2"), realized_pnl=Decimal("-0.21"), fees=Decimal("0.03"),
                          ts=self.clock.now_ns())
        )


def poke(r: Rig, maker):
    post(maker, MakerStatus(session_id="x", ticker="KX-A", state="QUOTING", why_not_quoting="", adverse_selection=False,
                            position=Decimal("0"), realized_pnl=Decimal("0"), unrealized_pnl=Decimal("0"),
                            ts=r.clock.now_ns()), r.tracker)
    r.quiet()


def test_an_ordinary_exception_in_a_wrapped_maker_closes_its_session_as_crashed_sweeps_and_stops_it():
    r = rig(maker_class=crash_reporting(BuggyMaker))
    start_one(r)
    maker, _ = r.maker_for("KX-A")
    poke(r, maker)
    poke(r, maker)  # one report per maker
    assert r.stopped() == [("KX-A", "crashed", None)]
    assert [c.ticker for c in r.gateway.proxy().get_got().get()] == ["KX-A"]
    assert maker.actor_stopped.wait(5)


def test_without_the_wrapper_an_actor_still_logs_and_survives_a_handler_exception():
    r = rig(maker_class=BuggyMaker)
    start_one(r)
    maker, _ = r.maker_for("KX-A")
    poke(r, maker)
    assert maker.is_alive() and maker.proxy().errors.get()["handler:MakerStatus"] == 1
    assert r.stopped() == []


def test_a_final_report_after_a_crash_keeps_the_crash_reason():
    class BuggyReporting(ReportsOnStop, BuggyMaker):
        pass

    r = rig(maker_class=crash_reporting(BuggyReporting))
    start_one(r)
    maker, _ = r.maker_for("KX-A")
    poke(r, maker)
    assert maker.actor_stopped.wait(5)
    r.quiet()
    assert r.stopped() == [("KX-A", "crashed", None), ("KX-A", "crashed", Decimal("-0.21"))]
