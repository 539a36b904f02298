"""Wiring: which clock, transport and feed connector; actor start order; graceful stop.

This is the one place that chooses live versus replay. Everything it builds is handed
to the actors as constructor arguments (Mopidy style): the actors never look around.

Start order (each actor answers a ping before the next starts, so its bus
subscriptions exist before anyone publishes): analytics, REST client, market state,
feed actors (when configured), risk governor, WS connection, the caller's
`before_quoting` step, session supervisor (which starts one maker per session), scanner. Stop runs in reverse; the supervisor stops its
makers in its own on_stop.

Replies are addressed by name, never by actor ref: REST read replies go to the reader a
request names (`reply_to`), resolved through one `Directory` per daemon, handed to the
REST actor and to every reader (scanner, supervisor, each maker), which registers itself
as it is built.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import pykka

from actors.alerts import AlertRules, AlertsActor
from actors.analytics import AnalyticsActor, AnalyticsStore
from actors.maker import MakerActor
from actors.market_state import MarketStateActor
from actors.metrics import MetricsActor
from actors.rest import KalshiRestClient, RestClientActor
from actors.risk import RiskGovernorActor
from actors.scanner import ScannerActor
from actors.supervisor import SessionSupervisorActor, crash_reporting
from actors.ws import WsConnectionActor
from config import Config, fair_value_feed_problem
from kernel.bus import Bus, InFlightTracker
from kernel.directory import Directory
from kernel.runtime import ThreadingRuntime
from kernel.clock import seconds
from schema import migrate

log = logging.getLogger(__name__)

__all__ = ["Wiring", "Daemon", "config_to_json"]

PING_TIMEOUT_S = 10.0
ASK_TIMEOUT_S = 2.0


@dataclass
class Wiring:
    """What differs between live/paper and replay runs."""

    mode: str
    run_id: str
    clock: Any
    tracker: InFlightTracker
    client: KalshiRestClient  # over an HTTP or loopback transport
    executor: Any  # ThreadPoolExecutor (live) or InlineExecutor (replay)
    connector_factory: Callable[[Any], Any]  # ws actor ref -> connector
    extras: dict = field(default_factory=dict)
    runtime: Any = field(default_factory=ThreadingRuntime)  # kernel.runtime: threads, or one deterministic thread
    # live only (calls inline in a replay: nothing travels, nothing waits for a worker):
    rest_headroom_s: float = 0.0  # refill left unspent in the REST budget (latency jitter)
    rest_in_flight: int | None = None  # REST calls started at once: the worker count
    rest_unanswered_hold_s: float = 0.0  # a timed-out request's cost stays held this long (it may arrive late)


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        # field by field, not asdict(): asdict deep-copies, and read-only mappings
        # (MappingProxyType in frozen config) cannot be copied
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def config_to_json(config: Config) -> str:
    return json.dumps(_jsonable(config), sort_keys=True)


class Daemon:
    def __init__(self, config: Config, wiring: Wiring, db_path: Path) -> None:
        self.config = config
        self.wiring = wiring
        self.db_path = db_path
        self.bus = Bus(wiring.tracker)
        self.refs: dict[str, Any] = {}
        self.readers = Directory()  # role name -> ref of every actor a REST read replies to
        self.store: AnalyticsStore | None = None
        self.started = False

    # -- lifecycle ----------------------------------------------------------------------
    def _start(self, name: str, actor_class: type, **kwargs: Any) -> Any:
        w = self.wiring
        ref = w.runtime.start(actor_class, clock=w.clock, bus=self.bus, tracker=w.tracker, **kwargs)
        ref.proxy().ping().get(timeout=PING_TIMEOUT_S)  # on_start done: subscriptions are in place
        self.refs[name] = ref
        return ref

    def start(self, before_quoting: Callable[[], None] = lambda: None) -> None:
        """Start every actor in order. before_quoting runs once risk and the feed are up and
        before the supervisor and scanner start: nothing can open a session (or quote)
        before it returns, so what risk must count first (positions held before this run)
        goes in there. Whatever it raises stops the start there."""
        cfg, w = self.config, self.wiring
        migrate(self.db_path)
        self.store = AnalyticsStore(self.db_path, w.run_id)
        self.store.start_run(w.mode, config_to_json(cfg), w.clock.now_ns())
        self._start_operations()  # first: they hear every event, and stop last (a kill at shutdown is told)
        self._start("analytics", AnalyticsActor, store=self.store, config=cfg.analytics)
        rest = self._start(
            "rest",
            RestClientActor,
            client=w.client,
            executor=w.executor,
            read_rate=cfg.rest.read_tokens_per_s,
            read_capacity=cfg.rest.read_tokens_per_s * cfg.rest.read_bucket_s,
            write_rate=cfg.rest.write_tokens_per_s,
            write_capacity=cfg.rest.write_tokens_per_s * cfg.rest.write_bucket_s,
            default_cost=cfg.rest.default_cost,
            cancel_cost=cfg.rest.cancel_cost,
            batch_max_items=cfg.rest.batch_max_items,
            batch_gather_ns=seconds(cfg.rest.batch_gather_s),
            readers=self.readers,
            headroom_s=w.rest_headroom_s,
            max_in_flight=w.rest_in_flight,
            unanswered_hold_s=w.rest_unanswered_hold_s,
        )
        self._start("market_state", MarketStateActor, config=cfg.market_state)
        # an engaged kill switch survives a restart (file beside the database); never in
        # a backtest, whose kill must not halt a later live daemon sharing the directory
        kill_switch_path = None if w.mode == "backtest" else self.db_path.parent / cfg.risk.kill_switch_file
        self._start_feeds()  # before the makers that read reference and spot prices
        risk = self._start(
            "risk",
            RiskGovernorActor,
            config=cfg.risk,
            order_gateway=rest,
            kill_switch_path=kill_switch_path,
            run_id=w.run_id,
        )
        ws = self._start(
            "ws",
            WsConnectionActor,
            connector_factory=w.connector_factory,
            reconnect_base_s=cfg.ws.reconnect_base_s,
            reconnect_cap_s=cfg.ws.reconnect_cap_s,
            liveness_timeout_s=cfg.ws.liveness_timeout_s,
            silence_window_s=cfg.ws.silence_window_s,
        )

        before_quoting()

        def start_maker(ticker: str, session_id: str, market_config: Any = None) -> Any:
            # MakerActor looked up at call time; wrapped so a crash is reported at once
            return w.runtime.start(
                crash_reporting(MakerActor),
                clock=w.clock,
                bus=self.bus,
                tracker=w.tracker,
                ticker=ticker,
                session_id=session_id,
                config=cfg.maker,
                order_sink=risk,
                rest=rest,  # fill reconciliation reads (GET /portfolio/fills)
                market_config=market_config,  # the session's generated config (None: explicit ticker)
                directory=self.readers,  # registers "maker:<session id>" for its fill reads' replies
                fair_value_feed_problem=self.fair_value_feed_problem(ticker),  # not quoted while set
            )

        self._start(
            "supervisor",
            SessionSupervisorActor,
            config=cfg.supervisor,
            run_id=w.run_id,
            maker_factory=start_maker,
            feed=ws,
            order_gateway=risk,  # cancels pass through risk, which settles its exposure on them
            rest=rest,  # balance reads, close times of explicit tickers
            style=getattr(cfg.scanner, "style", "volatility"),
            regime_sample_interval_s=cfg.scanner.volatility.sample_interval_s,  # part of the regime staleness rule
            directory=self.readers,
        )
        self._start(
            "scanner", ScannerActor, config=cfg.scanner, rest=rest, feed=ws, risk_config=cfg.risk, directory=self.readers
        )
        self.started = True

    def _start_operations(self) -> None:
        """Metrics and alerts (SPEC 12) only listen to the bus. Never in a backtest: no port
        to serve, no webhook to post to."""
        cfg, w = self.config, self.wiring
        if w.mode == "backtest":
            return
        if cfg.metrics.port:
            self._start("metrics", MetricsActor, port=cfg.metrics.port, max_markets=cfg.metrics.max_markets)
        self._start(
            "alerts",
            AlertsActor,
            rules=AlertRules.from_config(cfg.alerts, origin=f"mmd {w.mode}"),
            webhook_url=w.extras.get("alert_webhook_url", ""),  # a secret: from the environment, never the config
            webhook_format=cfg.alerts.format,
            timeout_s=cfg.alerts.timeout_s,
        )

    def _feed_venues(self) -> Any:
        """Where this run's feed actors read (actors.feeds.FeedVenues), or None when it has
        no feeds at all: demo and prod read the real venues of the config; paper reads the
        simulated exchange's stand-ins (wiring.extras "venue_http_url"/"venue_ws_url");
        backtests wire none (a replay's fair value has never had outside prices)."""
        from actors.feeds import FeedVenues

        w = self.wiring
        if w.mode in ("demo", "prod"):
            return FeedVenues.real(self.config.feeds)
        http_url, ws_url = w.extras.get("venue_http_url"), w.extras.get("venue_ws_url")
        if http_url and ws_url:
            return FeedVenues.simulator(self.config.feeds, http_url, ws_url)
        return None

    def fair_value_feed_problem(self, ticker: str) -> str:
        """Why a maker on `ticker` must not quote for want of an outside feed its fair value
        needs ("" when nothing is missing); runs with no feeds at all (backtests) are not
        held to it."""
        if getattr(self.config, "feeds", None) is None or self._feed_venues() is None:
            return ""
        return fair_value_feed_problem(self.config.maker.fair_value.source, self.config.feeds, ticker)

    def _start_feeds(self) -> None:
        """Reference-venue and spot feed actors (actors/feeds), when the config asks for any."""
        feeds_config = getattr(self.config, "feeds", None)
        if feeds_config is None or not (feeds_config.reference_tokens or feeds_config.spot_symbols):
            return
        w = self.wiring
        venues = self._feed_venues()
        if venues is None:
            log.warning("feeds configured but this wiring (%s) has no venue URLs: feed actors not started", w.mode)
            return
        from actors.feeds import start_feed_actors

        refs = start_feed_actors(
            feeds_config, venues=venues, clock=w.clock, bus=self.bus, tracker=w.tracker, executor=w.executor
        )
        for number, ref in enumerate(refs, 1):
            ref.proxy().ping().get(timeout=PING_TIMEOUT_S)
            self.refs[f"feed-{number}"] = ref

    def stop_quoting(self, reason: str) -> int:
        """Ends every maker session (each cancels its own orders). Returns sessions ended."""
        supervisor = self.refs.get("supervisor")
        if supervisor is None:
            return 0
        try:
            return supervisor.proxy().stop_all_sessions(reason).get(timeout=PING_TIMEOUT_S)
        except (pykka.ActorDeadError, pykka.Timeout):
            log.exception("supervisor did not stop its sessions")
            return 0

    def stop_actors(self) -> list[str]:
        """Stop actors in reverse start order; analytics flushes in its on_stop. Returns
        the names of any actor still alive afterwards (a bug, logged)."""
        for name in reversed(list(self.refs)):
            try:
                self.refs[name].stop(timeout=PING_TIMEOUT_S)
            except pykka.Timeout:
                log.error("actor %s did not stop in %.0f s", name, PING_TIMEOUT_S)
        survivors = [ref.actor_class.__name__ for ref in pykka.ActorRegistry.get_all()]
        if survivors:
            log.error("actors still alive after shutdown: %s", survivors)
            pykka.ActorRegistry.stop_all(timeout=PING_TIMEOUT_S)
        self.started = False
        return survivors

    def close_run(self, exit_reason: str) -> None:
        if self.store is not None:
            self.store.end_run(self.wiring.clock.now_ns(), exit_reason)
            self.store.close()
            self.store = None

    # -- kill switch (the status server's POST /kill and /resume) -----------------------
    def engage_kill_switch(self, reason: str) -> dict:
        """Halt all trading and cancel every resting order until a resume."""
        return self.refs["risk"].proxy().engage_kill_switch(reason).get(timeout=PING_TIMEOUT_S)

    def release_kill_switch(self, reason: str) -> dict:
        return self.refs["risk"].proxy().release_kill_switch(reason).get(timeout=PING_TIMEOUT_S)

    # -- status -------------------------------------------------------------------------
    def _ask_status(self, name: str) -> Any:
        ref = self.refs.get(name)
        if ref is None:
            return None
        try:
            return ref.proxy().get_status().get(timeout=ASK_TIMEOUT_S)
        except (pykka.ActorDeadError, pykka.Timeout) as exc:
            return {"error": type(exc).__name__}

    def _outside_feeds_status(self) -> dict:
        """Where this run reads outside prices (None: off, or no feeds in this wiring) and
        what each feed actor says."""
        venues = self._feed_venues() if getattr(self.config, "feeds", None) is not None else None
        return {
            "reference_book_url": venues.reference_book_url if venues is not None else None,
            "spot_stream_prefix": venues.spot_stream_prefix if venues is not None else None,
            "actors": [self._ask_status(name) for name in self.refs if name.startswith("feed-")],
        }

    def _maker_statuses(self) -> dict[str, dict]:
        """session id -> each running maker's own status, asked from here (the composition
        layer), all asks out before the first answer is awaited: no actor asks another."""
        futures = []
        for ref in pykka.ActorRegistry.get_by_class(MakerActor):
            try:
                futures.append(ref.proxy().get_status())
            except pykka.ActorDeadError:
                continue
        statuses: dict[str, dict] = {}
        for future in futures:
            try:
                status = future.get(timeout=ASK_TIMEOUT_S)
            except (pykka.ActorDeadError, pykka.Timeout):
                continue  # ended meanwhile: its session shows as ended
            if isinstance(status, dict) and status.get("session_id"):
                statuses[status["session_id"]] = status
        return statuses

    def status(self) -> dict:
        ws = self._ask_status("ws") or {}
        supervisor = self._ask_status("supervisor") or {}
        sessions = supervisor.get("active", [])
        maker_statuses = self._maker_statuses()
        for session in sessions:
            # the maker's own answer when it gave one; else what the supervisor last heard
            detail = maker_statuses.get(session.get("session_id"))
            if detail is not None:
                session["maker"] = detail
        makers = [s.get("maker", {}) for s in sessions]
        analytics = self._ask_status("analytics")
        recent_fills = analytics.pop("recent_fills", []) if isinstance(analytics, dict) else []
        return _jsonable(
            {
                "mode": self.wiring.mode,
                "run_id": self.wiring.run_id,
                "now_ns": self.wiring.clock.now_ns(),
                "feed": {
                    "ws_healthy": ws.get("ws_healthy"),
                    "connected": ws.get("connected"),
                    "last_message_ns": ws.get("last_message_ns"),
                    "details": ws,
                },
                "sessions": sessions,
                "ended_sessions": supervisor.get("ended", []),
                "waiting_events": supervisor.get("waiting_events", []),  # admitted later or dropped
                "dropped_events": supervisor.get("dropped_events", []),  # with why not admitted
                "makers": makers,
                "positions": {m.get("ticker"): m.get("position") for m in makers if "ticker" in m},
                "pnl": {
                    m.get("ticker"): {
                        "realized": m.get("realized_pnl"),
                        "unrealized": m.get("unrealized_pnl"),
                        "fees": m.get("fees"),
                    }
                    for m in makers
                    if "ticker" in m
                },
                "open_orders": [o for m in makers for o in m.get("open_orders", [])],
                "outside_feeds": self._outside_feeds_status(),
                "recent_fills": recent_fills,  # ours, oldest first (the analytics actor keeps the last N)
                "risk": self._ask_status("risk"),
                "rest": self._ask_status("rest"),
                "scanner": self._ask_status("scanner"),
                "market_state": self._ask_status("market_state"),
                "analytics": analytics,
            }
        )
