"""MetricsCore: bus events in, Prometheus series out (no threads, no HTTP)."""

from __future__ import annotations

from actors.metrics import MetricsCore, slug
from actors.supervisor import MakerCrashed
from messages import (
    BalanceRead,
    BookUntrusted,
    FeedHealthChanged,
    KillSwitchEngaged,
    KillSwitchReleased,
    MakerFinished,
    ReconciliationFailed,
    RiskStateChanged,
    RiskWarning,
    SessionStarted,
    SessionStopped,
)
from tests.operations._operations_factories import (
    MS,
    S,
    T0,
    D,
    accepted,
    amended,
    cancelled,
    exposure,
    filled,
    maker_status,
    rejected,
    request_sent,
)


def value(core: MetricsCore, name: str, **labels: str) -> float | None:
    return core.registry.get_sample_value(name, labels)


def feed(core: MetricsCore, *messages, now: int = T0) -> MetricsCore:
    for message in messages:
        core.on_message(message, now)
    return core


def test_exposure_sets_position_exposure_and_resting_orders_per_market_and_zeroes_a_market_that_left():
    core = feed(MetricsCore(), exposure(T0, ("KX-A", "12", 2, "7.50"), ("KX-B", "-3", 1, "2.10")))
    assert value(core, "mmd_position_contracts", ticker="KX-A") == 12
    assert value(core, "mmd_position_contracts", ticker="KX-B") == -3
    assert value(core, "mmd_exposure_dollars", ticker="KX-A") == 7.5
    assert value(core, "mmd_resting_orders", ticker="KX-B") == 1
    assert value(core, "mmd_global_exposure_dollars") == 9.6

    feed(core, exposure(T0 + S, ("KX-A", "10", 2, "6.00")))  # KX-B absent: nothing left there

    assert value(core, "mmd_position_contracts", ticker="KX-B") == 0
    assert value(core, "mmd_exposure_dollars", ticker="KX-B") == 0
    assert value(core, "mmd_position_contracts", ticker="KX-A") == 10


def test_pnl_follows_the_makers_status_and_its_finish():
    core = feed(MetricsCore(), maker_status("s1", "KX-A", "QUOTING", T0, realized="1.25", unrealized="-0.40"))
    assert value(core, "mmd_realized_pnl_dollars", ticker="KX-A") == 1.25
    assert value(core, "mmd_unrealized_pnl_dollars", ticker="KX-A") == -0.4
    assert value(core, "mmd_maker_quoting", ticker="KX-A") == 1

    feed(core, MakerFinished(session_id="s1", ticker="KX-A", reason="ttl", position=D(0), realized_pnl=D("1.75"),
                             fees=D("0.10"), ts=T0 + S))

    assert value(core, "mmd_realized_pnl_dollars", ticker="KX-A") == 1.75
    assert value(core, "mmd_unrealized_pnl_dollars", ticker="KX-A") == 0
    assert value(core, "mmd_maker_quoting", ticker="KX-A") == 0


def test_every_write_that_reached_the_exchange_counts_once_and_risk_refusals_do_not():
    core = feed(
        MetricsCore(),
        accepted("c1", T0),
        amended("c1", "c2", T0),
        cancelled("c2", T0),
        rejected("c3", T0, source="exchange", code="post_only_cross"),
        rejected("c4", T0, source="transport", code="transport_error", action="amend"),
        rejected("c5", T0, source="risk", code="market_budget"),
    )
    assert value(core, "mmd_orders_placed_total", ticker="KX-A") == 1
    assert value(core, "mmd_orders_amended_total", ticker="KX-A") == 1
    assert value(core, "mmd_orders_cancelled_total", ticker="KX-A") == 1
    assert value(core, "mmd_order_writes_total", ticker="KX-A", action="place") == 2  # accepted + exchange-refused
    assert value(core, "mmd_order_writes_total", ticker="KX-A", action="amend") == 2  # applied + transport failure
    assert value(core, "mmd_order_writes_total", ticker="KX-A", action="cancel") == 1
    assert value(
        core, "mmd_order_rejections_total", ticker="KX-A", action="place", source="risk", code="market_budget"
    ) == 1
    assert value(
        core, "mmd_order_rejections_total", ticker="KX-A", action="place", source="exchange", code="post_only_cross"
    ) == 1


def test_a_write_refused_with_http_429_counts_as_rate_limited():
    core = feed(MetricsCore(), rejected("c1", T0, source="exchange", code="too_many_requests"),
                rejected("c2", T0, source="exchange", code="post_only_cross"))
    assert value(core, "mmd_rate_limited_total", ticker="KX-A") == 1


def test_fills_count_contracts_and_fees_per_market():
    core = feed(MetricsCore(), filled("f1", T0, count="2", fee="0.02"), filled("f2", T0, count="3", fee="0.03"))
    assert value(core, "mmd_fills_total", ticker="KX-A") == 2
    assert value(core, "mmd_filled_contracts_total", ticker="KX-A") == 5
    assert abs(value(core, "mmd_fees_dollars_total", ticker="KX-A") - 0.05) < 1e-12


def test_ack_latency_runs_from_the_write_handed_to_the_transport_to_its_outcome():
    core = feed(
        MetricsCore(),
        request_sent("c1", T0, action="place"),
        accepted("c1", T0 + 40 * MS),
        request_sent("c1", T0 + S, action="amend"),
        amended("c1", "c2", T0 + S + 120 * MS),  # matched by the amend's previous (current) client id
        request_sent("c3", T0 + 2 * S, action="place"),
        rejected("c3", T0 + 2 * S + 30 * MS, source="exchange", code="post_only_cross"),
    )
    assert value(core, "mmd_order_ack_latency_seconds_count", action="place") == 2
    assert abs(value(core, "mmd_order_ack_latency_seconds_sum", action="place") - 0.070) < 1e-9
    assert value(core, "mmd_order_ack_latency_seconds_bucket", action="place", le="0.05") == 2
    assert value(core, "mmd_order_ack_latency_seconds_count", action="amend") == 1
    assert value(core, "mmd_order_ack_latency_seconds_bucket", action="amend", le="0.1") == 0


def test_an_outcome_without_a_request_sent_measures_nothing():
    core = feed(MetricsCore(), accepted("c9", T0))
    assert value(core, "mmd_order_ack_latency_seconds_count", action="place") is None


def test_tick_to_order_latency_is_measured_only_when_the_triggering_frame_is_known():
    core = feed(
        MetricsCore(),
        request_sent("c1", T0 + 3 * MS, decided_ts=T0 + 1 * MS, trigger_ts_recv=T0),
        request_sent("c2", T0 + 9 * MS, decided_ts=T0 + 5 * MS),  # a timer decided: no frame
    )
    assert value(core, "mmd_tick_to_order_latency_seconds_count", action="place") == 1
    assert abs(value(core, "mmd_tick_to_order_latency_seconds_sum", action="place") - 0.003) < 1e-12
    assert value(core, "mmd_order_send_delay_seconds_count", action="place") == 2
    assert abs(value(core, "mmd_order_send_delay_seconds_sum", action="place") - 0.006) < 1e-12


def test_feed_health_shows_connected_disconnects_and_reconnects():
    core = MetricsCore()
    assert value(core, "mmd_feed_connected") == 0
    feed(core, FeedHealthChanged(healthy=True, reason="connected", ts_recv=T0))
    assert value(core, "mmd_feed_connected") == 1
    assert value(core, "mmd_feed_reconnects_total") == 0  # the first connection is not a reconnect

    feed(core, FeedHealthChanged(healthy=False, reason="closed: 1006", ts_recv=T0 + S),
         FeedHealthChanged(healthy=True, reason="connected", ts_recv=T0 + 2 * S))

    assert value(core, "mmd_feed_disconnects_total") == 1
    assert value(core, "mmd_feed_reconnects_total") == 1
    assert value(core, "mmd_feed_connected") == 1


def test_untrusted_books_are_counted_by_cause():
    core = feed(
        MetricsCore(),
        BookUntrusted(ticker="KX-A", reason="sequence gap on sid 3", ts_recv=T0),
        BookUntrusted(ticker="KX-A", reason="feed lost: closed: 1006", ts_recv=T0),
        BookUntrusted(ticker="KX-A", reason="sequence gap on sid 4", ts_recv=T0),
    )
    assert value(core, "mmd_book_untrusted_total", ticker="KX-A", cause="sequence_gap") == 2
    assert value(core, "mmd_book_untrusted_total", ticker="KX-A", cause="feed_lost") == 1


def test_sessions_are_counted_by_start_and_end_reason_with_the_pnl_of_ended_ones():
    core = feed(
        MetricsCore(),
        SessionStarted(session_id="s1", ticker="KX-A", reason="volatility", ts=T0),
        SessionStarted(session_id="s2", ticker="KX-B", reason="volatility", ts=T0),
        SessionStopped(session_id="s1", ticker="KX-A", reason="ttl", ts=T0 + S, pnl=D("2.50")),
    )
    assert value(core, "mmd_sessions_started_total", reason="volatility") == 2
    assert value(core, "mmd_sessions_ended_total", reason="ttl") == 1
    assert value(core, "mmd_sessions_active") == 1
    assert value(core, "mmd_ended_sessions_pnl_dollars") == 2.5


def test_risk_state_kill_switch_warnings_crashes_and_failed_reconciliations():
    core = feed(MetricsCore(), RiskStateChanged(state="REDUCING", reason="drawdown", ts=T0))
    assert value(core, "mmd_risk_state") == 1
    feed(core, KillSwitchEngaged(reason="operator", ts=T0), RiskStateChanged(state="HALTED", reason="kill", ts=T0))
    assert (value(core, "mmd_risk_state"), value(core, "mmd_kill_switch_engaged")) == (2, 1)
    feed(core, KillSwitchReleased(reason="operator", ts=T0), RiskStateChanged(state="ACTIVE", reason="resume", ts=T0))
    assert (value(core, "mmd_risk_state"), value(core, "mmd_kill_switch_engaged")) == (0, 0)

    feed(
        core,
        RiskWarning(kind="daily_loss", ticker="", level=D("0.5"), reason="$25 of $50", ts=T0),
        MakerCrashed(session_id="s1", ticker="KX-A", error="ZeroDivisionError", ts=T0),
        ReconciliationFailed(reason="GET /portfolio/orders: HTTP 503", ts=T0),
        BalanceRead(available=D("812.40"), ts=T0),
    )
    assert value(core, "mmd_risk_warnings_total", kind="daily_loss") == 1
    assert value(core, "mmd_maker_crashes_total") == 1
    assert value(core, "mmd_reconciliation_failures_total") == 1
    assert value(core, "mmd_balance_available_dollars") == 812.4


def test_free_text_reasons_become_short_labels_and_each_label_keeps_a_bounded_set_of_values():
    assert slug("risk: daily_loss $50.00 reached the $50 limit") == "risk"
    assert slug("Too Many Requests") == "too_many_requests"
    assert slug("") == "unknown"
    core = MetricsCore(max_label_values=3)
    feed(core, *(rejected(f"c{i}", T0, source="exchange", code=f"code_{i}") for i in range(5)))
    codes = {
        sample.labels["code"]
        for family in core.registry.collect()
        if family.name == "mmd_order_rejections"
        for sample in family.samples
    }
    assert codes == {"code_0", "code_1", "code_2", "other"}


def test_series_of_idle_markets_are_removed_beyond_the_market_limit_but_never_a_market_in_session():
    core = MetricsCore(max_markets=2)
    feed(core, SessionStarted(session_id="s1", ticker="KX-A", reason="volatility", ts=T0), accepted("c1", T0, ticker="KX-A"))
    feed(core, accepted("c2", T0, ticker="KX-B"))
    feed(core, accepted("c3", T0, ticker="KX-C"))  # a third market: the idle KX-B goes, KX-A has a session

    assert value(core, "mmd_orders_placed_total", ticker="KX-A") == 1
    assert value(core, "mmd_orders_placed_total", ticker="KX-B") is None
    assert value(core, "mmd_orders_placed_total", ticker="KX-C") == 1
    assert core.markets.evicted == 1


def test_the_last_event_time_is_the_injected_clocks():
    core = feed(MetricsCore(), BalanceRead(available=D(1), ts=T0), now=T0 + 7 * S)
    assert value(core, "mmd_last_event_timestamp_seconds") == (T0 + 7 * S) / 1e9
