"""Positions held before this run are counted by the risk governor once reconciled."""

from decimal import Decimal as D

from actors.risk import RiskCore
from config import load_config
from messages import ExposureChanged, HeldPosition, PositionsReconciled
from kernel.effects import Publish


def _reconciled(*positions: HeldPosition) -> PositionsReconciled:
    return PositionsReconciled(positions=positions, ts=1_000)


def test_a_held_position_shows_in_risk_status_and_exposure():
    core = RiskCore(load_config().risk)
    core.start(0)

    effects = core.handle(_reconciled(HeldPosition(ticker="KXA", position=D(10), price=D("0.40"))), 1_000)

    status = core.status(1_000)
    assert status["positions"] == {"KXA": "10"}
    assert D(status["exposure"]["KXA"]) == D("4.00")  # 10 YES at $0.40
    published = [e.message for e in effects if isinstance(e, Publish) and isinstance(e.message, ExposureChanged)]
    assert published and published[-1].markets[0].position == D(10)


def test_a_short_position_costs_one_minus_its_yes_price():
    core = RiskCore(load_config().risk)
    core.handle(_reconciled(HeldPosition(ticker="KXB", position=D(-5), price=D("0.70"))), 1_000)

    assert D(core.status(1_000)["exposure"]["KXB"]) == D("1.50")


def test_a_market_this_run_already_traded_is_not_counted_twice():
    core = RiskCore(load_config().risk)
    core.handle(_reconciled(HeldPosition(ticker="KXA", position=D(3), price=D("0.50"))), 1_000)
    core.handle(_reconciled(HeldPosition(ticker="KXA", position=D(3), price=D("0.50"))), 2_000)

    assert core.status(2_000)["positions"] == {"KXA": "3"}


def test_flat_positions_are_ignored():
    core = RiskCore(load_config().risk)
    core.handle(_reconciled(HeldPosition(ticker="KXA", position=D(0), price=D("0.50"))), 1_000)

    assert core.status(1_000)["positions"] == {}
