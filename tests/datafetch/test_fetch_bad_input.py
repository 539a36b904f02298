"""Bad input to `mmd data fetch`: one clear line on stderr, exit 1, nothing half-written."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mmd.datafetch import run_data_fetch

from .sim_market import NS_PER_S, T0_S, TICKER, FakeTime, RecordingTransport, fetch_args


def run(*argv, transport=None):
    clock = FakeTime()
    return run_data_fetch(fetch_args(*argv), monotonic_ns=clock.monotonic_ns, sleep=clock.sleep, transport=transport)


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("mmd: data fetch: ")
    return err[0]


def test_an_unknown_ticker_stops_before_anything_is_written(sim, tmp_path, capsys):
    sim.trade(T0_S * NS_PER_S, 50, 1)
    out = tmp_path / "out"

    code = run(TICKER, "KXNOSUCH-MARKET", "--out", str(out), "--base-url", sim.base_url)

    line = one_line(capsys)
    assert code == 1 and "unknown market KXNOSUCH-MARKET" in line and "HTTP 404" in line
    assert not out.exists()  # not even the known market's tape


def test_an_unreachable_exchange_is_one_line_after_the_retries(tmp_path, capsys):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "out"

    code = run(TICKER, "--out", str(out), "--base-url", f"http://127.0.0.1:{port}/trade-api/v2")

    assert code == 1
    assert f"cannot reach http://127.0.0.1:{port}/trade-api/v2" in one_line(capsys)
    assert not out.exists()


class NotKalshi(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<html>a captive portal</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def not_kalshi():
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotKalshi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/trade-api/v2"
    server.shutdown()
    server.server_close()


def test_a_reply_that_is_not_json_is_one_line(not_kalshi, tmp_path, capsys):
    code = run(TICKER, "--out", str(tmp_path / "out"), "--base-url", not_kalshi)

    assert code == 1
    assert "malformed reply" in one_line(capsys)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("tamper", [
    lambda p: {"trades": "none", "cursor": ""},
    lambda p: {"cursor": ""},
    lambda p: dict(p, trades=[dict(p["trades"][0], yes_price_dollars="cheap")] + p["trades"][1:]),
    lambda p: dict(p, trades=[{k: v for k, v in p["trades"][0].items() if k != "created_time"}]),
    lambda p: dict(p, trades=[dict(p["trades"][0], ticker="KXOTHER-MARKET")]),
])
def test_a_malformed_page_writes_nothing_and_keeps_nothing(sim, tmp_path, capsys, tamper):
    for i in range(8):
        sim.trade(T0_S * NS_PER_S + i * NS_PER_S, 50, 1)

    def break_second_page(path, answer):
        status, payload = answer
        if path == "/markets/trades" and payload.get("cursor") == "" and payload["trades"]:
            return status, tamper(payload)
        return answer

    code = run(TICKER, "--out", str(tmp_path), "--base-url", sim.base_url, "--page-size", "5",
               transport=RecordingTransport(sim.base_url, reply=break_second_page))

    assert code == 1
    assert "mmd: data fetch: " in one_line(capsys)
    assert not (tmp_path / f"TRADES_{TICKER}.csv").exists()
    assert not (tmp_path / f"TRADES_{TICKER}.csv.partial").exists()


def test_a_cursor_sent_twice_is_refused_rather_than_followed_forever(sim, tmp_path, capsys):
    for i in range(8):
        sim.trade(T0_S * NS_PER_S + i * NS_PER_S, 50, 1)

    first_cursor = []

    def same_cursor(path, answer):
        status, payload = answer
        if path != "/markets/trades":
            return answer
        first_cursor[:] = first_cursor or [payload["cursor"]]
        return status, dict(payload, cursor=first_cursor[0])

    code = run(TICKER, "--out", str(tmp_path), "--base-url", sim.base_url, "--page-size", "5",
               transport=RecordingTransport(sim.base_url, reply=same_cursor))

    assert code == 1 and f"cursor {first_cursor[0]!r} twice" in one_line(capsys)


@pytest.mark.parametrize("argv, words", [
    (["../etc/passwd"], "is not a market ticker"),
    ([TICKER, "--since", "yesterday"], "--since 'yesterday'"),
    ([TICKER, "--since", "2026-04-05", "--until", "2026-04-04"], "the window is empty"),
    ([TICKER, "--page-size", "5000"], "--page-size 5000"),
    ([TICKER, "--rate", "0"], "--rate 0"),
])
def test_bad_arguments_are_one_line_and_no_request(tmp_path, capsys, argv, words):
    transport = RecordingTransport("http://127.0.0.1:9/trade-api/v2")

    code = run(*argv, "--out", str(tmp_path / "out"), "--base-url", "http://127.0.0.1:9/trade-api/v2",
               transport=transport)

    assert code == 1 and words in one_line(capsys)
    assert transport.calls == [] and not (tmp_path / "out").exists()


def test_a_file_in_the_way_that_is_not_a_tape_is_left_alone(sim, tmp_path, capsys):
    sim.trade(T0_S * NS_PER_S, 50, 1)
    in_the_way = tmp_path / f"TRADES_{TICKER}.csv"
    in_the_way.write_text("my notes\n")

    code = run(TICKER, "--out", str(tmp_path), "--base-url", sim.base_url, "--refresh")

    assert code == 1 and "is not a trade tape" in one_line(capsys)
    assert in_the_way.read_text() == "my notes\n"


def test_a_request_the_exchange_refuses_drops_the_unfinished_download(sim, tmp_path, capsys):
    for i in range(8):
        sim.trade(T0_S * NS_PER_S + i * NS_PER_S, 50, 1)

    def spoil_the_cursor(path, answer):
        status, payload = answer
        return (status, dict(payload, cursor="not-a-cursor")) if path == "/markets/trades" else answer

    code = run(TICKER, "--out", str(tmp_path), "--base-url", sim.base_url, "--page-size", "5",
               transport=RecordingTransport(sim.base_url, reply=spoil_the_cursor))

    line = one_line(capsys)
    assert code == 1 and "HTTP 400" in line and "resume" not in line  # a second run starts over
    assert not (tmp_path / f"TRADES_{TICKER}.csv.partial").exists()
