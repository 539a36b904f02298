"""The reconciliation step list, without an exchange: steps run in order, the first failure
stops the list and names the step; held positions are priced at their average cost."""

from decimal import Decimal as D

import pytest

from kalshi.shapes import ExchangePosition
from messages import HeldPosition
from mmd.reconcile import ReconciliationFailedError, Step, held_positions, run_steps


def test_steps_run_in_order_and_report_their_summaries():
    ran = []
    steps = [Step("first", lambda: ran.append(1) or "one"), Step("second", lambda: ran.append(2) or "two")]

    assert run_steps(steps) == [("first", "one"), ("second", "two")]
    assert ran == [1, 2]


def test_the_first_failing_step_stops_the_list_and_is_named():
    ran = []

    def broken() -> str:
        raise ValueError("malformed reply")

    steps = [Step("read open orders", broken), Step("cancel ours", lambda: ran.append("cancel") or "")]

    with pytest.raises(ReconciliationFailedError, match="read open orders: ValueError: malformed reply"):
        run_steps(steps)
    assert ran == []


def _position(ticker, position, exposure):
    return ExchangePosition(ticker=ticker, position=D(position), realized_pnl=None, fees_paid=None,
                            exposure=None if exposure is None else D(exposure), ts_event=None)


def test_held_positions_are_priced_at_their_average_cost_and_flat_ones_dropped():
    positions = [_position("KXB", "-4", "1.20"), _position("KXA", "10", "4.00"), _position("KXC", "0", "0")]

    assert held_positions(positions) == (
        HeldPosition(ticker="KXA", position=D(10), price=D("0.40")),
        HeldPosition(ticker="KXB", position=D(-4), price=D("0.70")),  # NO at $0.30 = YES $0.70
    )


def test_a_position_of_unknown_cost_counts_at_the_worst_case():
    assert held_positions([_position("KXA", "2", None), _position("KXB", "-2", None)]) == (
        HeldPosition(ticker="KXA", position=D(2), price=D(1)),
        HeldPosition(ticker="KXB", position=D(-2), price=D(0)),
    )
