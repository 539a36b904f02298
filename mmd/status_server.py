"""Loopback-only HTTP endpoint: GET /status returns JSON (`mmd status`); POST /kill and
POST /resume engage and release the kill switch (`mmd kill`, `mmd resume`).

The kill and resume endpoints take an optional JSON body {"reason": "..."} and answer
with the kill switch's state. They are POST only (a GET must never halt trading) and
exist only when the daemon hands in its kill/resume callables (503 otherwise).
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

log = logging.getLogger(__name__)

__all__ = ["StatusServer"]

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_MAX_BODY = 4096  # a reason, not a document


class StatusServer:
    def __init__(
        self,
        host: str,
        port: int,
        status: Callable[[], dict],
        *,
        kill: Callable[[str], dict] | None = None,
        resume: Callable[[str], dict] | None = None,
    ) -> None:
        if host not in _LOOPBACK:
            raise ValueError(f"status.host must be a loopback address, got {host!r}")
        provider = status
        # a Daemon's bound status method brings its kill switch along when none is given
        owner = getattr(status, "__self__", None)
        kill = kill or getattr(owner, "engage_kill_switch", None)
        resume = resume or getattr(owner, "release_kill_switch", None)
        controls = {"/kill": kill, "/resume": resume}

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

            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                path = self.path.rstrip("/")
                if path not in controls:
                    self._reply(404, {"error": "not found", "try": sorted(controls)})
                    return
                action = controls[path]
                if action is None:
                    self._reply(503, {"error": f"{path[1:]} is not available in this daemon"})
                    return
                reason = self._reason()
                if reason is None:
                    return
                try:
                    log.warning("%s requested over the status server: %s", path[1:], reason)
                    self._reply(200, action(reason))
                except Exception as exc:  # the request fails; the daemon must not
                    log.exception("%s request failed", path[1:])
                    self._reply(500, {"error": str(exc)})

            def _reason(self) -> str | None:
                """The body's reason ("operator" when none); None after replying 400."""
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if not 0 <= length <= _MAX_BODY:
                    self._reply(400, {"error": f"body must be 0..{_MAX_BODY} bytes of JSON"})
                    return None
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except (ValueError, UnicodeDecodeError):
                    self._reply(400, {"error": "body must be JSON, e.g. {\"reason\": \"...\"}"})
                    return None
                reason = body.get("reason", "operator") if isinstance(body, dict) else None
                if not isinstance(reason, str) or not reason.strip():
                    self._reply(400, {"error": "reason must be a non-empty string"})
                    return None
                return reason.strip()

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

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "StatusServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
