"""WS fuzz campaign: mutated real frames through the real WS connection actor.

`WsFuzzRig()` builds, in the deterministic runtime (one thread), a simulated exchange
(simex, no background traders), the real `WsConnectionActor` on a `LoopbackConnector` to
it, and a sink actor on the bus. It then captures the corpus: it drives a short session
(subscribe, orders that rest and fill, a sequence gap, a subscription ended by the server,
markets added and removed, a market paused, closed, determined and settled) and keeps
every frame the exchange sent the actor, plus error / unsubscribed replies from a probe
session. The capture covers every channel: orderbook snapshot and delta, ticker, trade,
fill, user_order, market_position, market_lifecycle_v2, subscribed, ok, unsubscribed,
error.

`rig.run(frames, seed)` then posts `frames` mutated frames as FrameReceived, one at a
time, with the actor's own traffic in between: the exchange's answers to the commands the
actor sends (a gap asks for a snapshot, an ended subscription is restored) are fed back
unmutated ("echo"), and the virtual clock moves 1 ms a frame so timers (silence checks,
restores) fire. Seeds are refreshed before mutation (a data frame gets its channel's
current sid and the next seq), so a mutated frame is otherwise in sequence.

Checked: the actor stays alive; no exception escapes a handler (LogWatch); every frame is
counted (`frames` of its status rises by one per frame, `malformed` by one per frame the
decoder refuses, `unknown_types` by one per unknown type); every published message
matches its declared field types; the actor untrusts only markets it follows (a frame's
content must not get a stray market into its state). Outcomes per frame come from an independent decoder
(same class, own instance) and what the sink saw.
"""

from __future__ import annotations

import json
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Callable

from actors._base import MmdActor, handles
from actors.ws import CONTROL_TYPES, FeedDecoder, FrameDecodeError, LoopbackConnector, WsConnectionActor
from kernel.bus import Bus
from kernel.clock import ReplayClock
from kernel.runtime import DeterministicRuntime
from messages import (
    BookDelta,
    BookSnapshot,
    BookUntrusted,
    FeedHealthChanged,
    FrameReceived,
    MarketLifecycleChanged,
    OrderFilled,
    OrderUpdated,
    PositionUpdated,
    SubscribeMarkets,
    TickerUpdated,
    TradePrinted,
)
from simex import Exchange, MarketSpec, faults_of

from .checks import Findings, LogWatch, example, raised_at, table
from .mutations import WS_KINDS, Mutator, wire_text

__all__ = ["WsFuzzRig", "WsCampaign", "SeedFrame", "FRAME_TYPES", "OUTCOMES", "CHANNEL_OF_TYPE", "MARKETS", "LATE_MARKET"]

START_NS = 1_795_000_000 * 1_000_000_000
ACCOUNT = "mmd-fuzz"
MARKETS = ("KXFUZZ-26DEC31-A", "KXFUZZ-26DEC31-B")
LATE_MARKET = "KXFUZZ-26DEC31-C"
TRACKED = frozenset({MARKETS[0], LATE_MARKET})  # the markets the actor follows once the capture is over
FRAME_MS = 1  # virtual time per fuzzed frame
TIMER_EVERY = 64  # frames between two firings of due timers
ECHO_LIMIT = 64  # exchange answers fed back after one frame, at most

CHANNEL_OF_TYPE = {
    "orderbook_snapshot": "orderbook_delta", "orderbook_delta": "orderbook_delta", "ticker": "ticker",
    "trade": "trade", "fill": "fill", "user_order": "user_orders", "market_position": "market_positions",
    "market_lifecycle_v2": "market_lifecycle_v2",
}  # fmt: skip
FRAME_TYPES = (*CHANNEL_OF_TYPE, "subscribed", "ok", "unsubscribed", "error")
DATA_MESSAGES = (
    BookSnapshot, BookDelta, TickerUpdated, TradePrinted, OrderFilled, OrderUpdated, PositionUpdated,
    MarketLifecycleChanged,
)  # fmt: skip
# what became of one frame (columns of the outcome table)
OUTCOMES = ("published", "held back", "control", "unknown type", "malformed", "CRASH")


def _resolved(outcome: str, published: list[Any]) -> str:
    """A decoded data frame was either published or held back (a delta on an untrusted book)."""
    if outcome == "data":
        return "published" if any(isinstance(m, DATA_MESSAGES) for m in published) else "held back"
    return outcome


@dataclass(frozen=True, slots=True)
class SeedFrame:
    text: str
    type: str
    origin: str  # "session" (sent to the actor) | "probe" (another session's replies)


class FeedSink(MmdActor):
    """Everything the WS actor publishes, handed to `observe` (the campaign's checks)."""

    subscriptions = (*DATA_MESSAGES, BookUntrusted, FeedHealthChanged)

    def __init__(self, *, observe: Callable[[Any], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._observe = observe

    @handles(*DATA_MESSAGES, BookUntrusted, FeedHealthChanged)
    def on_published(self, msg: Any) -> None:
        self._observe(msg)


@dataclass
class WsCampaign:
    """One campaign's figures and findings."""

    seed: int
    frames: int = 0  # mutated frames posted
    echoes: int = 0  # exchange answers fed back unmutated
    seconds: float = 0.0
    outcomes: Counter = field(default_factory=Counter)  # (kind, outcome) -> frames
    by_type: Counter = field(default_factory=Counter)  # (frame type, kind) -> frames
    published: Counter = field(default_factory=Counter)  # message type -> published
    findings: Findings = field(default_factory=Findings)
    accounting: dict[str, tuple[int, int]] = field(default_factory=dict)  # what -> (expected, counted)
    log_counts: Counter = field(default_factory=Counter)
    alive: bool = True
    status: dict = field(default_factory=dict)

    def by_kind(self, kind: str) -> int:
        return sum(n for (k, _outcome), n in self.outcomes.items() if k == kind)

    @property
    def frames_per_s(self) -> float:
        return (self.frames + self.echoes) / self.seconds if self.seconds else 0.0

    def outcome_table(self) -> str:
        return table(self.outcomes, list(WS_KINDS) + ["echo"], list(OUTCOMES), row_title="mutation")

    def type_table(self) -> str:
        return table(self.by_type, list(FRAME_TYPES), list(WS_KINDS), row_title="seed type")

    def summary(self) -> str:
        acc = ", ".join(f"{what} {exp:,} expected / {got:,} counted" for what, (exp, got) in self.accounting.items())
        return (
            f"seed {self.seed}: {self.frames:,} mutated frames + {self.echoes:,} echoes in {self.seconds:.1f} s "
            f"({self.frames_per_s:,.0f} frames/s); actor {'alive' if self.alive else 'DEAD'}; {acc}"
        )


class WsFuzzRig:
    def __init__(self, *, use_yes_price: bool = False) -> None:
        self.runtime = DeterministicRuntime()
        self.clock = ReplayClock(START_NS)
        self.bus = Bus()
        self.exchange = Exchange(now_ns=self.clock.now_ns, seed=7)
        for ticker in MARKETS:
            self.exchange.add_market(MarketSpec(ticker=ticker, event_ticker="KXFUZZ-26DEC31", series_ticker="KXFUZZ"))
        for account in (ACCOUNT, "alice", "bob"):
            self.exchange.register_account(account, 10_000_000)
        self.network: deque[str] = deque()
        self.reference = FeedDecoder(no_prices_in_yes_leg=use_yes_price)
        self.published: list[Any] = []  # what the sink saw, until the campaign checks it
        self.sink = self.runtime.start(
            FeedSink, clock=self.clock, bus=self.bus, tracker=None, observe=self.published.append
        )
        self.ws = self.runtime.start(
            WsConnectionActor, clock=self.clock, bus=self.bus, tracker=None, use_yes_price=use_yes_price,
            connector_factory=lambda _ref: LoopbackConnector(self.exchange, ACCOUNT, self.network.append),
        )  # fmt: skip
        # a mirror of what the actor knows, to refresh seeds: channel -> sid, sid -> last seq
        self.sid_of: dict[str, int] = {}
        self.last_seq: dict[int, int] = {}
        self.corpus: list[SeedFrame] = []
        with LogWatch():  # the capture's gap and ended subscription are logged on purpose
            self._capture()

    # -- the corpus ---------------------------------------------------------------------
    def _capture(self) -> None:
        self.settle(capture=True)
        self._tell(SubscribeMarkets(tickers=MARKETS, ts=self.clock.now_ns()))
        a, b = MARKETS
        self._step(1)
        self._order("alice", a, "bid", "0.40", "10")
        self._order("alice", a, "ask", "0.60", "10")
        self._order(ACCOUNT, a, "bid", "0.45", "5", "mmd-fuzz-1")
        self._order(ACCOUNT, a, "ask", "0.55", "5", "mmd-fuzz-2")
        self._step(1)
        self._order("bob", a, "ask", "0.45", "3")  # fills ours: fill, user_order, market_position, trade
        self._order("bob", a, "bid", "0.55", "2")
        self._step(1)
        faults = faults_of(self.exchange)
        faults.skip_seq(1)  # a lost book frame: the actor sees a gap and asks for snapshots
        self._order("alice", b, "bid", "0.30", "4")
        self._order("alice", b, "bid", "0.31", "4")
        faults.channel_error(code=17, channel="ticker")  # the server ends a subscription
        self.settle(capture=True)
        self.exchange.add_market(MarketSpec(ticker=LATE_MARKET, event_ticker="KXFUZZ-26DEC31", series_ticker="KXFUZZ"))
        self._tell(SubscribeMarkets(tickers=(LATE_MARKET,), ts=self.clock.now_ns()))
        self._tell(SubscribeMarkets(tickers=(b,), ts=self.clock.now_ns(), remove=True))
        for change in (self.exchange.pause_market, self.exchange.resume_market, self.exchange.close_market):
            change(b)
        self.exchange.determine_market(b, "yes")
        self.settle(capture=True)
        self._step(3_600)
        self.exchange.settle_market(b)
        self.settle(capture=True)
        self._probe()
        self.published.clear()

    def _probe(self) -> None:
        """Replies the actor's own session never gets (it sends no bad command)."""
        replies: list[str] = []
        session = self.exchange.open_session("alice", replies.append)
        for command in (
            {"id": 1, "cmd": "subscribe", "params": {"channels": ["no_such_channel"]}},
            {"id": 2, "cmd": "frobnicate"},
            {"id": 3, "cmd": "subscribe", "params": {"channels": ["ticker"], "market_tickers": [MARKETS[0]]}},
            {"id": 4, "cmd": "unsubscribe", "params": {"sids": [1]}},
            {"id": 5, "cmd": "update_subscription", "params": {"sids": [99], "market_tickers": ["X"], "action": "add_markets"}},
        ):
            session.receive(json.dumps(command))
        session.close()
        self.corpus.extend(SeedFrame(text, json.loads(text)["type"], "probe") for text in replies)

    def _order(self, account: str, ticker: str, side: str, price: str, count: str, client_order_id: str = "") -> None:
        body = {"ticker": ticker, "side": side, "price": price, "count": count, "time_in_force": "good_till_canceled",
                "self_trade_prevention_type": "taker_at_cross", "client_order_id": client_order_id}  # fmt: skip
        status, payload = self.exchange.handle_rest("POST", "/trade-api/v2/portfolio/events/orders", {}, body, account)
        assert status == 201, payload
        self.settle(capture=True)

    def _step(self, seconds: int) -> None:
        self.clock.advance_to(self.clock.now_ns() + seconds * 1_000_000_000)
        self.exchange.advance(self.clock.now_ns())
        self.settle(capture=True)

    def _tell(self, message: Any) -> None:
        self.ws.tell(message)
        self.settle(capture=True)

    def settle(self, *, capture: bool = False, campaign: WsCampaign | None = None) -> None:
        """Run the actors to quiet, feeding back what the exchange sent meanwhile."""
        self.runtime.run_until_idle()
        fed = 0
        while self.network and (capture or fed < ECHO_LIMIT):
            text = self.network.popleft()
            if capture:
                self.corpus.append(SeedFrame(text, json.loads(text)["type"], "session"))
            outcome, published = self.deliver(text)
            fed += 1
            if campaign is not None:
                campaign.outcomes[("echo", _resolved(outcome, published))] += 1
        if campaign is not None:
            campaign.echoes += fed

    def deliver(self, text: str) -> tuple[str, list[Any]]:
        """Post one frame and run to quiet: what the reference decoder makes of it
        ("data", "control", "unknown type", "malformed", "CRASH") and what was published."""
        outcome = self._reference_outcome(text)
        start = len(self.published)
        self.ws.tell(FrameReceived(text=text, ts_recv=self.clock.now_ns()))
        self.runtime.run_until_idle()
        return outcome, self.published[start:]

    def _reference_outcome(self, text: str) -> str:
        """What the decoder makes of the frame (an instance of its own), and the seq mirror."""
        try:
            frame = self.reference.decode(text, self.clock.now_ns())
        except FrameDecodeError:
            return "malformed"
        except Exception:  # noqa: BLE001 - the actor's decoder raises the same: a finding
            return "CRASH"
        if not frame.known:
            return "unknown type"
        if frame.type in CONTROL_TYPES:
            if frame.type == "subscribed" and frame.sid is not None and frame.channel is not None:
                self.sid_of[frame.channel] = frame.sid
            elif frame.sid is not None and frame.seq is not None and self.last_seq.get(frame.sid) == frame.seq - 1:
                self.last_seq[frame.sid] = frame.seq  # SequenceTracker.observe_control
            return "control"
        if frame.sid is not None and frame.seq is not None:
            self.last_seq[frame.sid] = frame.seq
        return "data"

    def refreshed(self, seed: SeedFrame) -> str:
        """A data seed on its channel's current sid, with the next seq: in sequence now."""
        channel = CHANNEL_OF_TYPE.get(seed.type)
        if channel is None or seed.origin != "session" or channel not in self.sid_of:
            return seed.text
        frame = json.loads(seed.text)
        sid = frame["sid"] = self.sid_of[channel]
        if "seq" in frame:
            frame["seq"] = self.last_seq.get(sid, 0) + 1
        return json.dumps(frame, separators=(",", ":"))

    # -- the campaign -------------------------------------------------------------------
    def status(self) -> dict:
        return self.ws.proxy().get_status().get()

    def run(self, frames: int, seed: int, *, kinds: tuple[str, ...] = WS_KINDS) -> WsCampaign:
        campaign = WsCampaign(seed=seed)
        mutator = Mutator(seed)
        by_type: dict[str, list[SeedFrame]] = {}
        for s in self.corpus:
            by_type.setdefault(s.type, []).append(s)
        types = sorted(by_type)
        before = self.status()
        raised = 0
        started = time.perf_counter()
        with LogWatch() as watch:
            for i in range(frames):
                seed_frame = mutator.pick(by_type[mutator.pick(types)])
                kind = kinds[i % len(kinds)]
                mutator.known_sids = tuple(self.sid_of.values())
                mutant = mutator.mutate(self.refreshed(seed_frame), kind)
                text = wire_text(mutant.raw)
                watch.tag = (kind, mutant.note, text)
                outcome, published = self.deliver(text)
                campaign.outcomes[(kind, _resolved(outcome, published))] += 1
                campaign.by_type[(seed_frame.type, kind)] += 1
                self._check_published(campaign, kind, mutant.note, text)
                raised += self._check_exceptions(campaign, watch)
                self.settle(campaign=campaign)
                self._check_published(campaign, "echo", "", "(an exchange answer)")
                raised += self._check_exceptions(campaign, watch)
                self.clock.advance_to(self.clock.now_ns() + FRAME_MS * 1_000_000)
                if i % TIMER_EVERY == TIMER_EVERY - 1:
                    self._fire_due_timers(campaign, watch)
            campaign.frames = frames
            campaign.seconds = time.perf_counter() - started
            campaign.log_counts = Counter(watch.counts)
        after = self.status()
        campaign.status = after
        campaign.alive = self.ws.is_alive()
        self._account(campaign, before, after, raised)
        return campaign

    def _fire_due_timers(self, campaign: WsCampaign, watch: LogWatch) -> None:
        watch.tag = ("timer", "", "(a due timer)")
        while self.clock.fire_next_due(self.clock.now_ns()):
            self.settle(campaign=campaign)
        self._check_exceptions(campaign, watch)

    def _check_published(self, campaign: WsCampaign, kind: str, note: str, text: str) -> None:
        for msg in self.published:
            campaign.published[type(msg).__name__] += 1
            if isinstance(msg, BookUntrusted) and msg.ticker not in TRACKED:
                # the actor's own state, not the frame's content: a stray market got into it
                campaign.findings.add("stray market", "BookUntrusted for a market the actor does not track",
                                      location=f"{msg.ticker!r}: {msg.reason}", example=example(kind, note, text))  # fmt: skip
            campaign.findings.add_mistyped("mistyped message", msg, example(kind, note, text))
        self.published.clear()

    @staticmethod
    def _check_exceptions(campaign: WsCampaign, watch: LogWatch) -> int:
        """Unhandled exceptions logged since the last check; returns how many were frames'."""
        frames = 0
        for tag, exc_info, message in watch.take_exceptions():
            signature, location = raised_at(exc_info)
            kind, note, text = tag if tag else ("?", "", "")
            campaign.findings.add("unhandled exception", signature, location=location, example=example(kind, note, text))
            frames += message.endswith("FrameReceived")
        return frames

    @staticmethod
    def _account(campaign: WsCampaign, before: dict, after: dict, raised: int) -> None:
        """Every frame in is counted once: frames, malformed and unknown types by the actor."""
        posted = campaign.frames + campaign.echoes
        malformed = sum(n for (_kind, outcome), n in campaign.outcomes.items() if outcome == "malformed")
        unknown = sum(n for (_kind, outcome), n in campaign.outcomes.items() if outcome == "unknown type")
        counted = after["frames"] - before["frames"]
        campaign.accounting = {
            "frames": (posted, counted),
            "malformed": (malformed, after["malformed"] - before["malformed"]),
            "unknown types": (unknown, sum(after["unknown_types"].values()) - sum(before["unknown_types"].values())),
        }
        if counted != posted - raised:
            campaign.findings.add(
                "frames not counted", "frames in != frames counted (status.frames)", count=posted - raised - counted
            )
        for what in ("malformed", "unknown types"):
            expected, got = campaign.accounting[what]
            if expected != got:
                campaign.findings.add("miscounted", f"{what}: {expected} expected, {got} counted", count=abs(expected - got))
        if not campaign.alive:
            campaign.findings.add("actor died", "WsConnectionActor is not alive")
