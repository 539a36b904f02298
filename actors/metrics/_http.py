"""The scrape endpoint: GET /metrics on loopback, the registry in the Prometheus text format.

A small stdlib server rather than prometheus_client.start_http_server: we need the bound
port (port 0 in tests), a clean stop that frees the port, and the Host check below.

Hazard: positions and P&L are readable by anything that reaches the port. It listens on
127.0.0.1 only, and a Host header naming some other site is refused: a web page the
operator opens could otherwise read it through DNS rebinding. Its handler threads only
read the registry (prometheus_client's metrics are thread-safe); they never touch the
actor's state.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

__all__ = ["MetricsHttpServer", "LOOPBACK", "host_names_us"]

LOOPBACK = "127.0.0.1"
_PATHS = ("/metrics", "/")

log = logging.getLogger(__name__)


def host_names_us(host_header: str | None) -> bool:
    """No Host header, an IP literal or localhost: never a name another site's DNS controls."""
    if host_header is None or not host_header.strip():
        return True
    host = urlsplit("//" + host_header.strip()).hostname
    if host is None:
        return False
    if host.rstrip(".") == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if not host_names_us(self.headers.get("Host")):
            self._answer(403, b"Host does not name this server (use 127.0.0.1 or localhost)\n", "text/plain")
            return
        if urlsplit(self.path).path not in _PATHS:
            self._answer(404, b"GET /metrics\n", "text/plain")
            return
        self._answer(200, generate_latest(self.server.registry), CONTENT_TYPE_LATEST)

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
        pass  # a scrape every few seconds is not news


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    registry: Any = None


class MetricsHttpServer:
    def __init__(self, registry: Any, port: int, host: str = LOOPBACK) -> None:
        self.registry = registry
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "MetricsHttpServer":
        """Bind and serve in a thread of its own. Raises OSError when the port is taken."""
        server = _Server((self.host, self.port), _Handler)
        server.registry = self.registry
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()  # frees the port at once for the next run
        if self._thread is not None:
            self._thread.join(timeout=5)
