"""Pinned markets (scanner.tickers) and WS subscriptions: a pinned market keeps one
session; it gets a new one explicit_restart_s after one was lost on the way (a TTL, a
crash, the maker's own stop), never after a real end (its close or settlement, the risk
governor, a kill switch or shutdown); a subscription the scanner does not want is
removed when its session ends for good. SupervisorCore, no actors."""

from __future__ import annotations

from decimal import Decimal

from kalshi.wire import rfc3339_from_ns
from kernel.clock import seconds
from messages import (
    KillSwitchEngaged,
    MakerFinished,
    MakerStatus,
    MarketLifecycleChanged,
    MarketSelected,
    RiskDirective,
    SubscribeMarkets,
    VolatilityEnded,
)
from test_supervisor_factories import T0, CoreHarness


def selected(ticker="KX-A") -> MarketSelected:
    return MarketSelected(ticker=ticker, reason="configured", ts=T0)


def subscriptions(h: CoreHarness):
    return [(m.tickers, m.remove) for m in h.sent(SubscribeMarkets, to="feed")]


def test_a_pinned_market_whose_session_ended_on_its_ttl_gets_a_new_one_after_the_restart_delay():
    h = CoreHarness(explicit_session_ttl_s=300, explicit_restart_s=60)
    h.feed(selected())
    h.run_until(T0 + seconds(300))  # TTL; the maker finishes at once
    h.run_until(T0 + seconds(360) - 1)
    assert len(h.started()) == 1
    h.run_until(T0 + seconds(360))
    assert [(s.ticker, s.session_id, s.reason) for s in h.started()][-1] == (
        "KX-A", "mmd-run-t-s2", "configured in scanner.tickers (restart)",
    )


def test_a_settled_pinned_market_gets_no_new_session():
    h = CoreHarness(explicit_session_ttl_s=300, explicit_restart_s=60)
    h.feed(selected())
    h.feed(MarketLifecycleChanged(ticker="KX-A", event_type="settled", result="yes", close_ts=None,
                                  ts_event=h.now, ts_recv=h.now))
    h.run_until(T0 + seconds(600))
    assert len(h.started()) == 1


def test_markets_over_are_remembered_up_to_a_bound_the_newest_kept():
    # memory over a day of paper: ~400 markets end a day; the guard is needed only during a
    # restart delay, so the oldest ends are forgotten first
    from actors.supervisor._core import _REMEMBER_MARKETS_OVER

    h = CoreHarness(explicit_session_ttl_s=300, explicit_restart_s=60)
    for i in range(_REMEMBER_MARKETS_OVER + 5):
        h.feed(MarketLifecycleChanged(ticker=f"KX-{i}", event_type="determined", result="yes", close_ts=None,
                                      ts_event=h.now, ts_recv=h.now))
    over = h.core.markets_over
    assert len(over) == _REMEMBER_MARKETS_OVER
    assert "KX-0" not in over and f"KX-{_REMEMBER_MARKETS_OVER + 4}" in over


def test_markets_over_are_forgotten_an_hour_past_the_restart_delay():
    # a paper day settles ~16 markets an hour: what is kept is the last hour's, not the day's
    h = CoreHarness(explicit_session_ttl_s=300, explicit_restart_s=60)
    for i in range(96):  # a day at four markets an hour
        h.run_until(T0 + seconds(900 * i))
        h.feed(MarketLifecycleChanged(ticker=f"KX-{i}", event_type="determined", result="yes", close_ts=None,
                                      ts_event=h.now, ts_recv=h.now))
    over = h.core.markets_over
    assert len(over) <= 6 and "KX-95" in over and "KX-91" in over and "KX-0" not in over


def test_a_market_over_still_gets_no_restart_within_the_restart_delay():
    h = CoreHarness(explicit_session_ttl_s=300, explicit_restart_s=60)
    h.feed(selected())
    h.run_until(T0 + seconds(290))
    h.feed(MarketLifecycleChanged(ticker="KX-A", event_type="determined", result="yes", close_ts=None,
                                  ts_event=h.now, ts_recv=h.now))
    h.run_until(T0 + seconds(600))  # the TTL ends it at 300; no restart at 360
    assert len(h.started()) == 1


def test_a_pinned_market_ended_by_the_kill_switch_or_at_shutdown_gets_no_new_session():
    for end in (lambda h: h.feed(KillSwitchEngaged(reason="manual", ts=h.now)), lambda h: h.stop_all_sessions()):
        h = CoreHarness(explicit_restart_s=60)
        h.feed(selected())
        end(h)
        h.run_until(T0 + seconds(600))
        assert len(h.started()) == 1 and h.core.open_session_count() == 0


def test_a_pinned_market_ended_by_the_risk_governor_gets_no_new_session():
    h = CoreHarness(explicit_restart_s=60)
    h.feed(selected())
    h.feed(RiskDirective(ticker="KX-A", action="end_session", reason="daily loss limit", ts=h.now))
    h.run_until(T0 + seconds(600))
    assert len(h.started()) == 1 and h.stopped()[0][1] == "risk:daily loss limit"


def test_a_pinned_market_whose_maker_pauses_in_a_quiet_stretch_keeps_its_one_session():
    h = CoreHarness(explicit_restart_s=60)
    h.feed(selected())
    session_id = h.session_id("KX-A")
    h.feed(MakerStatus(session_id=session_id, ticker="KX-A", state="PAUSED",
                       why_not_quoting="quiet market: sigma below 0.01", adverse_selection=False,
                       position=Decimal(0), realized_pnl=Decimal(0), unrealized_pnl=Decimal(0), ts=h.now))
    h.run_until(T0 + seconds(3600))
    assert len(h.started()) == 1 and h.stopped() == [] and h.core.open_session_count() == 1
    assert h.core.status()["active"][0]["maker"]["why_not_quoting"].startswith("quiet market")


def test_a_pinned_market_whose_maker_stopped_by_itself_gets_a_new_session():
    h = CoreHarness(explicit_restart_s=60)
    h.feed(selected())
    h.feed(MakerFinished(session_id=h.session_id("KX-A"), ticker="KX-A", reason="market data stale over 15 s",
                         position=Decimal(0), realized_pnl=Decimal(0), fees=Decimal(0), ts=h.now))
    h.run_until(T0 + seconds(60))
    assert [s.reason for s in h.started()] == ["configured", "configured in scanner.tickers (restart)"]


def test_a_pinned_market_whose_restart_would_fall_in_its_close_window_gets_no_new_session():
    h = CoreHarness(explicit_session_ttl_s=60, explicit_restart_s=60, closes={"KX-A": rfc3339_from_ns(T0 + seconds(300))})
    h.feed(selected())
    h.run_until(T0 + seconds(60))  # TTL: a restart at 120 s would be inside close - 180 s
    h.run_until(T0 + seconds(200))
    assert len(h.started()) == 1 and h.stopped()[0][1] == "ttl"


def test_an_explicit_sessions_subscription_is_removed_when_it_ends_for_good():
    h = CoreHarness(explicit_session_ttl_s=60, explicit_restart_s=0)
    h.feed(selected())
    h.run_until(T0 + seconds(60))
    assert subscriptions(h) == [(("KX-A",), False), (("KX-A",), True)]


def test_an_explicit_session_about_to_restart_keeps_its_subscription():
    h = CoreHarness(explicit_session_ttl_s=60, explicit_restart_s=30)
    h.feed(selected())
    h.run_until(T0 + seconds(60))
    assert subscriptions(h) == [(("KX-A",), False)]


def test_a_volatility_ticker_the_scanner_tracks_stays_subscribed_unless_it_left_the_tracked_set():
    h = CoreHarness()
    h.start_one("KX-A")
    h.start_one("KX-B", also=("KX-A",))
    a, b = h.started()
    h.feed(VolatilityEnded(event_id=a.event_id, ticker="KX-A", reason="sigma_below_threshold", ts=0))
    h.feed(VolatilityEnded(event_id=b.event_id, ticker="KX-B", reason="left_tracked_set", ts=0))
    assert sorted(t for t, _, _ in h.stopped()) == ["KX-A", "KX-B"]
    assert subscriptions(h) == [(("KX-A",), False), (("KX-B",), False), (("KX-B",), True)]


def test_nothing_is_unsubscribed_at_shutdown():
    h = CoreHarness()
    h.feed(selected())
    h.stop_all_sessions()
    assert subscriptions(h) == [(("KX-A",), False)]
