"""aiohttp shell around the sans-IO exchange: REST at /trade-api/v2, WS at /trade-api/ws/v2.

The shell is the outside world: it reads wall time, verifies RSA-PSS signatures, steps
`exchange.advance(time.time_ns())` every ~100 ms and turns HTTP/WS traffic into core calls.
Each REST request and WS command first runs what is due by then (Exchange.catch_up), so a
request between two steps never trades ahead of background events due before it: trade
times never go back.
Every exchange call happens on the event-loop thread, so the core needs no locks. Each WS
connection writes through its own asyncio.Queue and writer task so frame order is kept.

Before a REST request reaches the core, the shell applies injected faults (simex/_faults.py:
429/5xx bursts, slow answers); the core then charges the account's token buckets (429
`{"error":"too many requests"}` when the exchange has a rate-limit tier). The admin endpoint `/_admin/faults` (loopback clients
only, on unless `admin=False`) switches faults while the server runs; see simex/_faults.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable

from aiohttp import WSMsgType, web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kalshi.auth import HEADER_KEY, HEADER_SIGNATURE, HEADER_TIMESTAMP, generate_key_pair, verify_signature

from ._errors import ApiError, error_body
from ._exchange import Exchange
from ._faults import Faults, faults_of
from ._participants import build_default_exchange
from ._reference import register_routes as register_reference_routes
from ._rest import API_PREFIX

__all__ = ["SimServer", "run_standalone", "build_sim_exchange", "WS_PATH", "ADMIN_FAULTS_PATH", "DEFAULT_BALANCE_CENTS"]

log = logging.getLogger(__name__)

WS_PATH = "/trade-api/ws/v2"
ADMIN_FAULTS_PATH = "/_admin/faults"
LOOPBACK_ADDRESSES = ("127.0.0.1", "::1")
DROP_CLOSE_CODE = 1011  # fault injection: the server hangs up ("internal error")
DEFAULT_BALANCE_CENTS = 1_000_000  # $10,000
MAX_CLOCK_SKEW_MS = 60_000
_PUB_SUFFIX = ".pub.pem"


class AuthError(Exception):
    pass


class SimServer:
    """One loopback port serving the exchange. Use start_in_thread()/stop() from sync code."""

    def __init__(
        self,
        exchange: Exchange,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        step_interval_s: float = 0.1,
        ping_interval_s: float = 10.0,
        wall_clock_ns: Callable[[], int] = time.time_ns,
        admin: bool = True,
        allow_unsigned_ws: bool = False,
    ) -> None:
        """ping_interval_s: WS Ping (payload `heartbeat`) period, 0 = none. admin: serve
        /_admin/faults to loopback clients. allow_unsigned_ws: accept WS upgrades without
        signature headers (public channels only; private ones answer error 9). A bad
        signature is always 401."""
        self.exchange = exchange
        self.host = host
        self.port = port
        self._step_interval_s = step_interval_s
        self._ping_interval_s = ping_interval_s
        self._wall_ns = wall_clock_ns
        # key id -> (account id, public key). Written from any thread, read on the loop:
        # single dict assignments are atomic under the GIL.
        self._keys: dict[str, tuple[str, rsa.RSAPublicKey]] = {}
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stepper: asyncio.Task | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._admin = admin
        self._allow_unsigned_ws = allow_unsigned_ws
        self.faults: Faults = faults_of(exchange)

    # ----- configuration -----
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}{WS_PATH}"

    def authorize_key(
        self, key_id: str, public_key_pem: bytes, account_id: str, balance_cents: int = DEFAULT_BALANCE_CENTS
    ) -> None:
        """Accept signatures by `key_id` for `account_id`, opening the account if it is new."""
        key = serialization.load_pem_public_key(public_key_pem)
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError(f"{key_id}: public key is not RSA")
        self.call(lambda: self._ensure_account(account_id, balance_cents))
        self._keys[key_id] = (account_id, key)

    def _ensure_account(self, account_id: str, balance_cents: int) -> None:
        if account_id not in self.exchange.accounts:
            self.exchange.register_account(account_id, balance_cents)

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` where exchange access is allowed: on the loop thread once serving."""
        loop = self._loop
        if loop is None or not loop.is_running() or threading.current_thread() is self._thread:
            return fn()

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), loop).result()

    # ----- lifecycle -----
    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(WS_PATH, self._handle_ws)
        if self._admin:
            app.router.add_route("*", ADMIN_FAULTS_PATH, self._handle_admin)
        register_reference_routes(app, getattr(self.exchange, "scenario_run", None))  # scenario feeds (part 3)
        app.router.add_route("*", "/{tail:.*}", self._handle_rest)  # core answers unknown paths: JSON 404
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._loop = asyncio.get_running_loop()
        self._stepper = asyncio.create_task(self._step_forever())

    async def shutdown(self) -> None:
        if self._stepper is not None:
            self._stepper.cancel()
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def start_in_thread(self) -> "SimServer":
        """Serve from a daemon thread with its own loop; returns once the port is listening."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # hand the bind error to the caller
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.shutdown())
            loop.close()

        self._thread = threading.Thread(target=serve, name="simex-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    async def _step_forever(self) -> None:
        while True:
            try:
                self.exchange.advance(self._wall_ns())
            except Exception:  # hazard: a background bug must not stop the market clock
                log.exception("simex: advance failed")
            await asyncio.sleep(self._step_interval_s)

    # ----- auth -----
    def _authenticate(self, request: web.Request) -> str | None:
        """Account id for a validly signed request, None when unsigned; AuthError if bad."""
        headers = request.headers
        key_id, ts, sig = headers.get(HEADER_KEY), headers.get(HEADER_TIMESTAMP), headers.get(HEADER_SIGNATURE)
        if key_id is None and ts is None and sig is None:
            return None
        if not (key_id and ts and sig):
            raise AuthError("incomplete authentication headers")
        entry = self._keys.get(key_id)
        if entry is None:
            raise AuthError("unknown API key")
        if not ts.isdigit() or abs(self._wall_ns() // 1_000_000 - int(ts)) > MAX_CLOCK_SKEW_MS:
            raise AuthError("timestamp is more than 60 s away from the server clock")
        signed_path = request.rel_url.raw_path  # what the client signed: path, no query
        if not verify_signature(entry[1], ts, request.method, signed_path, sig):
            raise AuthError("invalid signature")
        return entry[0]

    @staticmethod
    def _unauthorized(message: str) -> web.Response:
        return web.json_response(error_body("unauthorized", message), status=401)

    # ----- REST -----
    async def _handle_rest(self, request: web.Request) -> web.Response:
        fault = self.faults.rest_fault() if request.path.startswith(API_PREFIX) else None
        if fault is not None and fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault is not None and fault.status is not None:
            return web.json_response(fault.body, status=fault.status, dumps=_dumps)
        try:
            account_id = self._authenticate(request)
        except AuthError as exc:
            return self._unauthorized(str(exc))
        if account_id is None and request.path.startswith(API_PREFIX + "/portfolio"):
            return self._unauthorized("authentication required")
        raw = await request.read()
        query = {k: request.query.getall(k) for k in request.query.keys()}
        status, payload = self.exchange.handle_rest_raw(request.method, request.path, query, raw, account_id)
        return web.json_response(payload, status=status, dumps=_dumps)

    # ----- admin: fault injection -----
    async def _handle_admin(self, request: web.Request) -> web.Response:
        if request.remote not in LOOPBACK_ADDRESSES:
            return web.json_response(error_body("forbidden", "admin is loopback only"), status=403)
        if request.method == "GET":
            return web.json_response({"active": self.faults.active(), "injected": dict(self.faults.injected),
                                      "rate_limited": self.exchange.rate_limited()}, dumps=_dumps)
        if request.method == "DELETE":
            self.faults.clear()
            return web.json_response({"active": self.faults.active()}, dumps=_dumps)
        if request.method != "POST":
            return web.json_response(error_body("method_not_allowed", "use GET, POST or DELETE"), status=405)
        try:
            spec = json.loads(await request.read() or b"null")
        except (ValueError, UnicodeDecodeError):
            return web.json_response(error_body("bad_request", "bad request", "body is not JSON"), status=400)
        specs = spec if isinstance(spec, list) else [spec]
        applied = []
        for one in specs:
            try:
                applied.append(self.faults.apply(one))
            except (ValueError, NotImplementedError) as exc:
                return web.json_response(error_body("bad_request", "bad request", str(exc)), status=400)
            except ApiError as exc:  # e.g. an unknown market ticker
                return web.json_response(exc.body(), status=exc.status)
        return web.json_response({"applied": applied, "active": self.faults.active()}, dumps=_dumps)

    # ----- WebSocket -----
    async def _handle_ws(self, request: web.Request) -> web.StreamResponse:
        try:
            account_id = self._authenticate(request)
        except AuthError as exc:
            return self._unauthorized(str(exc))
        if account_id is None and not self._allow_unsigned_ws:
            return self._unauthorized("authentication required")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        outbox: asyncio.Queue[str] = asyncio.Queue()
        session = self.exchange.open_session(account_id, outbox.put_nowait)
        session.backlog = outbox.qsize
        session.disconnect = lambda abort: self._hang_up(ws, request, abort)
        tasks = [asyncio.create_task(self._write(ws, outbox)), asyncio.create_task(self._ping(ws))]
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    session.receive(message.data)
                elif message.type == WSMsgType.BINARY:
                    session.receive(message.data.decode("utf-8", errors="replace"))
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            session.close()
            for task in tasks:
                task.cancel()
            self._sockets.discard(ws)
        return ws

    @staticmethod
    def _hang_up(ws: web.WebSocketResponse, request: web.Request, abort: bool) -> None:
        """Fault injection: a close frame (code 1011), or with `abort` a bare TCP reset."""
        if abort and request.transport is not None:
            request.transport.abort()
        else:
            asyncio.ensure_future(ws.close(code=DROP_CLOSE_CODE, message=b"simex fault: connection dropped"))

    @staticmethod
    async def _write(ws: web.WebSocketResponse, outbox: "asyncio.Queue[str]") -> None:
        while not ws.closed:
            text = await outbox.get()
            try:
                await ws.send_str(text)
            except ConnectionError:
                return

    async def _ping(self, ws: web.WebSocketResponse) -> None:
        if self._ping_interval_s <= 0:
            return
        while not ws.closed:
            await asyncio.sleep(self._ping_interval_s)
            try:
                await ws.ping(b"heartbeat")
            except ConnectionError:
                return


def _dumps(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"))


def _authorize_key_dir(server: SimServer, key_dir: Path, balance_cents: int) -> list[str]:
    if not list(key_dir.glob("*" + _PUB_SUFFIX)):
        generate_key_pair(key_dir, "paper-key")
    key_ids = []
    for public_path in sorted(key_dir.glob("*" + _PUB_SUFFIX)):
        key_id = public_path.name[: -len(_PUB_SUFFIX)]
        server.authorize_key(key_id, public_path.read_bytes(), key_id, balance_cents)
        key_ids.append(key_id)
    return key_ids


WS_OPTIONS = ("sequence_trade_and_lifecycle", "max_markets_per_subscription", "max_commands_per_s",
              "max_backlog_frames")


def build_sim_exchange(
    seed: int | None = None,
    scenario: str | Path | None = None,
    tier: str | None = None,
    ws_options: dict[str, Any] | None = None,
    now_ns: Callable[[], int] = time.time_ns,
) -> Exchange:
    """The exchange `mmd sim` serves: a scenario (name or YAML path; seed None = the scenario's
    own) or the default synthetic market; `tier` meters REST with Kalshi's token buckets (None =
    unmetered); `ws_options` sets WsHub limits (names in WS_OPTIONS)."""
    if scenario is not None:
        from ._scenario import build_scenario_exchange

        exchange, _run = build_scenario_exchange(scenario, seed=seed, now_ns=now_ns)
    else:
        exchange = build_default_exchange(seed=seed or 0, now_ns=now_ns)
    if tier is not None:
        from ._ratelimit import TIERS

        if tier not in TIERS:
            raise ValueError(f"unknown rate-limit tier {tier!r}; expected one of {', '.join(TIERS)}")
        exchange.rate_limit_tier = tier
    for name, value in (ws_options or {}).items():
        if name not in WS_OPTIONS:
            raise ValueError(f"unknown WebSocket option {name!r}; expected one of {', '.join(WS_OPTIONS)}")
        setattr(exchange.hub, name, value)
    return exchange


def run_standalone(
    host: str = "127.0.0.1",
    port: int = 8765,
    seed: int | None = 0,
    key_dir: Path = Path("keys"),
    balance_cents: int = DEFAULT_BALANCE_CENTS,
    *,
    scenario: str | Path | None = None,
    tier: str | None = None,
    admin: bool = True,
    ping_interval_s: float = 10.0,
    ws_options: dict[str, Any] | None = None,
) -> int:
    """`mmd sim`: serve a scenario (or the default synthetic market) until SIGINT/SIGTERM, then
    return 0. Raises ValueError / ScenarioError for a bad scenario, tier or option."""

    if not logging.getLogger().handlers:  # run directly, not from the mmd CLI
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    exchange = build_sim_exchange(seed, scenario, tier, ws_options)  # bad input fails before binding

    async def serve() -> None:
        server = SimServer(exchange, host, port, ping_interval_s=ping_interval_s, admin=admin)
        key_ids = _authorize_key_dir(server, Path(key_dir), balance_cents)
        await server.start()
        log.info("simex: REST %s  WS %s  keys %s", server.base_url, server.ws_url, ", ".join(key_ids))
        log.info("simex: markets %s; rate-limit tier %s; fault admin %s", ", ".join(exchange.markets),
                 tier or "off", f"http://{server.host}:{server.port}{ADMIN_FAULTS_PATH}" if admin else "off")
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        # a parent may have started us with these blocked (the mask is inherited): unblock them
        signal.pthread_sigmask(signal.SIG_UNBLOCK, (signal.SIGINT, signal.SIGTERM))
        await stopping.wait()
        log.info("simex: stopping")
        await server.shutdown()

    asyncio.run(serve())
    return 0
