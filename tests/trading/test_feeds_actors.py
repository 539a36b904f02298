"""The feed actors under virtual time: the reference poller and the spot WS client."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal as D

import pytest

from actors._base import MmdActor, handles
from actors.feeds import (
    HttpReferenceFetcher,
    InProcessReferenceFetcher,
    ReferencePollerActor,
    SpotFeedActor,
    parse_token_map,
    spot_stream_url,
)
from actors.feeds._spot import SpotDisconnected, SpotFrame
from config import ConfigError
from messages import ReferencePriceUpdated, SpotPriceUpdated

from .factories import T0


class FeedRecorder(MmdActor):
    def __init__(self, **wiring) -> None:
        super().__init__(**wiring)
        self.seen: list = []
        self.arrived = threading.Event()

    @handles(ReferencePriceUpdated, SpotPriceUpdated)
    def _record(self, msg) -> None:
        self.seen.append(msg)
        self.arrived.set()

    def messages(self) -> list:
        return list(self.seen)


@pytest.fixture
def recorder(harness):
    ref = FeedRecorder.start(**harness.wiring)
    for kind in (ReferencePriceUpdated, SpotPriceUpdated):
        harness.bus.subscribe(ref, kind)
    return ref


def book(bid="0.58", ask="0.60"):
    return {"timestamp": "1700000000000", "bids": [{"price": bid, "size": "10"}], "asks": [{"price": ask, "size": "10"}]}


class ScriptedFetch:
    """In-process venue: answers per token from a script, records the calls."""

    def __init__(self, answers):
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, token):
        self.calls.append(token)
        answer = self.answers[token]
        if isinstance(answer, Exception):
            raise answer
        return answer


# -- reference poller ------------------------------------------------------------------------
def test_poller_publishes_the_best_prices_on_every_poll(harness, recorder, config):
    fetch = ScriptedFetch({"tok-a": (200, book()), "tok-b": (200, book("0.20", "0.25"))})
    poller = ReferencePollerActor.start(
        **harness.wiring, config=config.feeds, tokens={"KX-B": "tok-b", "KX-A": "tok-a"}, fetch=fetch
    )
    harness.run_for(0)
    seen = recorder.proxy().messages().get()
    assert [(m.ticker, m.bid, m.ask) for m in seen] == [("KX-A", D("0.58"), D("0.60")), ("KX-B", D("0.20"), D("0.25"))]
    assert seen[0].ts_recv == T0 and seen[0].source == "polymarket"
    harness.run_for(config.feeds.reference_poll_s)
    assert fetch.calls == ["tok-a", "tok-b", "tok-a", "tok-b"]
    assert poller.proxy().get_status().get()["published"] == 4


def test_poller_survives_bad_answers_and_counts_them(harness, recorder, config):
    fetch = ScriptedFetch(
        {
            "tok-404": (404, {"error": "No orderbook exists for the requested token id"}),
            "tok-bad": (200, {"bids": "garbage"}),
            "tok-down": ConnectionError("refused"),
            "tok-ok": (200, book()),
        }
    )
    tokens = {"KX-404": "tok-404", "KX-BAD": "tok-bad", "KX-DOWN": "tok-down", "KX-OK": "tok-ok"}
    poller = ReferencePollerActor.start(**harness.wiring, config=config.feeds, tokens=tokens, fetch=fetch)
    harness.run_for(0)
    assert [m.ticker for m in recorder.proxy().messages().get()] == ["KX-OK"]
    status = poller.proxy().get_status().get()
    assert status["errors"] == {"bad_answer": 3}
    assert poller.is_alive()


def test_poller_skips_a_token_whose_last_fetch_is_still_out(harness, recorder, config):
    release = threading.Event()

    def slow_fetch(token):
        release.wait(5)
        return 200, book()

    with ThreadPoolExecutor(max_workers=1) as executor:
        poller = ReferencePollerActor.start(
            **harness.wiring, config=config.feeds, tokens={"KX-A": "tok-a"}, fetch=slow_fetch, executor=executor
        )
        harness.clock.fire_next_due(harness.clock.now_ns())  # first poll: fetch goes out
        poller.proxy().ping().get()
        harness.clock.advance_to(harness.clock.now_ns() + 2_000_000_000)
        harness.clock.fire_next_due(harness.clock.now_ns())  # second poll while the first is out
        poller.proxy().ping().get()
        release.set()
        harness.quiet()
        status = poller.proxy().get_status().get()
    assert status["polls"] == 1 and status["errors"] == {"skipped_in_flight": 1}
    assert len(recorder.proxy().messages().get()) == 1


def test_token_map_parsing():
    assert parse_token_map(("KX-A=tok-a", " KX-B = tok-b ")) == {"KX-A": "tok-a", "KX-B": "tok-b"}
    with pytest.raises(ConfigError) as caught:
        parse_token_map(("KX-A", "=tok", "KX-C=tok-c"))
    assert [line.split(":")[0] for line in caught.value.errors] == ["feeds.reference_tokens[0]", "feeds.reference_tokens[1]"]


# -- spot client -------------------------------------------------------------------------------
class FakeConnector:
    instances: list["FakeConnector"] = []

    def __init__(self, url, clock, actor_ref, tracker):
        self.url = url
        self.generations: list[int] = []
        self.closed = 0
        FakeConnector.instances.append(self)

    def connect(self, generation):
        self.generations.append(generation)

    def close(self):
        self.closed += 1


def tick(bid="95000", ask="95002", symbol="BTCUSDT"):
    return json.dumps({"u": 1, "s": symbol, "b": bid, "B": "1", "a": ask, "A": "1"})


@pytest.fixture
def spot(harness, config):
    FakeConnector.instances.clear()
    ref = SpotFeedActor.start(
        **harness.wiring, config=config.feeds, symbol="btcusdt", url="ws://x/y", connector_factory=FakeConnector
    )
    ref.proxy().ping().get()
    return ref, FakeConnector.instances[0]


def test_spot_publishes_the_mid_of_each_frame(harness, recorder, spot):
    actor, connector = spot
    harness.tell(actor, SpotFrame(generation=1, text=tick(), ts_recv=T0 + 5))
    [update] = recorder.proxy().messages().get()
    assert (update.symbol, update.price, update.ts_recv) == ("BTCUSDT", D("95001"), T0 + 5)


def test_spot_bad_frames_are_counted_not_fatal(harness, recorder, spot):
    actor, _ = spot
    harness.tell(actor, SpotFrame(generation=1, text="{oops", ts_recv=T0))
    harness.tell(actor, SpotFrame(generation=1, text=tick(symbol="ETHUSDT"), ts_recv=T0))
    harness.tell(actor, SpotFrame(generation=1, text=tick(), ts_recv=T0))
    assert len(recorder.proxy().messages().get()) == 1
    assert actor.proxy().get_status().get()["errors"] == {"bad_frame": 2}


def test_spot_reconnects_with_backoff_and_ignores_the_old_socket(harness, recorder, spot, config):
    actor, connector = spot
    harness.tell(actor, SpotDisconnected(generation=1, reason="closed", ts_recv=T0))
    harness.tell(actor, SpotDisconnected(generation=1, reason="error", ts_recv=T0))  # same drop, reported twice
    harness.run_for(config.feeds.spot_reconnect_base_s)
    assert connector.generations == [1, 2]
    harness.tell(actor, SpotFrame(generation=1, text=tick(), ts_recv=T0))  # the old socket: ignored
    assert recorder.proxy().messages().get() == []
    harness.tell(actor, SpotDisconnected(generation=2, reason="closed", ts_recv=T0))
    harness.run_for(config.feeds.spot_reconnect_base_s)
    assert connector.generations == [1, 2]  # second failure waits twice as long
    harness.run_for(config.feeds.spot_reconnect_base_s)
    assert connector.generations == [1, 2, 3]
    harness.tell(actor, SpotFrame(generation=3, text=tick(), ts_recv=T0))
    assert actor.proxy().backoff_ns().get() == int(config.feeds.spot_reconnect_base_s * 1e9)


# -- loopback against the simulator's reference routes (part 3) ----------------------------------
@pytest.fixture
def simulator():
    simex = pytest.importorskip("simex._server")
    exchange = simex.build_sim_exchange(seed=1, scenario="default")
    server = simex.SimServer(exchange, ping_interval_s=0).start_in_thread()
    try:
        yield server
    finally:
        server.stop()


def test_poller_reads_the_simulated_polymarket_book_over_http(harness, recorder, config, simulator):
    with ThreadPoolExecutor(max_workers=1) as executor:
        fetch = HttpReferenceFetcher(f"http://{simulator.host}:{simulator.port}", timeout_s=5)
        ReferencePollerActor.start(
            **harness.wiring,
            config=config.feeds,
            tokens={"KXFED": "fed-dec-above-4", "KXNONE": "no-such-token"},
            fetch=fetch,
            executor=executor,
        )
        harness.run_for(0)
    [update] = recorder.proxy().messages().get()
    assert update.ticker == "KXFED"
    assert update.bid is not None and update.ask is not None and D(0) < update.bid < update.ask < D(1)


def test_spot_client_reads_the_simulated_book_ticker_stream(harness, recorder, config, simulator):
    url = spot_stream_url(f"ws://{simulator.host}:{simulator.port}", "BTCUSDT")
    actor = SpotFeedActor.start(**harness.wiring, config=config.feeds, symbol="BTCUSDT", url=url)
    assert recorder.proxy().arrived.get().wait(10), "no spot frame from the simulator"
    update = recorder.proxy().messages().get()[0]
    assert update.symbol == "BTCUSDT" and update.price > 0
    actor.stop()


def test_poller_asks_the_simulated_venue_in_process_for_replays(harness, recorder, config):
    scenario = pytest.importorskip("simex._scenario")
    reference = pytest.importorskip("simex._reference")

    def answers_at(now_ns):
        _exchange, run = scenario.build_scenario_exchange("default", seed=3, now_ns=lambda: now_ns)
        fetch = InProcessReferenceFetcher(reference.ReferenceFeeds(run).handle_rest)
        return fetch("fed-dec-above-4"), fetch("no-such-token")

    assert answers_at(T0) == answers_at(T0)  # in process and seeded: replays repeat
    (status, body), (missing, _) = answers_at(T0)
    assert (status, missing) == (200, 404)
    _exchange, run = scenario.build_scenario_exchange("default", seed=3, now_ns=harness.clock.now_ns)
    ReferencePollerActor.start(
        **harness.wiring,
        config=config.feeds,
        tokens={"KXFED": "fed-dec-above-4"},
        fetch=InProcessReferenceFetcher(reference.ReferenceFeeds(run).handle_rest),
    )
    harness.run_for(0)
    [update] = recorder.proxy().messages().get()
    assert update.ticker == "KXFED" and update.bid < update.ask
