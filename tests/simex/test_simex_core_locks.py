"""Collateral with YES/NO netting, kept incrementally (kalshi-api.md section 5).

The exchange keeps each account's live orders per side in fill priority and re-plans only the
orders whose cover by the position can change. These tests hold that bookkeeping to the plain
definition, recomputed from scratch after every step of a random flow (reduce-only orders, a
maker-fee series, amends, decreases, cancels, fills on both sides of a position), and pin that
one placement costs work independent of how many orders already rest.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simex import ApiError, Exchange, MarketSpec, OrderRequest
from simex._book import ASK, BID, STP_MAKER, STP_TAKER_AT_CROSS

D = Decimal
ZERO, ONE, CENT = D(0), D(1), D("0.01")
TICKER = "KXLOCK-1"
ACCOUNTS = ("a", "b", "c")
MAKER_RATE = D("0.0175")  # quadratic_with_maker_fees (kalshi-api.md section 9)
FEE_MULTIPLIER = D("1.5")
SETTINGS = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _ceil(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def _unit_cost(side: str, price: Decimal) -> Decimal:
    return price if side == BID else ONE - price


def _maker_allowance(count: Decimal, price: Decimal) -> Decimal:
    """Most the maker fees of `count` contracts can cost: per-contract fee rounded up to $0.0001,
    times count, up to the cent, plus the cent the rounding accumulator may hold."""
    if count <= 0:
        return ZERO
    per_contract = _ceil(MAKER_RATE * FEE_MULTIPLIER * price * (ONE - price), D("0.0001"))
    return _ceil(per_contract * count, CENT) + CENT


def _taker_allowance(count: Decimal, price: Decimal) -> Decimal:
    if count <= 0:
        return ZERO
    per_contract = _ceil(D("0.07") * FEE_MULTIPLIER * price * (ONE - price), D("0.0001"))
    return _ceil(per_contract * count, CENT) + CENT


def _reducible(ex: Exchange, account: str, side: str) -> Decimal:
    pos = ex.accounts[account].positions.get(TICKER)
    held = pos.position if pos else ZERO
    return max(ZERO, -held if side == BID else held)


def _priority(order) -> tuple:
    return (-order.price if order.side == BID else order.price, order.priority)


def _plan(ex: Exchange, account: str, side: str, orders: list) -> list[tuple]:
    """The definition: the position covers the orders in fill priority; covered contracts are
    netted off, the uncovered rest reserves the maker-fee allowance; reduce-only orders are
    netted whole. Returns (order, cost, netted, reserve, covered) per order."""
    cover = _reducible(ex, account, side)
    rows = []
    for order in sorted(orders, key=_priority):
        cost = _unit_cost(side, order.price) * order.remaining
        covered = min(order.remaining, cover)
        cover -= covered
        if order.reduce_only:
            rows.append((order, cost, cost, ZERO, covered))
        else:
            rows.append((order, cost, _unit_cost(side, order.price) * covered,
                         _maker_allowance(order.remaining - covered, order.price), covered))
    return rows


def _resting(ex: Exchange, account: str, side: str) -> list:
    return [o for o in ex.orders.values()
            if o.account_id == account and o.side == side and o.status == "resting"]


def _held(rows: list[tuple]) -> Decimal:
    return sum((cost - netted + reserve for _, cost, netted, reserve, _ in rows), ZERO)


def _exchange() -> Exchange:
    ticks = iter(range(10**9))
    ex = Exchange(now_ns=lambda: 1_795_000_000 * 10**9 + next(ticks) * 10**6)
    ex.add_market(MarketSpec(ticker=TICKER, event_ticker="KXLOCK", series_ticker="KXLOCK",
                             fee_type="quadratic_with_maker_fees", fee_multiplier=FEE_MULTIPLIER))
    for name in ACCOUNTS:
        ex.register_account(name, 30_000)
    return ex


def _check_locks(ex: Exchange) -> None:
    for account in ACCOUNTS:
        totals = [ZERO, ZERO, ZERO]
        for side in (BID, ASK):
            for order, cost, netted, reserve, _ in _plan(ex, account, side, _resting(ex, account, side)):
                assert (order.locked, order.netted, order.fee_reserve) == (cost, netted, reserve), \
                    f"{order.order_id} of {account} locks differently from a full recount"
                totals = [totals[0] + cost, totals[1] + netted, totals[2] + reserve]
        record = ex.accounts[account]
        assert [record.locked, record.netted, record.fee_reserve] == totals
        assert ex.committed(record) == totals[0] - totals[1] + totals[2]


def _check_need(ex: Exchange, account: str, side: str, price: Decimal, count: Decimal,
                reduce_only: bool, replacing=None) -> None:
    """Extra collateral = rise of the side's held collateral with the order joined behind its
    price level (and `replacing` gone), plus the taker allowance on what opens exposure."""
    current = _resting(ex, account, side)
    probe = type("Probe", (), {})()
    probe.side, probe.price, probe.remaining = side, price, count
    probe.reduce_only, probe.priority = reduce_only, float("inf")
    after = _plan(ex, account, side, [o for o in current if o is not replacing] + [probe])
    covered = next(row[4] for row in after if row[0] is probe)
    opening = ZERO if reduce_only else count - covered
    expected = _held(after) - _held(_plan(ex, account, side, current)) + _taker_allowance(opening, price)
    got = ex._collateral_need(ex.accounts[account], ex.markets[TICKER], side, price, count, reduce_only,
                              replacing=replacing)
    assert got == expected, f"collateral need {got} != recount {expected}"


# a narrow band, so that orders cross often and positions (the cover) move under resting orders
price_st = st.integers(min_value=40, max_value=60).map(lambda c: D(c) / 100)
count_st = st.integers(min_value=1, max_value=15).map(D)
pick_st = st.integers(min_value=0, max_value=10_000)
place_st = st.tuples(st.just("place"), st.sampled_from(ACCOUNTS), st.sampled_from((BID, ASK)), price_st, count_st,
                     st.sampled_from(("good_till_canceled", "good_till_canceled", "immediate_or_cancel")),
                     st.sampled_from((STP_TAKER_AT_CROSS, STP_MAKER)), st.sampled_from((False, False, False, True)))
op_st = st.one_of(
    place_st, place_st, place_st, place_st,
    st.tuples(st.just("cancel"), pick_st),
    st.tuples(st.just("amend"), pick_st, price_st, count_st),
    st.tuples(st.just("decrease"), pick_st, st.integers(min_value=0, max_value=15).map(D)),
    st.tuples(st.just("probe"), st.sampled_from(ACCOUNTS), st.sampled_from((BID, ASK)), price_st, count_st,
              st.booleans(), pick_st),
)


def _apply(ex: Exchange, op: tuple) -> None:
    kind = op[0]
    resting = [o for o in ex.orders.values() if o.status == "resting"]
    try:
        if kind == "place":
            _, who, side, price, count, tif, stp, reduce_only = op
            ex.place_order(who, OrderRequest(TICKER, side, price, count, time_in_force=tif,
                                             self_trade_prevention_type=stp, reduce_only=reduce_only))
        elif kind == "probe":
            _, who, side, price, count, reduce_only, pick = op
            _check_need(ex, who, side, price, count, reduce_only)
            own = _resting(ex, who, side)
            if own:
                _check_need(ex, who, side, price, count, reduce_only, replacing=own[pick % len(own)])
        elif resting:
            order = resting[op[1] % len(resting)]
            if kind == "cancel":
                ex.cancel_order(order.account_id, order.order_id)
            elif kind == "amend":
                ex.amend_order(order.account_id, order.order_id, TICKER, order.side, op[2], order.filled + op[3])
            else:
                ex.decrease_order(order.account_id, order.order_id, None, op[2])
    except ApiError:
        pass  # rejects are part of the flow; the books must stay sound


@SETTINGS
@given(ops=st.lists(op_st, min_size=30, max_size=80))
def test_incremental_locks_equal_a_full_recount_after_every_step(ops):
    ex = _exchange()
    for op in ops:
        _apply(ex, op)
        _check_locks(ex)


def test_cover_moves_to_the_next_order_in_fill_priority_when_the_covered_one_leaves():
    """Long 10 YES: of two asks, the better-priced one is covered first; cancelling it hands
    the cover to the other, which then holds no collateral for its covered contracts."""
    ex = _exchange()
    ex.place_order("b", OrderRequest(TICKER, ASK, D("0.50"), D(10)))
    ex.place_order("a", OrderRequest(TICKER, BID, D("0.50"), D(10)))
    best = ex.place_order("a", OrderRequest(TICKER, ASK, D("0.60"), D(10)))
    worse = ex.place_order("a", OrderRequest(TICKER, ASK, D("0.70"), D(10)))
    assert (best.netted, worse.netted) == (D("4.00"), ZERO)
    ex.cancel_order("a", best.order_id)
    assert worse.netted == D("3.00") and worse.fee_reserve == ZERO
    _check_locks(ex)


def test_a_resting_order_loses_its_cover_when_another_order_sells_the_position():
    """Long 10 YES with an ask resting at $0.70 (covered: no collateral for it); an IOC ask
    sells the 10 elsewhere, so the resting ask now opens exposure and locks its full cost plus
    the maker-fee allowance."""
    ex = _exchange()
    ex.place_order("b", OrderRequest(TICKER, ASK, D("0.50"), D(10)))
    ex.place_order("a", OrderRequest(TICKER, BID, D("0.50"), D(10)))
    resting = ex.place_order("a", OrderRequest(TICKER, ASK, D("0.70"), D(10)))
    assert (resting.netted, resting.fee_reserve) == (D("3.00"), ZERO)
    ex.place_order("c", OrderRequest(TICKER, BID, D("0.40"), D(10)))
    ex.place_order("a", OrderRequest(TICKER, ASK, D("0.40"), D(10), time_in_force="immediate_or_cancel"))
    assert ex.accounts["a"].positions[TICKER].position == 0
    assert (resting.netted, resting.fee_reserve) == (ZERO, _maker_allowance(D(10), D("0.70")))
    _check_locks(ex)


def test_a_better_priced_order_taking_part_of_the_cover_pays_for_what_the_older_one_loses():
    """Long 10 YES, an ask at $0.80 x 10 resting fully covered. A new ask at $0.70 x 4 fills
    first, so it takes 4 of the cover: it needs no collateral itself, but the older ask now opens
    4 NO at $0.20 and reserves their maker-fee allowance. That is what the new order needs."""
    ex = _exchange()
    ex.place_order("b", OrderRequest(TICKER, ASK, D("0.50"), D(10)))
    ex.place_order("a", OrderRequest(TICKER, BID, D("0.50"), D(10)))
    older = ex.place_order("a", OrderRequest(TICKER, ASK, D("0.80"), D(10)))
    _check_need(ex, "a", ASK, D("0.70"), D(4), False)
    expected = 4 * D("0.20") + _maker_allowance(D(4), D("0.80"))
    account = ex.accounts["a"]
    available = ex.available(account)
    ex.place_order("a", OrderRequest(TICKER, ASK, D("0.70"), D(4)))
    assert available - ex.available(account) == expected
    assert (older.netted, older.fee_reserve) == (6 * D("0.20"), _maker_allowance(D(4), D("0.80")))
    _check_locks(ex)


def test_one_placement_does_work_independent_of_the_orders_already_resting(monkeypatch):
    """Re-planning every resting order of the account on each placement made a busy book
    quadratic (53 orders/s at 20,000 orders). With 2,000 uncovered orders resting, a new one
    prices at most a handful of fee allowances."""
    ex = _exchange()
    ex.register_account("whale", 10**9)
    for i in range(2_000):
        ex.place_order("whale", OrderRequest(TICKER, BID, D(1 + i % 40) / 100, D(1)))
    calls = []
    original = ex._fee_allowance
    monkeypatch.setattr(ex, "_fee_allowance", lambda *args: calls.append(args) or original(*args))
    ex.place_order("whale", OrderRequest(TICKER, BID, D("0.20"), D(3)))
    ex.cancel_order("whale", next(o for o in ex.orders.values() if o.status == "resting").order_id)
    assert len(calls) <= 4
