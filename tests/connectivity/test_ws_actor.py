import json

import pytest

from actors.ws import WsConnectionActor
from messages import (
    BookDelta,
    BookSnapshot,
    BookUntrusted,
    FeedDisconnected,
    FeedHealthChanged,
    FrameReceived,
    SubscribeMarkets,
    TickerUpdated,
)
from kernel.bus import post
from kernel.clock import NS_PER_SECOND

from .fakes import FakeConnector, Recorder
from .test_ws_decoder import DELTA, SNAPSHOT, TICKER

MARKET = "FED-23DEC-T3.00"


@pytest.fixture
def feed(clock, bus, tracker):
    connector = FakeConnector()
    recorder = Recorder.start(clock=clock, bus=bus, tracker=tracker)
    for kind in (BookSnapshot, BookDelta, BookUntrusted, FeedHealthChanged, TickerUpdated):
        bus.subscribe(recorder, kind)
    ws = WsConnectionActor.start(clock=clock, bus=bus, tracker=tracker, connector_factory=lambda ref: connector)
    assert tracker.wait_quiet(5)
    return ws, connector, recorder


def tell(ws, msg, tracker):
    post(ws, msg, tracker)
    assert tracker.wait_quiet(5)


def frame(ws, payload, clock, tracker):
    tell(ws, FrameReceived(text=payload if isinstance(payload, str) else json.dumps(payload), ts_recv=clock.now_ns()), tracker)


def subscribed(ws, connector, clock, tracker, channel, sid):
    (command,) = [c for c in connector.commands("subscribe") if c["params"]["channels"] == [channel]][-1:]
    frame(ws, {"id": command["id"], "type": "subscribed", "msg": {"channel": channel, "sid": sid}}, clock, tracker)


def received(recorder, kind=None):
    return [m for m in recorder.proxy().received().get() if kind is None or isinstance(m, kind)]


def test_connecting_subscribes_private_channels_and_reports_healthy(feed):
    ws, connector, recorder = feed
    (private,) = connector.commands("subscribe")
    assert private["params"] == {"channels": ["fill", "user_orders", "market_positions", "market_lifecycle_v2"]}
    (health,) = received(recorder, FeedHealthChanged)
    assert health.healthy
    assert ws.proxy().get_status().get()["ws_healthy"]


def test_first_markets_subscribe_and_later_ones_update_the_subscription_by_sid(feed, clock, tracker):
    ws, connector, _ = feed
    tell(ws, SubscribeMarkets(tickers=(MARKET,), ts=clock.now_ns()), tracker)
    market_subscribes = connector.commands("subscribe")[1:]
    assert [c["params"]["channels"] for c in market_subscribes] == [["orderbook_delta"], ["ticker"], ["trade"]]
    assert market_subscribes[0]["params"] == {"channels": ["orderbook_delta"], "market_tickers": [MARKET], "use_yes_price": False}
    tell(ws, SubscribeMarkets(tickers=("KXOTHER-1",), ts=clock.now_ns()), tracker)  # before any sid is known
    assert connector.commands("update_subscription") == []
    subscribed(ws, connector, clock, tracker, "orderbook_delta", 2)
    (add,) = connector.commands("update_subscription")
    assert add["params"] == {"sid": 2, "market_tickers": ["KXOTHER-1"], "action": "add_markets"}
    tell(ws, SubscribeMarkets(tickers=(MARKET,), ts=clock.now_ns(), remove=True), tracker)
    assert connector.commands("update_subscription")[-1]["params"] == {"sid": 2, "market_tickers": [MARKET], "action": "delete_markets"}


def test_a_new_listener_on_a_subscribed_market_gets_a_fresh_snapshot(feed, clock, tracker):
    ws, connector, _ = feed
    tell(ws, SubscribeMarkets(tickers=(MARKET,), ts=clock.now_ns()), tracker)
    subscribed(ws, connector, clock, tracker, "orderbook_delta", 2)
    tell(ws, SubscribeMarkets(tickers=(MARKET,), ts=clock.now_ns()), tracker)
    assert connector.commands("update_subscription") == []  # nothing new: no request

    tell(ws, SubscribeMarkets(tickers=(MARKET, "KXNEW-1"), ts=clock.now_ns(), snapshot=True), tracker)

    add, refresh = connector.commands("update_subscription")
    assert add["params"] == {"sid": 2, "market_tickers": ["KXNEW-1"], "action": "add_markets"}
    assert refresh["params"] == {"sid": 2, "market_tickers": [MARKET], "action": "get_snapshot"}


def test_decoded_frames_are_published_on_the_bus(feed, clock, tracker):
    ws, _, recorder = feed
    frame(ws, SNAPSHOT, clock, tracker)
    frame(ws, DELTA, clock, tracker)
    frame(ws, TICKER, clock, tracker)
    kinds = [type(m) for m in received(recorder) if not isinstance(m, FeedHealthChanged)]
    assert kinds == [BookSnapshot, BookDelta, TickerUpdated]


def test_a_sequence_gap_untrusts_the_book_and_requests_a_fresh_snapshot(feed, clock, tracker):
    ws, connector, recorder = feed
    tell(ws, SubscribeMarkets(tickers=(MARKET,), ts=clock.now_ns()), tracker)
    subscribed(ws, connector, clock, tracker, "orderbook_delta", 2)
    frame(ws, SNAPSHOT, clock, tracker)  # seq 2
    frame(ws, {**DELTA, "seq": 5}, clock, tracker)  # 3 and 4 lost
    (untrusted,) = received(recorder, BookUntrusted)
    assert untrusted.ticker == MARKET
    assert connector.commands("update_subscription")[-1]["params"] == {"sid": 2, "market_tickers": [MARKET], "action": "get_snapshot"}
    assert received(recorder, BookDelta) == []  # the gapped delta is not applied
    frame(ws, {**SNAPSHOT, "seq": 6}, clock, tracker)
    frame(ws, {**DELTA, "seq": 7}, clock, tracker)
    assert len(received(recorder, BookSnapshot)) == 2 and [d.seq for d in received(recorder, BookDelta)] == [7]
    assert ws.proxy().get_status().get()["gaps"] == 1


def test_a_gap_seen_first_on_a_snapshot_untrusts_and_refreshes_the_other_markets_of_the_sid(feed, clock, tracker):
    ws, connector, recorder = feed
    other = "KXOTHER-1"
    tell(ws, SubscribeMarkets(tickers=(MARKET, other), ts=clock.now_ns()), tracker)
    subscribed(ws, connector, clock, tracker, "orderbook_delta", 2)
    frame(ws, {**SNAPSHOT, "seq": 1}, clock, tracker)
    frame(ws, {**SNAPSHOT, "seq": 2, "msg": {**SNAPSHOT["msg"], "market_ticker": other}}, clock, tracker)
    # seq 3, a delta for the other market, is lost; seq 4 is a snapshot of MARKET
    frame(ws, {**SNAPSHOT, "seq": 4}, clock, tracker)
    (untrusted,) = received(recorder, BookUntrusted)
    assert untrusted.ticker == other
    assert connector.commands("update_subscription")[-1]["params"] == {"sid": 2, "market_tickers": [other], "action": "get_snapshot"}
    assert [s.seq for s in received(recorder, BookSnapshot)] == [1, 2, 4]  # MARKET's own snapshot still applies
    frame(ws, {**DELTA, "seq": 5, "msg": {**DELTA["msg"], "market_ticker": other}}, clock, tracker)
    frame(ws, {**DELTA, "seq": 6}, clock, tracker)
    assert [(d.ticker, d.seq) for d in received(recorder, BookDelta)] == [(MARKET, 6)]  # the other book waits
    assert ws.proxy().get_status().get()["gaps"] == 1


def test_a_malformed_frame_is_counted_and_the_feed_keeps_working(feed, clock, tracker):
    ws, _, recorder = feed
    frame(ws, "{not json", clock, tracker)
    frame(ws, {"type": "orderbook_delta", "sid": 2, "seq": 1, "msg": {"market_ticker": MARKET}}, clock, tracker)
    frame(ws, {"type": "brand_new_channel", "msg": {}}, clock, tracker)
    frame(ws, TICKER, clock, tracker)
    status = ws.proxy().get_status().get()
    assert (status["malformed"], status["unknown_types"], status["frames"]) == (2, {"brand_new_channel": 1}, 4)
    assert len(received(recorder, TickerUpdated)) == 1


def test_disconnect_reports_unhealthy_and_reconnects_with_capped_exponential_backoff(feed, clock, tracker):
    ws, connector, recorder = feed
    tell(ws, SubscribeMarkets(tickers=(MARKET,), ts=clock.now_ns()), tracker)
    connector.fail_connects = 5
    tell(ws, FeedDisconnected(reason="closed: 1006", ts_recv=clock.now_ns()), tracker)
    health = received(recorder, FeedHealthChanged)[-1]
    assert not health.healthy and "1006" in health.reason
    assert [m.ticker for m in received(recorder, BookUntrusted)] == [MARKET]
    delays = []
    for _ in range(6):
        before = clock.now_ns()
        assert clock.fire_next_due(clock.next_deadline())
        assert tracker.wait_quiet(5)
        delays.append((clock.now_ns() - before) / NS_PER_SECOND)
    assert delays == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]  # the 6th attempt connects
    assert connector.connects == 7
    status = ws.proxy().get_status().get()
    assert status["connected"] and status["reconnects"] == 6


def test_reconnect_resubscribes_everything_with_fresh_state(feed, clock, tracker):
    ws, connector, recorder = feed
    tell(ws, SubscribeMarkets(tickers=(MARKET,), ts=clock.now_ns()), tracker)
    subscribed(ws, connector, clock, tracker, "orderbook_delta", 2)
    frame(ws, SNAPSHOT, clock, tracker)
    connector.sent.clear()
    tell(ws, FeedDisconnected(reason="closed", ts_recv=clock.now_ns()), tracker)
    assert clock.fire_next_due(clock.next_deadline())
    assert tracker.wait_quiet(5)
    channels = [c["params"]["channels"] for c in connector.commands("subscribe")]
    assert channels == [["fill", "user_orders", "market_positions", "market_lifecycle_v2"], ["orderbook_delta"], ["ticker"], ["trade"]]
    frame(ws, {**SNAPSHOT, "sid": 7, "seq": 1}, clock, tracker)  # new numbering: no false gap
    assert ws.proxy().get_status().get()["gaps"] == 0
    assert [h.healthy for h in received(recorder, FeedHealthChanged)] == [True, False, True]


def test_silence_without_pings_past_the_liveness_timeout_reconnects(feed, clock, tracker):
    ws, connector, recorder = feed
    connector.heartbeat_ns = clock.now_ns()
    assert clock.fire_next_due(clock.next_deadline())  # 15 s: still alive
    assert tracker.wait_quiet(5)
    assert connector.closes == 0
    assert clock.fire_next_due(clock.next_deadline())  # 30 s: not yet beyond the timeout
    assert tracker.wait_quiet(5)
    assert clock.fire_next_due(clock.next_deadline())  # 45 s of silence: dead
    assert tracker.wait_quiet(5)
    assert connector.closes == 1 and not received(recorder, FeedHealthChanged)[-1].healthy


def test_pings_keep_a_quiet_market_connected(feed, clock, tracker):
    ws, connector, _ = feed
    for _ in range(6):  # 90 s without a single frame, pings every 15 s
        connector.heartbeat_ns = clock.now_ns()
        assert clock.fire_next_due(clock.next_deadline())
        assert tracker.wait_quiet(5)
    assert connector.closes == 0 and ws.proxy().get_status().get()["connected"]


def test_terminal_channel_error_resubscribes_that_channel(feed, clock, tracker):
    ws, connector, _ = feed
    tell(ws, SubscribeMarkets(tickers=(MARKET,), ts=clock.now_ns()), tracker)
    subscribed(ws, connector, clock, tracker, "ticker", 11)
    frame(ws, {"id": 0, "sid": 11, "type": "error", "msg": {"code": 25, "msg": "subscription buffer overflow"}}, clock, tracker)
    assert connector.commands("subscribe")[-1]["params"] == {"channels": ["ticker"], "market_tickers": [MARKET]}


def test_a_handshake_that_never_completes_is_abandoned_and_retried(clock, bus, tracker):
    connector = FakeConnector()
    connector.opens_synchronously = False
    ws = WsConnectionActor.start(clock=clock, bus=bus, tracker=tracker, connector_factory=lambda ref: connector, liveness_timeout_s=10.0)
    assert tracker.wait_quiet(5)
    while connector.connects == 1:
        assert clock.fire_next_due(clock.next_deadline())
        assert tracker.wait_quiet(5)
    assert connector.closes == 1 and ws.proxy().get_status().get()["reconnects"] == 1
