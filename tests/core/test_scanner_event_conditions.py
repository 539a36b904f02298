"""Conditions of a volatility event: none while the regime window's sigma is under the
floor (a named condition), and a reverting jump keeps the sign of its excursion."""

from dataclasses import replace
from decimal import Decimal as D

from test_scanner_core import BASE, BUDGETS, NOW, discover, of

from actors.scanner import MarketFacts, PriceHistory, PricePoint, ScannerCore, check_event
from actors.scanner._volatility import _jump
from messages import VolatilityDetected
from kernel.clock import seconds


def test_a_market_flat_now_after_a_move_ten_minutes_ago_does_not_fire():
    # 5 minutes of ramp, then flat: sigma over 10 min >= 0.02, over the
    # 5-minute regime window ~0 (QUIET, allowed); the supervisor's sigma floor would kill it at once
    core = ScannerCore(BASE, BUDGETS)
    discover(core)
    path = [D("0.30") + D("0.005") * i for i in range(60)] + [D("0.60")] * 70
    events = []
    for i, mid in enumerate(path):
        t = NOW + seconds(5 * (i + 1))
        events += of(core.on_touch("KX-ECO", mid - D("0.01"), mid + D("0.01"), D(300), D(300), t), VolatilityDetected)
    assert events == []
    assert core.states["KX-ECO"].regime.accepted == "QUIET"


def test_the_sigma_floor_is_a_named_event_condition():
    history = PriceHistory(5, 900, 1000)
    for i, mid in enumerate([0.50, 0.50, 0.50, 0.65, 0.60, 0.55, 0.52, 0.50, 0.50, 0.51, 0.50, 0.50]):
        history.add(PricePoint(seconds(10 * i), D(str(mid)), D("0.02"), D(200)))
    facts = MarketFacts(category="economics", volume_24h_dollars=D(20_000), regime="MEAN_REVERTING",
                        profile_excluded=False, in_session=False, regime_sigma=D("0.009"))
    assert check_event(history, seconds(110), facts, BASE.volatility).failed == ("sigma_floor",)
    assert check_event(history, seconds(110), replace(facts, regime_sigma=D("0.01")), BASE.volatility).fires


def points(mids):
    return [PricePoint(i, D(m), D("0.02"), D(100)) for i, m in enumerate(mids)]


def test_a_reverting_jump_is_signed_by_its_excursion_from_the_first_mid():
    assert _jump(points(["0.40", "0.40", "0.58", "0.50", "0.45", "0.40"])) == D("0.18")
    assert _jump(points(["0.60", "0.60", "0.42", "0.50", "0.55", "0.60"])) == D("-0.18")
    history = PriceHistory(5, 900, 1000)
    for i, mid in enumerate(["0.40", "0.40", "0.58", "0.50", "0.45", "0.40"]):
        history.add(PricePoint(seconds(10 * i), D(mid), D("0.02"), D(200)))
    facts = MarketFacts(category="economics", volume_24h_dollars=D(20_000), regime="MEAN_REVERTING",
                        profile_excluded=False, in_session=False)
    check = check_event(history, seconds(50), facts, BASE.volatility)
    assert check.jump == D("0.18") and check.direction == "up"
