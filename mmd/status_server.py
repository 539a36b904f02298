"""Loopback-only HTTP endpoint that `mmd status` reads: GET /status returns JSON."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

log = logging.getLogger(__name__)

__all__ = ["StatusServer"]

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class StatusServer:
    def __init__(self, host: str, port: int, status: Callable[[], dict]) -> None:
        if host not in _LOOPBACK:
            raise ValueError(f"status.host must be a loopback address, got {host!r}")
        provider = status

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                if self.path.rstrip("/") != "/status":
                    self._reply(404, {"error": "not found", "try": "/status"})
                    return
                try:
                    self._reply(200, provider())
                except Exception as exc:  # a status read must never take the daemon down
                    log.exception("status request failed")
                    self._reply(500, {"error": str(exc)})

            def _reply(self, code: int, body: dict) -> None:
                data = json.dumps(body, indent=2, sort_keys=True, default=str).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, fmt: str, *args) -> None:
                log.debug("status http: " + fmt, *args)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="mmd-status", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/status"

    def start(self) -> "StatusServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
