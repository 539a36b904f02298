"""The risk side of the nhl_hybrid profile and its preset variants (seed 000, SPEC 9): each
profile selects the hybrid policy's preset, and the policy then flattens on duration-weighted
exposure above the preset's limit or on an adverse excursion that persisted its window."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal as D

import pytest

from actors.risk import HybridLimits, HybridPolicy
from config import load_config

S = 1_000_000_000
MINUTE = 60 * S
T0 = 1_700_000_000_000_000_000

PRESETS = {  # profile -> (contract-minutes, adverse excursion in dollars, persistence in s)
    "nhl_hybrid": (D(500), D("0.08"), 8),
    "nhl_hybrid_conservative": (D(350), D("0.06"), 5),
    "nhl_hybrid_aggressive": (D(700), D("0.10"), 12),
}


@dataclass
class Layer:
    qty: D
    ts: int


def limits_of(profile: str) -> HybridLimits:
    return HybridLimits.from_config(load_config(overrides={"maker": {"profile": profile}}).risk.hybrid)


@pytest.mark.parametrize("profile", PRESETS)
def test_each_profile_variant_selects_its_preset(profile):
    duration, excursion, persistence = PRESETS[profile]

    limits = limits_of(profile)

    assert (limits.duration_limit, limits.mae, limits.persistence_ns, limits.skew_threshold) == (
        duration, excursion, persistence * S, D(20))


@pytest.mark.parametrize("profile", PRESETS)
def test_ten_contracts_held_exactly_to_the_limit_stay_and_a_moment_longer_flatten(profile):
    duration, _, _ = PRESETS[profile]
    policy = HybridPolicy(limits_of(profile))
    layers = (Layer(D(10), T0),)
    at_limit = T0 + int(duration / 10 * MINUTE)  # 10 contracts x (limit / 10) minutes = the limit

    assert policy.observe(layers, D("0.50"), D("0.50"), at_limit) is None
    trigger = policy.observe(layers, D("0.50"), D("0.50"), at_limit + 1)
    assert trigger is not None and trigger.kind == "duration"
    assert policy.next_check_ns(layers) == at_limit + 1


@pytest.mark.parametrize("profile", PRESETS)
def test_an_adverse_excursion_at_the_limit_flattens_only_once_it_has_persisted(profile):
    _, excursion, persistence = PRESETS[profile]
    policy = HybridPolicy(limits_of(profile))
    layers = (Layer(D(10), T0),)
    vwap = D("0.60")
    mark = vwap - excursion  # long: the mark fell by exactly the limit

    assert policy.observe(layers, vwap, mark, T0) is None  # the window opens
    assert policy.observe(layers, vwap, mark, T0 + persistence * S - 1) is None
    trigger = policy.observe(layers, vwap, mark, T0 + persistence * S)
    assert trigger is not None and trigger.kind == "mae"


@pytest.mark.parametrize("profile", PRESETS)
def test_an_excursion_that_recovers_inside_the_window_never_flattens(profile):
    _, excursion, persistence = PRESETS[profile]
    policy = HybridPolicy(limits_of(profile))
    layers = (Layer(D(-10), T0),)  # short: the adverse move is up
    vwap = D("0.40")

    assert policy.observe(layers, vwap, vwap + excursion + D("0.04"), T0) is None
    assert policy.observe(layers, vwap, vwap + excursion - D("0.01"), T0 + (persistence - 1) * S) is None
    assert policy.observe(layers, vwap, vwap + excursion, T0 + persistence * S) is None  # a new window, not the old


def test_the_conservative_variant_flattens_a_move_the_default_rides_out():
    layers = (Layer(D(10), T0),)
    vwap, mark = D("0.60"), D("0.53")  # 7 cents against a long
    conservative, default = HybridPolicy(limits_of("nhl_hybrid_conservative")), HybridPolicy(limits_of("nhl_hybrid"))

    for policy in (conservative, default):
        policy.observe(layers, vwap, mark, T0)

    assert conservative.observe(layers, vwap, mark, T0 + 5 * S).kind == "mae"
    assert default.observe(layers, vwap, mark, T0 + 60 * S) is None


def test_the_aggressive_variant_holds_past_the_default_duration_limit():
    layers = (Layer(D(10), T0),)
    after_sixty_minutes = T0 + 60 * MINUTE  # 600 contract-minutes

    assert HybridPolicy(limits_of("nhl_hybrid")).observe(layers, D("0.5"), D("0.5"), after_sixty_minutes).kind == "duration"
    assert HybridPolicy(limits_of("nhl_hybrid_aggressive")).observe(layers, D("0.5"), D("0.5"), after_sixty_minutes) is None
