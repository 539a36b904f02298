"""A fault campaign's schedule is plain data chosen by its seed (mmd/chaos_plan.py)."""

from __future__ import annotations

from collections import Counter

import pytest

from mmd.chaos_plan import CHANNEL_ERROR_CODES, FEED, ORDER, REST, REST_KINDS, plan_campaign

TICKERS = ["KXA-1", "KXB-1", "KXC-1"]


def kinds(campaign) -> Counter:
    return Counter(f.kind for p in campaign.phases for f in p.faults)


def test_one_seed_is_one_schedule_and_another_seed_another():
    assert plan_campaign("short", 7, TICKERS) == plan_campaign("short", 7, TICKERS)
    assert plan_campaign("full", 7, TICKERS) == plan_campaign("full", 7, TICKERS)
    assert plan_campaign("short", 7, TICKERS) != plan_campaign("short", 8, TICKERS)


def test_the_short_campaign_is_one_daemon_with_a_few_faults_of_every_kind():
    campaign = plan_campaign("short", 1, TICKERS)
    (phase,) = campaign.phases
    counted = kinds(campaign)
    assert set(counted) == {"ws_drop", "seq_skip", "malformed", "channel_error", *REST_KINDS, "kill9",
                            "pause_market", "close_market"}
    assert all(1 <= n <= 3 for n in counted.values())
    assert {f.admin[0]["code"] for f in phase.faults if f.kind == "channel_error"} == set(CHANNEL_ERROR_CODES)
    assert phase.markets == 2 and phase.ladder_levels == 1


def test_a_close_comes_last_and_spares_a_market_to_quote():
    for campaign in (plan_campaign("short", 3, TICKERS), plan_campaign("full", 3, TICKERS, scale=0.1)):
        for phase in campaign.phases:
            closes = [i for i, f in enumerate(phase.faults) if f.kind == "close_market"]
            assert closes in ([], [len(phase.faults) - 1])
            assert phase.markets >= 2


def test_the_full_campaign_has_100_drops_20_kills_and_storms_on_three_sessions_of_three_levels():
    campaign = plan_campaign("full", 1, TICKERS)
    by_name = {p.name: p for p in campaign.phases}
    assert Counter(f.kind for f in by_name["drops"].faults) == {"ws_drop": 100}
    assert Counter(f.kind for f in by_name["kills"].faults) == {"kill9": 20}
    assert {f.kind for f in by_name["storms"].faults} == set(REST_KINDS)
    assert all((p.markets, p.ladder_levels) == (3, 3) for p in campaign.phases)


def test_scale_shrinks_the_full_campaign_but_keeps_one_of_each():
    small = plan_campaign("full", 1, TICKERS, scale=0.01)
    assert kinds(small).keys() == kinds(plan_campaign("full", 1, TICKERS)).keys()
    assert small.fault_count < 20


def test_slow_answers_outlast_the_daemons_rest_timeout():
    from config import load_config

    timeout = load_config(None).rest.timeout_s
    slow = [f for f in plan_campaign("full", 2, TICKERS).phases[1].faults if f.kind == "slow_rest"]
    assert slow and all(f.admin[0]["delay_s"] > timeout for f in slow)


def test_recovery_is_judged_on_the_feed_for_websocket_faults_from_a_bursts_end_for_rest_and_on_orders_otherwise():
    for fault in plan_campaign("short", 1, TICKERS).phases[0].faults:
        expected = (FEED if fault.kind in ("ws_drop", "seq_skip", "malformed", "channel_error")
                    else REST if fault.kind in REST_KINDS else ORDER)
        assert fault.basis == expected


def test_the_daemon_runs_with_the_rest_timeout_a_bursts_end_is_computed_with():
    from mmd.chaos_run import DAEMON_REST_TIMEOUT_S, daemon_config

    assert f"timeout_s: {DAEMON_REST_TIMEOUT_S}" in daemon_config(TICKERS, 3)


def test_only_a_burst_429_counts_as_injected_429s():
    faults = [f for p in plan_campaign("full", 1, TICKERS).phases for f in p.faults]
    assert all((f.injected_429 > 0) == (f.kind == "burst_429") for f in faults)
    assert all(f.injected_429 == f.admin[0]["count"] for f in faults if f.kind == "burst_429")


@pytest.mark.parametrize("name, tickers, scale", [("nope", TICKERS, 1.0), ("short", TICKERS[:1], 1.0),
                                                  ("full", TICKERS[:2], 1.0), ("full", TICKERS, 0)])
def test_a_campaign_that_cannot_run_is_refused(name, tickers, scale):
    with pytest.raises(ValueError):
        plan_campaign(name, 1, tickers, scale)
