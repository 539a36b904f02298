"""Discovery style: long-lived makers on the top markets of each discovery run; a market
that dropped out is rotated out passively unless the latest published exposure holds a
position or resting orders on it. SupervisorCore, no actors."""

from __future__ import annotations

from decimal import Decimal

from kernel.clock import seconds
from messages import DiscoveryCompleted, ScoredMarket
from test_supervisor_factories import CoreHarness, exposure, market_config, volatility_event


def scored(ticker, selected=True):
    return ScoredMarket(
        ticker=ticker, title=ticker, category="economics", score=1.0, rank=1, volume_24h=Decimal("9000"),
        spread=Decimal("0.02"), mid=Decimal("0.5"), liquidity=Decimal("500"), reasons=(), config=market_config(ticker),
        selected=selected,
    )


def discovery(run_id, *tickers):
    return DiscoveryCompleted(
        discovery_id=run_id, total_markets=9, binary_markets=9, pre_filtered=9,
        markets=tuple(scored(t) for t in tickers) + (scored("KX-NOT-SELECTED", False),), model_version="v", ts=0,
    )


def test_discovery_style_keeps_makers_on_the_top_markets_and_rotates_dead_ones_unless_they_hold_a_position():
    h = CoreHarness(style="discovery")
    h.feed(volatility_event("KX-V", ts=h.now))  # volatility events are not this style's
    h.feed(discovery("d1", "KX-A", "KX-B", "KX-C"))
    assert [s.ticker for s in h.started()] == ["KX-A", "KX-B", "KX-C"]
    h.feed(exposure(positions={"KX-B": 2}, resting={"KX-C": 1}, resting_value="0.40"))
    h.feed(discovery("d2", "KX-D"))
    assert h.stopped() == [("KX-A", "rotated_out", Decimal("0.37"))]
    assert h.told("KX-A") == [("rotated_out", "passive")]
    assert [s.ticker for s in h.started()] == ["KX-A", "KX-B", "KX-C", "KX-D"]
    h.run_until(h.now + seconds(600))  # long-lived: no TTL, no regime staleness
    assert len(h.stopped()) == 1
    assert h.makers == {"mmd-run-t-s2", "mmd-run-t-s3", "mmd-run-t-s4"}


def test_discovery_picks_at_most_max_long_lived_sessions():
    h = CoreHarness(style="discovery", max_long_lived_sessions=2)
    h.feed(discovery("d1", "KX-A", "KX-B", "KX-C"))
    assert [s.ticker for s in h.started()] == ["KX-A", "KX-B"]
