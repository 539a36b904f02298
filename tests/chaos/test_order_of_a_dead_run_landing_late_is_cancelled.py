"""Found by the short chaos campaign (answers slower than the REST timeout, then kill -9): a
create the killed run had sent was still waiting at the exchange when the new run started. The
new run's start-up cancel came first; the create landed after it and made an order of the dead
run (our `mmd-` prefix, an earlier run id) that nobody tracks. It rested beside the new run's
quote (2 asks where 1 is allowed) until the market's pause cancelled it.

What must happen: an order of ours from another run that the exchange reports resting while
the daemon runs is an orphan like those the start-up cancel sweeps, and is cancelled.
Here the late create is made by hand, with the paper key, once the daemon quotes. Real
processes on loopback (about 30 s).
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from mmd.chaos_procs import (
    Account,
    DaemonView,
    end_process,
    first_order_ns,
    free_port,
    listening,
    spawn_mmd,
    wait_until,
)
from mmd.chaos_run import campaign_tickers, daemon_config

pytestmark = pytest.mark.e2e
DEAD_RUN_CLIENT_ID = "mmd-run-20000101T000000-s1-7"  # the shape our client ids have, of a run long gone
CANCEL_WITHIN_S = 20


class StillResting(AssertionError):
    """The order was not cancelled (anything else, a process that would not start, fails as itself)."""


def test_an_order_of_an_earlier_run_that_lands_after_start_up_is_cancelled(tmp_path):
    data_dir = tmp_path / "var"
    port = free_port()
    (ticker,) = campaign_tickers("default", 1)
    (tmp_path / "chaos.yaml").write_text(daemon_config([ticker], 1))
    sim = spawn_mmd(["sim", "--port", str(port), "--data-dir", str(data_dir), "--scenario", "default"],
                    tmp_path / "sim.log")
    daemon = None
    try:
        key = data_dir / "paper-keys" / "paper-key.pub.pem"
        assert wait_until(lambda: key.exists() and listening(port), 30, 0.2), (tmp_path / "sim.log").read_text()
        started_ns = time.time_ns()
        daemon = spawn_mmd(["start", "--config", str(tmp_path / "chaos.yaml"), "--data-dir", str(data_dir),
                            "--status-port", "0", "--exchange-url", f"http://127.0.0.1:{port}/trade-api/v2"],
                           tmp_path / "daemon.log")
        view = DaemonView(data_dir)
        assert wait_until(lambda: first_order_ns(view.db, started_ns, ticker), 60, 0.2), \
            (tmp_path / "daemon.log").read_text()[-3000:]

        account = Account(data_dir, port)
        late = account.client.create_order(ticker, "bid", Decimal("0.02"), Decimal(1), DEAD_RUN_CLIENT_ID)

        def cancelled() -> bool:
            return late.order_id not in {o.order_id for o in account.resting()}

        if not wait_until(cancelled, CANCEL_WITHIN_S, 0.5):
            raise StillResting(f"{DEAD_RUN_CLIENT_ID} still rests {CANCEL_WITHIN_S} s after it landed")
    finally:
        end_process(daemon)
        end_process(sim)
