"""Positions held before this run reach the risk governor before anything can open a
session: `mmd start` seeds them in Daemon.start's `before_quoting` step, after risk is up
and before the session supervisor and the scanner start. (Seeded after the scanner had
started, a session could open, and its maker quote, with risk blind to the position.)"""

from __future__ import annotations

import pytest

from kernel.bus import Bus
from messages import PositionsReconciled
from mmd import runner
from mmd.app import Daemon

from ._reconcile_exchange import quiet_config, start_paper_exchange

pytest.importorskip("simex")


@pytest.fixture
def exchange(tmp_path):
    paper = start_paper_exchange(tmp_path / "var")
    yield paper
    paper.server.stop()


def test_the_held_position_is_published_to_risk_before_the_supervisor_and_scanner_start(exchange, monkeypatch):
    exchange.take(3)
    happened: list[str] = []
    publish, start_actor = Bus.publish, Daemon._start

    def recording_publish(bus, message):
        if isinstance(message, PositionsReconciled):
            happened.append(f"positions {[(p.ticker, str(p.position)) for p in message.positions]}")
        return publish(bus, message)

    def recording_start(daemon, name, *args, **kwargs):
        ref = start_actor(daemon, name, *args, **kwargs)
        happened.append(f"started {name}")
        return ref

    monkeypatch.setattr(Bus, "publish", recording_publish)
    monkeypatch.setattr(Daemon, "_start", recording_start)

    assert runner.run_daemon(quiet_config(), env="paper", exchange_url=exchange.url, data_dir=exchange.data_dir,
                             duration_s=0.5) == 0

    seeded = next(i for i, what in enumerate(happened) if what.startswith("positions") and exchange.ticker in what)
    assert happened.index("started risk") < seeded < happened.index("started supervisor") < happened.index(
        "started scanner"), happened


def test_a_failing_before_quoting_step_starts_no_supervisor_nor_scanner(exchange, monkeypatch):
    def risk_too_busy() -> str:
        raise RuntimeError("risk did not take the positions in time")

    def seeding_fails(*_args):
        return [runner.Step("seed risk with positions", risk_too_busy)]

    monkeypatch.setattr(runner, "before_quoting_steps", seeding_fails)
    started: list[str] = []
    start_actor = Daemon._start

    def recording_start(daemon, name, *args, **kwargs):
        started.append(name)
        return start_actor(daemon, name, *args, **kwargs)

    monkeypatch.setattr(Daemon, "_start", recording_start)
    assert runner.run_daemon(quiet_config(), env="paper", exchange_url=exchange.url, data_dir=exchange.data_dir,
                             duration_s=0.5) == 1
    assert "risk" in started and "supervisor" not in started and "scanner" not in started
