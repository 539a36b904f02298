"""aiohttp shell around the sans-IO exchange: REST at /trade-api/v2, WS at /trade-api/ws/v2.

The shell is the outside world: it reads wall time, verifies RSA-PSS signatures, steps
`exchange.advance(time.time_ns())` every ~100 ms and turns HTTP/WS traffic into core calls.
Every exchange call happens on the event-loop thread, so the core needs no locks. Each WS
connection writes through its own asyncio.Queue and writer task so frame order is kept.
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

from mmd.kalshi_auth import HEADER_KEY, HEADER_SIGNATURE, HEADER_TIMESTAMP, generate_key_pair, verify_signature

from ._errors import error_body
from ._exchange import Exchange
from ._participants import build_default_exchange
from ._rest import API_PREFIX

__all__ = ["SimServer", "run_standalone", "WS_PATH", "DEFAULT_BALANCE_CENTS"]

log = logging.getLogger(__name__)

WS_PATH = "/trade-api/ws/v2"
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
    ) -> None:
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

    # ----- WebSocket -----
    async def _handle_ws(self, request: web.Request) -> web.StreamResponse:
        try:
            account_id = self._authenticate(request)
        except AuthError as exc:
            return self._unauthorized(str(exc))
        if account_id is None:
            return self._unauthorized("authentication required")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        outbox: asyncio.Queue[str] = asyncio.Queue()
        session = self.exchange.open_session(account_id, outbox.put_nowait)
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
    async def _write(ws: web.WebSocketResponse, outbox: "asyncio.Queue[str]") -> None:
        while not ws.closed:
            text = await outbox.get()
            try:
                await ws.send_str(text)
            except ConnectionError:
                return

    async def _ping(self, ws: web.WebSocketResponse) -> None:
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


def run_standalone(
    host: str = "127.0.0.1",
    port: int = 8765,
    seed: int = 0,
    key_dir: Path = Path("keys"),
    balance_cents: int = DEFAULT_BALANCE_CENTS,
) -> int:
    """`mmd sim`: serve the default synthetic market until SIGINT/SIGTERM, then return 0."""

    if not logging.getLogger().handlers:  # run directly, not from the mmd CLI
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    async def serve() -> None:
        server = SimServer(build_default_exchange(seed=seed), host, port)
        key_ids = _authorize_key_dir(server, Path(key_dir), balance_cents)
        await server.start()
        log.info("simex: REST %s  WS %s  keys %s", server.base_url, server.ws_url, ", ".join(key_ids))
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        await stopping.wait()
        log.info("simex: stopping")
        await server.shutdown()

    asyncio.run(serve())
    return 0
