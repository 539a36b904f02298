"""The status server serves the dashboard at / and /dashboard: a fixed set of files shipped in
the mmd package, each with a Content-Security-Policy of our own origin only (no framing, no
forms, no base tag), and nothing else from the file system. The page only reads /status: it
has no control, no outside resource, no inline script. Another site's page cannot read
/status in the background (fetch metadata), and a rebound Host name is refused for the page
as for /status."""

from __future__ import annotations

import http.client
import re
from email.message import Message
from importlib.resources import files

import pytest

from mmd.status_server import StatusServer, refusal

DASHBOARD = files("mmd.dashboard")


@pytest.fixture
def server():
    server = StatusServer("127.0.0.1", 0, lambda: {"mode": "paper", "sessions": []}).start()
    yield server
    server.stop()


def headers_of(**fields) -> Message:
    message = Message()  # case-insensitive, as http.server hands them over
    for name, value in fields.items():
        message[name.replace("_", "-")] = value
    return message


def get(server, path, headers=None):
    """(status, body bytes, response) of one GET with exactly these headers."""
    host, port = server.base_url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
    for name, value in ({"Host": f"127.0.0.1:{port}"} if headers is None else headers).items():
        conn.putheader(name, value)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body, response


@pytest.mark.parametrize(
    "path, content_type, file",
    [
        ("/", "text/html", "index.html"),
        ("/dashboard", "text/html", "index.html"),
        ("/dashboard/", "text/html", "index.html"),
        ("/dashboard/dashboard.js", "text/javascript", "dashboard.js"),
        ("/dashboard/dashboard.css", "text/css", "dashboard.css"),
        ("/dashboard/icon.svg", "image/svg+xml", "icon.svg"),
    ],
)
def test_the_dashboard_files_are_served_with_their_types(server, path, content_type, file):
    code, body, response = get(server, path)

    assert code == 200
    assert response.getheader("Content-Type").startswith(content_type)
    assert body == DASHBOARD.joinpath(file).read_bytes()


@pytest.mark.parametrize("path", ["/", "/dashboard/dashboard.js", "/status"])
def test_every_answer_allows_our_own_origin_only_and_no_framing(server, path):
    _, _, response = get(server, path)
    policy = {d.strip().split(" ", 1)[0]: d.strip() for d in response.getheader("Content-Security-Policy").split(";")}

    assert policy["default-src"] == "default-src 'self'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["form-action"] == "form-action 'none'" and policy["base-uri"] == "base-uri 'none'"
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("X-Frame-Options") == "DENY"
    assert response.getheader("Cache-Control") == "no-store"


@pytest.mark.parametrize(
    "path",
    ["/dashboard/../setup.cfg", "/dashboard/..%2fapp.py", "/dashboard/index.html", "/dashboard/x.js", "/index.html",
     "/mmd/status_server.py"],
)  # fmt: skip
def test_nothing_but_the_listed_files_is_served(server, path):
    code, body, _ = get(server, path)

    assert code == 404
    assert b"status_server" not in body and b"[metadata]" not in body


def test_the_page_is_refused_under_a_rebound_host_name(server):
    assert get(server, "/", {"Host": "rebind.evil.example"})[0] == 403


def test_another_sites_page_cannot_read_status_in_the_background():
    for site in ("cross-site", "same-site"):
        background = headers_of(Host="127.0.0.1:8765", Sec_Fetch_Site=site, Sec_Fetch_Mode="cors")
        assert refusal("GET", "/status", background, "127.0.0.1", token=None)[0] == 403

    our_page = headers_of(Host="127.0.0.1:8765", Sec_Fetch_Site="same-origin", Sec_Fetch_Mode="cors")
    typed_in = headers_of(Host="127.0.0.1:8765", Sec_Fetch_Site="none", Sec_Fetch_Mode="navigate")
    a_link = headers_of(Host="127.0.0.1:8765", Sec_Fetch_Site="cross-site", Sec_Fetch_Mode="navigate")
    assert refusal("GET", "/status", our_page, "127.0.0.1", token=None) is None
    assert refusal("GET", "/", typed_in, "127.0.0.1", token=None) is None
    assert refusal("GET", "/", a_link, "127.0.0.1", token=None) is None  # a read-only page may be linked to


def test_the_page_has_no_control_and_nothing_from_elsewhere():
    html = DASHBOARD.joinpath("index.html").read_text()
    script = DASHBOARD.joinpath("dashboard.js").read_text()

    assert not re.search(r"<(form|button|input|select|textarea)\b", html, re.I)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html, re.I), "inline script: the policy would block it"
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html, re.I), "inline style or handler"
    assert all(url.startswith("/") and not url.startswith("//") for url in re.findall(r'(?:src|href)="([^"]*)"', html))
    assert re.findall(r"fetch\(([^,)]*)", script) == ['"/status"']  # its only request
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "document.write" not in script
    assert not re.search(r"https?://", script + DASHBOARD.joinpath("dashboard.css").read_text())
