"""WsCore as a specification: plain calls in, effects out; no actor, thread or socket."""

import json

from actors.ws import (
    HEARTBEAT_TIMER,
    RECONNECT_TIMER,
    CloseSocket,
    Connect,
    RESUBSCRIBE_TIMER,
    SILENCE_TIMER,
    SendCommand,
    WsCore,
    WsReconnectDue,
    WsResubscribeDue,
    WsSilenceCheckDue,
)
from kernel.clock import NS_PER_SECOND
from kernel.effects import ArmTimer, CancelTimer, Publish
from messages import (
    BookDelta,
    BookSnapshot,
    BookUntrusted,
    FeedConnected,
    FeedDisconnected,
    FeedHealthChanged,
    FrameReceived,
    HeartbeatCheckDue,
    SubscribeMarkets,
    TickerUpdated,
)

from .test_ws_decoder import DELTA, SNAPSHOT, TICKER

MARKET = "FED-23DEC-T3.00"
OTHER = "KXOTHER-1"
START = 1_790_000_000_000_000_000
PRIVATE = ["fill", "user_orders", "market_positions", "market_lifecycle_v2"]
S = NS_PER_SECOND


class Feed:
    """Drives a WsCore the way the shell does (every message through `handle`), on a
    hand-moved clock."""

    def __init__(self, liveness_s: float = 30.0) -> None:
        self.now = START
        self.core = WsCore(reconnect_base_ns=S // 2, reconnect_cap_ns=5 * S, liveness_ns=int(liveness_s * S))

    def connect(self) -> list:
        return self.core.handle(FeedConnected(ts_recv=self.now), self.now)

    def lose(self, reason: str = "closed: 1006") -> list:
        return self.core.handle(FeedDisconnected(reason=reason, ts_recv=self.now), self.now)

    def want(self, *tickers: str, remove: bool = False, snapshot: bool = False) -> list:
        return self.core.handle(SubscribeMarkets(tickers=tickers, ts=self.now, remove=remove, snapshot=snapshot), self.now)

    def frame(self, payload) -> list:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return self.core.handle(FrameReceived(text=text, ts_recv=self.now), self.now)

    def subscribed(self, effects: list, channel: str, sid: int) -> list:
        (command,) = [c for c in commands(effects, "subscribe") if channel in c["params"]["channels"]]
        return self.frame({"id": command["id"], "type": "subscribed", "msg": {"channel": channel, "sid": sid}})


def commands(effects: list, cmd: str | None = None) -> list[dict]:
    return [json.loads(e.text) for e in effects if isinstance(e, SendCommand) and cmd in (None, e.cmd)]


def published(effects: list, kind: type) -> list:
    return [e.message for e in effects if isinstance(e, Publish) and isinstance(e.message, kind)]


def armed(effects: list, key: str) -> list[ArmTimer]:
    return [e for e in effects if isinstance(e, ArmTimer) and e.key == key]


def connected_with_books(*tickers: str) -> tuple[Feed, list]:
    feed = Feed()
    feed.connect()
    effects = feed.want(*tickers)
    feed.subscribed(effects, "orderbook_delta", 2)
    return feed, effects


# -- connecting -----------------------------------------------------------------------
def test_starting_opens_the_socket():
    assert Feed().core.start(START) == [Connect()]


def test_connecting_reports_healthy_subscribes_private_channels_and_arms_the_liveness_check():
    feed = Feed()
    effects = feed.connect()
    (health,) = published(effects, FeedHealthChanged)
    assert health.healthy and health.reason == "connected"
    assert [c["params"] for c in commands(effects)] == [{"channels": PRIVATE}]
    (check,) = armed(effects, HEARTBEAT_TIMER)
    assert check.deadline_ns == START + 15 * S and check.message == HeartbeatCheckDue(ts=START + 15 * S)
    assert feed.core.status()["ws_healthy"]


def test_a_second_connected_report_changes_nothing():
    feed = Feed()
    feed.connect()
    assert feed.connect() == []


# -- subscriptions --------------------------------------------------------------------
def test_first_markets_subscribe_every_market_channel_and_later_ones_are_added_by_sid():
    feed = Feed()
    feed.connect()
    effects = feed.want(MARKET)
    assert [c["params"] for c in commands(effects, "subscribe")] == [
        {"channels": ["orderbook_delta"], "market_tickers": [MARKET], "use_yes_price": False},
        {"channels": ["ticker"], "market_tickers": [MARKET]},
        {"channels": ["trade"], "market_tickers": [MARKET]},
    ]
    assert feed.want(OTHER) == []  # no sid yet: the confirmation applies it
    confirmed = feed.subscribed(effects, "orderbook_delta", 2)
    assert [c["params"] for c in commands(confirmed)] == [{"sid": 2, "market_tickers": [OTHER], "action": "add_markets"}]
    status = feed.core.status()
    assert status["tracked_markets"] == 2
    assert status["subscriptions"]["orderbook_delta"] == {"sid": 2, "markets": 2, "pending": False}
    assert status["subscriptions"]["ticker"] == {"sid": None, "markets": 0, "pending": True}


def test_removing_markets_deletes_them_and_removing_the_last_one_unsubscribes():
    feed, _ = connected_with_books(MARKET, OTHER)
    effects = feed.want(MARKET, remove=True)
    assert [c["params"] for c in commands(effects)] == [{"sid": 2, "market_tickers": [MARKET], "action": "delete_markets"}]
    effects = feed.want(OTHER, remove=True)
    assert [c["params"] for c in commands(effects)] == [{"sids": [2]}]
    assert feed.core.status()["subscriptions"]["orderbook_delta"] == {"sid": None, "markets": 0, "pending": False}


def test_markets_wanted_before_the_connection_are_subscribed_when_it_opens():
    feed = Feed()
    assert feed.want(MARKET) == []
    effects = feed.connect()
    assert [c["params"]["channels"] for c in commands(effects, "subscribe")] == [PRIVATE, ["orderbook_delta"], ["ticker"], ["trade"]]


def test_a_new_listener_on_a_subscribed_market_gets_a_fresh_snapshot():
    feed, _ = connected_with_books(MARKET)
    assert feed.want(MARKET) == []  # nothing new: no request
    effects = feed.want(MARKET, "KXNEW-1", snapshot=True)
    assert [c["params"] for c in commands(effects)] == [
        {"sid": 2, "market_tickers": ["KXNEW-1"], "action": "add_markets"},
        {"sid": 2, "market_tickers": [MARKET], "action": "get_snapshot"},
    ]


def test_a_server_ended_market_subscription_is_subscribed_again():
    feed = Feed()
    feed.connect()
    effects = feed.want(MARKET)
    feed.subscribed(effects, "ticker", 11)
    effects = feed.frame({"id": 0, "sid": 11, "type": "error", "msg": {"code": 25, "msg": "subscription buffer overflow"}})
    assert [c["params"] for c in commands(effects)] == [{"channels": ["ticker"], "market_tickers": [MARKET]}]
    assert feed.core.status()["server_errors"] == {"25": 1}


def test_a_server_ended_private_subscription_is_subscribed_again():
    feed = Feed()
    effects = feed.connect()
    for sid, channel in enumerate(PRIVATE, start=1):
        feed.subscribed(effects, channel, sid)
    effects = feed.frame({"id": 0, "sid": 2, "type": "error", "msg": {"code": 10, "msg": "channel error"}})
    assert [c["params"] for c in commands(effects)] == [{"channels": ["user_orders"]}]
    assert "user_orders" not in feed.core.status()["subscriptions"]


def test_an_error_about_a_command_leaves_the_subscriptions_alone():
    feed = Feed()
    feed.connect()
    feed.subscribed(feed.want(MARKET), "ticker", 11)
    effects = feed.frame({"id": 9, "type": "error", "msg": {"code": 17, "msg": "internal error"}})  # no sid
    assert commands(effects) == []
    assert feed.core.status()["subscriptions"]["ticker"]["sid"] == 11


def test_a_refused_market_subscribe_is_retried_at_the_next_reconcile():
    feed = Feed()
    feed.connect()
    effects = feed.want(MARKET)
    (trade,) = [c for c in commands(effects) if c["params"]["channels"] == ["trade"]]
    assert feed.frame({"id": trade["id"], "type": "error", "msg": {"code": 8, "msg": "unknown channel"}}) == []
    effects = feed.want(OTHER)
    assert [c["params"] for c in commands(effects)] == [{"channels": ["trade"], "market_tickers": [MARKET, OTHER]}]


# -- reconnecting ---------------------------------------------------------------------
def test_a_lost_connection_reports_unhealthy_untrusts_every_book_and_arms_a_reconnect():
    feed, _ = connected_with_books(MARKET, OTHER)
    effects = feed.lose("closed: 1006")
    assert CancelTimer(HEARTBEAT_TIMER) in effects
    (health,) = published(effects, FeedHealthChanged)
    assert not health.healthy and "1006" in health.reason
    assert [m.ticker for m in published(effects, BookUntrusted)] == [MARKET, OTHER]
    (reconnect,) = armed(effects, RECONNECT_TIMER)
    assert reconnect.deadline_ns == START + S // 2 and reconnect.message == WsReconnectDue(ts=START + S // 2)
    assert not feed.core.status()["connected"]


def test_error_and_close_of_one_loss_arm_one_reconnect():
    feed = Feed()
    feed.connect()
    assert armed(feed.lose("error: reset"), RECONNECT_TIMER)
    assert armed(feed.lose("closed"), RECONNECT_TIMER) == []


def test_reconnect_backoff_doubles_from_half_a_second_up_to_the_cap():
    feed = Feed()
    effects = feed.core.connect_failed("connect failed: refused", feed.now)
    delays = []
    for _ in range(7):
        (timer,) = armed(effects, RECONNECT_TIMER)
        delays.append((timer.deadline_ns - feed.now) / S)
        feed.now = timer.deadline_ns
        assert feed.core.on_reconnect_due(feed.now) == [Connect()]
        effects = feed.core.connect_failed("connect failed: refused", feed.now)
    assert delays == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert feed.core.status()["reconnects"] == 7


def test_a_successful_connection_restarts_the_backoff():
    feed = Feed()
    feed.core.connect_failed("refused", feed.now)
    feed.core.on_reconnect_due(feed.now)
    feed.core.connect_failed("refused", feed.now)  # the next wait would be 2 s
    feed.core.on_reconnect_due(feed.now)
    feed.connect()
    (timer,) = armed(feed.lose(), RECONNECT_TIMER)
    assert timer.deadline_ns - feed.now == S // 2


def test_a_reconnect_due_while_connected_does_nothing():
    feed = Feed()
    feed.core.connect_failed("refused", feed.now)
    feed.connect()
    assert feed.core.on_reconnect_due(feed.now) == []
    assert feed.core.status()["reconnects"] == 0


def test_reconnect_restores_every_subscription_and_fresh_snapshots_rebuild_the_books():
    feed, _ = connected_with_books(MARKET, OTHER)
    feed.frame(SNAPSHOT)
    feed.lose()
    assert feed.core.on_reconnect_due(feed.now) == [Connect()]
    effects = feed.connect()
    assert [c["params"] for c in commands(effects)] == [
        {"channels": PRIVATE},
        {"channels": ["orderbook_delta"], "market_tickers": [MARKET, OTHER], "use_yes_price": False},
        {"channels": ["ticker"], "market_tickers": [MARKET, OTHER]},
        {"channels": ["trade"], "market_tickers": [MARKET, OTHER]},
    ]
    assert [h.healthy for h in published(effects, FeedHealthChanged)] == [True]
    feed.subscribed(effects, "orderbook_delta", 7)
    # the new connection numbers sids and seqs afresh: no false gap, and the book restarts
    snapshot = feed.frame({**SNAPSHOT, "sid": 7, "seq": 1})
    delta = feed.frame({**DELTA, "sid": 7, "seq": 2})
    assert len(published(snapshot, BookSnapshot)) == 1 and len(published(delta, BookDelta)) == 1
    assert feed.core.status()["gaps"] == 0


# -- sequence -------------------------------------------------------------------------
def test_a_sequence_gap_untrusts_the_market_and_asks_one_snapshot():
    feed, _ = connected_with_books(MARKET)
    feed.frame(SNAPSHOT)  # seq 2
    effects = feed.frame({**DELTA, "seq": 5})  # 3 and 4 lost
    assert [m.ticker for m in published(effects, BookUntrusted)] == [MARKET]
    assert [c["params"] for c in commands(effects)] == [{"sid": 2, "market_tickers": [MARKET], "action": "get_snapshot"}]
    assert published(effects, BookDelta) == []  # the gapped delta is not applied
    assert published(feed.frame({**DELTA, "seq": 6}), BookDelta) == []  # still untrusted: no second request
    assert published(feed.frame({**SNAPSHOT, "seq": 7}), BookSnapshot)
    assert [d.seq for d in published(feed.frame({**DELTA, "seq": 8}), BookDelta)] == [8]
    assert feed.core.status()["gaps"] == 1


# -- liveness -------------------------------------------------------------------------
def test_silence_without_pings_past_the_liveness_timeout_closes_and_reconnects():
    feed = Feed()
    feed.connect()
    feed.now += 31 * S
    effects = feed.core.on_liveness_check(feed.now, last_heartbeat_ns=START)
    assert effects[0] == CloseSocket()
    assert not published(effects, FeedHealthChanged)[0].healthy
    assert armed(effects, RECONNECT_TIMER)


def test_pings_keep_a_quiet_market_connected():
    feed = Feed()
    feed.connect()
    feed.now += 90 * S
    effects = feed.core.on_liveness_check(feed.now, last_heartbeat_ns=feed.now - 10 * S)
    assert [type(e) for e in effects] == [ArmTimer]
    assert effects[0].deadline_ns == feed.now + 15 * S


def test_frames_count_as_life_too():
    feed = Feed()
    feed.connect()
    feed.now += 29 * S
    feed.frame(TICKER)
    feed.now += 20 * S
    assert [type(e) for e in feed.core.on_liveness_check(feed.now, last_heartbeat_ns=START)] == [ArmTimer]


def test_each_timer_comes_back_under_its_own_key():
    core = Feed().core
    assert core.timer_key(WsReconnectDue(ts=START)) == RECONNECT_TIMER
    assert core.timer_key(HeartbeatCheckDue(ts=START)) == HEARTBEAT_TIMER
    assert core.timer_key(WsSilenceCheckDue(ts=START)) == SILENCE_TIMER
    assert core.timer_key(WsResubscribeDue(channel="ticker", ts=START)) == RESUBSCRIBE_TIMER + "ticker"


def test_a_liveness_check_due_judges_the_socket_by_its_last_heartbeat():
    feed = Feed(liveness_s=10.0)
    feed.connect()
    feed.now += 11 * S
    assert [type(e) for e in feed.core.on_due(HeartbeatCheckDue(ts=START), feed.now, feed.now - S)] == [ArmTimer]
    effects = feed.core.on_due(HeartbeatCheckDue(ts=START), feed.now, START)  # no ping for 11 s
    assert effects[0] == CloseSocket() and armed(effects, RECONNECT_TIMER)


def test_a_transport_without_keepalive_is_never_timed_out():
    feed = Feed()
    feed.connect()
    feed.now += 3600 * S
    assert [type(e) for e in feed.core.on_liveness_check(feed.now, last_heartbeat_ns=None)] == [ArmTimer]


def test_a_handshake_that_never_completes_is_abandoned_and_retried():
    feed = Feed(liveness_s=10.0)
    assert armed(feed.core.connect_pending(feed.now), HEARTBEAT_TIMER)
    feed.now += 5 * S
    assert [type(e) for e in feed.core.on_liveness_check(feed.now, None)] == [ArmTimer]  # not yet
    feed.now += 6 * S
    effects = feed.core.on_liveness_check(feed.now, None)
    assert effects[0] == CloseSocket() and armed(effects, RECONNECT_TIMER)
    assert published(effects, FeedHealthChanged) == []  # never was healthy: nothing to report


# -- frames and health ----------------------------------------------------------------
def test_a_malformed_frame_is_counted_and_never_fatal():
    feed = Feed()
    feed.connect()
    assert feed.frame("{not json") == []
    assert feed.frame({"type": "orderbook_delta", "sid": 2, "seq": 1, "msg": {"market_ticker": MARKET}}) == []
    assert feed.frame({"type": "brand_new_channel", "msg": {}}) == []
    assert published(feed.frame(TICKER), TickerUpdated)
    status = feed.core.status()
    assert (status["malformed"], status["unknown_types"], status["frames"]) == (2, {"brand_new_channel": 1}, 4)
    assert status["connected"] and status["ws_healthy"]


def test_status_reports_health_and_the_time_of_the_last_message():
    feed = Feed()
    assert (feed.core.status()["ws_healthy"], feed.core.status()["last_message_ns"]) == (False, None)
    feed.connect()
    feed.now += 3 * S
    feed.frame(TICKER)
    assert (feed.core.status()["ws_healthy"], feed.core.status()["last_message_ns"]) == (True, START + 3 * S)
    feed.lose()
    assert feed.core.status()["ws_healthy"] is False


def test_a_removed_markets_last_ticker_is_forgotten():
    # memory over a day of paper: every market ever watched would otherwise keep its touch
    feed = Feed()
    feed.connect()
    market = TICKER["msg"]["market_ticker"]
    effects = feed.want(market)
    feed.subscribed(effects, "ticker", 11)
    feed.frame(TICKER)
    assert market in feed.core._touch
    feed.want(market, remove=True)
    assert market not in feed.core._touch
