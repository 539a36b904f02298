"""The WS actor shell carries out restores: our REST order actions read off the bus, the
silence check and the restore backoff armed as keyed timers on the (virtual) clock."""

from decimal import Decimal

from messages import FeedHealthChanged, OrderAccepted, OrderCancelled
from kernel.clock import NS_PER_SECOND

from .test_ws_actor import MARKET, feed, frame, received, subscribed, tell  # noqa: F401 (fixture)

PRIVATE = ("fill", "user_orders", "market_positions", "market_lifecycle_v2")


def confirm_private_channels(ws, connector, clock, tracker) -> None:
    (command,) = connector.commands("subscribe")
    for sid, channel in enumerate(PRIVATE, start=1):
        frame(ws, {"id": command["id"], "type": "subscribed", "msg": {"channel": channel, "sid": sid}}, clock, tracker)


def fire_timers_until(clock, tracker, t_ns: int) -> None:
    while clock.fire_next_due(t_ns):
        assert tracker.wait_quiet(5)
    clock.advance_to(t_ns)


def accepted(clock) -> OrderAccepted:
    return OrderAccepted(client_order_id="mmd-1", order_id="o-1", ticker=MARKET, side="bid", price=Decimal("0.40"),
                         count=Decimal("5"), filled=Decimal("0"), remaining=Decimal("5"), ts_event=clock.now_ns(),
                         ts_recv=clock.now_ns())


def test_an_order_placed_with_no_word_on_user_orders_restores_that_subscription(feed, clock, bus, tracker):
    ws, connector, recorder = feed
    confirm_private_channels(ws, connector, clock, tracker)
    fire_timers_until(clock, tracker, clock.now_ns() + 60 * NS_PER_SECOND)
    bus.publish(accepted(clock))
    assert tracker.wait_quiet(5)
    fire_timers_until(clock, tracker, clock.now_ns() + 11 * NS_PER_SECOND)
    assert connector.commands("unsubscribe")[-1]["params"] == {"sids": [2]}
    assert connector.commands("subscribe")[-1]["params"] == {"channels": ["user_orders"]}
    assert [h.healthy for h in received(recorder, FeedHealthChanged)] == [True, False]
    assert ws.proxy().get_status().get()["silent_subscriptions"] == 1


def test_an_order_update_within_the_window_keeps_the_subscription(feed, clock, bus, tracker):
    ws, connector, _ = feed
    confirm_private_channels(ws, connector, clock, tracker)
    fire_timers_until(clock, tracker, clock.now_ns() + 60 * NS_PER_SECOND)
    bus.publish(OrderCancelled(order_id="o-1", client_order_id="mmd-1", ticker=MARKET, reduced_by=Decimal("5"),
                               reason="requote", ts_event=clock.now_ns(), ts_recv=clock.now_ns()))
    assert tracker.wait_quiet(5)
    clock.advance_to(clock.now_ns() + 2 * NS_PER_SECOND)
    frame(ws, {"type": "user_order", "sid": 2, "msg": {
        "order_id": "o-1", "ticker": MARKET, "status": "canceled", "side": "yes", "yes_price_dollars": "0.4000",
        "fill_count_fp": "0.00", "remaining_count_fp": "0.00", "initial_count_fp": "5.00", "client_order_id": "mmd-1",
        "created_ts_ms": 1790000000000, "last_updated_ts_ms": 1790000000000}}, clock, tracker)
    fire_timers_until(clock, tracker, clock.now_ns() + 30 * NS_PER_SECOND)
    assert connector.commands("unsubscribe") == []
    assert ws.proxy().get_status().get()["ws_healthy"]


def test_a_restore_held_by_its_backoff_runs_when_the_timer_fires(feed, clock, tracker):
    ws, connector, _ = feed
    confirm_private_channels(ws, connector, clock, tracker)
    frame(ws, {"id": 0, "sid": 2, "type": "error", "msg": {"code": 17, "msg": "Internal error"}}, clock, tracker)
    subscribed(ws, connector, clock, tracker, "user_orders", 12)
    frame(ws, {"id": 0, "sid": 12, "type": "error", "msg": {"code": 17, "msg": "Internal error"}}, clock, tracker)
    assert connector.commands("subscribe")[-1]["params"] == {"channels": ["user_orders"]}  # the first restore
    before = len(connector.commands("subscribe"))
    fire_timers_until(clock, tracker, clock.now_ns() + NS_PER_SECOND // 4)
    assert len(connector.commands("subscribe")) == before  # held: the backoff is half a second
    fire_timers_until(clock, tracker, clock.now_ns() + NS_PER_SECOND // 2)
    assert len(connector.commands("subscribe")) == before + 1
