"""Replay: the real actors, a virtual clock, and the simulated exchange in-process.

`InProcessRig` wires the daemon to an in-process simulated exchange: the actors talk to it
through the same REST client and WS connection code as in live trading; only the
transport differs (in-process calls instead of sockets), and time is virtual. Frames
the exchange sends wait in a FIFO "network" until the driver delivers them; when the
exchange hangs up (a drop_ws_connections fault) the close waits there too, behind the frames
sent before it, and reaches the WS actor as FeedDisconnected, so its reconnect timer runs on
the virtual clock. REST faults (429/5xx bursts) are answered in front of the exchange, as
SimServer does.

`ReplayHarness` drives the exchange from a recorded trade tape (`tape=`) or from a
generated scenario (`scenario=`, see simex/scenarios/README.md). Its loop, one step at a
time, always after the actors have gone quiet (the in-flight tracker reads zero):
  1. a frame the exchange sent is waiting  -> deliver it to the WS actor (FIFO);
  2. else the earliest of (next market event, next timer) happens next. A market event is
     a tape row, or for a scenario the exchange's next scheduled background event (fair
     steps, takers, settlement, faults). Tie rule: data at time t is applied before timers
     due at t. Timers fire one at a time, because a handler may schedule an earlier one.
Every step waits for quiet, so no two chains of messages interleave: the same tape (or
scenario and seed) and config give identical orders, fills and analytics rows.
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
from messages import FeedDisconnected, FrameReceived
from mmd.app import Daemon, Wiring
from kernel.bus import InFlightTracker, post
from kernel.clock import ReplayClock, seconds
from kernel.runtime import DeterministicRuntime, ThreadingRuntime, runtime_named
from simex import Exchange, TapeMarketDriver
from simex._scenario import Scenario, ScenarioRun, install_scenario, load_scenario
from simex._tape import PESSIMISTIC, FillModel

log = logging.getLogger(__name__)

__all__ = [
    "InProcessRig",
    "ReplayHarness",
    "ReplayStalled",
    "run_replay",
    "SCENARIO_START_NS",
    "table_dump",
    "ticker_from_tape_path",
    "config_for_tickers",
]

RIG_ACCOUNT = "replay-account"
QUIET_TIMEOUT_S = 30.0
SCENARIO_START_NS = 1_795_000_000 * 1_000_000_000  # 2026-11-18T08:26:40Z: scenarios start here (virtual)


class ReplayStalled(RuntimeError):
    """The actors did not go quiet: a message loop or a blocked actor."""


@dataclass(frozen=True)
class ConnectionClosed:
    """Queued on the rig's network in place of a frame: the exchange hung up on `session`
    (fault injection). Delivered in FIFO order, so the frames sent before the close arrive
    first, as on a real socket."""

    session: Any
    reason: str


class _SerializedExchange:
    """The REST actor, the WS actor and the driver reach the exchange from different
    threads; the exchange core is single-threaded, so every entry point takes one lock.

    It is also the in-process shell, doing what SimServer does around the core: REST faults
    (simex/_faults.py) are applied before a request reaches the exchange, and a session the
    exchange drops is reported through `on_drop` (the rig turns it into the close a socket
    would report). A slow_responses fault is consumed and counted but answers at once: a
    REST call runs inside an actor's handler, and virtual time moves only between steps.
    """

    def __init__(self, exchange: Exchange, on_drop: Callable[["_SerializedSession", bool], None] | None = None) -> None:
        self._exchange = exchange
        self._lock = threading.RLock()
        self._on_drop = on_drop

    def handle_rest(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            faults = self._exchange.hub.faults  # None until a fault is first set
            fault = faults.rest_fault() if faults is not None else None
            if fault is not None and fault.status is not None:
                return fault.status, fault.body
            return self._exchange.handle_rest(*args, **kwargs)

    def open_session(self, account_id: str, send: Callable[[str], None]) -> Any:
        with self._lock:
            session = _SerializedSession(self._exchange.open_session(account_id, send), self._lock)
            if self._on_drop is not None:
                on_drop = self._on_drop
                session.raw.disconnect = lambda abort: on_drop(session, abort)
            return session

    def run(self, action: Callable[[Exchange], Any]) -> Any:
        with self._lock:
            return action(self._exchange)


class _SerializedSession:
    def __init__(self, session: Any, lock: threading.RLock) -> None:
        self._session = session
        self._lock = lock

    @property
    def raw(self) -> Any:
        return self._session

    def receive(self, text: str) -> None:
        with self._lock:
            self._session.receive(text)

    def close(self) -> None:
        with self._lock:
            self._session.close()


class _TrackingExchange:
    """What the rig's LoopbackConnector opens sessions on: records each one, so a close
    report can be matched to the connection it is about."""

    def __init__(self, rig: "InProcessRig") -> None:
        self._rig = rig

    def open_session(self, account_id: str, send: Callable[[str], None]) -> Any:
        session = self._rig.exchange.open_session(account_id, send)
        self._rig.ws_session = session
        return session


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
        runtime: str = "threading",
    ) -> None:
        self.runtime: DeterministicRuntime | ThreadingRuntime = runtime_named(runtime)
        self._one_thread = self.runtime if isinstance(self.runtime, DeterministicRuntime) else None
        # threads need the in-flight count to know when the actors are quiet; one thread
        # knows it from its empty FIFO, so it counts nothing
        self.tracker = InFlightTracker() if isinstance(self.runtime, ThreadingRuntime) else None
        self.clock = ReplayClock(0, self.tracker)
        self.raw_exchange = Exchange(now_ns=self.clock.now_ns, seed=config.paper.seed)
        self.raw_exchange.register_account(RIG_ACCOUNT, balance_cents)
        self.exchange = _SerializedExchange(self.raw_exchange, on_drop=self._dropped)
        self.network: deque[str | ConnectionClosed] = deque()
        self.ws_session: Any = None  # the WS actor's current connection (the last one opened)
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
            connector_factory=lambda _ref: LoopbackConnector(_TrackingExchange(self), RIG_ACCOUNT, self.network.append),
            runtime=self.runtime,
        )
        self.config = config
        self.db_path = db_path
        self.wiring = wiring
        self.daemon: Daemon | None = None
        self.frames_delivered = 0
        self.timers_fired = 0
        self.closes_delivered = 0
        self.final_status: dict[str, dict] = {}  # get_status() of the WS and REST actors at shutdown

    def _dropped(self, session: Any, abort: bool) -> None:
        """The exchange hung up on `session` (exchange lock held): queue the close."""
        reason = "reset by peer" if abort else "closed: 1011 simex fault: connection dropped"
        self.network.append(ConnectionClosed(session, reason))

    def start(self) -> None:
        self.daemon = Daemon(self.config, self.wiring, self.db_path)
        self.daemon.start()
        self.deliver_frames()

    def quiet(self) -> None:
        if self._one_thread is not None:
            self._one_thread.run_until_idle()  # one thread: an empty FIFO is quiet (a loop raises)
            return
        if not self.tracker.wait_quiet(QUIET_TIMEOUT_S):
            raise ReplayStalled(f"{self.tracker.in_flight} message(s) still in flight after {QUIET_TIMEOUT_S} s")

    def deliver_next_frame(self) -> bool:
        """Deliver one waiting frame (after quiet) and wait for quiet again."""
        self.quiet()
        if not self.network:
            return False
        ws = self.daemon.refs["ws"]
        item = self.network.popleft()
        if isinstance(item, ConnectionClosed):
            # what LiveConnector's on_close posts; a close of a connection the actor has
            # already replaced is not news about the current one (LiveConnector drops it too)
            if item.session is self.ws_session:
                post(ws, FeedDisconnected(reason=item.reason, ts_recv=self.clock.now_ns()), self.tracker)
                self.closes_delivered += 1
        else:
            post(ws, FrameReceived(text=item, ts_recv=self.clock.now_ns()), self.tracker)
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
        if self._one_thread is not None:
            self._run_until_one_thread(t_ns, before_ns)
        else:
            while self.fire_next_timer(t_ns, before_ns):
                pass
        self.clock.advance_to(max(t_ns, self.clock.now_ns()))

    def _run_until_one_thread(self, t_ns: int, before_ns: int | None) -> None:
        """`fire_next_timer` until none is due, in one thread: the same steps (frames to
        quiet, then one timer, then its frames), without re-checking quiet in between."""
        runtime, clock, network = self._one_thread, self.clock, self.network
        limit = t_ns if before_ns is None else min(t_ns, before_ns - 1)
        fired = 0
        try:
            while True:
                runtime.run_until_idle()
                if network:
                    self.deliver_frames()
                deadline = clock.next_deadline()
                if deadline is None or deadline > limit:
                    return
                clock.fire_next_due(deadline)
                fired += 1
        finally:
            self.timers_fired += fired

    def act(self, action: Callable[[Exchange], Any]) -> Any:
        """Do something on the exchange (market activity) between actor steps."""
        self.quiet()
        return self.exchange.run(action)

    def shutdown(self, reason: str) -> None:
        if self.daemon is None or not self.daemon.started:
            return
        # Sessions end one at a time, each to quiet, in the order they started. Hazard: told
        # all at once, makers on threads race each other's cancels to the risk governor and
        # the rows' order would depend on thread timing; one at a time, both runtimes agree.
        supervisor = self.daemon.refs["supervisor"].proxy()
        for ticker in supervisor.open_session_tickers().get(timeout=QUIET_TIMEOUT_S):
            supervisor.stop_all_sessions(reason, (ticker,)).get(timeout=QUIET_TIMEOUT_S)
            self.deliver_frames()
        self.daemon.stop_quoting(reason)
        self.deliver_frames()
        self.final_status = {  # what the client side saw, for tests and reports
            name: self.daemon.refs[name].proxy().get_status().get(timeout=QUIET_TIMEOUT_S)
            for name in ("ws", "rest") if name in self.daemon.refs
        }
        self.daemon.stop_actors()
        self.daemon.close_run(reason)


@dataclass
class ReplaySummary:
    tape_events: int
    timers_fired: int
    frames_delivered: int
    virtual_seconds: float
    scenario_events: int = 0


def ticker_from_tape_path(path: Path) -> str:
    """TRADES_KXNHLGAME-26APR04FLAPIT-PIT.csv -> KXNHLGAME-26APR04FLAPIT-PIT."""
    return Path(path).stem.removeprefix("TRADES_")


class ReplayHarness:
    """Drive the rig from a tape (`tape=`) or a scenario (`scenario=` name, path or Scenario).

    Tape option: fill_model (how the tape fills our resting orders, simex/_tape.py; default
    the pessimistic queue model). Scenario options: seed (default: the scenario's own),
    duration_s (default: the scenario's), tickers (restrict the scanner to these markets;
    default: config as given).
    """

    def __init__(
        self,
        config: Config,
        tape: Path | None = None,
        db_path: Path | None = None,
        *,
        scenario: Scenario | str | Path | None = None,
        seed: int | None = None,
        duration_s: float | None = None,
        tickers: tuple[str, ...] | None = None,
        run_id: str = "replay",
        first_event: int = 0,
        max_events: int | None = None,
        tail_s: float = 5.0,
        balance_cents: int = 100_000,
        runtime: str = "threading",
        fill_model: FillModel = PESSIMISTIC,
    ) -> None:
        if (tape is None) == (scenario is None):
            raise ValueError("give exactly one of tape= or scenario=")
        if db_path is None:
            raise ValueError("db_path is required")
        self.tail_ns = seconds(tail_s)
        self.tape_events = 0
        self.scenario_events = 0
        self.scenario_run: ScenarioRun | None = None
        self.tape: TapeMarketDriver | None = None
        if tape is not None:
            ticker = ticker_from_tape_path(tape)
            self.rig = InProcessRig(config_for_tickers(config, ticker), db_path, run_id=run_id,
                                    balance_cents=balance_cents, runtime=runtime)
            self.tape = TapeMarketDriver(self.rig.raw_exchange, ticker, tape, fill_model=fill_model)
            end = None if max_events is None else first_event + max_events
            self.events = self.tape.events()[first_event:end]
            if not self.events:
                raise ValueError(f"tape {tape} has no events in the chosen range")
            return
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        if tickers:
            config = config_for_tickers(config, *tickers)
        self.rig = InProcessRig(config, db_path, run_id=run_id, balance_cents=balance_cents, runtime=runtime)
        self.seed = self.scenario.seed if seed is None else seed
        self.duration_ns = seconds(self.scenario.duration_s if duration_s is None else duration_s)
        self.rig.clock.advance_to(SCENARIO_START_NS)
        self.scenario_run = self.rig.exchange.run(lambda exchange: install_scenario(exchange, self.scenario, self.seed))

    def run(self) -> ReplaySummary:
        return self._run_tape() if self.tape is not None else self._run_scenario()

    def _run_tape(self) -> ReplaySummary:
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
        return self._summary(first_ns)

    def _run_scenario(self) -> ReplaySummary:
        rig = self.rig
        start_ns = rig.clock.now_ns()
        end_ns = start_ns + self.duration_ns
        rig.start()
        try:
            while True:
                next_ns = rig.act(_next_scheduled_ns)
                if next_ns is None or next_ns > end_ns:
                    break
                rig.run_until(next_ns, before_ns=next_ns)
                rig.act(lambda exchange: exchange.advance(next_ns))
                self.scenario_events += 1
            rig.run_until(end_ns)
        finally:
            rig.shutdown("replay finished")
        return self._summary(start_ns)

    def _summary(self, first_ns: int) -> ReplaySummary:
        rig = self.rig
        return ReplaySummary(
            tape_events=self.tape_events,
            timers_fired=rig.timers_fired,
            frames_delivered=rig.frames_delivered,
            virtual_seconds=(rig.clock.now_ns() - first_ns) / 1e9,
            scenario_events=self.scenario_events,
        )


def _next_scheduled_ns(exchange: Exchange) -> int | None:
    """The exchange's next background event time (None when nothing is scheduled)."""
    peek = getattr(exchange, "next_scheduled_ns", None)
    if peek is not None:
        return peek()
    schedule = exchange._schedule  # noqa: SLF001 (no public peek yet; the heap head is the earliest)
    return schedule[0][0] if schedule else None


def table_dump(db_path: Path, table: str) -> list[tuple]:
    with sqlite3.connect(db_path) as db:
        return db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()  # noqa: S608 (our table names)


def run_replay(
    config: Config,
    *,
    db_path: Path,
    tape: Path | None = None,
    scenario: Scenario | str | Path | None = None,
    seed: int | None = None,
    duration_s: float | None = None,
    tickers: tuple[str, ...] | None = None,
    run_id: str = "replay",
    first_event: int = 0,
    max_events: int | None = None,
    runtime: str = "deterministic",
    fill_model: FillModel = PESSIMISTIC,
) -> dict:
    """Replay a tape or a scenario through the real actors; a JSON-able summary."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    harness = ReplayHarness(config, tape, db_path, scenario=scenario, seed=seed, duration_s=duration_s,
                            tickers=tickers, run_id=run_id, first_event=first_event, max_events=max_events,
                            runtime=runtime, fill_model=fill_model)
    summary = harness.run()
    source = {"tape": str(tape)} if tape is not None else {
        "scenario": harness.scenario.name, "seed": harness.seed,
    }
    return {
        **source,
        "tape_events": summary.tape_events,
        "scenario_events": summary.scenario_events,
        "timers_fired": summary.timers_fired,
        "frames_delivered": summary.frames_delivered,
        "virtual_seconds": summary.virtual_seconds,
        "runtime": runtime,
        "messages_handled": getattr(harness.rig.runtime, "delivered", None),
        "orders": len(table_dump(db_path, "orders")),
        "fills": len(table_dump(db_path, "order_fills")),
        "database": str(db_path),
    }
