"""The status server's state-changing endpoints need the daemon's control token; a browser
(or any page the operator visits, which can reach 127.0.0.1) can neither kill nor resume;
GET /status stays readable without a token, from loopback only."""

from __future__ import annotations

import http.client
import json
import os
import stat
from email.message import Message

import pytest

from mmd.control import TOKEN_FILE, ControlError, issue_token, read_token, send_control
from mmd.status_server import StatusServer, refusal


class KillSwitch:
    def __init__(self) -> None:
        self.engaged = False
        self.requests: list[str] = []

    def status(self) -> dict:
        return {"mode": "paper", "kill_switch": {"engaged": self.engaged}}

    def kill(self, reason: str) -> dict:
        self.requests.append(f"kill: {reason}")
        self.engaged = True
        return {"engaged": True}

    def resume(self, reason: str) -> dict:
        self.requests.append(f"resume: {reason}")
        self.engaged = False
        return {"engaged": False}


@pytest.fixture
def switch():
    return KillSwitch()


@pytest.fixture
def token(tmp_path):
    return issue_token(tmp_path)


@pytest.fixture
def server(switch, token):
    server = StatusServer(
        "127.0.0.1", 0, switch.status, kill=switch.kill, resume=switch.resume, control_token=token
    ).start()
    yield server
    server.stop()


def request(server, method, path, headers=None, body=b""):
    """(status, JSON body, response headers) of one raw request: nothing added behind our back."""
    host, port = server.base_url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in (headers or {}).items():
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    payload = json.loads(response.read() or b"null")
    conn.close()
    return response.status, payload, response


def cli_headers(token, **extra):
    return {"Host": "127.0.0.1", "Content-Type": "application/json", "Authorization": f"Bearer {token}", **extra}


BODY = b'{"reason": "test"}'


def test_kill_with_the_token_engages_and_resume_releases(server, switch, token):
    assert request(server, "POST", "/kill", cli_headers(token), BODY)[:2] == (200, {"engaged": True})
    assert request(server, "POST", "/resume", cli_headers(token), BODY)[:2] == (200, {"engaged": False})
    assert switch.requests == ["kill: test", "resume: test"]


def test_kill_without_a_token_is_401_and_the_switch_is_untouched(server, switch, token):
    headers = cli_headers(token)
    del headers["Authorization"]

    code, body, response = request(server, "POST", "/kill", headers, BODY)

    assert code == 401
    assert "Authorization: Bearer" in body["error"]
    assert response.getheader("WWW-Authenticate") == "Bearer"
    assert switch.requests == [] and switch.engaged is False


@pytest.mark.parametrize("authorization", ["Bearer wrong-token", "Basic dXNlcjpwYXNz", "Bearer", "token"])
def test_a_wrong_or_malformed_token_is_refused(server, switch, token, authorization):
    code, body, _ = request(server, "POST", "/kill", cli_headers(token, Authorization=authorization), BODY)

    assert code in (401, 403)
    assert body["error"]
    assert switch.requests == []


def test_the_token_of_another_daemon_is_refused(server, switch, tmp_path):
    other = issue_token(tmp_path / "other")

    code, body, _ = request(server, "POST", "/resume", cli_headers(other), BODY)

    assert (code, body) == (403, {"error": "wrong control token"})
    assert switch.requests == []


@pytest.mark.parametrize(
    "browser_header",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Mode": "no-cors"},
    ],
)
def test_a_browser_request_is_refused_even_carrying_the_token(server, switch, token, browser_header):
    code, body, _ = request(server, "POST", "/kill", cli_headers(token, **browser_header), BODY)

    assert code == 403
    assert "browser" in body["error"]
    assert switch.requests == []


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]
)
def test_a_simple_form_content_type_is_refused(server, switch, token, content_type):
    headers = cli_headers(token)
    if content_type is None:
        del headers["Content-Type"]
    else:
        headers["Content-Type"] = content_type

    code, body, _ = request(server, "POST", "/kill", headers, BODY)

    assert code == 403
    assert "application/json" in body["error"]
    assert switch.requests == []


def test_a_foreign_host_header_is_refused_dns_rebinding(server, switch, token):
    code, body, _ = request(server, "POST", "/kill", cli_headers(token, Host="rebind.evil.example:8765"), BODY)
    assert code == 403 and "does not name this server" in body["error"]

    code, _, _ = request(server, "GET", "/status", {"Host": "rebind.evil.example"})
    assert code == 403
    assert switch.requests == []


def test_status_is_readable_without_a_token(server):
    code, body, _ = request(server, "GET", "/status", {"Host": "localhost:1234"})
    assert (code, body["mode"]) == (200, "paper")
    assert request(server, "GET", "/status", {})[0] == 200  # HTTP/1.0: no Host at all


def test_other_methods_on_the_control_paths_are_refused_without_the_token(server, switch, token):
    assert request(server, "PUT", "/kill", {"Host": "127.0.0.1", "Content-Type": "application/json"}, BODY)[0] == 401
    assert request(server, "DELETE", "/resume", cli_headers(token))[0] == 405
    assert switch.requests == []


def test_a_server_without_a_token_refuses_every_control_request(switch):
    server = StatusServer("127.0.0.1", 0, switch.status, kill=switch.kill).start()
    try:
        code, body, _ = request(server, "POST", "/kill", cli_headers("anything"), BODY)
    finally:
        server.stop()

    assert (code, body) == (403, {"error": "control is disabled: this daemon has no control token"})
    assert switch.requests == []


def headers_of(**fields) -> Message:
    message = Message()
    for name, value in fields.items():
        message[name.replace("_", "-")] = value
    return message


def test_a_client_off_loopback_is_refused_unless_remote_is_allowed():
    get = headers_of(Host="10.0.0.5:8765")

    assert refusal("GET", "/status", get, "10.0.0.9", token="t") == (
        403,
        "the status server answers loopback clients only",
    )
    assert refusal("GET", "/status", get, "10.0.0.9", token="t", allow_remote=True) is None
    assert refusal("GET", "/status", get, "::1", token="t") is None
    assert refusal("GET", "/status", get, "127.0.0.2", token="t") is None


def test_header_names_are_matched_in_any_case():
    lower = headers_of(origin="https://evil.example", content_type="application/json", authorization="Bearer t")
    assert refusal("POST", "/kill", lower, "127.0.0.1", token="t")[0] == 403


# ----- the token file -----
def test_the_token_is_random_and_written_owner_only(tmp_path):
    first = issue_token(tmp_path)
    path = tmp_path / TOKEN_FILE

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_token(path) == first and len(first) >= 40
    assert issue_token(tmp_path) != first  # each start makes a new one


def test_a_wider_token_file_left_behind_is_replaced_owner_only(tmp_path):
    path = tmp_path / TOKEN_FILE
    path.write_text("old\n")
    os.chmod(path, 0o644)

    token = issue_token(tmp_path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_token(path) == token


def test_a_missing_token_file_is_one_clear_error(tmp_path):
    with pytest.raises(ControlError, match="no control token at .*control.token"):
        read_token(tmp_path / TOKEN_FILE)


def test_the_client_sends_the_token_and_reports_a_refusal(server, switch, token):
    assert send_control(server.url, "kill", "desk", token) == {"engaged": True}

    with pytest.raises(ControlError, match=r"resume refused by the daemon .*\(HTTP 403\).*wrong control token"):
        send_control(server.url, "resume", "desk", "not-the-token")
    assert switch.requests == ["kill: desk"]
