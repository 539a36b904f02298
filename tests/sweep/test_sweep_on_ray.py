"""`mmd sweep --ray`: the same runs on a Ray instance (an optional extra), here a local one
started by the test; the results equal the process pool's."""

from __future__ import annotations

import argparse
import csv
import sqlite3

import pytest

from mmd.sweep import add_sweep_parser

try:  # the test extras install Ray: missing or broken, the test fails and says which
    import ray
except Exception as exc:  # noqa: BLE001
    pytest.fail(f"ray does not import ({type(exc).__name__}: {exc}): bin/test installs it with the test extras",
                pytrace=False)


ONE_SEED_SWEEP = """\
grid: {maker.gamma: [0.1, 1.0]}
scenarios: [mr_jump]
seeds: 1
duration: 20
"""


def run_sweep(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mmd")
    add_sweep_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sweep", "--no-progress", *argv])
    return args.func(args)


def stored_runs(out) -> list[tuple]:
    with sqlite3.connect(out / "backtest.sqlite") as db:
        return sorted(db.execute("SELECT run_key, fills, pnl_settled, max_drawdown FROM backtest_runs"))


@pytest.fixture
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_a_sweep_on_ray_stores_the_same_results_as_on_the_local_pool(tmp_path, local_ray, capsys):
    spec = tmp_path / "small.yaml"
    spec.write_text(ONE_SEED_SWEEP)
    on_ray, on_pool = tmp_path / "ray", tmp_path / "pool"
    assert run_sweep([str(spec), "--ray", "auto", "--out", str(on_ray)]) == 0
    assert "to run on Ray (auto)" in capsys.readouterr().err
    assert run_sweep([str(spec), "--workers", "2", "--out", str(on_pool)]) == 0
    assert stored_runs(on_ray) == stored_runs(on_pool) and len(stored_runs(on_ray)) == 2

    def ranking(out):
        with (out / "ranking.csv").open() as handle:
            return list(csv.DictReader(handle))

    assert ranking(on_ray) == ranking(on_pool)
    capsys.readouterr()
    assert run_sweep([str(spec), "--ray", "auto", "--out", str(on_ray)]) == 0
    assert "2 finished before, 0 to run" in capsys.readouterr().err
