"""A small mmd database built by hand, row by row, for the report's specifications.

The schema is the real one (schema.migrate); times are seconds after T0, money is the TEXT
the daemon writes.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

from schema import migrate

T0 = 1_775_000_000 * 1_000_000_000
TICKER = "KXTEST-26APR30-T50"


def at(seconds: float) -> int:
    return T0 + int(seconds * 1_000_000_000)


class HandBuiltRun:
    def __init__(self, path: Path, run_id: str = "hand", ended_s: float | None = 600, mode: str = "paper") -> None:
        self.path = path
        self.run_id = run_id
        migrate(path)
        self.db = sqlite3.connect(path)
        self.db.execute(
            "INSERT INTO strategy_runs (run_id, mode, started_ns, ended_ns, config_json, exit_reason) "
            "VALUES (?, ?, ?, ?, '{}', ?)",
            (run_id, mode, T0, None if ended_s is None else at(ended_s), "stopped" if ended_s is not None else None),
        )
        self._fills = 0

    def fill(self, seconds: float, side: str, price: str, count: str, fee: str = "0", *, ticker: str = TICKER,
             taker: bool = False, order_id: str | None = None, session: str | None = "s1") -> "HandBuiltRun":
        self._fills += 1
        order_id = order_id or f"order-{self._fills}"
        client_id = f"mmd-{session or 'none'}-{self._fills}"
        if session is not None:  # the order's rows name its session: the exchange's word that it executed
            self.order(seconds, "updated", order_id, side=side, price=price, remaining="0", status="executed",
                       session=session, ticker=ticker, client_order_id=client_id)
        self.db.execute(
            "INSERT INTO order_fills (run_id, fill_id, order_id, client_order_id, ticker, side, price, count, fee, "
            "is_taker, post_position, ts_event_ns, ts_recv_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
            (self.run_id, f"fill-{self._fills}", order_id, client_id, ticker, side, price, count, fee, int(taker),
             at(seconds), at(seconds)),
        )
        return self

    def trade(self, seconds: float, price: str, count: str = "1", *, ticker: str = TICKER) -> "HandBuiltRun":
        self.db.execute(
            "INSERT INTO trades (run_id, trade_id, ticker, price, count, taker_side, ts_event_ns, ts_recv_ns) "
            "VALUES (?, NULL, ?, ?, ?, 'bid', ?, ?)",
            (self.run_id, ticker, price, count, at(seconds), at(seconds)),
        )
        return self

    def book(self, seconds: float, bid: str | None, ask: str | None, *, ticker: str = TICKER) -> "HandBuiltRun":
        mid = None
        if bid is not None and ask is not None:
            mid = str((Decimal(bid) + Decimal(ask)) / 2)
        self.db.execute(
            "INSERT INTO market_snapshots (run_id, ticker, ts_ns, best_bid, best_ask, mid, trusted) "
            "VALUES (?, ?, ?, ?, ?, ?, 1)",
            (self.run_id, ticker, at(seconds), bid, ask, mid),
        )
        return self

    def order(self, seconds: float, event: str, order_id: str, *, side: str | None = None, price: str | None = None,
              remaining: str | None = None, status: str | None = None, session: str | None = "s1",
              ticker: str = TICKER, client_order_id: str | None = None) -> "HandBuiltRun":
        self.db.execute(
            "INSERT INTO orders (run_id, session_id, ts_ns, event, client_order_id, order_id, ticker, side, price, "
            "count, remaining, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.run_id, session, at(seconds), event, client_order_id or f"c-{order_id}-{event}-{seconds}",
             order_id, ticker, side, price, remaining, remaining, status),
        )
        return self

    def session(self, session_id: str, started_s: float, ended_s: float | None, end_reason: str | None,
                pnl: str | None, *, ticker: str = TICKER) -> "HandBuiltRun":
        self.db.execute(
            "INSERT INTO volatility_sessions (run_id, session_id, ticker, started_ns, ended_ns, start_reason, "
            "end_reason, pnl) VALUES (?, ?, ?, ?, ?, 'volatility', ?, ?)",
            (self.run_id, session_id, ticker, at(started_s), None if ended_s is None else at(ended_s), end_reason,
             pnl),
        )
        return self

    def realization(self, exit_s: float, exit_price: str, exit_reason: str, *, ticker: str = TICKER,
                    session: str = "s1") -> "HandBuiltRun":
        self.db.execute(
            "INSERT INTO realizations (run_id, session_id, ticker, side, count, entry_price, exit_price, entry_ns, "
            "exit_ns, pnl, fees, exit_reason) VALUES (?, ?, ?, 'long', '1', '0.50', ?, ?, ?, '0', '0', ?)",
            (self.run_id, session, ticker, exit_price, at(exit_s - 1), at(exit_s), exit_reason),
        )
        return self

    def done(self) -> Path:
        self.db.commit()
        self.db.close()
        return self.path


def two_fill_run(path: Path) -> Path:
    """The worked example of the report's specifications (times in seconds after T0):

    prints 0.50 at 1 and 10; we buy 10 @ 0.48 (fee 0.02) at 20; prints 0.47 at 21, 0.46 at 30,
    0.52 at 80; we sell 4 @ 0.53 (fee 0.01) at 100; print 0.55 at 320; the run ends at 600.
    Spread capture 10 x (0.50 - 0.48) + 4 x (0.53 - 0.52) = 0.24; inventory
    10 x (0.55 - 0.50) - 4 x (0.55 - 0.52) = 0.38; fees 0.03; total 0.59.
    """
    run = HandBuiltRun(path)
    run.session("s1", 0, 200, "ttl", "0.41")
    run.trade(1, "0.50").trade(10, "0.50")
    run.fill(20, "bid", "0.4800", "10.00", "0.020000")
    run.trade(21, "0.47").trade(30, "0.46").trade(80, "0.52")
    run.fill(100, "ask", "0.5300", "4.00", "0.010000")
    run.trade(320, "0.55")
    return run.done()
