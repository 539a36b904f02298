"""Fault injection for the simulated exchange, switchable while it runs.

One `Faults` object per exchange (`faults_of(exchange)` creates or returns it). It is plain,
synchronous and clock-injected (the exchange clock), so a scenario timeline can call it in
virtual time and tests can drive it without sockets. With a running `SimServer`, call it on the
server loop: `server.call(lambda: faults.burst_429(count=3))`, or use the admin endpoint.

Faults and what a client observes:

| method | what the client sees |
| --- | --- |
| `drop_ws_connections()` | every open WebSocket is closed by the server (close code 1011, or a bare TCP reset with `abort=True`) |
| `skip_seq(n=1, ticker=None)` | the next `n` sequenced frames (orderbook snapshots/deltas) are lost; their `seq` is used up, so the next frame shows a gap |
| `malformed_frames(count)` | `count` unparseable or ill-shaped text frames on every open WebSocket, now |
| `channel_error(code=10, channel=None)` | every matching subscription ends with a terminal error frame (10, 17 or 25) carrying its `sid` |
| `burst_429(count=None, duration_s=None)` | REST answers `429 {"error":"too many requests"}` to the next `count` requests or for `duration_s` |
| `burst_5xx(count=None, duration_s=None, status=503)` | REST answers 5xx with a Kalshi error body |
| `slow_responses(delay_s, duration_s=None, count=None)` | REST answers arrive `delay_s` late |
| `pause_market(ticker)` / `resume_market(ticker)` | trading pause (`Exchange.pause_market`): places and amends rejected, lifecycle `deactivated` |
| `close_market_early(ticker)` | the market closes now (`Exchange.close_market`): orders rejected `market_closed`, lifecycle events |
| `clear()` | every pending fault is withdrawn and markets paused here resume; a market closed early stays closed (a close cannot be undone) |

A count and a duration may be combined: the fault ends when either runs out. With neither, a REST
burst applies to one request. Time windows use the exchange clock. Counts (`count`, `n`) are
positive integers of at most `MAX_FAULT_COUNT`; anything else is a ValueError (400 at the admin
endpoint). `active()` lists the markets paused or closed early through these methods too
(`{"fault": "pause_market", "ticker": ...}`, `{"fault": "close_market_early", "ticker": ...}`).

Admin HTTP endpoint (SimServer with `admin=True`, the default; loopback clients only):

    GET    /_admin/faults     -> 200 {"active": [{"fault": "burst_429", "remaining": 3, ...}, ...],
                                      "injected": {"burst_429": 5, ...},  # fault -> times it hit a client
                                      "rate_limited": {"paper-key": {"write": 1}}}  # the limiter's own 429s
    POST   /_admin/faults     body: one fault or a list of them, e.g.
                              {"fault": "burst_429", "count": 5}
                              [{"fault": "skip_seq", "n": 2}, {"fault": "drop_ws_connections"}]
                              -> 200 {"applied": [...results...], "active": [...]}
                              -> 400 {"error": {"code": "bad_request", ...}} on an unknown fault or bad argument
    DELETE /_admin/faults     -> 200 {"active": []}

`fault` names are the method names above; the other keys are their keyword arguments.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Callable

from ._errors import error_body
from ._ws import ORDERBOOK, TERMINAL_ERRORS

if TYPE_CHECKING:
    from ._exchange import Exchange

__all__ = ["Faults", "RestFault", "faults_of", "apply_scenario_fault", "MALFORMED_FRAMES", "TOO_MANY_REQUESTS_BODY",
           "MAX_FAULT_COUNT"]

log = logging.getLogger(__name__)

NS_PER_S = 1_000_000_000
# Largest `count` / `n` a fault accepts: malformed_frames(count) sends count x sessions frames at
# once, so an unbounded count from the admin endpoint could stall the server loop.
MAX_FAULT_COUNT = 10_000
TOO_MANY_REQUESTS_BODY = {"error": "too many requests"}  # kalshi-api.md 8: exact 429 body
_5XX_CODES = {500: "internal_server_error", 502: "bad_gateway", 503: "service_unavailable", 504: "gateway_timeout"}

# What `malformed_frames` sends, in turn: none of these can be decoded into a market event.
MALFORMED_FRAMES = (
    '{"type":"orderbook_delta","sid":1,"seq":',  # truncated JSON
    "simex: this is not JSON",
    "[1,2,3]",  # JSON, but not an object
    '{"sid":1,"msg":{}}',  # no type
    '{"type":"ticker","sid":1,"msg":"not an object"}',
    '{"type":"trade","sid":1,"msg":{"market_ticker":"X","yes_price_dollars":"abc"}}',  # bad number
)


@dataclass(frozen=True)
class RestFault:
    """What the shell does to one REST request: wait `delay_s`, then answer `status`/`body` if set."""

    delay_s: float = 0.0
    status: int | None = None
    body: Any = None


@dataclass
class _Window:
    """A fault that lasts for `remaining` uses and/or until `until_ns` (None = no such limit)."""

    name: str
    remaining: int | None
    until_ns: int | None
    args: dict

    def live(self, now_ns: int) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        return self.until_ns is None or now_ns < self.until_ns

    def use(self) -> None:
        if self.remaining is not None:
            self.remaining -= 1

    def describe(self, now_ns: int) -> dict:
        out: dict[str, Any] = {"fault": self.name, **self.args}
        if self.remaining is not None:
            out["remaining"] = self.remaining
        if self.until_ns is not None:
            out["remaining_s"] = round(max(0, self.until_ns - now_ns) / NS_PER_S, 3)
        return out


class Faults:
    """Pending faults of one exchange. Not thread-safe: call on the thread that owns the exchange."""

    def __init__(self, exchange: "Exchange", now_ns: Callable[[], int] | None = None) -> None:
        self.exchange = exchange
        self._now = now_ns or exchange.now
        self._rest: list[_Window] = []  # 429 / 5xx / slow, checked in order
        self._seq_skips: list[_Window] = []
        self._malformed_turn = 0
        self._paused: list[str] = []  # markets paused here (clear() resumes them), in order
        self._closed: list[str] = []  # markets closed early here (stay closed)
        self.injected: dict[str, int] = {}  # fault name -> times it hit a client

    # ----- WebSocket faults -----
    def drop_ws_connections(self, abort: bool = False) -> int:
        """Close every open WebSocket now; returns how many."""
        sessions = self.exchange.hub.open_sessions()
        for session in sessions:
            session.drop(abort)
        self._count("drop_ws_connections", len(sessions))
        return len(sessions)

    def skip_seq(self, n: int = 1, ticker: str | None = None) -> None:
        """Lose the next `n` sequenced frames (any session; only `ticker`'s if given)."""
        n = _positive_int(n, "n")
        if ticker is not None:
            self.exchange.market(ticker)  # unknown ticker: a clear error now, not a silent no-op
        self._seq_skips.append(_Window("skip_seq", n, None, {"ticker": ticker} if ticker else {}))

    def swallow_sequenced(self, channel: str, ticker: str | None) -> bool:
        """Hub hook: True if this sequenced frame is to be lost."""
        if channel != ORDERBOOK:
            return False
        for window in self._seq_skips:
            if window.live(self._now()) and window.args.get("ticker") in (None, ticker):
                window.use()
                self._count("skip_seq")
                self._seq_skips = [w for w in self._seq_skips if w.live(self._now())]
                return True
        return False

    def malformed_frames(self, count: int = 1) -> int:
        """Send `count` malformed frames to every open WebSocket now; returns frames sent."""
        count = _positive_int(count, "count")
        sessions = self.exchange.hub.open_sessions()
        for _ in range(count):
            text = MALFORMED_FRAMES[self._malformed_turn % len(MALFORMED_FRAMES)]
            self._malformed_turn += 1
            for session in sessions:
                session.emit_raw(text)
        self._count("malformed_frames", count * len(sessions))
        return count * len(sessions)

    def channel_error(self, code: int = 10, channel: str | None = None) -> int:
        """End every subscription (of `channel`, if given) with a terminal error; returns how many."""
        if code not in TERMINAL_ERRORS:
            raise ValueError(f"code must be a terminal error code {TERMINAL_ERRORS}, not {code!r}")
        ended = 0
        for session in self.exchange.hub.open_sessions():
            for sub in list(session.subscriptions.values()):
                if channel is None or sub.channel == channel:
                    session.end_subscription(sub, code)
                    ended += 1
        self._count("channel_error", ended)
        return ended

    # ----- REST faults -----
    def burst_429(self, count: int | None = None, duration_s: float | None = None) -> None:
        self._rest.append(self._window("burst_429", count, duration_s, {}))

    def burst_5xx(self, count: int | None = None, duration_s: float | None = None, status: int = 503) -> None:
        if status not in _5XX_CODES:
            raise ValueError(f"status must be one of {sorted(_5XX_CODES)}, not {status!r}")
        self._rest.append(self._window("burst_5xx", count, duration_s, {"status": status}))

    def slow_responses(self, delay_s: float, duration_s: float | None = None, count: int | None = None) -> None:
        delay = _seconds(delay_s, "delay_s")
        self._rest.append(self._window("slow_responses", count, duration_s, {"delay_s": delay}))

    def rest_fault(self) -> RestFault | None:
        """Shell hook, once per REST request: the delay and/or error answer due now, if any."""
        now = self._now()
        self._rest = [w for w in self._rest if w.live(now)]
        delay, status, body = 0.0, None, None
        for window in self._rest:
            if window.name == "slow_responses":
                if delay == 0.0:
                    delay = window.args["delay_s"]
                    window.use()
                    self._count("slow_responses")
            elif status is None:
                window.use()
                self._count(window.name)
                if window.name == "burst_429":
                    status, body = 429, dict(TOO_MANY_REQUESTS_BODY)
                else:
                    status = window.args["status"]
                    body = error_body(_5XX_CODES[status], _5XX_CODES[status].replace("_", " "))
        self._rest = [w for w in self._rest if w.live(now)]
        if delay == 0.0 and status is None:
            return None
        return RestFault(delay, status, body)

    # ----- market faults (the core does the work) -----
    def pause_market(self, ticker: str) -> None:
        self._market_call("pause_market", ticker)
        if ticker not in self._paused:
            self._paused.append(ticker)

    def resume_market(self, ticker: str) -> None:
        self._market_call("resume_market", ticker)
        if ticker in self._paused:
            self._paused.remove(ticker)

    def close_market_early(self, ticker: str) -> None:
        self._market_call("close_market", ticker)
        if ticker in self._paused:
            self._paused.remove(ticker)
        if ticker not in self._closed:
            self._closed.append(ticker)

    def _market_call(self, method: str, ticker: str) -> None:
        self.exchange.market(ticker)  # unknown ticker: ApiError 404 with the ticker named
        action = getattr(self.exchange, method, None)
        if action is None:
            raise NotImplementedError(f"this exchange has no {method}()")
        action(ticker)
        self._count(method)

    # ----- control -----
    def clear(self) -> None:
        """Withdraw every pending fault and resume the markets `pause_market` paused (unless
        the exchange has since moved them on, e.g. closed them). A market closed early stays
        closed: a close cannot be undone; `active()` keeps listing it."""
        self._rest.clear()
        self._seq_skips.clear()
        paused, self._paused = self._paused, []
        for ticker in paused:
            if self.exchange.markets[ticker].status == "inactive":
                self.resume_market(ticker)

    def active(self) -> list[dict]:
        """Pending windows, then markets still paused or closed early by a fault."""
        now = self._now()
        listed = [w.describe(now) for w in (*self._rest, *self._seq_skips) if w.live(now)]
        self._paused = [t for t in self._paused if self.exchange.markets[t].status == "inactive"]
        listed += [{"fault": "pause_market", "ticker": t} for t in self._paused]
        listed += [{"fault": "close_market_early", "ticker": t} for t in self._closed]
        return listed

    def apply(self, spec: Any) -> Any:
        """Run one fault given as JSON, `{"fault": name, **kwargs}`; ValueError on bad input."""
        if not isinstance(spec, dict):
            raise ValueError("a fault is a JSON object with a 'fault' name")
        args = dict(spec)
        name = args.pop("fault", None)
        if name not in _ADMIN_FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(_ADMIN_FAULTS))}")
        try:
            return getattr(self, name)(**args)
        except TypeError as exc:  # unknown or missing keyword
            raise ValueError(f"{name}: {exc}") from None

    # ----- helpers -----
    def _window(self, name: str, count: int | None, duration_s: float | None, args: dict) -> _Window:
        if count is not None:
            count = _positive_int(count, "count")
        until = None
        if duration_s is not None:
            until = self._now() + int(_seconds(duration_s, "duration_s") * NS_PER_S)
        if count is None and until is None:
            count = 1
        return _Window(name, count, until, args)

    def _count(self, name: str, times: int = 1) -> None:
        if times:
            self.injected[name] = self.injected.get(name, 0) + times
            log.info("simex fault: %s (x%d)", name, times)


_ADMIN_FAULTS = frozenset({
    "drop_ws_connections", "skip_seq", "malformed_frames", "channel_error", "burst_429", "burst_5xx",
    "slow_responses", "pause_market", "resume_market", "close_market_early", "clear",
})


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_FAULT_COUNT:
        raise ValueError(f"{name} must be a positive integer of at most {MAX_FAULT_COUNT}, not {value!r}")
    return value


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number of seconds, not {value!r}")
    try:
        seconds = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{name} must be a number of seconds, not {value!r}") from None
    if not seconds.is_finite() or seconds < 0 or seconds > 3600:
        raise ValueError(f"{name} must be within [0, 3600] seconds, not {value!r}")
    return float(seconds)  # a delay for asyncio.sleep, not money


def faults_of(exchange: "Exchange") -> Faults:
    """The exchange's Faults, installed on its WebSocket hub on first use."""
    hub = exchange.hub
    if hub.faults is None:
        hub.faults = Faults(exchange)
    return hub.faults



def apply_scenario_fault(exchange: "Exchange", fault: Any) -> Any:
    """Scenario timeline hook (simex._scenario): `fault.kind` names a Faults method and
    `fault.params` holds its keyword arguments as (name, value) pairs."""
    return faults_of(exchange).apply({"fault": fault.kind, **dict(fault.params)})
