"""Replay: the real actors, a virtual clock, and the simulated exchange in-process.

`InProcessRig` wires the daemon to an in-process simulated exchange: the actors talk to it
through the same REST client and WS connection code as in live trading; only the
transport differs (in-process calls instead of sockets), and time is virtual. Frames
the exchange sends wait in a FIFO "network" until the driver delivers them.

`ReplayHarness` drives one market from a recorded trade tape. Its loop, one step at a
time, always after the actors have gone quiet (the in-flight tracker reads zero):
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
from dataclasses import dataclass, replace
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

__all__ = [
    "InProcessRig",
    "ReplayHarness",
    "ReplayStalled",
    "run_replay",
    "table_dump",
    "ticker_from_tape_path",
    "config_for_tickers",
]

RIG_ACCOUNT = "replay-account"
QUIET_TIMEOUT_S = 30.0


class ReplayStalled(RuntimeError):
    """The actors did not go quiet: a message loop or a blocked actor."""


class _SerializedExchange:
    """The REST actor, the WS actor and the driver reach the exchange from different
    threads; the exchange core is single-threaded, so every entry point takes one lock."""

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange
        self._lock = threading.RLock()

    def handle_rest(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return self._exchange.handle_rest(*args, **kwargs)

    def open_session(self, account_id: str, send: Callable[[str], None]) -> Any:
        with self._lock:
            return _SerializedSession(self._exchange.open_session(account_id, send), self._lock)

    def run(self, action: Callable[[Exchange], Any]) -> Any:
        with self._lock:
            return action(self._exchange)


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


def config_for_tickers(config: Config, *tickers: str) -> Config:
    """The scanner makes exactly these markets."""
    return replace(config, scanner=replace(config.scanner, tickers=tuple(tickers), max_markets=len(tickers)))


class InProcessRig:
    """The real daemon on a virtual clock against an in-process simulated exchange."""

    def __init__(
        self,
        config: Config,
        db_path: Path,
        *,
        run_id: str,
        client_transport: Callable[[Any, str], Any] = LoopbackTransport,
        balance_cents: int = 100_000,
    ) -> None:
        self.tracker = InFlightTracker()
        self.clock = ReplayClock(0, self.tracker)
        self.raw_exchange = Exchange(now_ns=self.clock.now_ns, seed=config.paper.seed)
        self.raw_exchange.register_account(RIG_ACCOUNT, balance_cents)
        self.exchange = _SerializedExchange(self.raw_exchange)
        self.network: deque[str] = deque()
        client = KalshiRestClient(
            client_transport(self.exchange, RIG_ACCOUNT),
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
            connector_factory=lambda _ref: LoopbackConnector(self.exchange, RIG_ACCOUNT, self.network.append),
        )
        self.config = config
        self.db_path = db_path
        self.wiring = wiring
        self.daemon: Daemon | None = None
        self.frames_delivered = 0
        self.timers_fired = 0

    def start(self) -> None:
        self.daemon = Daemon(self.config, self.wiring, self.db_path)
        self.daemon.start()
        self.deliver_frames()

    def quiet(self) -> None:
        if not self.tracker.wait_quiet(QUIET_TIMEOUT_S):
            raise ReplayStalled(f"{self.tracker.in_flight} message(s) still in flight after {QUIET_TIMEOUT_S} s")

    def deliver_next_frame(self) -> bool:
        """Deliver one waiting frame (after quiet) and wait for quiet again."""
        self.quiet()
        if not self.network:
            return False
        ws = self.daemon.refs["ws"]
        post(ws, FrameReceived(text=self.network.popleft(), ts_recv=self.clock.now_ns()), self.tracker)
        self.frames_delivered += 1
        self.quiet()
        return True

    def deliver_frames(self) -> None:
        while self.deliver_next_frame():
            pass

    def fire_next_timer(self, up_to_ns: int, before_ns: int | None = None) -> bool:
        """Fire the earliest timer due by up_to_ns (and strictly before before_ns: data at t
        goes before timers at t). False when none is due."""
        self.deliver_frames()
        deadline = self.clock.next_deadline()
        if deadline is None or deadline > up_to_ns or (before_ns is not None and deadline >= before_ns):
            return False
        self.clock.fire_next_due(deadline)
        self.timers_fired += 1
        self.deliver_frames()
        return True

    def run_until(self, t_ns: int, before_ns: int | None = None) -> None:
        """Fire every timer due up to t_ns, then move the clock there."""
        while self.fire_next_timer(t_ns, before_ns):
            pass
        self.clock.advance_to(max(t_ns, self.clock.now_ns()))

    def act(self, action: Callable[[Exchange], Any]) -> Any:
        """Do something on the exchange (market activity) between actor steps."""
        self.quiet()
        return self.exchange.run(action)

    def shutdown(self, reason: str) -> None:
        if self.daemon is None or not self.daemon.started:
            return
        self.daemon.stop_quoting(reason)
        self.deliver_frames()
        self.daemon.stop_actors()
        self.daemon.close_run(reason)


@dataclass
class ReplaySummary:
    tape_events: int
    timers_fired: int
    frames_delivered: int
    virtual_seconds: float


def ticker_from_tape_path(path: Path) -> str:
    """TRADES_KXNHLGAME-26APR04FLAPIT-PIT.csv -> KXNHLGAME-26APR04FLAPIT-PIT."""
    return Path(path).stem.removeprefix("TRADES_")


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
        tail_s: float = 5.0,
    ) -> None:
        ticker = ticker_from_tape_path(tape)
        self.rig = InProcessRig(config_for_tickers(config, ticker), db_path, run_id=run_id)
        self.tape = TapeMarketDriver(self.rig.raw_exchange, ticker, tape)
        end = None if max_events is None else first_event + max_events
        self.events = self.tape.events()[first_event:end]
        if not self.events:
            raise ValueError(f"tape {tape} has no events in the chosen range")
        self.tail_ns = seconds(tail_s)
        self.tape_events = 0

    def run(self) -> ReplaySummary:
        rig = self.rig
        first_ns = self.events[0][0]
        rig.clock.advance_to(first_ns - seconds(1))
        rig.start()
        try:
            for ts_ns, row in self.events:
                rig.run_until(ts_ns, before_ns=ts_ns)
                rig.act(lambda exchange: (exchange.advance(ts_ns), self.tape.apply(row)))
                self.tape_events += 1
            rig.run_until(rig.clock.now_ns() + self.tail_ns)
        finally:
            rig.shutdown("replay finished")
        return ReplaySummary(
            tape_events=self.tape_events,
            timers_fired=rig.timers_fired,
            frames_delivered=rig.frames_delivered,
            virtual_seconds=(rig.clock.now_ns() - first_ns) / 1e9,
        )


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
