"""The daemon's HTTP endpoint, on loopback: GET /status returns JSON (`mmd status`); GET /
(or /dashboard) is a read-only page that shows it and refreshes itself (mmd/dashboard/); POST
/kill and POST /resume engage and release the kill switch (`mmd kill`, `mmd resume`).

GET /status needs no token but answers loopback clients only. The control endpoints (every
state-changing request) need `Authorization: Bearer <control token>` (mmd/control.py writes
it to <data dir>/control.token, 0600) and a JSON body; the body is {"reason": "..."}.

Hazard: any web page the operator opens can send requests to 127.0.0.1. A browser's "simple"
request (a form POST: text/plain, urlencoded or multipart, no preflight) and any request
carrying a browser's Origin or Sec-Fetch-Site header are refused whatever they carry, and a
Host header naming some other site (DNS rebinding) is refused too. A GET that another site's
page makes in the background (Sec-Fetch-Site cross-site or same-site, not a navigation) is
refused: only our own page reads /status. Every answer carries a Content-Security-Policy that
allows our own origin only and no framing, so the page can load nothing from elsewhere.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Callable, Mapping
from urllib.parse import urlsplit

from mmd.guards import is_loopback_host, status_host_problem

log = logging.getLogger(__name__)

__all__ = ["StatusServer", "Refusal", "refusal"]

_MAX_BODY = 4096  # a reason, not a document
_JSON = "application/json"
_SIMPLE_FORM_TYPES = ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data")
_BROWSER_HEADERS = ("Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode")
_CONTROL_PATHS = ("/kill", "/resume")
# a fixed list, read once at start: no path from a request ever reaches the file system
_DASHBOARD_FILES = {
    "": ("index.html", "text/html; charset=utf-8"),
    "/dashboard": ("index.html", "text/html; charset=utf-8"),
    "/dashboard/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "/dashboard/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
    "/dashboard/icon.svg": ("icon.svg", "image/svg+xml"),
}
_CSP = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"
_SECURITY_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Refusal = tuple[int, str]


def _host_header_names_us(host_header: str, server_names: frozenset[str]) -> bool:
    """An IP literal or one of our own names: never a name an attacker's DNS can point at us."""
    host = urlsplit("//" + host_header.strip()).hostname if host_header.strip() else None
    if host is None:
        return False
    host = host.rstrip(".")
    if host in server_names:
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def refusal(
    method: str,
    path: str,
    headers: Mapping[str, str],
    client_host: str,
    *,
    token: str | None,
    allow_remote: bool = False,
    server_names: frozenset[str] = frozenset({"localhost"}),
) -> Refusal | None:
    """Why a request is refused (HTTP status, message), or None to serve it. `headers` is
    read case-insensitively (http.server's message object is)."""
    if not allow_remote and not is_loopback_host(client_host):
        return 403, "the status server answers loopback clients only"
    host_header = headers.get("Host")
    if host_header is not None and not _host_header_names_us(host_header, server_names):
        return 403, f"Host {host_header!r} does not name this server (use 127.0.0.1 or localhost)"
    if method == "GET":
        site = (headers.get("Sec-Fetch-Site") or "").lower()
        if site in ("cross-site", "same-site") and (headers.get("Sec-Fetch-Mode") or "").lower() != "navigate":
            return 403, f"reads from another site's page are refused (Sec-Fetch-Site: {site})"
        return None
    if path not in _CONTROL_PATHS:
        return None  # 404 follows
    for name in _BROWSER_HEADERS:
        if headers.get(name) is not None:
            return 403, f"control requests from a browser are refused ({name}: {headers.get(name)})"
    content_type = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type != _JSON:
        simple = " (a browser form's type)" if content_type in _SIMPLE_FORM_TYPES else ""
        return 403, f"control requests must be Content-Type: {_JSON}, got {content_type or 'none'!r}{simple}"
    if token is None:
        return 403, "control is disabled: this daemon has no control token"
    scheme, _, offered = (headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not offered.strip():
        return 401, "control requests need Authorization: Bearer <token from <data dir>/control.token>"
    # constant time: the comparison must not tell how much of a guess was right
    if not hmac.compare_digest(offered.strip().encode(), token.encode()):
        return 403, "wrong control token"
    return None


def _dashboard_files() -> dict[str, tuple[bytes, str]]:
    """URL path -> (body, Content-Type) of the dashboard page, shipped as package data."""
    folder = files("mmd.dashboard")
    return {path: (folder.joinpath(name).read_bytes(), kind) for path, (name, kind) in _DASHBOARD_FILES.items()}


class _Ipv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class StatusServer:
    def __init__(
        self,
        host: str,
        port: int,
        status: Callable[[], dict],
        *,
        kill: Callable[[str], dict] | None = None,
        resume: Callable[[str], dict] | None = None,
        control_token: str | None = None,
        allow_remote: bool = False,
    ) -> None:
        problem = status_host_problem(host, allow_remote)
        if problem is not None:
            raise ValueError(problem)
        provider = status
        # a Daemon's bound status method brings its kill switch along when none is given
        owner = getattr(status, "__self__", None)
        kill = kill or getattr(owner, "engage_kill_switch", None)
        resume = resume or getattr(owner, "release_kill_switch", None)
        controls = {"/kill": kill, "/resume": resume}
        server_names = frozenset({"localhost", host.strip().strip("[]").rstrip(".").lower()})
        dashboard = _dashboard_files()

        class Handler(BaseHTTPRequestHandler):
            def _refused(self, method: str, path: str) -> bool:
                refused = refusal(
                    method,
                    path,
                    self.headers,
                    self.client_address[0],
                    token=control_token,
                    allow_remote=allow_remote,
                    server_names=server_names,
                )
                if refused is None:
                    return False
                code, message = refused
                if method != "GET":
                    log.warning("status http: refused %s %s from %s: %s", method, path, self.client_address[0], message)
                extra = {"WWW-Authenticate": "Bearer"} if code == 401 else {}
                self._reply(code, {"error": message}, extra)
                return True

            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                path = urlsplit(self.path).path.rstrip("/")
                if self._refused("GET", path):
                    return
                if path in dashboard:
                    self._send(200, *dashboard[path])
                    return
                if path != "/status":
                    self._reply(404, {"error": "not found", "try": ["/status", "/dashboard"]})
                    return
                try:
                    self._reply(200, provider())
                except Exception as exc:  # a status read must never take the daemon down
                    log.exception("status request failed")
                    self._reply(500, {"error": str(exc)})

            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                path = urlsplit(self.path).path.rstrip("/")
                if self._refused("POST", path):
                    return
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

            def _refuse_other_method(self) -> None:
                path = urlsplit(self.path).path.rstrip("/")
                if not self._refused(self.command, path):
                    self._reply(405, {"error": f"{self.command} is not supported; GET /status, POST /kill, POST /resume"})

            do_PUT = do_DELETE = do_PATCH = _refuse_other_method  # noqa: N815 (http.server naming)

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

            def _reply(self, code: int, body: dict, headers: Mapping[str, str] | None = None) -> None:
                data = json.dumps(body, indent=2, sort_keys=True, default=str).encode()
                self._send(code, data, _JSON, headers)

            def _send(
                self, code: int, data: bytes, content_type: str, headers: Mapping[str, str] | None = None
            ) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in {**_SECURITY_HEADERS, **(headers or {})}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, fmt: str, *args) -> None:
                log.debug("status http: " + fmt, *args)

        server_class = _Ipv6Server if ":" in host else ThreadingHTTPServer
        self._server = server_class((host.strip("[]"), port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="mmd-status", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}"

    @property
    def url(self) -> str:
        return self.base_url + "/status"

    def start(self) -> "StatusServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
