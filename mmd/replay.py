"""Replay: the real actors, a virtual clock, and the simulated exchange in-process.

A recorded trade tape drives one market of the simulated exchange. The actors talk to
the exchange through the same REST client and WS connection code as in live trading;
only the transport differs (in-process calls instead of sockets), and time is virtual.

The driver loop, one step at a time, always after the actors have gone quiet (the
in-flight tracker reads zero):
  1. a frame the exchange sent is waiting  -> deliver it to the WS actor (FIFO);
  2. else the earliest of (next tape event, next timer) happens next. Tie rule: data at
     time t is applied before timers due at t. Timers fire one at a time, because a
     handler may schedule an earlier one.
Every step waits for quiet, so no two chains of messages interleave: the same tape and
config give identical orders, fills and analytics rows.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from actors.rest import InlineExecutor, KalshiRestClient, LoopbackTransport
from actors.ws import LoopbackConnector
from config import Config
from messages import FrameReceived
from mmd.app import Daemon, Wiring
from mmd.bus import InFlightTracker, post
from mmd.clock import ReplayClock, seconds
from simex import Exchange, TapeMarketDriver

log = logging.getLogger(__name__)

__all__ = ["ReplayHarness", "run_replay", "table_dump", "ticker_from_tape_path"]

REPLAY_ACCOUNT = "replay-account"
QUIET_TIMEOUT_S = 30.0


class ReplayStalled(RuntimeError):
    """The actors did not go quiet: a message loop or a blocked actor."""


class _SerializedExchange:
    """The REST actor, the WS actor and the driver reach the exchange from different
    threads; the exchange core is single-threaded, so every entry point takes one lock."""

    def __init__(self, exchange: Any) -> None:
        self._exchange = exchange
        self._lock = threading.RLock()

    def handle_rest(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return self._exchange.handle_rest(*args, **kwargs)

    def open_session(self, account_id: str, send: Callable[[str], None]) -> Any:
        with self._lock:
            return _SerializedSession(self._exchange.open_session(account_id, send), self._lock)

    def run(self, action: Callable[[], Any]) -> Any:
        with self._lock:
            return action()


class _SerializedSession:
    def __init__(self, session: Any, lock: threading.RLock) -> None:
        self._session = session
        self._lock = lock

    def receive(self, text: str) -> None:
        with self._lock:
            self._session.receive(text)

    def close(self) -> None:
        with self._lock:
            self._session.close()


@dataclass
class ReplaySummary:
    tape_events: int
    timers_fired: int
    frames_delivered: int
    virtual_seconds: float


class ReplayHarness:
    def __init__(
        self,
        config: Config,
        tape: Path,
        db_path: Path,
        *,
        run_id: str = "replay",
        first_event: int = 0,
        max_events: int | None = None,
        balance_cents: int = 100_000,
        tail_s: float = 5.0,
    ) -> None:
        self.config = config
        self.network: deque[str] = deque()
        self.tracker = InFlightTracker()
        self.clock = ReplayClock(0, self.tracker)
        self.raw_exchange = Exchange(now_ns=self.clock.now_ns, seed=config.paper.seed)
        self.tape = TapeMarketDriver(self.raw_exchange, ticker_from_tape_path(tape), tape)
        end = None if max_events is None else first_event + max_events
        self.events = self.tape.events()[first_event:end]
        if not self.events:
            raise ValueError(f"tape {tape} has no events")
        self.clock.advance_to(self.events[0][0] - seconds(1))
        self.raw_exchange.register_account(REPLAY_ACCOUNT, balance_cents)
        self.exchange = _SerializedExchange(self.raw_exchange)
        self.tail_ns = seconds(tail_s)
        client = KalshiRestClient(
            LoopbackTransport(self.exchange, REPLAY_ACCOUNT),
            max_attempts=config.rest.max_attempts,
            backoff_base_s=config.rest.backoff_base_s,
            backoff_cap_s=config.rest.backoff_cap_s,
            sleep=lambda _s: None,  # virtual time: a retry never waits on the wall clock
        )
        wiring = Wiring(
            mode="backtest",
            run_id=run_id,
            clock=self.clock,
            tracker=self.tracker,
            client=client,
            executor=InlineExecutor(),
            connector_factory=lambda _ref: LoopbackConnector(self.exchange, REPLAY_ACCOUNT, self.network.append),
        )
        config = _replay_config(config, self.tape.ticker)
        self.daemon = Daemon(config, wiring, db_path)
        self.timers_fired = 0
        self.frames_delivered = 0
        self.tape_events = 0

    # -- driving ------------------------------------------------------------------------
    def _quiet(self) -> None:
        if not self.tracker.wait_quiet(QUIET_TIMEOUT_S):
            raise ReplayStalled(f"{self.tracker.in_flight} message(s) still in flight after {QUIET_TIMEOUT_S} s")

    def _deliver_frames(self) -> None:
        ws = self.daemon.refs["ws"]
        while True:
            self._quiet()
            if not self.network:
                return
            post(ws, FrameReceived(text=self.network.popleft(), ts_recv=self.clock.now_ns()), self.tracker)
            self.frames_delivered += 1

    def _run_until(self, end_ns: int, next_event_ns: int | None) -> bool:
        """One step. False when nothing is left before end_ns."""
        self._deliver_frames()
        next_timer = self.clock.next_deadline()
        timer_first = next_timer is not None and next_timer <= end_ns and (
            next_event_ns is None or next_timer < next_event_ns  # tie: data before timers
        )
        if timer_first:
            self.clock.fire_next_due(next_timer)
            self.timers_fired += 1
            return True
        return False

    def run(self) -> ReplaySummary:
        self.daemon.start()
        try:
            for ts_ns, row in self.events:
                while self._run_until(ts_ns, ts_ns):
                    pass
                self.clock.advance_to(max(ts_ns, self.clock.now_ns()))
                self.exchange.run(lambda: (self.raw_exchange.advance(ts_ns), self.tape.apply(row)))
                self.tape_events += 1
            end_ns = self.clock.now_ns() + self.tail_ns
            while self._run_until(end_ns, None):
                pass
            self.clock.advance_to(max(end_ns, self.clock.now_ns()))
        finally:
            self.shutdown()
        return ReplaySummary(
            tape_events=self.tape_events,
            timers_fired=self.timers_fired,
            frames_delivered=self.frames_delivered,
            virtual_seconds=(self.clock.now_ns() - self.events[0][0]) / 1e9,
        )

    def shutdown(self) -> None:
        if not self.daemon.started:
            return
        self.daemon.stop_quoting("replay finished")
        self._deliver_frames()
        self.daemon.stop_actors()
        self.daemon.close_run("replay finished")


def ticker_from_tape_path(path: Path) -> str:
    """TRADES_KXNHLGAME-26APR04FLAPIT-PIT.csv -> KXNHLGAME-26APR04FLAPIT-PIT."""
    stem = Path(path).stem
    return stem.removeprefix("TRADES_")


def _replay_config(config: Config, ticker: str) -> Config:
    """The tape names the market: the scanner makes exactly that one."""
    from dataclasses import replace

    return replace(config, scanner=replace(config.scanner, tickers=(ticker,), max_markets=1))


def table_dump(db_path: Path, table: str) -> list[tuple]:
    with sqlite3.connect(db_path) as db:
        return db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()  # noqa: S608 (our table names)


def run_replay(
    config: Config,
    *,
    tape: Path,
    db_path: Path,
    run_id: str = "replay",
    first_event: int = 0,
    max_events: int | None = None,
) -> dict:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    harness = ReplayHarness(config, tape, db_path, run_id=run_id, first_event=first_event, max_events=max_events)
    summary = harness.run()
    return {
        "tape": str(tape),
        "tape_events": summary.tape_events,
        "timers_fired": summary.timers_fired,
        "frames_delivered": summary.frames_delivered,
        "virtual_seconds": summary.virtual_seconds,
        "orders": len(table_dump(db_path, "orders")),
        "fills": len(table_dump(db_path, "order_fills")),
        "database": str(db_path),
    }
