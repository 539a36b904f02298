"""The dashboard in a real browser (headless Chromium): served by a real status server on
loopback, fed by a status provider shaped like Daemon.status() with two sessions, it shows
the tickers, states, why-not-quoting and P&L, refreshes itself (a changed reading appears
without a reload), draws the P&L sparkline, loads nothing but its own files and /status, and
logs no error; with no sessions it still reads sensibly. The browser enforces the page's
Content-Security-Policy (an outside load is blocked), and the daemon's text is shown as text,
never run as HTML. A screenshot lands in the test's tmp dir and in /tmp/mmd-dashboard.png."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from actors.analytics import RecentFills
from messages import OrderFilled
from mmd.status_server import StatusServer
from tests.chromium import Browser, find_chromium

SCREENSHOT_COPY = Path("/tmp/mmd-dashboard.png")
NOW_NS = 1_767_225_600_000_000_000  # 2026-01-01 00:00:00 UTC on the daemon's clock
SECOND_NS = 1_000_000_000
INJECTED = '<img src=x id=injected onerror="document.title=\'owned\'">'


BOSTON, BITCOIN = "KXNHLGAME-26JAN01BOSNYR-BOS", "KXBTCD-26JAN0117-T97500"


def order(side, price, count, filled="0"):
    return {
        "side": side,
        "order_id": f"o-{side}-{price}",
        "client_order_id": f"c-{side}",
        "price": price,
        "count": count,
        "filled": filled,
        "remaining": str(int(count) - int(filled)),
        "pending": None,
        "adopted": False,
    }


def fill(ticker, side, price, count, fee, seconds_ago):
    heard_ns = NOW_NS - seconds_ago * SECOND_NS
    return OrderFilled(
        fill_id=f"f-{ticker}-{seconds_ago}", order_id=f"o-{side}-{price}", client_order_id=f"c-{side}", ticker=ticker,
        side=side, price=Decimal(price), count=Decimal(count), fee=Decimal(fee), is_taker=False, post_position=None,
        ts_event=heard_ns, ts_recv=heard_ns,
    )  # fmt: skip


def recent_fills(*fills: OrderFilled) -> list[dict]:
    """/status's recent_fills as the daemon lists them (the analytics actor's RecentFills)."""
    kept = RecentFills(keep=50)
    for one in fills:
        kept.add(one)
    return kept.rows()


class FakeDaemon:
    """A status provider shaped like mmd.app.Daemon.status(): two sessions, one quoting and
    one held back; `advance()` is the next reading (time on, P&L up, the second one paused)."""

    def __init__(self) -> None:
        self.now_ns = NOW_NS
        self.total_pnl = "12.34"
        self.second_state, self.second_why = "QUOTING", ""
        self.reads = 0

    def advance(self) -> None:
        self.now_ns += 5 * SECOND_NS
        self.total_pnl = "15.67"
        self.second_state, self.second_why = "PAUSED", "fair value (model_nd2) needs the binance feed, not configured"

    def makers(self) -> list[dict]:
        boston = {
            "ticker": BOSTON,
            "session_id": "s-1",
            "state": "QUOTING",
            "why_not_quoting": "",
            "position": "7",
            "vwap": "0.470000",
            "realized_pnl": "9.120000",
            "unrealized_pnl": "1.750000",
            "fees": "0.410000",
            "open_orders": [order("bid", "0.46", "10", filled="3"), order("ask", "0.50", "10")],
            "throttles": [],
            "reduce_only": False,
            "last_quote": {"fair_value": "0.4800", "bid": "0.46", "ask": "0.50", "bid_size": "10", "ask_size": "10"},
            "counters": {"fills": 4},
        }
        bitcoin = {
            **boston,
            "ticker": BITCOIN,
            "session_id": "s-2",
            "state": self.second_state,
            "why_not_quoting": self.second_why,
            "position": "0",
            "vwap": None,
            "realized_pnl": "1.470000",
            "unrealized_pnl": "0",
            "fees": "0.120000",
            "open_orders": [],
            "last_quote": None,
            "counters": {"fills": 2},
        }
        return [boston, bitcoin]

    def status(self) -> dict:
        self.reads += 1
        makers = self.makers()
        ages_s = {BOSTON: 754, BITCOIN: 42}
        sessions = [
            {
                "session_id": m["session_id"],
                "ticker": m["ticker"],
                "kind": "event" if m["ticker"] == BOSTON else "scan",
                "reason": "volatility",
                "state": "ACTIVE",
                "end_reason": None,
                "started_ns": NOW_NS - ages_s[m["ticker"]] * SECOND_NS,
                "maker": m,
            }
            for m in makers
        ]
        return {
            "mode": "paper",
            "run_id": "run-dashboard-test",
            "now_ns": self.now_ns,
            "feed": {
                "ws_healthy": True,
                "connected": True,
                "last_message_ns": self.now_ns - SECOND_NS // 2,
                "details": {"reconnects": 1, "gaps": 0, "tracked_markets": 2, "subscriptions_down": {}},
            },
            "outside_feeds": {"reference_book_url": "https://clob.polymarket.com/book", "spot_stream_prefix": None},
            "sessions": sessions,
            "ended_sessions": [
                {
                    "session_id": "s-0",
                    "ticker": "KXNHLGAME-25DEC31DALCHI-DAL",
                    "reason": "market closed",
                    "ended_ns": NOW_NS - 600 * SECOND_NS,
                    "pnl": "2.050000",
                }
            ],
            "waiting_events": [],
            "dropped_events": [
                {"event_id": "e-9", "ticker": "KXNBAGAME-26JAN01LALBOS-LAL", "reason": INJECTED, "ts": NOW_NS}
            ],
            "makers": makers,
            "positions": {m["ticker"]: m["position"] for m in makers},
            "pnl": {
                m["ticker"]: {"realized": m["realized_pnl"], "unrealized": m["unrealized_pnl"], "fees": m["fees"]}
                for m in makers
            },
            "open_orders": [o for m in makers for o in m["open_orders"]],
            "recent_fills": recent_fills(  # oldest first
                fill(BITCOIN, "ask", "0.61", "5", "0.070000", seconds_ago=95),
                fill(BOSTON, "bid", "0.46", "3", "0.050000", seconds_ago=12),
            ),
            "risk": {
                "state": "ACTIVE",
                "state_reason": "",
                "positions": {m["ticker"]: m["position"] for m in makers},
                "global_exposure": "3.710000",
                "kill_switch": {"engaged": False, "reason": None, "since_ns": None, "restored": False},
                "holds": {},
                "restrictions": {m["ticker"]: "ACTIVE" for m in makers},
                "rejections": {},
                "pnl": {"total": self.total_pnl, "drawdown": "0.80", "daily_loss": "0"},
                "triggers": 0,
                "available_balance": "486.290000",
            },
        }


def idle_status() -> dict:
    """A daemon just started: no sessions, nothing traded, the feed still connecting."""
    return {
        "mode": "demo",
        "run_id": "run-idle",
        "now_ns": NOW_NS,
        "feed": {"ws_healthy": False, "connected": False, "last_message_ns": None, "details": {}},
        "sessions": [],
        "ended_sessions": [],
        "waiting_events": [],
        "dropped_events": [],
        "makers": [],
        "positions": {},
        "pnl": {},
        "open_orders": [],
        "risk": {
            "state": "ACTIVE",
            "kill_switch": {"engaged": False},
            "pnl": {"total": "0", "drawdown": "0", "daily_loss": "0"},
            "global_exposure": "0",
            "available_balance": None,
        },
    }


@pytest.fixture(scope="module")
def browser():
    find_chromium()  # a clear message when Chromium is not installed
    with Browser() as b:
        yield b


@pytest.fixture(scope="module")
def daemon():
    return FakeDaemon()


@pytest.fixture(scope="module")
def dashboard(browser, daemon, tmp_path_factory):
    """The page as the operator sees it: its text at the first reading and after the next
    one, and where its screenshot was saved."""
    server = StatusServer("127.0.0.1", 0, daemon.status).start()
    try:
        start = browser.mark()
        browser.open(server.base_url + "/?every=0.5")
        browser.wait_until("Number(document.body.dataset.refreshes) >= 1")
        first = browser.text()
        fill_rows = browser.evaluate(
            "Array.from(document.querySelectorAll('#fills tbody tr'))"
            ".map(row => Array.from(row.cells).map(cell => cell.innerText.trim()))"
        )
        daemon.advance()
        browser.wait_until("document.body.innerText.includes('+$15.67')")
        second = browser.text()
        # the sparkline has drawn something: some canvas pixel is not transparent
        inked = browser.evaluate(
            "(() => { const c = document.getElementById('pnl-spark');"
            " const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
            " return pixels.some((v, i) => i % 4 === 3 && v > 0); })()"
        )
        screenshot = tmp_path_factory.mktemp("dashboard") / "dashboard.png"
        screenshot.write_bytes(browser.screenshot())
        shutil.copyfile(screenshot, SCREENSHOT_COPY)
        visit = {
            "first": first,
            "fill_rows": fill_rows,
            "second": second,
            "inked": inked,
            "screenshot": screenshot,
            "origin": server.base_url,
            "events": (start, browser.mark()),
        }
        yield visit
    finally:
        server.stop()


def test_the_page_shows_both_sessions_their_states_and_pnl(dashboard):
    text = dashboard["first"]

    expected_texts = (
        *(BOSTON, BITCOIN, "QUOTING", "ACTIVE", "paper", "feed ok", "risk ACTIVE", "kill switch off"),
        *("+$12.34", "+$10.87", "$486.29"),  # total P&L, Boston's realized + unrealized, balance
        *("12m 34s", "42s"),  # the sessions' ages on the daemon's clock
        *("0.46 × 10", "0.50 × 10"),  # Boston's quote
        "12s ago",  # the last fill
        "https://clob.polymarket.com/book",  # where the reference feed reads
    )
    for expected in expected_texts:
        assert expected in text, f"{expected!r} not on the page:\n{text}"


def test_the_recent_fills_show_newest_first_one_row_each(dashboard):
    assert dashboard["fill_rows"] == [
        ["12s ago", BOSTON, "bid", "0.46", "3", "$0.05"],
        ["1m 35s ago", BITCOIN, "ask", "0.61", "5", "$0.07"],
    ]


def test_the_page_refreshes_itself_with_the_next_reading(dashboard, daemon):
    first, second = dashboard["first"], dashboard["second"]

    assert "+$12.34" in first and "PAUSED" not in first
    assert "+$15.67" in second and "PAUSED" in second
    assert "fair value (model_nd2) needs the binance feed, not configured" in second
    assert daemon.reads >= 2


def test_the_sparkline_draws_the_pnl_readings(dashboard):
    assert dashboard["inked"] is True
    assert "P&L over 2 readings since this page opened" in dashboard["second"]  # a repeated reading adds none


def test_the_page_loads_only_its_own_files_and_logs_no_error(dashboard, browser):
    origin, events = dashboard["origin"], dashboard["events"]
    requested = browser.requested_urls(*events)

    assert browser.console_errors(*events) == []
    assert browser.blocked_loads(*events) == []
    assert all(url.startswith(origin + "/") for url in requested), requested
    assert {url.removeprefix(origin).split("?")[0] for url in requested} >= {
        "/", "/dashboard/dashboard.css", "/dashboard/dashboard.js", "/status"
    }


def test_the_daemons_text_is_shown_as_text_never_run(dashboard, browser):
    assert INJECTED in dashboard["second"]  # a dropped event's reason, literally
    assert browser.evaluate("document.getElementById('injected') === null && document.title !== 'owned'")


def test_the_page_is_read_only(browser, dashboard):
    controls = browser.evaluate("document.querySelectorAll('button, form, input, select, textarea').length")
    assert controls == 0


def test_the_screenshot_is_saved(dashboard):
    assert dashboard["screenshot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert SCREENSHOT_COPY.read_bytes() == dashboard["screenshot"].read_bytes()


def test_with_no_sessions_the_page_says_so(browser, dashboard, tmp_path):
    server = StatusServer("127.0.0.1", 0, idle_status).start()
    try:
        start = browser.mark()
        browser.open(server.base_url + "/dashboard")
        browser.wait_until("Number(document.body.dataset.refreshes) >= 1")
        text = browser.text()
        (tmp_path / "idle.png").write_bytes(browser.screenshot())
        errors = browser.console_errors(start)
    finally:
        server.stop()

    expected_texts = ("No active sessions", "No makers running", "Flat: no positions", "No open orders")
    for expected in (*expected_texts, "does not list fills", "feed DOWN", "demo", "$0.00"):
        assert expected in text, f"{expected!r} not on the page:\n{text}"
    assert errors == []


def test_the_browser_enforces_the_pages_policy(browser, dashboard):
    """The control for the clean console above: an outside load is blocked and reported."""
    server = StatusServer("127.0.0.1", 0, idle_status).start()
    try:
        start = browser.mark()
        browser.open(server.base_url + "/")
        browser.wait_until("Number(document.body.dataset.refreshes) >= 1")
        browser.evaluate(
            "new Promise(done => { const i = new Image(); i.onerror = done; i.onload = done;"
            " i.src = 'http://198.51.100.7/pixel.png'; })"
        )
        browser.wait_until("true")  # one more round trip: the blocked load's events have arrived
    finally:
        server.stop()

    assert "csp" in browser.blocked_loads(start)
    assert any("Content Security Policy" in error for error in browser.console_errors(start))


def test_a_halted_daemon_with_the_kill_switch_engaged_says_so(browser, dashboard):
    halted = idle_status()
    halted["risk"].update(
        state="HALTED",
        state_reason="kill switch",
        kill_switch={"engaged": True, "reason": "operator: news", "since_ns": NOW_NS - 90 * SECOND_NS},
    )
    server = StatusServer("127.0.0.1", 0, lambda: halted).start()
    try:
        browser.open(server.base_url + "/")
        browser.wait_until("Number(document.body.dataset.refreshes) >= 1")
        text = browser.text()
    finally:
        server.stop()

    header = ("risk HALTED", "KILL SWITCH ENGAGED")
    for expected in (*header, "HALTED — kill switch", "ENGAGED — operator: news (1m 30s ago)"):
        assert expected in text, f"{expected!r} not on the page:\n{text}"


def test_when_the_daemon_stops_answering_the_page_says_so_and_keeps_the_last_reading(browser, dashboard):
    server = StatusServer("127.0.0.1", 0, FakeDaemon().status).start()
    try:
        browser.open(server.base_url + "/?every=0.5")
        browser.wait_until("Number(document.body.dataset.refreshes) >= 1")
    finally:
        server.stop()
    browser.wait_until("!document.getElementById('problem').hidden")
    text = browser.text()

    assert "Cannot read the daemon's status" in text and "Showing the last reading" in text
    assert BOSTON in text
