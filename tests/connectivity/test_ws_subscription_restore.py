"""Subscriptions the server ends, or that go silent, are restored; "healthy" means data flows.

WsCore as a specification, as in test_ws_core.py: plain calls in, effects out.

The health rule: the feed is healthy while it is connected and no subscription is down. A
subscription is down from the moment the server ends it (an error frame carrying its sid,
whatever the code) or it is found silent, until the server confirms it again. Silent means:
a market the subscription covers is known to trade (another channel, our own fill or our
own order says so), and the subscription has carried no frame for that market within the
silence window around that moment.
"""

import pytest

from actors.ws import WsCore, WsResubscribeDue, WsSilenceCheckDue
from kernel.effects import ArmTimer
from messages import BookUntrusted, FeedHealthChanged

from .test_ws_core import MARKET, PRIVATE, S, Feed, armed, commands, published
from .test_ws_decoder import DELTA, FILL, SNAPSHOT, TICKER, TRADE

SILENCE_S = 10


def fully_subscribed(*tickers: str) -> Feed:
    """Connected, every channel confirmed (private sids 1-4, book 5, ticker 6, trade 7),
    and a minute gone by since: a fresh confirmation no longer answers for a channel."""
    feed = Feed()
    feed.core = WsCore(reconnect_base_ns=S // 2, reconnect_cap_ns=5 * S, liveness_ns=30 * S, silence_ns=SILENCE_S * S)
    effects = feed.connect()
    for sid, channel in enumerate(PRIVATE, start=1):
        feed.subscribed(effects, channel, sid)
    effects = feed.want(*(tickers or (MARKET,)))
    for sid, channel in enumerate(("orderbook_delta", "ticker", "trade"), start=5):
        feed.subscribed(effects, channel, sid)
    feed.now += 60 * S
    return feed


def ended(feed: Feed, sid: int, code: int) -> list:
    return feed.frame({"id": 0, "sid": sid, "type": "error", "msg": {"code": code, "msg": "ended"}})


def ticker_frame(bid: str = "0.450", ask: str = "0.530", volume: str = "33896.00") -> dict:
    return {**TICKER, "sid": 6, "msg": {**TICKER["msg"], "yes_bid_dollars": bid, "yes_ask_dollars": ask, "volume_fp": volume}}


def trade_frame() -> dict:
    return {**TRADE, "sid": 7, "msg": {**TRADE["msg"], "market_ticker": MARKET}}


def book_frame(seq: int) -> dict:
    return {**DELTA, "sid": 5, "seq": seq}


def resubscribes(effects: list) -> list[list[str]]:
    return [c["params"]["channels"] for c in commands(effects, "subscribe")]


def health(effects: list) -> list[tuple[bool, str]]:
    return [(h.healthy, h.reason) for h in published(effects, FeedHealthChanged)]


def fire_silence_check(feed: Feed) -> list:
    """Move the clock to the armed silence check and run it (what the shell does)."""
    deadline = feed.core.silence_check_deadline()
    assert deadline is not None, "no silence check armed"
    feed.now = deadline
    return feed.core.on_silence_check(feed.now)


# -- ended by the server --------------------------------------------------------------
@pytest.mark.parametrize("code", [10, 17, 25, 99])
def test_a_market_subscription_the_server_ends_is_restored_whatever_the_code(code):
    feed = fully_subscribed()
    effects = ended(feed, 6, code)
    assert resubscribes(effects) == [["ticker"]]
    assert feed.core.status()["server_errors"] == {str(code): 1}


@pytest.mark.parametrize("code", [10, 17, 25])
def test_a_private_subscription_the_server_ends_is_restored_whatever_the_code(code):
    feed = fully_subscribed()
    effects = ended(feed, 1, code)
    assert resubscribes(effects) == [["fill"]]


def test_an_error_without_a_sid_ends_nothing():
    feed = fully_subscribed()
    effects = feed.frame({"id": 41, "type": "error", "msg": {"code": 17, "msg": "internal error"}})
    assert commands(effects) == [] and health(effects) == []
    assert feed.core.status()["subscriptions"]["ticker"]["sid"] == 6


def test_an_ended_subscription_makes_the_feed_unhealthy_until_the_server_confirms_it_again():
    feed = fully_subscribed()
    effects = ended(feed, 6, 17)
    [(healthy, reason)] = health(effects)
    assert not healthy and "ticker" in reason and "17" in reason
    status = feed.core.status()
    assert status["connected"] and not status["ws_healthy"]
    assert list(status["subscriptions_down"]) == ["ticker"]
    effects = feed.subscribed(effects, "ticker", 8)
    assert health(effects) == [(True, "subscriptions restored")]
    assert feed.core.status()["subscriptions_down"] == {}


def test_an_ended_book_subscription_untrusts_its_books_until_the_new_snapshot():
    feed = fully_subscribed(MARKET, "KXOTHER-1")
    effects = ended(feed, 5, 17)
    assert [m.ticker for m in published(effects, BookUntrusted)] == [MARKET, "KXOTHER-1"]
    assert resubscribes(effects) == [["orderbook_delta"]]


def test_every_subscription_ended_at_once_is_restored():
    feed = fully_subscribed()
    effects = []
    for sid in range(1, 8):
        effects += ended(feed, sid, 17)
    assert sorted(sum(resubscribes(effects), [])) == sorted([*PRIVATE, "orderbook_delta", "ticker", "trade"])


def test_a_subscription_ended_again_and_again_is_restored_with_backoff():
    feed = fully_subscribed()
    delays = []
    for attempt in range(6):
        effects = ended(feed, 6 + 10 * attempt, 17) if attempt else ended(feed, 6, 17)
        timers = armed(effects, "resubscribe:ticker")
        if not timers:
            assert resubscribes(effects) == [["ticker"]]
            delays.append(0.0)
        else:
            (timer,) = timers
            assert resubscribes(effects) == []  # held until the timer
            assert timer.message == WsResubscribeDue(channel="ticker", ts=timer.deadline_ns)
            delays.append((timer.deadline_ns - feed.now) / S)
            feed.now = timer.deadline_ns
            effects = feed.core.on_resubscribe_due("ticker", feed.now)
            assert resubscribes(effects) == [["ticker"]]
        feed.subscribed(effects, "ticker", 6 + 10 * (attempt + 1))
    assert delays == [0.0, 0.5, 1.0, 2.0, 4.0, 5.0]


def test_data_on_a_restored_subscription_restarts_its_backoff():
    feed = fully_subscribed()
    effects = ended(feed, 6, 17)
    feed.subscribed(effects, "ticker", 16)
    effects = ended(feed, 16, 17)
    assert armed(effects, "resubscribe:ticker")  # ended again before any data: back off
    feed.now += S
    effects = feed.core.on_resubscribe_due("ticker", feed.now)
    feed.subscribed(effects, "ticker", 26)
    feed.frame({**ticker_frame(), "sid": 26})
    effects = ended(feed, 26, 17)
    assert resubscribes(effects) == [["ticker"]]  # it had delivered data: at once again


def test_a_held_subscription_is_not_restored_early_by_new_markets():
    feed = fully_subscribed()
    feed.subscribed(ended(feed, 6, 17), "ticker", 16)
    assert armed(ended(feed, 16, 17), "resubscribe:ticker")
    effects = feed.want("KXNEW-1")
    assert "ticker" not in sum(resubscribes(effects), [])
    effects = feed.core.on_resubscribe_due("ticker", feed.now + S)
    assert resubscribes(effects) == [["ticker"]]
    assert commands(effects)[0]["params"]["market_tickers"] == [MARKET, "KXNEW-1"]


def test_a_new_connection_restores_a_held_subscription_at_once():
    feed = fully_subscribed()
    feed.subscribed(ended(feed, 6, 17), "ticker", 16)
    assert armed(ended(feed, 16, 17), "resubscribe:ticker")
    feed.lose()
    effects = feed.connect()
    assert ["ticker"] in resubscribes(effects)
    assert feed.core.status()["subscriptions_down"] == {}


# -- silent while its markets trade ---------------------------------------------------
def test_a_book_subscription_silent_while_the_ticker_shows_the_touch_moving_is_restored():
    feed = fully_subscribed()
    feed.frame({**SNAPSHOT, "sid": 5, "seq": 1})
    feed.now += 20 * S
    feed.frame(ticker_frame(bid="0.450"))
    feed.now += S
    effects = feed.frame(ticker_frame(bid="0.460"))  # the touch moved: the book must have changed
    (check,) = armed(effects, "silence")
    assert check.deadline_ns == feed.now + SILENCE_S * S
    assert check.message == WsSilenceCheckDue(ts=check.deadline_ns)
    effects = fire_silence_check(feed)
    unsubscribe, subscribe = commands(effects)
    assert unsubscribe["params"] == {"sids": [5]}
    assert subscribe["params"]["channels"] == ["orderbook_delta"]
    assert [m.ticker for m in published(effects, BookUntrusted)] == [MARKET]
    [(healthy, reason)] = health(effects)
    assert not healthy and "orderbook_delta" in reason and "silent" in reason
    assert feed.core.status()["silent_subscriptions"] == 1


def test_a_ticker_subscription_silent_while_trades_print_is_restored():
    feed = fully_subscribed()
    feed.frame(trade_frame())
    effects = fire_silence_check(feed)
    assert resubscribes(effects) == [["ticker"]]
    assert commands(effects)[0]["params"] == {"sids": [6]}


def test_a_trade_subscription_silent_while_the_ticker_volume_grows_is_restored():
    feed = fully_subscribed()
    feed.frame(ticker_frame(volume="100.00"))
    feed.now += S
    feed.frame(ticker_frame(volume="125.00"))
    effects = fire_silence_check(feed)
    assert resubscribes(effects) == [["trade"]]


def test_our_fill_expects_the_public_trade_ticker_and_book_channels():
    feed = fully_subscribed()
    feed.frame({**FILL, "sid": 1, "msg": {**FILL["msg"], "market_ticker": MARKET}})
    effects = fire_silence_check(feed)
    assert sorted(sum(resubscribes(effects), [])) == ["orderbook_delta", "ticker", "trade"]


def test_our_order_acted_on_at_rest_expects_user_orders_and_the_book():
    feed = fully_subscribed()
    assert armed(feed.core.on_order_action(MARKET, changes_book=True, now_ns=feed.now), "silence")
    effects = fire_silence_check(feed)
    assert sorted(sum(resubscribes(effects), [])) == ["orderbook_delta", "user_orders"]


def test_an_order_that_never_touched_the_book_expects_only_user_orders():
    feed = fully_subscribed()
    feed.core.on_order_action(MARKET, changes_book=False, now_ns=feed.now)
    effects = fire_silence_check(feed)
    assert resubscribes(effects) == [["user_orders"]]


def test_frames_that_answer_within_the_window_keep_every_subscription():
    feed = fully_subscribed()
    feed.frame({**SNAPSHOT, "sid": 5, "seq": 1})
    feed.frame(ticker_frame(volume="100.00"))
    feed.now += S
    feed.frame(book_frame(2))  # the book moved first,
    feed.frame(trade_frame())  # a trade printed,
    feed.now += 2 * S
    feed.frame(ticker_frame(bid="0.460", volume="136.00"))  # and the ticker followed
    assert feed.core.silence_check_deadline() is None or fire_silence_check(feed) == []
    assert feed.core.status()["ws_healthy"] and feed.core.status()["silent_subscriptions"] == 0


def test_a_frame_shortly_before_the_evidence_counts_as_an_answer():
    feed = fully_subscribed()
    feed.frame(ticker_frame())
    feed.now += 3 * S
    assert armed(feed.frame(trade_frame()), "silence") == []  # the ticker spoke 3 s ago


def test_quiet_markets_never_make_a_subscription_silent():
    feed = fully_subscribed()
    feed.now += 3600 * S
    assert feed.core.silence_check_deadline() is None
    assert [type(e) for e in feed.core.on_liveness_check(feed.now, last_heartbeat_ns=feed.now - S)] == [ArmTimer]
    assert feed.core.status()["ws_healthy"]


def test_a_market_the_subscription_does_not_cover_expects_nothing():
    feed = fully_subscribed()
    feed.core.on_order_action("KXNOT-TRACKED", changes_book=True, now_ns=feed.now)
    effects = fire_silence_check(feed)
    assert resubscribes(effects) == [["user_orders"]]  # private channels cover every market


def test_a_restored_subscription_is_not_found_silent_again_for_evidence_before_it():
    feed = fully_subscribed()
    feed.frame(trade_frame())
    effects = fire_silence_check(feed)
    feed.subscribed(effects, "ticker", 16)
    feed.frame(trade_frame())  # the new subscription was confirmed just now: an answer
    assert feed.core.silence_check_deadline() is None
    assert feed.core.status()["ws_healthy"]


def test_a_lost_connection_drops_every_expectation():
    feed = fully_subscribed()
    feed.frame(trade_frame())
    feed.lose()
    assert feed.core.silence_check_deadline() is None
    assert feed.core.on_silence_check(feed.now + 60 * S) == []

