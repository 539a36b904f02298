"""REST fuzz campaign: mutated real replies through the real REST client and actor.

Every reply starts as what the simulated exchange (simex) really answers the request: a
requests adapter (`ExchangeAdapter`, requests' documented way to answer requests without a
network) serves each request the client sends from the exchange, then mutates the reply
(body bytes, HTTP status, or the reply lost after the exchange acted) and hands it back
through requests' own response building. So the whole stack under test is real:
`HttpTransport` (JSON decoding), `KalshiRestClient` (retries, read-backs, batch replies),
`kalshi.shapes` (the typed parsers), and `RestClientActor` with its core, in the
deterministic runtime with an inline executor.

The campaign drives a seeded mix of operations until `replies` replies were served:
places (single and batched), amends and cancels (single and batched) of orders it knows,
cancel-alls and raw reads told to the actor, and typed reads (balance, positions, fills,
orders, one order, a book, a market) called on the client itself, as the supervisor and
start-up do.

Checked: every command told to the actor ends in exactly one outcome message; every typed
read returns a well-typed result or raises one of the errors the client raises on purpose
(RestError, TransportError, WireFormatError, OrderOutcomeUnknown); nothing else escapes
(the actor logs such an error "REST call failed unexpectedly" and rejects with
`client_error`: a CRASH here); every outcome message and typed result matches its declared
field types; the actor stays alive.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from actors._base import MmdActor, handles
from actors.rest import (
    HttpTransport,
    InlineExecutor,
    KalshiRestClient,
    OrderOutcomeUnknown,
    RestClientActor,
    RestError,
    TransportError,
)
from kalshi.wire import WireFormatError
from kernel.bus import Bus
from kernel.clock import ReplayClock
from kernel.directory import Directory
from kernel.runtime import DeterministicRuntime
from messages import (
    AllOrdersCancelled,
    AmendOrder,
    CancelAllOrders,
    CancelOrder,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderRejected,
    PlaceOrder,
    RestReadCompleted,
    RestReadRequested,
)
from simex import Exchange, MarketSpec

from .checks import Findings, LogWatch, example, raised_at, table
from .mutations import REST_KINDS, STATUSES, STRUCTURAL_KINDS, Mutator

__all__ = ["RestFuzzRig", "RestCampaign", "REST_OUTCOMES", "OPERATIONS", "READER", "MARKETS"]

START_NS = 1_795_000_000 * 1_000_000_000
ACCOUNT = "mmd-fuzz"
BASE_URL = "http://simex.fuzz/trade-api/v2"
MARKETS = ("KXFUZZ-26DEC31-A", "KXFUZZ-26DEC31-B")
READER = "fuzz-reader"  # the role name raw reads are answered to
HOUSEKEEPING_EVERY = 250  # operations between two clean-ups of our resting orders at the exchange
MUTATED_SHARE = 0.6  # of replies; the rest are real, so orders get placed and later amended
OPERATIONS = (
    "place", "place batch", "amend", "cancel", "cancel batch", "cancel all", "read",
    "balance", "positions", "fills", "orders", "order", "orderbook", "market",
)  # fmt: skip
_WEIGHTS = (6, 2, 4, 4, 2, 1, 2, 1, 1, 1, 1, 2, 1, 1)
REST_OUTCOMES = ("ok", "exchange error", "bad response", "transport", "CRASH")
_LOST = (requests.ConnectionError("connection reset by peer"), requests.ReadTimeout("read timed out"),
         requests.exceptions.ChunkedEncodingError("connection broken: incomplete read"))  # fmt: skip


class ExchangeAdapter(HTTPAdapter):
    """Answers every request from the simulated exchange, through `serve`."""

    def __init__(self, serve: Callable[[requests.PreparedRequest], tuple[int, bytes]]) -> None:
        super().__init__()
        self._serve = serve

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        status, body = self._serve(request)  # may raise: the reply was lost
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(body), headers={"Content-Type": "application/json"}, status=status, reason="",
            preload_content=False, decode_content=False,
        )  # fmt: skip
        return self.build_response(request, raw)


class OutcomeSink(MmdActor):
    """Every outcome the REST actor publishes or replies, handed to `observe`."""

    subscriptions = (OrderAccepted, OrderAmended, OrderCancelled, OrderRejected, AllOrdersCancelled)

    def __init__(self, *, observe: Callable[[Any], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._observe = observe

    @handles(OrderAccepted, OrderAmended, OrderCancelled, OrderRejected, AllOrdersCancelled, RestReadCompleted)
    def on_outcome(self, msg: Any) -> None:
        self._observe(msg)


@dataclass
class _Known:
    order_id: str
    client_order_id: str
    ticker: str
    side: str
    price: Decimal
    count: Decimal


@dataclass
class RestCampaign:
    seed: int
    replies: int = 0
    operations: int = 0
    seconds: float = 0.0
    reply_kinds: Counter = field(default_factory=Counter)  # kind -> replies served
    outcomes: Counter = field(default_factory=Counter)  # (kind, outcome) -> operations' outcomes
    by_operation: Counter = field(default_factory=Counter)  # (operation, outcome) -> outcomes
    findings: Findings = field(default_factory=Findings)
    unanswered: int = 0  # commands told to the actor without an outcome
    alive: bool = True
    status: dict = field(default_factory=dict)
    log_counts: Counter = field(default_factory=Counter)

    @property
    def replies_per_s(self) -> float:
        return self.replies / self.seconds if self.seconds else 0.0

    def outcome_table(self) -> str:
        return table(self.outcomes, list(REST_KINDS), list(REST_OUTCOMES), row_title="first mutation")

    def operation_table(self) -> str:
        return table(self.by_operation, list(OPERATIONS), list(REST_OUTCOMES), row_title="operation")

    def summary(self) -> str:
        return (
            f"seed {self.seed}: {self.replies:,} replies ({sum(v for k, v in self.reply_kinds.items() if k != 'none'):,} "
            f"mutated) for {self.operations:,} operations in {self.seconds:.1f} s ({self.replies_per_s:,.0f} replies/s); "
            f"actor {'alive' if self.alive else 'DEAD'}; {self.unanswered} command(s) without an outcome"
        )


def _outcome_of_error(exc: BaseException) -> str:
    """What the client raised, sorted: the errors it raises on purpose, or a CRASH."""
    if isinstance(exc, RestError):
        return "exchange error"
    if isinstance(exc, WireFormatError):
        return "bad response"
    if isinstance(exc, TransportError | OrderOutcomeUnknown):
        return "transport"
    return "CRASH"


def _outcome_of_message(msg: Any) -> str:
    if isinstance(msg, OrderRejected):
        return {"bad_response": "bad response", "transport_error": "transport", "outcome_unknown": "transport",
                "client_error": "CRASH"}.get(msg.code, "exchange error")  # fmt: skip
    if isinstance(msg, AllOrdersCancelled):
        return "ok" if msg.still_resting >= 0 else "transport"
    if isinstance(msg, RestReadCompleted):
        if msg.status == 0:
            return "transport"
        return "ok" if 200 <= msg.status < 300 else "exchange error"
    return "ok"


class RestFuzzRig:
    def __init__(self) -> None:
        self._mutator: Mutator | None = None
        self._mutating = False  # replies are real while priming an exchange
        self._reply_kinds: list[str] = []  # kinds of the replies served to the current operation
        self._campaign: RestCampaign | None = None
        self.known: dict[str, _Known] = {}  # client order id -> an order we believe rests
        self._scripted: deque[tuple[int | None, bytes]] = deque()  # replies a test wrote, served first
        self.runtime = DeterministicRuntime()
        self.clock = ReplayClock(START_NS)
        self.bus = Bus()
        self._open_exchange()
        self.transport = HttpTransport(BASE_URL, signer=None, timeout_s=1.0, now_ms=lambda: self.clock.now_ns() // 1_000_000)
        session = requests.Session()
        session.trust_env = False  # no proxy lookups in the environment on every request (slow, and not under test)
        session.mount("http://", ExchangeAdapter(self._serve))
        # HttpTransport keeps one requests.Session per thread; every call here runs inline on
        # this thread, so the session planted here is the one it uses
        self.transport._local.session = session
        self.client = KalshiRestClient(
            self.transport, max_attempts=3, backoff_base_s=0.01, backoff_cap_s=0.05, sleep=lambda _s: None
        )
        self._outcomes: list[Any] = []
        self.sink = self.runtime.start(OutcomeSink, clock=self.clock, bus=self.bus, tracker=None, observe=self._outcomes.append)
        readers = Directory()
        readers.register(READER, self.sink)
        self.rest = self.runtime.start(
            RestClientActor, clock=self.clock, bus=self.bus, tracker=None, client=self.client, executor=InlineExecutor(),
            read_rate=1_000_000, read_capacity=1_000_000, write_rate=1_000_000, write_capacity=1_000_000, readers=readers,
        )  # fmt: skip
        self.runtime.run_until_idle()
        self._next_id = 0
        self._prime()

    def _open_exchange(self) -> None:
        """A fresh exchange: our orders, resting at first, then one filled in part."""
        self.exchange = Exchange(now_ns=self.clock.now_ns, seed=7)
        for ticker in MARKETS:
            self.exchange.add_market(MarketSpec(ticker=ticker, event_ticker="KXFUZZ-26DEC31", series_ticker="KXFUZZ"))
        for account in (ACCOUNT, "alice", "bob"):
            self.exchange.register_account(account, 100_000_000)
        self.known.clear()
        if hasattr(self, "client"):
            self._prime()

    def _prime(self) -> None:
        """Resting orders, a fill and a position to read back, made through the real client."""
        mutating, self._mutating = self._mutating, False
        try:
            self._prime_orders()
        finally:
            self._mutating = mutating

    def _prime_orders(self) -> None:
        a = MARKETS[0]
        self.client.create_order(a, "bid", Decimal("0.45"), Decimal("5"), "mmd-prime-1")
        self.client.create_order(a, "ask", Decimal("0.55"), Decimal("5"), "mmd-prime-2")
        body = {"ticker": a, "side": "ask", "price": "0.45", "count": "2", "time_in_force": "good_till_canceled",
                "self_trade_prevention_type": "taker_at_cross"}  # fmt: skip
        self.exchange.handle_rest("POST", "/trade-api/v2/portfolio/events/orders", {}, body, "bob")
        for order in self.client.get_orders(status="resting"):
            self.known[order.client_order_id] = _Known(
                order.order_id, order.client_order_id, order.ticker, order.side, order.price, order.filled + order.remaining
            )

    # -- the server side ------------------------------------------------------------------
    def _serve(self, request: requests.PreparedRequest) -> tuple[int, bytes]:
        url = urlsplit(request.url)
        query = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        body = json.loads(request.body) if request.body else None
        status, payload = self.exchange.handle_rest(request.method, url.path, query, body, ACCOUNT)
        text = json.dumps(payload, separators=(",", ":"))
        if self._scripted:
            scripted_status, scripted_body = self._scripted.popleft()
            return scripted_status or status, scripted_body
        if not self._mutating or self._mutator is None or self._campaign is None:
            return status, text.encode()
        mutator, campaign = self._mutator, self._campaign
        kind = "none" if mutator.rng.random() >= MUTATED_SHARE else mutator.pick(REST_KINDS[1:])
        campaign.replies += 1
        campaign.reply_kinds[kind] += 1
        self._reply_kinds.append(kind)
        if kind == "connection_lost":
            raise mutator.pick(_LOST)  # after the exchange acted: the outcome is unknown
        if kind == "status":
            status = mutator.pick([s for s in STATUSES if s != status])
        mutant = mutator.mutate(text, kind)
        self._last_example = example(kind, mutant.note or f"status {status}", mutant.raw)
        return status, mutant.raw

    # -- for tests: one scripted reply, one command ------------------------------------
    def answer_next(self, body: bytes, status: int | None = None) -> None:
        """The next request is served by the exchange as usual, but answered with `body`
        (and `status`, when given, else the exchange's)."""
        self._scripted.append((status, body))

    def outcomes_of(self, command: Any) -> list[Any]:
        """Tell the REST actor `command`, run to quiet: what it published or replied."""
        self.rest.tell(command)
        self.runtime.run_until_idle()
        outcomes, self._outcomes[:] = list(self._outcomes), []
        return outcomes

    def some_resting_order(self) -> _Known:
        return next(iter(self.known.values()))

    # -- the campaign -------------------------------------------------------------------
    def status(self) -> dict:
        return self.rest.proxy().get_status().get()

    def run(self, replies: int, seed: int) -> RestCampaign:
        campaign = self._campaign = RestCampaign(seed=seed)
        self._mutator = Mutator(seed)
        self._mutator.compound_kinds = tuple(k for k in STRUCTURAL_KINDS if k not in ("seq_disorder", "wrong_sid"))
        self._last_example = ""
        self._mutating = True
        pending: dict[tuple[str, str], str] = {}  # (action, client order id | request id) -> operation
        started = time.perf_counter()
        with LogWatch() as watch:
            while campaign.replies < replies:
                operation = self._mutator.rng.choices(OPERATIONS, weights=_WEIGHTS)[0]
                self._reply_kinds = []
                watch.tag = operation
                campaign.operations += 1
                if operation in ("balance", "positions", "fills", "orders", "order", "orderbook", "market"):
                    self._typed_read(operation, campaign)
                else:
                    for key in self._tell(operation):
                        pending[key] = operation
                    self.runtime.run_until_idle()
                self._collect(campaign, pending, watch)
                self.clock.advance_to(self.clock.now_ns() + 5_000_000)
                if campaign.operations % HOUSEKEEPING_EVERY == 0:
                    # orders pile up at the exchange and a create read back pages through
                    # every order of its market: a fresh exchange keeps each reply small
                    self._open_exchange()
            self.runtime.run_until_idle()
            self._collect(campaign, pending, watch)
            campaign.seconds = time.perf_counter() - started
            campaign.log_counts = Counter(watch.counts)
        self._mutator = self._campaign = None
        self._mutating = False
        campaign.unanswered = len(pending)
        for (action, key), operation in pending.items():
            campaign.findings.add("unanswered command", f"{operation}: no outcome", example=f"{action} {key}")
        campaign.status = self.status()
        campaign.alive = self.rest.is_alive()
        if not campaign.alive:
            campaign.findings.add("actor died", "RestClientActor is not alive")
        return campaign

    def _first_kind(self) -> str:
        return next((k for k in self._reply_kinds if k != "none"), "none")

    def _typed_read(self, operation: str, campaign: RestCampaign) -> None:
        rng = self._mutator.rng
        some = next(iter(self.known.values()), None)
        calls: dict[str, Callable[[], Any]] = {
            "balance": self.client.get_balance,
            "positions": self.client.get_positions,
            "fills": self.client.get_fills,
            "orders": lambda: self.client.get_orders(status="resting"),
            "order": lambda: self.client.get_order(some.order_id if some else "no-such-order"),
            "orderbook": lambda: self.client.get_orderbook(MARKETS[rng.randrange(2)]),
            "market": lambda: self.client.get_market(MARKETS[rng.randrange(2)]),
        }
        try:
            result = calls[operation]()
        except Exception as exc:  # noqa: BLE001 - sorted below: on purpose, or a finding
            outcome = _outcome_of_error(exc)
            if outcome == "CRASH":
                signature, location = raised_at(sys.exc_info())
                campaign.findings.add("unhandled exception", signature, location=location, example=self._last_example)
        else:
            outcome = "ok"
            for item in result if isinstance(result, list) else [result]:
                campaign.findings.add_mistyped("mistyped result", item, self._last_example)
        campaign.outcomes[(self._first_kind(), outcome)] += 1
        campaign.by_operation[(operation, outcome)] += 1

    def _tell(self, operation: str) -> list[tuple[str, str]]:
        """Tell the actor one operation's commands; their (action, id) keys."""
        rng, now = self._mutator.rng, self.clock.now_ns()
        ticker = MARKETS[rng.randrange(len(MARKETS))]
        if operation in ("place", "place batch"):
            n = 1 if operation == "place" else rng.randint(2, 3)
            ids = tuple(self._new_id() for _ in range(n))
            for coid in ids:
                side = rng.choice(("bid", "ask"))
                cents = rng.randint(1, 44) if side == "bid" else rng.randint(56, 99)
                self.rest.tell(PlaceOrder(client_order_id=coid, ticker=ticker, side=side, price=Decimal(cents) / 100,
                                          count=Decimal(rng.randint(1, 20)), ts=now, batch=ids if n > 1 else ()))  # fmt: skip
            return [("place", coid) for coid in ids]
        if operation == "cancel all":
            self.rest.tell(CancelAllOrders(reason="fuzz", ts=now, ticker=ticker if rng.random() < 0.5 else None))
            return [("cancel all", "")]
        if operation == "read":
            request_id = self._new_id()
            path, key = rng.choice((("/markets", "markets"), ("/portfolio/positions", "market_positions"),
                                    ("/portfolio/fills", "fills"), ("/portfolio/balance", "")))  # fmt: skip
            self.rest.tell(RestReadRequested(request_id=request_id, path=path, query=(("limit", "50"),), reply_to=READER,
                                             ts=now, all_pages=bool(key), list_key=key))  # fmt: skip
            return [("read", request_id)]
        orders = list(self.known.values())
        if not orders:
            return self._tell("place")
        if operation == "amend":
            order = orders[rng.randrange(len(orders))]
            new_id = self._new_id()
            cents = int(order.price * 100) + rng.choice((-1, 1))
            self.rest.tell(AmendOrder(
                order_id=order.order_id, client_order_id=order.client_order_id, updated_client_order_id=new_id,
                ticker=order.ticker, side=order.side, price=Decimal(min(99, max(1, cents))) / 100, count=order.count, ts=now,
            ))  # fmt: skip
            return [("amend", order.client_order_id)]
        chosen = [orders[rng.randrange(len(orders))]] if operation == "cancel" else orders[: rng.randint(2, 4)]
        chosen = list({o.client_order_id: o for o in chosen}.values())
        by_ticker = [o for o in chosen if o.ticker == chosen[0].ticker]  # a batch is one market's
        batch = tuple(o.client_order_id for o in by_ticker) if len(by_ticker) > 1 else ()
        for order in by_ticker:
            self.rest.tell(CancelOrder(order_id=order.order_id, client_order_id=order.client_order_id, ticker=order.ticker,
                                       ts=now, reason="fuzz", batch=batch))  # fmt: skip
        return [("cancel", o.client_order_id) for o in by_ticker]

    def _new_id(self) -> str:
        self._next_id += 1
        return f"mmd-fz-{self._next_id}"

    def _collect(self, campaign: RestCampaign, pending: dict, watch: LogWatch) -> None:
        """Match outcomes to commands, learn order ids, check types; and unhandled errors."""
        kind = self._first_kind()
        for msg in self._outcomes:
            key = self._key_of(msg)
            operation = pending.pop(key, None)
            if operation is None:
                campaign.findings.add("unexpected outcome", f"{type(msg).__name__} for no pending command")
                continue
            outcome = _outcome_of_message(msg)
            campaign.outcomes[(kind, outcome)] += 1
            campaign.by_operation[(operation, outcome)] += 1
            campaign.findings.add_mistyped("mistyped message", msg, self._last_example)
            self._learn(msg)
        self._outcomes.clear()
        for tag, exc_info, _message in watch.take_exceptions():
            signature, location = raised_at(exc_info)
            campaign.findings.add("unhandled exception", signature, location=location, example=f"{tag}: {self._last_example}")

    @staticmethod
    def _key_of(msg: Any) -> tuple[str, str]:
        if isinstance(msg, OrderAccepted):
            return ("place", msg.client_order_id)
        if isinstance(msg, OrderAmended):
            return ("amend", msg.previous_client_order_id)
        if isinstance(msg, OrderCancelled):
            return ("cancel", msg.client_order_id)
        if isinstance(msg, OrderRejected):
            return (msg.action, msg.client_order_id)
        if isinstance(msg, AllOrdersCancelled):
            return ("cancel all", "")
        return ("read", msg.request_id)

    def _learn(self, msg: Any) -> None:
        if isinstance(msg, OrderAccepted) and isinstance(msg.order_id, str) and msg.remaining > 0:
            self.known[msg.client_order_id] = _Known(msg.order_id, msg.client_order_id, msg.ticker, msg.side, msg.price, msg.count)
        elif isinstance(msg, OrderAmended):
            old = self.known.pop(msg.previous_client_order_id, None)
            if old is not None and isinstance(msg.client_order_id, str):
                self.known[msg.client_order_id] = _Known(
                    old.order_id, msg.client_order_id, old.ticker, old.side, msg.price, msg.count
                )
        elif isinstance(msg, OrderCancelled):
            self.known.pop(msg.client_order_id, None)
        elif isinstance(msg, AllOrdersCancelled) and msg.still_resting == 0:
            self.known = {k: o for k, o in self.known.items() if msg.ticker is not None and o.ticker != msg.ticker}
