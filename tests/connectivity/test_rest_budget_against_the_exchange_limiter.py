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
burst of 429s the retries land together and the next writes find the bucket short. And a
request answered later than the client's timeout (the full storms phase): the exchange
charges it when it gets to it, after the client gave up on it and sent its retry; our
bucket, full again by then, spent the tokens that late charge needed (a batch of 60 refused
as it finally arrived, and its retries refused after the amends sent meanwhile).

Live, the REST actor keeps rest.headroom_s of refill unspent, starts at most rest.workers
calls (charged when a worker takes them), pays every further request of a call (a retry)
from the same budget before it leaves, after its backoff (RestScheduler.ask_attempt), and
holds the cost of a request that timed out for rest.unanswered_hold_s (hold_unanswered).

The harness: a RestScheduler as the REST actor drives it, `workers` HTTP workers that take
started calls in order, each request reaching the exchange `latency` after it leaves a
worker and its answer coming back `latency` later, the exchange's limiter (simex, Basic
tier) judging every arrival, and a refused or timed-out request retried by its worker
after a backoff, as the client's retry policy does. Virtual time throughout.
"""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field
from decimal import Decimal as D


from actors.rest import BatchCall, RestScheduler
from actors.rest._effects import GrantAttempt, StartCall
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
TIMEOUT = 5 * S  # rest.timeout_s: a request unanswered this long is given up and retried
WORKERS = 4  # rest.workers
HEADROOM_S = 0.1  # rest.headroom_s
UNANSWERED_HOLD_S = 2.0  # rest.unanswered_hold_s


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
    late_writes: list = field(default_factory=list)  # delays: the next writes reach the limiter that late (simex's
    # slow_responses: past the client's TIMEOUT, the exchange still acts on them)
    refuse_next: int = 0  # the exchange answers the next this many requests 429 whatever its bucket holds
    injected: int = 0  # 429s answered that way (not ours)
    retries_through_budget: bool = True  # as the live REST actor does: a retry waits for the budget's grant
    holds_unanswered: bool = True  # as the live REST actor does: a timed-out request's cost is held
    now: int = T0
    refused: int = 0
    sent: int = 0
    _events: list = field(default_factory=list)
    _order: itertools.count = field(default_factory=itertools.count)
    _waiting_for_worker: list = field(default_factory=list)
    _waiting_for_grant: dict = field(default_factory=dict)  # job id -> (start, attempt) of its next request
    _busy: int = 0

    def __post_init__(self) -> None:
        self.limiter = RateLimiter("basic", self.now)
        self._rng = random.Random(7)
        self._given_up: set = set()  # (job id, attempt) its worker stopped waiting for

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
            elif what == "late":
                self._admit(*item)
            elif what == "timeout":
                self._timed_out(*item)
            elif what == "resend":
                self._send(*item)
            elif what == "refuse":
                self.refuse_next = 12
            elif what == "answered":
                job_id, attempt = item
                if (job_id, attempt) in self._given_up:
                    continue  # its worker had given up on it
                self._busy -= 1
                self._carry(self.scheduler.finish(job_id) and self.scheduler.worker_freed(self.now))
                self._next_worker()
        self.now = until_ns

    def _carry(self, effects: list) -> None:
        for effect in effects or ():
            if isinstance(effect, StartCall):
                self._waiting_for_worker.append(effect)
            elif isinstance(effect, GrantAttempt):
                self._send(*self._waiting_for_grant.pop(effect.job_id))
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

    def _retry(self, start: StartCall, attempt: int, backoff_ns: int) -> None:
        """The client sends the request again after its backoff: through the budget (live
        REST actor), or straight out (the budget left out)."""
        if not self.retries_through_budget:
            self.at(self.now + backoff_ns, "resend", (start, attempt))
            return
        lane, cost = self.scheduler.lane_and_cost(start.command)
        self._waiting_for_grant[start.job_id] = (start, attempt)
        self._carry(self.scheduler.ask_attempt(start.job_id, lane, cost, self.now + backoff_ns, self.now))

    def _arrive(self, start: StartCall, attempt: int) -> None:
        kind, _cost = request_cost(*http_request(start.command))
        if self.late_writes and kind == "write":
            self.at(self.now + TIMEOUT - self.trip(), "timeout", (start, attempt))  # from when it left
            self.at(self.now + self.late_writes.pop(0), "late", (start, attempt))
            return
        self._admit(start, attempt)

    def _timed_out(self, start: StartCall, attempt: int) -> None:
        self._given_up.add((start.job_id, attempt))
        if self.holds_unanswered:
            lane, cost = self.scheduler.lane_and_cost(start.command)
            self.scheduler.hold_unanswered(lane, cost, self.now)
        self._retry(start, attempt + 1, RETRY_BACKOFF)

    def _admit(self, start: StartCall, attempt: int) -> None:
        method, path, body = http_request(start.command)
        kind, cost = request_cost(method, path, body)
        if self.refuse_next:
            self.refuse_next -= 1
            self.injected += 1
            admitted = False
        else:
            admitted = self.limiter.admit(kind, cost, self.now)
            self.refused += not admitted
        if (start.job_id, attempt) in self._given_up:
            return  # charged (or refused) as it finally got there; nobody waits for its answer
        if admitted:
            answer_after = self.trip()
            if self.slow_answers and kind == "write":
                self.slow_answers -= 1
                answer_after = SLOW_ANSWER
            self.at(self.now + answer_after, "answered", (start.job_id, attempt))
        elif attempt < 4:  # refused: its worker sends it again after a backoff, as the client does
            self._retry(start, attempt + 1, self.trip() + RETRY_BACKOFF)
        else:
            self.at(self.now + self.trip(), "answered", (start.job_id, attempt))


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


def answers_past_the_timeout(venue: Venue, rounds: int) -> None:
    """The full storms phase's slow_rest (delay 5.54 s, 4 requests; the 2026-12-07 run's four
    429s of ours): a ladder batch and three amends reach the exchange only after the client's
    timeout, and the exchange acts on them then; the client retries each after its backoff,
    while the makers keep requoting (an amend per market every 100 ms)."""
    t = T0 + 2 * S  # after a quiet spell: both buckets full
    venue.late_writes = [5540 * MS] * 4
    venue.submit(t, ladders(TICKERS[0], 0), *(amend(ticker, 0) for ticker in TICKERS))
    for k in range(rounds):
        venue.submit(t + 10 * MS + k * 100 * MS, *(amend(ticker, 10 + k) for ticker in TICKERS))
    venue.run(t + rounds * 100 * MS + 15 * S)


def basic_tier(*, live: bool) -> RestScheduler:
    live_terms = {"headroom_s": HEADROOM_S, "max_in_flight": WORKERS, "unanswered_hold_s": UNANSWERED_HOLD_S} if live else {}
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


def test_with_retries_sent_outside_the_budget_the_retries_after_a_429_burst_arrive_together_and_find_the_bucket_short():
    venue = Venue(basic_tier(live=True), retries_through_budget=False)
    burst_of_429s(venue, 5)
    assert venue.injected == 60 and venue.refused > 0


def test_every_retry_waits_for_the_budget_and_the_burst_leaves_no_429_of_ours():
    venue = Venue(basic_tier(live=True))
    burst_of_429s(venue, 5)
    assert venue.injected == 60 and venue.refused == 0


def test_with_requests_answered_past_the_timeout_retried_outside_the_budget_the_late_charges_find_the_bucket_short():
    venue = Venue(basic_tier(live=True), retries_through_budget=False, holds_unanswered=False)
    answers_past_the_timeout(venue, 80)
    assert venue.refused > 0  # what the storms phase saw


def test_without_holding_a_timed_out_request_its_late_charge_finds_the_bucket_short():
    venue = Venue(basic_tier(live=True), holds_unanswered=False)
    answers_past_the_timeout(venue, 80)
    assert venue.refused > 0


def test_requests_answered_past_the_timeout_are_held_and_their_retries_paid_and_cause_no_429():
    venue = Venue(basic_tier(live=True))
    answers_past_the_timeout(venue, 80)
    assert venue.sent > 100 and venue.refused == 0
