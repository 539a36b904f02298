"""An order of ours from another run that shows up resting is cancelled by risk.

The start-up cancel sweeps what earlier runs left resting, but a create a killed run had
sent can still be waiting at the exchange and land after it: an order with our client-id
prefix and another run's id, which no session of this run quotes or will ever cancel
(found by the chaos campaign: it rested beside the new run's ladder). Risk, which hears
every order event first, cancels it once as it shows up. An order of this run's own
sessions (adopted after an unknown place outcome) is its maker's to cancel, and the
account holder's own orders are never touched.
"""

from __future__ import annotations

from decimal import Decimal

from actors.risk import RiskCore
from kernel.effects import Send
from messages import CancelOrder, OrderCancelled

from .factories import T0, TICKER, updated

RUN_ID = "run-20261207T120000"
DEAD_RUN_ORDER = "mmd-run-20000101T000000-s1-7"


def cancels_sent(effects: list) -> list[CancelOrder]:
    return [e.message for e in effects if isinstance(e, Send) and isinstance(e.message, CancelOrder)]


def test_an_order_of_a_dead_run_reported_resting_is_cancelled_once(risk_config):
    core = RiskCore(risk_config, run_id=RUN_ID)
    core.start(T0)

    [cancel] = cancels_sent(core.handle(updated("ex-dead", DEAD_RUN_ORDER), T0))
    assert (cancel.order_id, cancel.client_order_id, cancel.ticker) == ("ex-dead", DEAD_RUN_ORDER, TICKER)
    assert cancel.reason == "order of another run"
    assert cancels_sent(core.handle(updated("ex-dead", DEAD_RUN_ORDER), T0 + 1)) == []  # its cancel is awaited

    core.handle(OrderCancelled(order_id="ex-dead", client_order_id=DEAD_RUN_ORDER, ticker=TICKER,
                               reduced_by=Decimal(5), reason="order of another run", ts_event=T0, ts_recv=T0), T0 + 2)
    assert core.governor.ledger.find(TICKER, "ex-dead") is None


def test_an_order_of_this_runs_own_session_is_left_to_its_maker(risk_config):
    core = RiskCore(risk_config, run_id=RUN_ID)
    core.start(T0)
    assert cancels_sent(core.handle(updated("ex-ours", f"mmd-{RUN_ID}-s3-12"), T0)) == []


def test_the_account_holders_own_order_is_left_alone(risk_config):
    core = RiskCore(risk_config, run_id=RUN_ID)
    core.start(T0)
    assert cancels_sent(core.handle(updated("ex-manual", "my-own-order"), T0)) == []
