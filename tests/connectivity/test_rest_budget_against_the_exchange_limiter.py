"""The REST budget against the simulated exchange's own rate limiter: we cause no 429.

Found by the chaos campaign (hundreds of 429s we caused ourselves, in bunches after every
reconnect and restart): our token buckets have exactly the exchange's rate and capacity
(Basic tier), and a request leaves at the very instant our bucket says it can be paid. But
the exchange charges a request when it ARRIVES: one that travels a few milliseconds faster
than the request before it arrives before the exchange's bucket has refilled what ours had,
and is refused (the relay's timeline showed the exchange's bucket 0.2 to 2 tokens short of
each refused batch of 60). And calls started while every HTTP worker is busy wait for a worker, uncharged at the
exchange, for as long as a slow answer holds the workers (a REST storm): the exchange's
bucket fills and caps meanwhile, then the whole queue arrives at once. And the client
retries a refused request on its own: the exchange charges the retry when it goes through,
after our bucket has refilled what the refused attempt cost (nothing, there), so after a
burst of 429s the retries land together and the next writes find the bucket short.

Live, the REST actor keeps rest.headroom_s of refill unspent, starts at most rest.workers
calls (charged when a worker takes them), and charges a call its client retried again.

The harness: a RestScheduler as the REST actor drives it, `workers` HTTP workers that take
started calls in order, each request reaching the exchange `latency` after it leaves a
worker and its answer coming back `latency` later, the exchange's limiter (simex, Basic
tier) judging every arrival, and a refused request retried by its worker after a backoff,
as the client's retry policy does. Virtual time throughout.
"""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field
from decimal import Decimal as D


from actors.rest import BatchCall, RestScheduler
from actors.rest._effects import StartCall
from kernel.effects import ArmTimer
from messages import AmendOrder, CancelOrder, PlaceOrder, RestReadRequested
from simex._ratelimit import RateLimiter, request_cost

T0 = 1_790_000_000_000_000_000
MS = 1_000_000
S = 1_000 * MS
TICKERS = ("KXA-26", "KXB-26", "KXC-26")
LEVELS = 3
RETRY_BACKOFF = 150 * MS  # tenacity's first wait is random in [0, 0.5 s]; a fixed mid value here
SLOW_ANSWER = 5 * S  # the client's timeout: a worker held that long
WORKERS = 4  # rest.workers
HEADROOM_S = 0.1  # rest.headroom_s


def place(ticker: str, n: int) -> PlaceOrder:
    return PlaceOrder(client_order_id=f"{ticker}-c{n}", ticker=ticker, side="bid" if n % 2 else "ask",
                      price=D("0.42"), count=D(5), ts=T0)


def cancel(ticker: str, n: int) -> CancelOrder:
    return CancelOrder(order_id=f"{ticker}-o{n}", client_order_id=f"{ticker}-c{n}", ticker=ticker, ts=T0)


def amend(ticker: str, n: int) -> AmendOrder:
    return AmendOrder(order_id=f"{ticker}-o{n}", client_order_id=f"{ticker}-c{n}", updated_client_order_id=f"{ticker}-d{n}",
                      ticker=ticker, side="bid", price=D("0.43"), count=D(5), ts=T0)


def fills_read(ticker: str) -> RestReadRequested:
    return RestReadRequested(request_id=f"fills-{ticker}", path="/portfolio/fills", query=(), reply_to="maker", ts=T0)


def http_request(command) -> tuple[str, str, dict | None]:
    """What the client sends for a command: (method, path, body) as the exchange prices it."""
    if isinstance(command, BatchCall):
        method = "POST" if command.action == "place" else "DELETE"
        return method, "/portfolio/events/orders/batched", {"orders": [{} for _ in command.commands]}
    if isinstance(command, PlaceOrder):
        return "POST", "/portfolio/events/orders", None
    if isinstance(command, AmendOrder):
        return "POST", f"/portfolio/events/orders/{command.order_id}/amend", None
    if isinstance(command, CancelOrder):
        return "DELETE", f"/portfolio/events/orders/{command.order_id}", None
    return "GET", command.path, None


@dataclass
class Venue:
    """The REST actor's scheduler, its workers and the exchange's limiter, in virtual time."""

    scheduler: RestScheduler
    workers: int = 4 + 1  # rest.workers, and the cancel lane's own (the live executor's threads)
    latency_ns: tuple[int, int] = (2 * MS, 20 * MS)  # a request's trip, drawn in this range (seeded)
    slow_answers: int = 0  # the next calls this many are answered only after SLOW_ANSWER (a REST storm)
    refuse_next: int = 0  # the exchange answers the next this many requests 429 whatever its bucket holds
    injected: int = 0  # 429s answered that way (not ours)
    charge_retries: bool = True  # as the REST core does with a call its client retried
    now: int = T0
    refused: int = 0
    sent: int = 0
    _events: list = field(default_factory=list)
    _order: itertools.count = field(default_factory=itertools.count)
    _waiting_for_worker: list = field(default_factory=list)
    _busy: int = 0

    def __post_init__(self) -> None:
        self.limiter = RateLimiter("basic", self.now)
        self._rng = random.Random(7)

    def trip(self) -> int:
        return self._rng.randint(*self.latency_ns)

    def at(self, t_ns: int, what: str, item=None) -> None:
        heapq.heappush(self._events, (t_ns, next(self._order), what, item))

    def submit(self, t_ns: int, *commands) -> None:
        for command in commands:
            self.at(t_ns, "submit", command)

    def run(self, until_ns: int) -> None:
        while self._events and self._events[0][0] <= until_ns:
            self.now, _, what, item = heapq.heappop(self._events)
            if what == "submit":
                self._carry(self.scheduler.submit(item, self.now))
            elif what == "refill":
                self._carry(self.scheduler.refill_due(self.now))
            elif what == "arrive":
                self._arrive(*item)
            elif what == "resend":
                self._send(*item)
            elif what == "refuse":
                self.refuse_next = 12
            elif what == "answered":
                job_id, retried = item
                self._busy -= 1
                self._carry(self._finish(job_id, retried))
                self._next_worker()
        self.now = until_ns

    def _finish(self, job_id: int, retried: bool) -> list:
        job = self.scheduler.finish(job_id)
        if retried and self.charge_retries:
            self.scheduler.charge_retry(job, self.now)
        return self.scheduler.worker_freed(self.now)

    def _carry(self, effects: list) -> None:
        for effect in effects:
            if isinstance(effect, StartCall):
                self._waiting_for_worker.append(effect)
            elif isinstance(effect, ArmTimer):
                self.at(effect.deadline_ns, "refill")
        self._next_worker()

    def _next_worker(self) -> None:
        while self._waiting_for_worker and self._busy < self.workers:
            start = self._waiting_for_worker.pop(0)
            self._busy += 1
            self._send(start, attempt=1)

    def _send(self, start: StartCall, attempt: int) -> None:
        self.sent += 1
        self.at(self.now + self.trip(), "arrive", (start, attempt))

    def _arrive(self, start: StartCall, attempt: int) -> None:
        method, path, body = http_request(start.command)
        kind, cost = request_cost(method, path, body)
        if self.refuse_next:
            self.refuse_next -= 1
            self.injected += 1
            admitted = False
        else:
            admitted = self.limiter.admit(kind, cost, self.now)
            self.refused += not admitted
        if admitted:
            answer_after = self.trip()
            if self.slow_answers and kind == "write":
                self.slow_answers -= 1
                answer_after = SLOW_ANSWER
            self.at(self.now + answer_after, "answered", (start.job_id, attempt > 1))
        elif attempt < 4:  # refused: its worker sends it again after a backoff, as the client does
            self.at(self.now + self.trip() + RETRY_BACKOFF, "resend", (start, attempt + 1))
        else:
            self.at(self.now + self.trip(), "answered", (start.job_id, True))


def ladders(ticker: str, first: int) -> BatchCall:
    return BatchCall("place", tuple(place(ticker, first + n) for n in range(2 * LEVELS)))


def pulled(ticker: str, first: int) -> BatchCall:
    return BatchCall("cancel", tuple(cancel(ticker, first + n) for n in range(2 * LEVELS)))


def reconnects(venue: Venue, count: int, every_ns: int = 2500 * MS) -> None:
    """What each WebSocket reconnect of the campaign's drops phase made the makers send: on the
    drop every ladder pulled (a batch cancel per market) and fills read; half a second later,
    at the reconnect, every ladder placed again (a batch per market), then moved (amends)."""
    t = T0 + 2 * S  # after a quiet spell: both buckets full
    for k in range(count):
        n = 100 * k
        venue.submit(t, *(pulled(ticker, n) for ticker in TICKERS), *(fills_read(ticker) for ticker in TICKERS))
        venue.submit(t + 500 * MS, *(ladders(ticker, n + 10) for ticker in TICKERS))
        venue.submit(t + 1500 * MS, *(amend(ticker, n + 10 + i) for ticker in TICKERS for i in range(2)))
        t += every_ns
    venue.run(t + 5 * S)


def storm(venue: Venue, rounds: int) -> None:
    """Slow answers hold every worker for the client's timeout while the makers keep
    requoting (an amend per market every 100 ms)."""
    t = T0 + 2 * S
    venue.slow_answers = WORKERS
    venue.submit(t, *(amend(ticker, 0) for ticker in TICKERS), amend(TICKERS[0], 1))
    for k in range(rounds):
        venue.submit(t + 10 * MS + k * 100 * MS, *(amend(ticker, 10 + k) for ticker in TICKERS))
    venue.run(t + rounds * 100 * MS + 10 * S)


def burst_of_429s(venue: Venue, rounds: int) -> None:
    """After a quiet spell the makers requote (an amend per order of three ladders at once)
    just as the exchange refuses a burst of requests (not for our budget); each refused
    request is retried by its worker; half a second on, a ladder is placed again."""
    t = T0 + 2 * S
    for k in range(rounds):
        venue.at(t, "refuse", None)
        venue.submit(t, *(amend(ticker, 10 * k + i) for ticker in TICKERS for i in range(2 * LEVELS)))
        venue.submit(t + 500 * MS, ladders(TICKERS[k % len(TICKERS)], 100 * k + 50))
        t += 3 * S
    venue.run(t + 5 * S)


def basic_tier(*, live: bool) -> RestScheduler:
    live_terms = {"headroom_s": HEADROOM_S, "max_in_flight": WORKERS} if live else {}
    return RestScheduler(read_rate=200, read_capacity=400, write_rate=100, write_capacity=100, default_cost=10,
                         cancel_cost=2, **live_terms)


def test_without_headroom_a_request_sent_the_instant_we_can_pay_it_arrives_short():
    venue = Venue(basic_tier(live=False))
    reconnects(venue, 10)
    assert venue.refused > 0  # what the campaign saw: the case for the headroom


def test_the_reconnect_bursts_of_three_ladders_cause_no_429():
    venue = Venue(basic_tier(live=True))
    reconnects(venue, 10)
    assert venue.sent > 100 and venue.refused == 0


def test_without_a_worker_cap_calls_queued_behind_slow_answers_arrive_at_once():
    venue = Venue(basic_tier(live=False))
    storm(venue, 40)
    assert venue.refused > 0


def test_calls_waiting_for_a_worker_are_charged_when_they_start_and_cause_no_429():
    venue = Venue(basic_tier(live=True))
    storm(venue, 40)
    assert venue.sent > 100 and venue.refused == 0


def test_without_charging_retries_the_retries_after_a_429_burst_arrive_together_and_find_the_bucket_short():
    venue = Venue(basic_tier(live=True), charge_retries=False)
    burst_of_429s(venue, 5)
    assert venue.injected == 60 and venue.refused > 0


def test_a_call_its_client_retried_is_charged_again_and_the_burst_leaves_no_429_of_ours():
    venue = Venue(basic_tier(live=True))
    burst_of_429s(venue, 5)
    assert venue.injected == 60 and venue.refused == 0
