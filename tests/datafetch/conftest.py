import pytest

from .sim_market import SimulatedMarkets


@pytest.fixture
def sim():
    markets = SimulatedMarkets()
    yield markets
    markets.stop()
