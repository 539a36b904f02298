"""Min-max scoring of discovered markets: a degenerate feature (one market, or all values
equal) normalises to one half."""

from test_scanner_core import BASE, NOW, listing

from actors.scanner import parse_market, score_markets, time_penalty


def test_one_market_or_all_equal_values_normalise_to_one_half():
    (only,) = score_markets([parse_market(listing("KX-BIG", "EV", volume_24h="5000000"))], {}, NOW, BASE.discovery)
    assert only.volume_band == "medium"
    w = BASE.discovery.weights
    expected = 0.5 * (w.volume_24h + w.volume_1h + w.liquidity - w.spread) - w.time_penalty * time_penalty(10.0, BASE.discovery)
    assert abs(only.score - expected) < 1e-9
    pair = [parse_market(listing(t, "EV", volume_24h="900000")) for t in ("KX-A", "KX-B")]
    assert [s.volume_band for s in score_markets(pair, {}, NOW, BASE.discovery)] == ["medium", "medium"]
