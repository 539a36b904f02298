"""A counting loopback relay between the daemon and `mmd sim`, for fault campaigns.

Neither the simulated exchange nor the daemon counts the 429s its rate limiter gives, so the
campaign puts this relay on the daemon's path (the daemon's --exchange-url points here; its
WebSocket URL follows the REST host) and counts every REST answer by status. Requests and
frames pass unchanged (signatures cover method and path, both kept); a WebSocket the exchange
closes is closed towards the daemon with the same code, one it resets is reset.

Loopback only: it listens on 127.0.0.1 and forwards to a loopback upstream.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import Counter, deque
from pathlib import Path

import aiohttp
from aiohttp import WSMsgType, web

from .chaos_checks import RestAnswer

__all__ = ["CountingRelay", "route_of"]

_HOP_BY_HOP = {"host", "connection", "keep-alive", "transfer-encoding", "upgrade", "content-length",
               "proxy-connection", "te", "trailer", "accept-encoding"}
_WS_HEADERS = ("KALSHI-ACCESS-KEY", "KALSHI-ACCESS-TIMESTAMP", "KALSHI-ACCESS-SIGNATURE")
ABNORMAL_CLOSE = 1011
API_PREFIX = "/trade-api/v2"
_TIMELINE_ANSWERS = 200_000
_ID_SEGMENT = re.compile(r"[0-9a-fA-F-]{16,}|.*\d.*")  # order ids, tickers: one route per endpoint


def route_of(method: str, path: str) -> str:
    """`GET /portfolio/orders/{id}` for `GET /trade-api/v2/portfolio/orders/abc-123`."""
    path = path[len(API_PREFIX):] if path.startswith(API_PREFIX) else path
    segments = ["{id}" if _ID_SEGMENT.fullmatch(seg) else seg for seg in path.split("/")]
    return f"{method} {'/'.join(segments) or '/'}"


def _priced(method: str, path: str, body: bytes) -> int:
    """Tokens the exchange charges for this request (simex's price list), 0 if unreadable."""
    from simex._ratelimit import request_cost

    try:
        payload = json.loads(body) if body else None
        return request_cost(method, path[len(API_PREFIX):] if path.startswith(API_PREFIX) else path, payload)[1]
    except (ValueError, TypeError):
        return 0


class CountingRelay:
    """Serve on 127.0.0.1:<any port> from a thread; `statuses` counts REST answers by status."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = f"http://127.0.0.1:{upstream_port}"
        self.port = 0
        self._lock = threading.Lock()
        self._statuses: Counter[int] = Counter()
        self._routes: Counter[tuple[str, int]] = Counter()  # (route, status) -> answers
        # (received, answered: wall s, route, status, tokens the exchange prices it at) of the
        # latest answers: when our 429s came, and what the requests before them spent
        self._timeline: deque[tuple[float, float, str, int, int]] = deque(maxlen=_TIMELINE_ANSWERS)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    # ----- counts (any thread) -----
    @property
    def statuses(self) -> Counter[int]:
        with self._lock:
            return Counter(self._statuses)

    def answers(self, status: int) -> Counter[str]:
        """Answers with `status` by route (`route_of`)."""
        with self._lock:
            return Counter({route: n for (route, code), n in self._routes.items() if code == status})

    def answers_since(self, received_s: float) -> list[RestAnswer]:
        """The answers (of the latest kept) to requests received at or after `received_s`."""
        rows = []
        with self._lock:
            for row in reversed(self._timeline):  # in answer order: none answered before received_s was received after it
                if row[1] < received_s:
                    break
                if row[0] >= received_s:
                    rows.append(row)
        return [RestAnswer(received, answered, route, status) for received, answered, route, status, _ in reversed(rows)]

    def _count(self, route: str, status: int, received: float = 0.0, tokens: int = 0) -> None:
        with self._lock:
            self._statuses[status] += 1
            self._routes[(route, status)] += 1
            self._timeline.append((received, time.time(), route, status, tokens))

    def write_timeline(self, path: Path) -> None:
        """Every REST answer relayed (the latest ones), one TSV line each: received and
        answered (Unix s), route, status, bucket and tokens the exchange prices it at."""
        with self._lock:
            rows = list(self._timeline)
        lines = ["received\tanswered\troute\tstatus\ttokens"]
        lines += [f"{received:.4f}\t{answered:.4f}\t{route}\t{status}\t{tokens}"
                  for received, answered, route, status, tokens in rows]
        path.write_text("\n".join(lines) + "\n")

    # ----- lifecycle -----
    def start(self) -> "CountingRelay":
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._start())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            self._loop = loop
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=serve, name="chaos-relay", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._thread = None

    async def _start(self) -> None:
        # no total timeout: the exchange's slow answers must reach the daemon as late as they are
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=5),
                                              auto_decompress=False)
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    # ----- relaying -----
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._relay_ws(request)
        assert self._session is not None
        received = time.time()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        body = await request.read()
        try:
            async with self._session.request(request.method, self.upstream + request.rel_url.raw_path_qs,
                                             headers=headers, data=body or None, allow_redirects=False) as answer:
                payload = await answer.read()
                self._count(route_of(request.method, request.path), answer.status, received,
                            _priced(request.method, request.path, body))
                out = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
                return web.Response(status=answer.status, body=payload, headers=out)
        except (aiohttp.ClientError, asyncio.TimeoutError):
            # the exchange went away mid-request: the daemon sees the connection end, as it would
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=502)

    async def _relay_ws(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        headers = {k: request.headers[k] for k in _WS_HEADERS if k in request.headers}
        try:
            upstream = await self._session.ws_connect(self.upstream + request.rel_url.raw_path_qs, headers=headers,
                                                      autoping=True, max_msg_size=0)
        except aiohttp.WSServerHandshakeError as exc:
            return web.Response(status=exc.status, text=exc.message)
        except aiohttp.ClientError:
            return web.Response(status=502)
        downstream = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await downstream.prepare(request)

        async def to_daemon() -> None:
            async for message in upstream:
                if message.type == WSMsgType.TEXT:
                    await downstream.send_str(message.data)
                elif message.type == WSMsgType.BINARY:
                    await downstream.send_bytes(message.data)
                else:
                    break
            if upstream.close_code is None or isinstance(upstream.exception(), Exception):
                if request.transport is not None:  # the exchange reset the connection: so do we
                    request.transport.abort()
                return
            await downstream.close(code=upstream.close_code, message=b"closed by the exchange")

        async def to_exchange() -> None:
            async for message in downstream:
                if message.type == WSMsgType.TEXT:
                    await upstream.send_str(message.data)
                elif message.type == WSMsgType.BINARY:
                    await upstream.send_bytes(message.data)
                else:
                    break
            await upstream.close()

        tasks = [asyncio.create_task(to_daemon()), asyncio.create_task(to_exchange())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if not upstream.closed:
                await upstream.close()
            if not downstream.closed:
                await downstream.close(code=ABNORMAL_CLOSE)
        return downstream
