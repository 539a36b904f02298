"""Inventory: FIFO layers, VWAP, realised P&L net of fees on both legs, de-duplication."""

from decimal import Decimal as D

from actors.ledger import Inventory

from .factories import fill


def test_fifo_realised_pnl_includes_the_fees_of_both_legs():
    inventory = Inventory()
    inventory.apply_fill(fill("bid", "0.40", 5, fee="0.02", fill_id="a"))
    inventory.apply_fill(fill("bid", "0.50", 5, fee="0.03", fill_id="b"))

    inventory.apply_fill(fill("ask", "0.60", 7, fee="0.04", fill_id="c"))

    # 5 x (0.60-0.40) + 2 x (0.60-0.50) - entry fees 0.02 + 0.03*2/5 - exit fee 0.04
    assert inventory.realized_pnl == D("1.128")
    assert inventory.position == D(3)
    assert inventory.vwap == D("0.50")
    assert inventory.fees_paid == D("0.09")


def test_realised_plus_unrealised_is_the_whole_pnl_net_of_fees():
    inventory = Inventory()
    inventory.apply_fill(fill("bid", "0.40", 5, fee="0.02", fill_id="a"))
    inventory.apply_fill(fill("bid", "0.50", 5, fee="0.03", fill_id="b"))
    inventory.apply_fill(fill("ask", "0.60", 7, fee="0.04", fill_id="c"))

    unrealized = inventory.unrealized_pnl(D("0.55"))

    # cash -2.00-0.02-2.50-0.03+4.20-0.04 = -0.39, plus 3 x 0.55 = 1.26
    assert unrealized == D("0.132")  # 3 x 0.05 - remaining entry fee 0.018
    assert inventory.realized_pnl + unrealized == D("1.26")


def test_vwap_weights_open_layers_by_size():
    inventory = Inventory()
    inventory.apply_fill(fill("bid", "0.40", 1, fill_id="a"))
    inventory.apply_fill(fill("bid", "0.44", 3, fill_id="b"))

    assert inventory.vwap == D("0.43")


def test_partial_fills_of_one_order_accumulate():
    inventory = Inventory()
    for n, count in enumerate((2, 1, 2)):
        inventory.apply_fill(fill("ask", "0.60", count, fee="0.01", fill_id=f"p{n}", order_id="ex-7"))

    assert inventory.position == D(-5)
    assert inventory.vwap == D("0.60")
    assert inventory.fees_paid == D("0.03")
    assert inventory.fill_count == 3


def test_a_fill_reported_twice_is_applied_once():
    inventory = Inventory()
    first = inventory.apply_fill(fill("bid", "0.40", 5, fee="0.02", fill_id="dup"))

    again = inventory.apply_fill(fill("bid", "0.40", 5, fee="0.02", fill_id="dup"))

    assert (first, again) == (True, False)
    assert inventory.position == D(5)
    assert inventory.fees_paid == D("0.02")


def test_a_sell_larger_than_the_long_flips_to_a_short_at_the_sell_price():
    inventory = Inventory()
    inventory.apply_fill(fill("bid", "0.40", 3, fee="0.01", fill_id="a"))

    inventory.apply_fill(fill("ask", "0.45", 5, fee="0.02", fill_id="b"))

    # closes 3: 3 x 0.05 - 0.01 - 0.02*3/5 ; opens 2 short at 0.45 carrying 0.008 of fee
    assert inventory.realized_pnl == D("0.128")
    assert inventory.position == D(-2)
    assert inventory.vwap == D("0.45")
    assert inventory.unrealized_pnl(D("0.50")) == D("-0.108")


def test_flat_inventory_has_no_vwap_and_no_unrealised_pnl():
    inventory = Inventory()
    inventory.apply_fill(fill("bid", "0.40", 2, fill_id="a"))
    inventory.apply_fill(fill("ask", "0.30", 2, fill_id="b"))

    assert inventory.position == 0
    assert inventory.vwap is None
    assert inventory.unrealized_pnl(D("0.50")) == 0
    assert inventory.realized_pnl == D("-0.20")


def test_fee_shares_of_a_layer_closed_in_thirds_add_up_exactly():
    inventory = Inventory()
    inventory.apply_fill(fill("bid", "0.50", 3, fee="0.02", fill_id="a"))

    for n in range(3):
        inventory.apply_fill(fill("ask", "0.50", 1, fill_id=f"s{n}"))

    assert inventory.realized_pnl == D("-0.02")


def test_fill_ids_kept_are_bounded_and_a_fill_no_newer_than_a_forgotten_one_counts_as_applied():
    # the bound's hazard, by design: a fill first reported after `limit` newer ones were
    # counted is taken for a duplicate (an age bound would lose a fill missed in any long outage)
    inventory = Inventory(seen_limit=2)
    for n, fill_id in enumerate(("a", "b", "c"), start=1):
        inventory.apply_fill(fill("bid", "0.40", 1, fill_id=fill_id, ts=n))

    assert (inventory.has_fill("a"), inventory.has_fill("b"), inventory.has_fill("c")) == (False, True, True)
    assert inventory.fills_forgotten_through_ns == 1
    assert not inventory.apply_fill(fill("bid", "0.40", 1, fill_id="a", ts=1))  # reported again
    assert not inventory.apply_fill(fill("bid", "0.40", 1, fill_id="late", ts=1))  # the hazard
    assert inventory.apply_fill(fill("bid", "0.40", 1, fill_id="d", ts=2))  # after the horizon: exact
    assert inventory.position == D(3 + 1)
