"""`mmd start`: paper (embedded simulated exchange) or live (Kalshi demo/prod).

The main thread owns signals: SIGTERM/SIGINT are blocked before any thread starts (all
threads inherit the mask) and taken synchronously with sigtimedwait, so no handler runs
inside an actor thread. Shutdown: stop quoting, cancel every resting order, confirm with
the exchange, reconcile fills over REST, flush SQLite, exit 0.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pykka

from actors.analytics import AnalyticsStore
from actors.rest import HttpTransport, KalshiRestClient, order_filled_from, worker_threads
from actors.ws import LiveConnector
from config import Config
from mmd import systemd
from mmd.app import PING_TIMEOUT_S, Daemon, Wiring
from kernel.bus import InFlightTracker
from kernel.clock import NS_PER_MS, NS_PER_SECOND, LiveClock
from kernel.ids import CLIENT_ORDER_PREFIX
from kalshi.auth import OWNER_ONLY, PrivateKeyError, Signer, generate_key_pair, load_private_key
from mmd.control import DAEMON_FILE, TOKEN_FILE, issue_token, this_process_identity, write_daemon_file
from mmd.guards import (
    RealMoneyNotConfirmed,
    planned_exchange_urls,
    require_real_money_confirmation,
    status_host_problem,
)
from mmd.reconcile import Findings, ReconciliationFailedError, Step, exchange_steps, run_steps
from mmd.status_server import StatusServer
from messages import PositionsReconciled, ReconciliationFailed

log = logging.getLogger("mmd")

__all__ = ["StartupError", "Endpoint", "run_daemon", "resolve_endpoint", "ws_url_for"]

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT)
CONFIRM_ATTEMPTS = 10
CONFIRM_PAUSE_S = 0.5
QUIET_TIMEOUT_S = 5.0
PAPER_KEY_ID = "paper-key"
PAPER_SCENARIO = "default"  # simex/scenarios/default.yaml
SESSION_EXIT_POLL_S = 0.2
HEALTH_TIMEOUT_S = 5.0  # well under half the unit's WatchdogSec=30s


class StartupError(Exception):
    """A domain problem at startup (bad key, no credentials, exchange refused): one line, exit 1."""


@dataclass
class Endpoint:
    rest_url: str
    ws_url: str
    key_id: str
    private_key: Any
    embedded: Any = None  # the embedded simulated exchange server, in paper mode


def ws_url_for(rest_url: str) -> str:
    """http://h:p/trade-api/v2 -> ws://h:p/trade-api/ws/v2 (https -> wss)."""
    scheme, rest = rest_url.split("://", 1)
    host = rest.split("/", 1)[0]
    return f"{'wss' if scheme == 'https' else 'ws'}://{host}/trade-api/ws/v2"


CREDENTIAL_NAME = systemd.PRIVATE_KEY_CREDENTIAL  # systemd LoadCredential[Encrypted]=kalshi-private-key:...


def _credentials_from_env(env: str) -> tuple[str, Any]:
    """The environment first, then the credentials systemd passed (mmd.service)."""
    try:
        service = systemd.service_credentials()
    except systemd.CredentialError as exc:  # its message never holds the credential
        raise StartupError(str(exc)) from None
    key_id = os.environ.get("KALSHI_ACCESS_KEY", "").strip() or (service.access_key or "")
    pem = os.environ.get("KALSHI_PRIVATE_KEY", "").strip()
    source, forbidden_mode = "KALSHI_PRIVATE_KEY", OWNER_ONLY
    if not pem and service.private_key_path is not None:
        pem = str(service.private_key_path)
        source = f"credential {CREDENTIAL_NAME} (CREDENTIALS_DIRECTORY)"
        forbidden_mode = systemd.CREDENTIAL_FORBIDDEN_MODE
    if not key_id or not pem:
        raise StartupError(
            f"--env {env} needs credentials: set KALSHI_ACCESS_KEY and KALSHI_PRIVATE_KEY "
            "(PEM text or a path to a PEM file)"
        )
    try:
        return key_id, load_private_key(pem, source=source, forbidden_mode=forbidden_mode)
    except PrivateKeyError as exc:  # its message never holds key material
        raise StartupError(str(exc)) from None


def _paper_key(data_dir: Path) -> tuple[Any, Path]:
    """The paper key pair in <data dir>/paper-keys (0700, private key 0600), made on first use:
    (private key, public key file)."""
    private_path, public_path = generate_key_pair(data_dir / "paper-keys", PAPER_KEY_ID)
    try:
        return load_private_key(private_path, source=f"paper key {private_path}"), public_path
    except PrivateKeyError as exc:
        raise StartupError(f"{exc} (delete it to have a new pair made)") from None


def _start_embedded_exchange(cfg: Config, data_dir: Path) -> Endpoint:
    from simex import SimServer, build_scenario_exchange

    private_key, public_path = _paper_key(data_dir)
    # paper trades the default scenario: many markets whose regimes give the scanner events
    scenario = getattr(cfg.paper, "scenario", PAPER_SCENARIO)
    exchange, _run = build_scenario_exchange(scenario, seed=cfg.paper.seed, now_ns=time.time_ns)
    server = SimServer(exchange, host=cfg.paper.host, port=cfg.paper.port)
    server.start_in_thread()
    server.authorize_key(
        PAPER_KEY_ID, public_path.read_bytes(), PAPER_KEY_ID, balance_cents=int(cfg.paper.balance_dollars * 100)
    )
    log.info("embedded simulated exchange on %s", server.base_url)
    return Endpoint(server.base_url, server.ws_url, PAPER_KEY_ID, private_key, server)


def resolve_endpoint(cfg: Config, env: str, exchange_url: str | None, data_dir: Path) -> Endpoint:
    if env == "paper":
        if exchange_url:  # an external `mmd sim`, authorizing the same paper key dir
            private_key, _ = _paper_key(data_dir)
            return Endpoint(exchange_url, ws_url_for(exchange_url), PAPER_KEY_ID, private_key)
        return _start_embedded_exchange(cfg, data_dir)
    key_id, private_key = _credentials_from_env(env)
    if exchange_url:
        return Endpoint(exchange_url, ws_url_for(exchange_url), key_id, private_key)
    if env == "demo":
        return Endpoint(cfg.exchange.demo_rest_url, cfg.exchange.demo_ws_url, key_id, private_key)
    return Endpoint(cfg.exchange.prod_rest_url, cfg.exchange.prod_ws_url, key_id, private_key)


def live_wiring(cfg: Config, mode: str, endpoint: Endpoint, run_id: str) -> Wiring:
    tracker = InFlightTracker()
    clock = LiveClock(tracker)
    signer = Signer(endpoint.key_id, endpoint.private_key)
    transport = HttpTransport(
        endpoint.rest_url, signer, cfg.rest.timeout_s, now_ms=lambda: clock.now_ns() // NS_PER_MS
    )
    client = KalshiRestClient(
        transport,
        max_attempts=cfg.rest.max_attempts,
        backoff_base_s=cfg.rest.backoff_base_s,
        backoff_cap_s=cfg.rest.backoff_cap_s,
        sleep=time.sleep,  # worker threads only, never an actor thread
    )
    executor = ThreadPoolExecutor(worker_threads(cfg.rest.workers), thread_name_prefix="mmd-rest")

    def connector_factory(ws_ref: Any) -> Any:
        return LiveConnector(endpoint.ws_url, signer, clock, ws_ref, tracker, cfg.ws.ping_interval_s)

    venue_root = endpoint.rest_url.split("/trade-api", 1)[0]  # http(s)://host:port
    extras = {"venue_http_url": venue_root, "venue_ws_url": ws_url_for(endpoint.rest_url).split("/trade-api", 1)[0]}
    extras["alert_webhook_url"] = os.environ.get("MMD_ALERT_WEBHOOK_URL", "").strip()  # a secret: never in config
    return Wiring(mode, run_id, clock, tracker, client, executor, connector_factory, extras,
                  rest_headroom_s=cfg.rest.headroom_s, rest_in_flight=cfg.rest.workers,
                  rest_unanswered_hold_s=cfg.rest.unanswered_hold_s)


def rest_client_for(cfg: Config, endpoint: Endpoint) -> KalshiRestClient:
    """A REST client of its own, for work done with no daemon (`mmd cancel-all`)."""
    signer = Signer(endpoint.key_id, endpoint.private_key)
    transport = HttpTransport(endpoint.rest_url, signer, cfg.rest.timeout_s, now_ms=lambda: time.time_ns() // 1_000_000)
    return KalshiRestClient(
        transport,
        max_attempts=cfg.rest.max_attempts,
        backoff_base_s=cfg.rest.backoff_base_s,
        backoff_cap_s=cfg.rest.backoff_cap_s,
        sleep=time.sleep,  # the main thread of a command, not an actor
    )


def check_real_money(cfg: Config, env: str, exchange_url: str | None, real_money: bool) -> None:
    """The real-money guard of `mmd start`, for any command that writes to the exchange."""
    try:
        require_real_money_confirmation(env, planned_exchange_urls(cfg.exchange, env, exchange_url), real_money)
    except RealMoneyNotConfirmed as exc:
        raise StartupError(str(exc)) from None


def cancel_all_client(cfg: Config, env: str, exchange_url: str | None, data_dir: Path) -> KalshiRestClient:
    """`mmd cancel-all`: the exchange `mmd start` would talk to, never an embedded one."""
    if env == "paper" and not exchange_url:
        raise StartupError("--env paper needs --exchange-url")
    return rest_client_for(cfg, resolve_endpoint(cfg, env, exchange_url, data_dir))


def cancel_and_confirm(client: KalshiRestClient) -> int:
    """Cancel whatever of ours still rests and read back until none does. Returns leftovers."""
    still_resting = -1
    for _ in range(CONFIRM_ATTEMPTS):
        still_resting = client.cancel_all(client_order_prefix=CLIENT_ORDER_PREFIX).still_resting
        if still_resting == 0:
            return 0
        time.sleep(CONFIRM_PAUSE_S)  # main thread, not an actor
    return still_resting


@dataclass(frozen=True)
class FillReadBack:
    """Where reading back this account's fills starts.

    anchor_fill_id: the last fill an earlier run of this mode recorded, which the exchange
    still reports for this account; the read-back starts at its time (since_ns), so a fill
    a killed run never stored, or one made while mmd was down, is not lost. None when there
    is no such fill (first run; a fresh paper exchange, whose counter-made fill ids repeat
    an earlier exchange's; another key): the read-back starts at the earliest run killed
    since the last that ended cleanly or recorded a fill (those runs stored no fill, so none
    is stored twice), else at this run's start.
    """

    mode: str
    since_ns: int
    anchor_fill_id: str | None = None


# stored fill times come from ts_ms, created_time or (legacy) whole seconds: compare loosely
FILL_TIME_TOLERANCE_NS = 5 * NS_PER_SECOND


def plan_fill_read_back(store: AnalyticsStore, client: KalshiRestClient, mode: str, run_started_ns: int) -> FillReadBack:
    last = store.last_fill_of_earlier_runs(mode)
    if last is not None:
        ts_ns, fill_id = last
        reported = client.get_fills(min_ts=(ts_ns - FILL_TIME_TOLERANCE_NS) // NS_PER_SECOND)
        if any(f.fill_id == fill_id and f.ts_event is not None and abs(f.ts_event - ts_ns) <= FILL_TIME_TOLERANCE_NS
               for f in reported):
            return FillReadBack(mode, ts_ns, fill_id)
        log.info("startup: the last %s fill on record (%s) is not this account's; not reading back from it",
                 mode, fill_id)
    # Hazard: a run killed before it stored any fill leaves no anchor, yet its fills (and
    # those made while mmd was down, its orders still resting) are on the exchange
    killed_since = store.earliest_unfinished_run_start(mode)
    return FillReadBack(mode, run_started_ns if killed_since is None else min(killed_since, run_started_ns))


def read_back_fills(store: AnalyticsStore, client: KalshiRestClient, plan: FillReadBack, now_ns: int) -> int:
    """Record every fill the exchange reports since the plan's start that SQLite lacks.
    Returns how many were new. Dedup by fill id: across this account's runs when the plan
    is anchored, within this run otherwise (the store ignores a (run, fill id) it has)."""
    fills = client.get_fills(min_ts=plan.since_ns // NS_PER_SECOND - 1)
    store.flush()  # fills the WS already delivered to this run count as stored
    known = store.fill_ids_since(plan.mode, plan.since_ns - FILL_TIME_TOLERANCE_NS) if plan.anchor_fill_id else set()
    new = [fill for fill in fills if fill.fill_id not in known]
    for fill in new:
        store.record(order_filled_from(fill, now_ns))
    store.flush()
    return len(new)


def read_back_fills_at_startup(daemon: Daemon, client: KalshiRestClient, mode: str, started_ns: int) -> FillReadBack:
    """Start-up: store the fills made since the last one an earlier run recorded for this
    account, however that run ended (a kill -9 does no shutdown read-back)."""
    plan = FillReadBack(mode, started_ns)
    if daemon.store is None:
        return plan
    plan = plan_fill_read_back(daemon.store, client, mode, started_ns)
    recorded = read_back_fills(daemon.store, client, plan, daemon.wiring.clock.now_ns())
    if recorded:
        log.info("startup: %d fill(s) since the last one on record read back into the database", recorded)
    return plan


def reconcile_fills(daemon: Daemon, client: KalshiRestClient, plan: FillReadBack) -> int:
    """Shutdown: every fill the exchange reports since the plan's start ends up in SQLite."""
    if daemon.store is None:
        return 0
    return read_back_fills(daemon.store, client, plan, daemon.wiring.clock.now_ns())


def wait_for_sessions_to_finish(daemon: Daemon, timeout_s: float) -> int:
    """Main thread: give each maker the chance to cancel its orders and report MakerFinished
    (so its session is recorded with its P&L) before the actors stop. Returns how many are
    still open at the timeout; the supervisor's own stop closes those."""
    supervisor = daemon.refs.get("supervisor")
    if supervisor is None:
        return 0
    deadline = time.monotonic() + timeout_s
    while True:
        still_open = supervisor.proxy().open_session_count().get(timeout=PING_TIMEOUT_S)
        if still_open == 0 or time.monotonic() >= deadline:
            if still_open:
                log.warning("%d session(s) still exiting after %.0f s; stopping them", still_open, timeout_s)
            return still_open
        time.sleep(SESSION_EXIT_POLL_S)  # main thread, not an actor


def _guarded(step: str, action, default=None):
    """Run one shutdown step; a failure is logged and the next steps still run."""
    try:
        return action()
    except Exception:
        log.exception("shutdown step '%s' failed", step)
        return default


def shutdown(
    daemon: Daemon, wiring: Wiring, endpoint: Endpoint, started_ns: int, reason: str,
    fill_read_back: FillReadBack | None = None,
) -> int:
    """Stop quoting, stop the actors (nothing can place an order after this), cancel and
    confirm over REST, reconcile fills into SQLite, close the run. Returns orders left resting.

    Hazard: the actors stop, and the REST worker pool drains, before the final
    cancel-and-confirm: a write still queued in the REST actor's budget, or already on a
    worker thread, could otherwise land after the confirmation.
    """
    log.info("stopping (%s): cancelling orders", reason)
    ended = _guarded("stop quoting", lambda: daemon.stop_quoting("shutdown"), 0) if daemon.started else 0
    if ended:
        _guarded("wait for makers", lambda: wait_for_sessions_to_finish(daemon, QUIET_TIMEOUT_S))
    if not wiring.tracker.wait_quiet(QUIET_TIMEOUT_S):
        log.warning("actors still busy after %.0f s; stopping them anyway", QUIET_TIMEOUT_S)
    _guarded("stop actors", daemon.stop_actors)
    # an HTTP call already on a worker thread may still place an order: let it land first
    _guarded("stop REST workers", lambda: wiring.executor.shutdown(wait=True, cancel_futures=True))
    leftovers = _guarded("cancel and confirm", lambda: cancel_and_confirm(wiring.client), -1)
    plan = fill_read_back or FillReadBack(wiring.mode, started_ns)
    fills = _guarded("reconcile fills", lambda: reconcile_fills(daemon, wiring.client, plan), 0)
    _guarded("close run", lambda: daemon.close_run(reason))
    _guarded("stop clock", wiring.clock.stop)
    if endpoint.embedded is not None:
        _guarded("stop embedded exchange", endpoint.embedded.stop)
    log.info(
        "stopped: %d session(s) ended, %s order(s) left resting, %d fill(s) reconciled",
        ended,
        "unknown" if leftovers < 0 else leftovers,
        fills,
    )
    if leftovers != 0:
        log.error(
            "could not confirm that no order of ours rests on the exchange: check the account; "
            "the next `mmd start` cancels any mmd- orders it finds before quoting"
        )
    return leftovers


def status_line(status: dict) -> str:
    feed = "feed ok" if status.get("feed", {}).get("ws_healthy") else "feed DOWN"
    parts = [f"mmd {status.get('mode')}", feed, f"{len(status.get('sessions', []))} session(s)"]
    for maker in status.get("makers", []):
        quote = maker.get("last_quote") or {}
        parts.append(
            f"{maker.get('ticker')} {maker.get('state')}"
            + (f" ({maker['why_not_quoting']})" if maker.get("why_not_quoting") else "")
            + f" bid {quote.get('bid')} ask {quote.get('ask')}"
            + f" pos {maker.get('position')} realized {maker.get('realized_pnl')}"
        )
    parts.append(f"open orders {len(status.get('open_orders', []))}")
    return " | ".join(parts)


def check_start_guards(cfg: Config, env: str, exchange_url: str | None, real_money: bool) -> None:
    """Before any key, socket or signal mask: real money must be confirmed wherever the URL is
    Kalshi production (whatever --env says), and the status server must stay on loopback."""
    check_real_money(cfg, env, exchange_url, real_money)
    # status.allow_remote: the config's explicit permission to listen beyond loopback (absent = no)
    problem = status_host_problem(cfg.status.host, getattr(cfg.status, "allow_remote", False))
    if problem is not None:
        raise StartupError(problem)


def run_daemon(
    cfg: Config,
    *,
    env: str,
    exchange_url: str | None,
    data_dir: Path,
    duration_s: float | None,
    real_money: bool = False,
) -> int:
    check_start_guards(cfg, env, exchange_url, real_money)
    faulthandler.enable()
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)  # before any thread starts
    try:
        return _run_daemon_with_signals_held(cfg, env, exchange_url, data_dir, duration_s)
    finally:
        # Hazard: children started after an early return (a failed reconciliation, a bad
        # endpoint) would inherit SIGTERM blocked and never stop
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)


def new_run_id() -> str:
    """`run-YYYYmmddTHHMMSS`, the UTC wall time of the start (an edge: the name reads the wall clock)."""
    return "run-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")


def _run_daemon_with_signals_held(
    cfg: Config, env: str, exchange_url: str | None, data_dir: Path, duration_s: float | None
) -> int:
    data_dir.mkdir(parents=True, exist_ok=True)
    run_id = new_run_id()
    endpoint = resolve_endpoint(cfg, env, exchange_url, data_dir)
    wiring = live_wiring(cfg, env, endpoint, run_id)
    started_ns = wiring.clock.now_ns()
    systemd.status("reconciling with the exchange: open orders, positions, fills")
    findings = Findings()
    try:
        run_steps(exchange_steps(wiring.client, findings))  # before any actor: nothing can quote
    except ReconciliationFailedError as exc:
        return fail_reconciliation(cfg, wiring, endpoint, data_dir, str(exc))
    daemon = Daemon(cfg, wiring, data_dir / cfg.paths.database)
    status_server = None
    daemon_file = data_dir / DAEMON_FILE
    exit_reason = "startup failed"
    leftovers = -1
    fill_read_back = FillReadBack(env, started_ns)
    try:
        plan_holder: list[FillReadBack] = []
        try:
            # held positions reach risk before the supervisor and scanner start: no session
            # can open, let alone quote, before risk counts them
            daemon.start(before_quoting=lambda: run_steps(before_quoting_steps(daemon, wiring, findings)))
            run_steps(daemon_steps(daemon, wiring, env, started_ns, plan_holder))
        except ReconciliationFailedError as exc:
            exit_reason = f"reconciliation failed: {exc}"
            publish_reconciliation_failed(daemon, wiring, str(exc))
            return 1  # the finally below cancels and stops; systemd's Restart=on-failure retries
        fill_read_back = plan_holder[0]
        control_token = issue_token(data_dir)  # 0600; `mmd kill/resume` read it
        try:
            status_server = StatusServer(
                cfg.status.host,
                cfg.status.port,
                daemon.status,
                control_token=control_token,
                allow_remote=getattr(cfg.status, "allow_remote", False),
            ).start()
        except OSError as exc:
            raise StartupError(f"status.port {cfg.status.port}: cannot listen on {cfg.status.host}: {exc}") from None
        # pid with its kernel start time: `mmd stop` never signals a process that reused the pid
        write_daemon_file(
            data_dir, {**this_process_identity(), "status_url": status_server.url, "run_id": run_id, "mode": env}
        )
        log.info("mmd %s running (run %s); status at %s", env, run_id, status_server.url)
        systemd.ready(f"mmd {env} running (run {run_id}); status at {status_server.url}")
        watchdog = systemd.Watchdog.from_environment(time.monotonic())
        exit_reason = wait_for_stop(daemon, cfg.status.print_interval_s, duration_s, watchdog)
    finally:
        systemd.stopping(f"stopping ({exit_reason}): cancelling orders")
        # a second SIGINT/SIGTERM during shutdown is not swallowed: it aborts as usual
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)
        if status_server is not None:
            _guarded("stop status server", status_server.stop)
        leftovers = shutdown(daemon, wiring, endpoint, started_ns, exit_reason, fill_read_back)
        daemon_file.unlink(missing_ok=True)
        (data_dir / TOKEN_FILE).unlink(missing_ok=True)
    return 0 if leftovers == 0 else 1


def before_quoting_steps(daemon: Daemon, wiring: Wiring, findings: Findings) -> list[Step]:
    """The reconciliation steps run inside Daemon.start, once risk is up and before anything
    that can open a session starts."""

    def seed_risk() -> str:
        daemon.bus.publish(PositionsReconciled(positions=findings.positions, ts=wiring.clock.now_ns()))
        if not wiring.tracker.wait_quiet(QUIET_TIMEOUT_S):
            raise RuntimeError("risk did not take the positions in time")
        return f"{len(findings.positions)} held position(s) counted"

    return [Step("seed risk with positions", seed_risk)]


def daemon_steps(daemon: Daemon, wiring: Wiring, mode: str, started_ns: int, plan_holder: list) -> list[Step]:
    """The reconciliation steps that need the started actors and the database."""

    def back_fill() -> str:
        plan_holder.append(read_back_fills_at_startup(daemon, wiring.client, mode, started_ns))
        return "fills since the last on record stored"

    return [Step("back-fill fills", back_fill)]


def publish_reconciliation_failed(daemon: Daemon, wiring: Wiring, reason: str) -> None:
    """Tell the operator (the alerts actor turns it into an alert) before exiting."""
    log.error("reconciliation failed, not quoting: %s", reason)
    systemd.status(f"reconciliation failed: {reason}")
    daemon.bus.publish(ReconciliationFailed(reason=reason, ts=wiring.clock.now_ns()))
    wiring.tracker.wait_quiet(QUIET_TIMEOUT_S)


def fail_reconciliation(cfg: Config, wiring: Wiring, endpoint: Endpoint, data_dir: Path, reason: str) -> int:
    """A failed exchange step, before any trading actor exists: only the operations actors
    (alerts, metrics) start, hear ReconciliationFailed, and stop. Exit 1."""
    daemon = Daemon(cfg, wiring, data_dir / cfg.paths.database)
    try:
        daemon._start_operations()  # noqa: SLF001 (composition layer; no trading actor starts)
        publish_reconciliation_failed(daemon, wiring, reason)
    finally:
        _guarded("stop actors", daemon.stop_actors)
        _guarded("stop REST workers", lambda: wiring.executor.shutdown(wait=True, cancel_futures=True))
        _guarded("stop clock", wiring.clock.stop)
        if endpoint.embedded is not None:
            _guarded("stop embedded exchange", endpoint.embedded.stop)
    return 1


def actors_answer(daemon: Daemon, timeout_s: float = HEALTH_TIMEOUT_S) -> bool:
    """The health pass behind the systemd watchdog: every actor answers a ping, so each still
    serves its inbox. All pings go out before the first answer is awaited."""
    pings = []
    for name, ref in daemon.refs.items():
        try:
            pings.append((name, ref.proxy().ping()))
        except pykka.ActorDeadError:
            log.error("health: actor %s is dead", name)
            return False
    deadline = time.monotonic() + timeout_s
    for name, ping in pings:
        try:
            ping.get(timeout=max(0.0, deadline - time.monotonic()))
        except (pykka.ActorDeadError, pykka.Timeout):
            log.error("health: actor %s did not answer within %.0f s", name, timeout_s)
            return False
    return True


def wait_for_stop(
    daemon: Daemon, print_interval_s: float, duration_s: float | None, watchdog: systemd.Watchdog | None = None
) -> str:
    """Main-thread loop until a signal or the duration: a status line every print interval,
    and the systemd watchdog petted after each health pass (none without a watchdog)."""
    watchdog = systemd.Watchdog(None, time.monotonic()) if watchdog is None else watchdog
    deadline = None if duration_s is None else time.monotonic() + duration_s
    next_line = time.monotonic() + print_interval_s
    while True:
        now = time.monotonic()
        # wake at the earliest of the next status line, the watchdog and the duration's end
        # (waiting for the line alone overran --duration by up to a print interval)
        wake_at = next_line if deadline is None else min(next_line, deadline)
        received = signal.sigtimedwait(HANDLED_SIGNALS, watchdog.wait_s(now, max(0.0, wake_at - now)))
        if received is not None:
            return f"signal {signal.Signals(received.si_signo).name}"
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            return "duration elapsed"
        if watchdog.due(now):
            if actors_answer(daemon):
                watchdog.health_passed(now)
            else:
                watchdog.health_failed(now)
        if now >= next_line:
            next_line = now + print_interval_s
            try:
                line = status_line(daemon.status())
                log.info(line)
                systemd.status(line)
            except Exception:
                log.exception("status line failed")
