from actors.analytics import RECORDED_MESSAGES
from kernel.clock import NS_PER_SECOND

from . import _harness as h
from ._harness import AnalyticsWorld

SECOND = NS_PER_SECOND


def test_records_every_message_type_published_on_the_bus(world):
    messages = h.one_of_each()
    assert {type(m) for m in messages} == set(RECORDED_MESSAGES)

    world.publish(*messages)
    world.actor.flush_now().get()

    counts = {t: len(world.rows(t)) for t in
              ("orders", "order_fills", "position_history", "trades", "volatility_sessions", "risk_events",
               "market_snapshots", "discovery_sessions", "discovered_markets", "volatility_events", "triggers",
               "realizations")}
    assert counts == {"orders": 5, "order_fills": 1, "position_history": 2, "trades": 1,
                      "volatility_sessions": 1, "risk_events": 4, "market_snapshots": 1,
                      "discovery_sessions": 1, "discovered_markets": 1, "volatility_events": 1, "triggers": 1,
                      "realizations": 1}


def test_flushes_when_a_buffer_reaches_batch_size(db_path):
    world = AnalyticsWorld(db_path, batch_size=3)
    world.publish(h.trade(trade_id="a"), h.trade(trade_id="b"))
    assert world.rows("trades") == []

    world.publish(h.trade(trade_id="c"))

    assert [r["trade_id"] for r in world.rows("trades")] == ["a", "b", "c"]
    world.stop()


def test_a_buffered_row_is_written_one_flush_interval_after_it_arrived(world):
    world.publish(h.trade(trade_id="a"))
    assert world.tracker.wait_quiet(5.0)
    arrived = world.clock.now_ns()
    assert world.rows("trades") == []

    assert world.clock.next_deadline() == arrived + 1 * SECOND
    world.advance_to(arrived + 1 * SECOND)
    assert len(world.rows("trades")) == 1
    assert world.actor.get_status().get()["last_flush_ns"] == arrived + 1 * SECOND

    world.advance_to(arrived + 1 * SECOND + 5)
    world.publish(h.trade(trade_id="b", ts_recv=arrived + 1 * SECOND + 5))
    assert world.tracker.wait_quiet(5.0)
    assert world.clock.next_deadline() == world.clock.now_ns() + 1 * SECOND
    world.advance_to(world.clock.now_ns() + 1 * SECOND)
    assert len(world.rows("trades")) == 2


def test_an_idle_sink_sets_no_timer(world):
    assert world.tracker.wait_quiet(5.0)
    assert world.clock.next_deadline() is None  # nothing buffered: nothing to wake up for

    world.publish(h.trade(trade_id="a"))
    assert world.tracker.wait_quiet(5.0)
    world.advance_to(world.clock.now_ns() + 1 * SECOND)
    assert len(world.rows("trades")) == 1
    assert world.clock.next_deadline() is None  # written: asleep again


def test_stopping_the_actor_writes_every_pending_row(world):
    world.publish(*h.one_of_each())
    assert world.rows("orders") == []

    world.ref.stop()

    assert len(world.rows("orders")) == 5
    assert len(world.rows("market_snapshots")) == 1
    assert world.store.pending == {}


def test_snapshots_are_sampled_at_most_once_per_ticker_per_interval(world):
    t = h.START_NS
    world.publish(
        h.book(t), h.book(t + 1 * SECOND), h.book(t + 1 * SECOND, ticker="KXT-B"),
        h.book(t + 4 * SECOND), h.book(t + 5 * SECOND), h.book(t + 9 * SECOND), h.book(t + 10 * SECOND),
    )
    world.actor.flush_now().get()

    sampled = [(r["ticker"], r["ts_ns"] - t) for r in world.rows("market_snapshots")]
    assert sampled == [("KXT-A", 0), ("KXT-B", 1 * SECOND), ("KXT-A", 5 * SECOND), ("KXT-A", 10 * SECOND)]
    status = world.actor.get_status().get()
    assert (status["snapshots_sampled"], status["snapshots_skipped"]) == (4, 3)


def test_status_reports_rows_written_pending_and_last_flush(db_path):
    world = AnalyticsWorld(db_path, batch_size=2)
    world.publish(h.trade(trade_id="a"), h.trade(trade_id="b"), h.position())

    status = world.actor.get_status().get()

    assert status["rows_written"] == {"trades": 2}
    assert status["pending"] == {"position_history": 1}
    assert status["last_flush_ns"] == h.START_NS + 15
    assert status["handler_errors"] == {}
    world.stop()


def test_the_same_messages_give_byte_identical_tables(tmp_path):
    def replay(db_path):
        world = AnalyticsWorld(db_path, batch_size=4)
        world.store.start_run("backtest", {"seed": 7}, h.START_NS)
        t = h.START_NS
        world.publish(*h.one_of_each())
        world.publish(h.book(t + 3 * SECOND), h.book(t + 6 * SECOND), h.trade(trade_id="x", ts_recv=t + 6 * SECOND))
        world.advance_to(t + 8 * SECOND)
        world.publish(h.filled(fill_id="fill-2", ts_recv=t + 8 * SECOND), h.filled(ts_recv=t + 8 * SECOND))
        world.ref.stop()
        world.store.end_run(t + 9 * SECOND, "tape finished")
        world.store.close()
        return h.dump(db_path)

    first = replay(tmp_path / "first.db")
    second = replay(tmp_path / "second.db")

    assert "INSERT INTO \"order_fills\"" in first
    assert first == second
