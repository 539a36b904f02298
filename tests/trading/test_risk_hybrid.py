"""Seed 000's hybrid inventory policy: duration-weighted exposure, the persistent MAE
failsafe, presets and the quote logic, against hand-computed values."""

from dataclasses import dataclass
from decimal import Decimal as D

import pytest

from actors.ledger import Inventory
from actors.risk import HybridLimits, HybridPolicy, duration_weighted_exposure, hybrid_quote_sides
from actors.risk._hybrid import _format_number
from config import load_config
from messages import OrderFilled

S = 1_000_000_000
MINUTE = 60 * S
T0 = 1_700_000_000_000_000_000


@dataclass
class Layer:
    qty: D
    ts: int


def long(qty, price, ts=T0):
    return (Layer(D(qty), ts), D(price))


@pytest.fixture
def limits(config):
    return HybridLimits.from_config(config.risk.hybrid)


def test_default_preset_is_500_contract_minutes_8_cents_8_seconds(limits):
    assert (limits.duration_limit, limits.mae, limits.persistence_ns, limits.skew_threshold) == (
        D(500),
        D("0.08"),
        8 * S,
        D(20),
    )


@pytest.mark.parametrize(
    "preset, expected",
    [("conservative", (D(350), D("0.06"), 5 * S)), ("aggressive", (D(700), D("0.10"), 12 * S))],
)
def test_presets_are_selected_by_config(preset, expected):
    cfg = load_config(overrides={"risk": {"hybrid": {"preset": preset}}})

    limits = HybridLimits.from_config(cfg.risk.hybrid)

    assert (limits.duration_limit, limits.mae, limits.persistence_ns) == expected


def test_duration_weighted_exposure_sums_contracts_times_age_in_minutes():
    layers = [Layer(D(10), T0), Layer(D(-4), T0 + 5 * MINUTE)]  # |qty| counts for shorts too

    assert duration_weighted_exposure(layers, T0 + 50 * MINUTE) == D(10 * 50 + 4 * 45)


def test_seed_scenario_1_goal_spike_that_recovers_inside_the_window_does_not_trigger(limits):
    # long 30 @ 52c; the goal drops the price to 43c (MAE 9c), it recovers to -4c in 6 s, 51c at 8 s
    policy = HybridPolicy(limits)
    layers = (Layer(D(30), T0),)
    vwap = D("0.52")

    assert policy.observe(layers, vwap, D("0.43"), T0 + 1 * S) is None
    assert policy.breach_start_ns == T0 + 1 * S
    assert policy.observe(layers, vwap, D("0.48"), T0 + 7 * S) is None
    assert policy.breach_start_ns is None  # recovered: the window starts over
    assert policy.observe(layers, vwap, D("0.51"), T0 + 9 * S) is None


def test_seed_scenario_2_sustained_momentum_break_triggers_when_the_window_elapses(limits):
    # long 40 @ 52c: t=0 MAE 9c (breach starts), t=4 12c, t=8 14c -> trigger
    policy = HybridPolicy(limits)
    layers = (Layer(D(40), T0),)
    vwap = D("0.52")
    start = T0 + 10 * S

    assert policy.observe(layers, vwap, D("0.43"), start) is None
    assert policy.next_check_ns(layers) == start + 8 * S  # the window's end, before the duration limit
    assert policy.observe(layers, vwap, D("0.40"), start + 4 * S) is None
    assert policy.observe(layers, vwap, D("0.38"), start + 8 * S - 1) is None  # 1 ns short of 8 s

    trigger = policy.observe(layers, vwap, D("0.38"), start + 8 * S)

    assert (trigger.kind, trigger.reason, trigger.value) == ("mae", "mae_14c_persisted_8s", D("0.14"))
    assert D(40) * (D("0.38") - vwap) == D("-5.60")  # the seed's loss at a flatten at 38c


def test_seed_scenario_3_duration_exit_at_12_contracts_for_42_minutes(limits):
    policy = HybridPolicy(limits)
    layers = (Layer(D(12), T0),)

    assert policy.observe(layers, D("0.48"), D("0.51"), T0 + 41 * MINUTE) is None  # 492
    trigger = policy.observe(layers, D("0.48"), D("0.51"), T0 + 42 * MINUTE)

    assert (trigger.kind, trigger.reason, trigger.value) == ("duration", "duration_weighted_504", D(504))
    assert D(12) * (D("0.51") - D("0.48")) == D("0.36")  # the seed's profit at a flatten at mid 51c


def test_exactly_the_duration_limit_does_not_trigger_only_exceeding_it(limits):
    policy = HybridPolicy(limits)
    layers = (Layer(D(10), T0),)

    assert policy.observe(layers, D("0.50"), D("0.50"), T0 + 50 * MINUTE) is None  # 500: not over
    assert policy.observe(layers, D("0.50"), D("0.50"), T0 + 50 * MINUTE + 1).kind == "duration"


def test_next_check_is_the_first_nanosecond_the_duration_limit_is_exceeded(limits):
    policy = HybridPolicy(limits)
    layers = (Layer(D(10), T0), Layer(D(15), T0 + 10 * MINUTE))
    # 10(t - T0) + 15(t - T0 - 10m) = 500m  ->  t = T0 + 26m exactly; first ns past it
    assert policy.next_check_ns(layers) == T0 + 26 * MINUTE + 1


def test_short_position_excursion_is_mark_above_vwap(limits):
    policy = HybridPolicy(limits)
    layers = (Layer(D(-10), T0),)

    assert policy.observe(layers, D("0.40"), D("0.48"), T0) is None  # 8c against: breach starts
    assert policy.breach_start_ns == T0
    assert policy.observe(layers, D("0.40"), D("0.32"), T0 + S) is None  # 8c in our favour: reset
    assert policy.breach_start_ns is None


def test_no_mark_or_flat_position_never_arms_the_failsafe(limits):
    policy = HybridPolicy(limits)

    assert policy.observe((Layer(D(10), T0),), D("0.50"), None, T0) is None
    assert policy.observe((), None, D("0.10"), T0) is None
    assert policy.breach_start_ns is None


@pytest.mark.parametrize(
    "position, sides",
    [(D(0), "both"), (D(19), "both"), (D(20), "both"), (D(21), "ask_only"), (D(-20), "both"), (D(-21), "bid_only")],
)
def test_quote_logic_neutral_long_and_short(position, sides):
    assert hybrid_quote_sides(position, D(20)) == sides


def test_position_ages_come_from_fifo_layers_so_a_partial_exit_drops_the_oldest():
    def fill(fill_id, side, count, ts):
        return OrderFilled(
            fill_id=fill_id, order_id="o", client_order_id="c", ticker="M", side=side, price=D("0.50"),
            count=D(count), fee=D(0), is_taker=False, post_position=None, ts_event=ts, ts_recv=ts,
        )  # fmt: skip

    inventory = Inventory()
    inventory.apply_fill(fill("a", "bid", 10, T0))
    inventory.apply_fill(fill("b", "bid", 10, T0 + 10 * MINUTE))
    inventory.apply_fill(fill("c", "ask", 10, T0 + 20 * MINUTE))  # closes the first 10 (FIFO)

    assert duration_weighted_exposure(inventory.layers, T0 + 20 * MINUTE) == D(100)  # 10 x 10 min, not 10 x 20


def test_a_fill_that_flips_long_to_short_starts_the_mae_window_again(limits):
    policy = HybridPolicy(limits)
    long_layers = (Layer(D(10), T0),)
    assert policy.observe(long_layers, D("0.52"), D("0.43"), T0) is None  # long, 9c against: window opens
    # at +5 s one fill sells 15: short 5 at 0.40, with the mark 9c against the short
    short_layers = (Layer(D(-5), T0 + 5 * S),)
    assert policy.observe(short_layers, D("0.40"), D("0.49"), T0 + 5 * S) is None
    assert policy.breach_start_ns == T0 + 5 * S  # the short's own window

    assert policy.observe(short_layers, D("0.40"), D("0.49"), T0 + 9 * S) is None  # 9 s since the long's breach
    assert policy.observe(short_layers, D("0.40"), D("0.49"), T0 + 13 * S).kind == "mae"  # 8 s of the short's


def test_a_fractional_excursion_reads_to_a_tenth_of_a_cent_in_the_reason():
    assert _format_number(D("25") / D("3")) == "8.3"
    assert _format_number(D("8.5000")) == "8.5"
    assert _format_number(D("14.00")) == "14"
