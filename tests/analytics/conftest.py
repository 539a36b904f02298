import pykka
import pytest

from ._harness import AnalyticsWorld


@pytest.fixture(autouse=True)
def stop_all_actors():
    yield
    pykka.ActorRegistry.stop_all()


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "analytics.db"


@pytest.fixture
def world(db_path):
    """Default world: big batches, 1 s flush timer, 5 s snapshot interval."""
    w = AnalyticsWorld(db_path)
    yield w
    w.stop()
