"""SupervisorCore reads the exchange balance (GET /portfolio/balance) while sessions run or
events wait, gates admission on it with hysteresis, and publishes each read as BalanceRead
(the risk governor's pre-trade balance check keeps the latest). No actors, no threads."""

from __future__ import annotations

from decimal import Decimal

from kernel.clock import seconds
from messages import BalanceRead, RestReadCompleted
from test_supervisor_factories import CoreHarness, volatility_event


def balance_reads(h: CoreHarness) -> int:
    return h.reads().count("/portfolio/balance")


def test_a_low_balance_makes_events_wait_until_it_recovers_past_the_hysteresis():
    h = CoreHarness(balance_cents=5_000)
    h.feed(volatility_event("KX-A", ts=h.now))
    h.run_until(h.now + seconds(8), regimes=("KX-A",))
    assert h.started() == []
    assert "available balance $50 under $100" in h.status()["waiting_events"][0]["waiting_for"]
    h.balance_cents = 20_000
    h.run_until(h.now + seconds(10), regimes=("KX-A",))  # next balance poll
    assert [s.ticker for s in h.started()] == ["KX-A"]


def test_each_balance_read_is_published_for_the_risk_governor():
    h = CoreHarness(balance_cents=30_000)
    h.feed(volatility_event("KX-A", ts=h.now))  # an event wants a fresh balance
    (read,) = h.published(BalanceRead)
    assert (read.available, read.ts) == (Decimal("300"), h.now)
    assert h.status()["balance"] == "300"


def test_the_balance_is_read_again_only_once_it_is_older_than_the_poll_interval():
    h = CoreHarness()
    h.feed(volatility_event("KX-A", ts=h.now))
    h.feed(volatility_event("KX-B", ts=h.now))
    assert balance_reads(h) == 1
    h.run_until(h.now + seconds(h.config.balance_poll_interval_s) - 1, regimes=("KX-A", "KX-B"))  # monitor ticks
    assert balance_reads(h) == 1
    h.run_until(h.now + 1, regimes=("KX-A", "KX-B"))
    assert balance_reads(h) == 2
    assert len(h.published(BalanceRead)) == 2


def test_a_malformed_balance_reply_is_counted_and_admission_keeps_waiting():
    h = CoreHarness()
    h.feed(RestReadCompleted(request_id="x", path="/portfolio/balance", status=200, body={"balance": "lots"},
                             error="", ts_recv=h.now))
    assert h.core.errors["balance_read"] == 1
    assert h.published(BalanceRead) == [] and h.status()["balance"] is None


def test_a_balance_read_that_fails_is_asked_again_on_the_next_monitor_tick():
    h = CoreHarness()
    h.balance_cents = None  # the exchange answers without a balance
    h.feed(volatility_event("KX-A", ts=h.now))
    h.balance_cents = 100_000
    h.run_until(h.now + seconds(1))
    assert balance_reads(h) == 2 and h.status()["balance"] == "1000"
