"""ScannerPlan driven synchronously: ScannerCore's outputs as effects (publishes, sends
to the REST client and the feed), and the scanner's timers decided without an actor."""

from dataclasses import replace
from decimal import Decimal as D

from actors.scanner import Budgets, RestRead, RetryDiscovery, ScannerCore
from actors.scanner._plan import REST, ScannerPlan
from actors.scanner._timers import (
    ScannerDiscoveryRetryDue,
    ScannerQueuedReadsDue,
    ScannerRediscoverDue,
    ScannerRegimeHeartbeatDue,
    ScannerSweepDue,
)
from config import load_config
from kernel.clock import seconds
from kernel.effects import ArmOnGrid, ArmTimer, CancelTimer, Publish, Send
from messages import MarketSelected, RestReadCompleted, RestReadRequested, SessionStarted, SessionStopped, TradePrinted

BASE = load_config().scanner
BUDGETS = Budgets(per_market=D(8), global_budget=D(60))
NOW = seconds(1_800_000_000)


def plan_for(**changes) -> ScannerPlan:
    return ScannerPlan(ScannerCore(replace(BASE, **changes), BUDGETS))


def failed(send: Send) -> RestReadCompleted:
    read = send.message
    return RestReadCompleted(request_id=read.request_id, path=read.path, status=500, body=None, error="boom", ts_recv=NOW)


def _read(name: str) -> RestRead:
    return RestRead(request_id=f"test-{name}", path=f"/x/{name}", query=())


def test_a_volatility_scanner_starts_by_reading_the_listing_then_arms_rediscovery_then_the_sweep():
    effects = plan_for(style="volatility", tickers=()).start(NOW)
    read, rediscover, sweep = effects
    assert isinstance(read, Send) and read.to == REST and isinstance(read.message, RestReadRequested)
    assert read.message.path == "/markets" and read.message.reply_to == "scanner" and read.message.ts == NOW
    assert isinstance(rediscover.message, ScannerRediscoverDue)
    assert rediscover.deadline_ns == NOW + seconds(BASE.volatility.rediscover_interval_s)
    assert isinstance(sweep.message, ScannerSweepDue) and sweep.deadline_ns == NOW + seconds(BASE.volatility.sweep_tick_s)


def test_a_pinned_scanner_publishes_its_markets_and_arms_no_timer():
    effects = plan_for(tickers=("KX-A",)).start(NOW)
    assert [type(e) for e in effects] == [Publish]
    assert isinstance(effects[0].message, MarketSelected) and effects[0].message.ticker == "KX-A"


def test_each_failed_listing_is_logged_and_retried_on_its_own_timer():
    plan = plan_for(style="discovery", tickers=())
    read = plan.start(NOW)[0]
    logged, retry = plan.handle(failed(read), NOW)
    assert isinstance(logged, RetryDiscovery) and "500" in logged.reason
    assert retry == ArmTimer("retry:1", NOW + seconds(BASE.retry_after_s), ScannerDiscoveryRetryDue(retry=1, ts=NOW))
    (again,) = plan.on_due(retry.message, retry.deadline_ns)
    _, second = plan.handle(failed(again), retry.deadline_ns)
    assert second.key == "retry:2"  # one retry never replaces another
    assert plan.timer_key(second.message) == "retry:2"


def test_reads_held_back_by_the_budget_arm_one_timer_until_it_fires():
    plan = plan_for(style="discovery", tickers=(), volatility=replace(BASE.volatility, max_requests_per_s=1))
    plan.start(NOW)  # the listing takes this second's only read
    plan.core.queue.append(_read("a"))
    assert plan.handle(SessionStopped(session_id="s", ticker="KX-X", reason="", ts=NOW), NOW) == []  # heartbeat only
    effects = plan.on_due(ScannerRediscoverDue(ts=NOW), NOW)  # every output step looks at the queue
    timers = [e for e in effects if isinstance(e, ArmTimer) and isinstance(e.message, ScannerQueuedReadsDue)]
    assert [t.deadline_ns for t in timers] == [NOW + seconds(1)]
    again = plan.on_due(ScannerSweepDue(ts=NOW), NOW)
    assert not [e for e in again if isinstance(e, ArmTimer) and e.key == "queued-reads"]  # armed already
    (read,) = plan.on_due(timers[0].message, NOW + seconds(1))
    assert isinstance(read, Send) and read.to == REST and read.message.path == "/x/a"


def test_a_session_starts_the_heartbeat_on_a_grid_anchored_where_it_started():
    plan = plan_for(tickers=("KX-A",))
    plan.start(NOW)
    started = SessionStarted(session_id="s1", ticker="KX-A", reason="pinned", ts=NOW)
    effects = plan.handle(started, NOW)
    assert [type(e) for e in effects] == [Publish, ArmOnGrid]
    wake = effects[1]
    interval = seconds(BASE.regimes.publish_interval_s)
    assert (wake.anchor_ns, wake.interval_ns, wake.not_before_ns) == (NOW, interval, NOW)
    plan.heartbeat_armed_at(NOW + interval)
    later = NOW + interval // 2
    again = plan.handle(replace(started, ts=later), later)
    assert not [e for e in again if isinstance(e, (ArmOnGrid, CancelTimer))]  # the tick armed is the first due


def test_a_heartbeat_tick_that_finds_nobody_ends_the_heartbeat():
    plan = plan_for(tickers=("KX-A",))
    plan.start(NOW)
    plan.handle(SessionStarted(session_id="s1", ticker="KX-A", reason="pinned", ts=NOW), NOW)
    interval = seconds(BASE.regimes.publish_interval_s)
    plan.heartbeat_armed_at(NOW + interval)
    plan.handle(SessionStopped(session_id="s1", ticker="KX-A", reason="done", ts=NOW), NOW)
    assert plan.on_due(ScannerRegimeHeartbeatDue(ts=NOW), NOW + interval) == []


def test_a_trade_print_is_remembered_with_no_effect():
    plan = plan_for(tickers=("KX-A",))
    plan.start(NOW)
    trade = TradePrinted(ticker="KX-A", trade_id="t1", price=D("0.5"), count=D(3), taker_side="bid", ts_event=NOW, ts_recv=NOW)
    assert plan.handle(trade, NOW) == []
