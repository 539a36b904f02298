"""Property tests of the matching engine and the exchange's books of account (hypothesis).

Random order flow from three accounts (place GTC/IOC/FOK, post-only, both STP modes, cancel,
amend, decrease), then settlement. After every step: the book is never crossed at rest,
collateral is never negative, contracts are conserved (signed positions sum to zero) and so is
cash (cash + fees + $1 escrowed per open YES/NO pair = what the accounts started with). The
book's matching is also checked step by step against a naive price-time-priority reference.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kalshi.wire import ONE, ceil_to
from simex import ApiError, Exchange, MarketSpec, OrderBook, OrderRequest
from simex._book import ASK, BID, STP_MAKER, STP_TAKER_AT_CROSS

D = Decimal
TICKER = "KXPROP-1"
ACCOUNTS = ("a", "b", "c")
START_CENTS = 20_000  # $200 each: small enough that collateral checks bite
SETTINGS = settings(max_examples=60, deadline=None, database=None,  # no .hypothesis/ in the tree
                    suppress_health_check=[HealthCheck.too_slow])

price_st = st.integers(min_value=1, max_value=99).map(lambda c: D(c) / 100)
count_st = st.integers(min_value=1, max_value=25).map(D)
place_st = st.tuples(
    st.just("place"), st.sampled_from(ACCOUNTS), st.sampled_from((BID, ASK)), price_st, count_st,
    st.sampled_from(("good_till_canceled", "good_till_canceled", "immediate_or_cancel", "fill_or_kill")),
    st.sampled_from((STP_TAKER_AT_CROSS, STP_MAKER)), st.booleans(),
)
pick_st = st.integers(min_value=0, max_value=10_000)
op_st = st.one_of(
    place_st, place_st, place_st,
    st.tuples(st.just("cancel"), pick_st),
    st.tuples(st.just("amend"), pick_st, price_st, count_st),
    st.tuples(st.just("decrease"), pick_st, st.integers(min_value=0, max_value=25).map(D)),
)


class Clock:
    def __init__(self) -> None:
        self.ns = 1_795_000_000 * 10**9

    def __call__(self) -> int:
        self.ns += 1_000_000  # every read moves on 1 ms: distinct, increasing times
        return self.ns


def _exchange() -> Exchange:
    ex = Exchange(now_ns=Clock())
    ex.add_market(MarketSpec(ticker=TICKER, event_ticker="KXPROP", series_ticker="KXPROP",
                             fee_type="quadratic_with_maker_fees"))
    for name in ACCOUNTS:
        ex.register_account(name, START_CENTS)
    return ex


def _apply(ex: Exchange, op: tuple) -> None:
    kind = op[0]
    resting = [o for o in ex.orders.values() if o.status == "resting"]
    try:
        if kind == "place":
            _, who, side, price, count, tif, stp, post_only = op
            ex.place_order(who, OrderRequest(TICKER, side, price, count, time_in_force=tif,
                                             self_trade_prevention_type=stp, post_only=post_only))
        elif resting:
            order = resting[op[1] % len(resting)]
            if kind == "cancel":
                ex.cancel_order(order.account_id, order.order_id)
            elif kind == "amend":
                ex.amend_order(order.account_id, order.order_id, TICKER, order.side, op[2], order.filled + op[3])
            else:
                ex.decrease_order(order.account_id, order.order_id, None, op[2])
    except ApiError:
        pass  # rejects are part of the flow (balance, post-only cross, bad decrease); state must stay sound


def _check_invariants(ex: Exchange) -> None:
    book = ex.markets[TICKER].book
    bid, ask = book.best(BID), book.best(ASK)
    assert bid is None or ask is None or bid < ask, f"crossed book at rest: {bid} >= {ask}"
    for order in ex.orders.values():
        rests = book.get(order.order_id)
        if order.status == "resting":
            assert rests is not None and rests.remaining == order.remaining > 0
        else:
            assert rests is None and order.remaining == 0
    total_cash = total_fees = ZERO = D(0)
    net_position = open_pairs = ZERO
    for account in ex.accounts.values():
        assert ex.locked(account) >= 0 and ex.available(account) >= 0, f"{account.account_id} over-committed"
        recomputed = sum(((o.price if o.side == BID else ONE - o.price) * o.remaining
                          for o in ex.orders.values() if o.account_id == account.account_id and o.status == "resting"),
                         ZERO)
        assert ex.locked(account) == recomputed, "incremental collateral drifted from the resting orders"
        total_cash += account.cash
        for pos in account.positions.values():
            total_fees += pos.fees_paid
            net_position += pos.position
            open_pairs += max(ZERO, pos.position)
    assert net_position == 0, "every contract bought has a counterparty"
    assert total_cash + total_fees + open_pairs * ONE == D(START_CENTS * len(ACCOUNTS)) / 100


@SETTINGS
@given(ops=st.lists(op_st, min_size=1, max_size=40), result=st.sampled_from(("yes", "no")))
def test_random_flow_keeps_the_book_and_the_books_of_account_sound(ops, result):
    ex = _exchange()
    for op in ops:
        _apply(ex, op)
        _check_invariants(ex)
    for trade in ex.trades:
        assert D("0.01") <= trade.price <= D("0.99")
    ex.determine_market(TICKER, result)
    ex.settle_market(TICKER)
    fees = sum((p.fees_paid for a in ex.accounts.values() for p in a.positions.values()), D(0))
    assert sum(a.cash for a in ex.accounts.values()) + fees == D(START_CENTS * len(ACCOUNTS)) / 100
    for account in ex.accounts.values():
        assert ex.locked(account) == 0, "settlement leaves no collateral locked"
        assert all(p.position == 0 for p in account.positions.values())


@SETTINGS
@given(ops=st.lists(op_st, min_size=1, max_size=40))
def test_each_orders_fees_stay_within_a_cent_above_its_cumulative_trade_fee(ops):
    ex = _exchange()
    for op in ops:
        _apply(ex, op)
    for order in ex.orders.values():
        fills = [f for f in ex.fills if f.order_id == order.order_id]
        trade_fees = sum((ceil_to((D("0.07") if f.is_taker else D("0.0175")) * f.count * f.price * (ONE - f.price),
                                  D("0.0001")) for f in fills), D(0))
        assert D(0) <= order.fees - trade_fees <= D("0.01")
        assert order.fees % D("0.01") == 0, "a non-direct member's fees settle in whole cents"


# ----- the book against a naive price-time-priority reference -----
class ReferenceBook:
    """Resting orders in a plain list; matching sorts candidates by price then arrival."""

    def __init__(self) -> None:
        self.orders: list[list] = []  # [order_id, owner, side, price, remaining, arrival]
        self.arrivals = 0

    def add(self, order_id, owner, side, price, count) -> None:
        self.arrivals += 1
        self.orders.append([order_id, owner, side, price, count, self.arrivals])

    def match(self, owner, side, limit, count, stp):
        crossing = [o for o in self.orders if o[2] != side and (o[3] <= limit if side == BID else o[3] >= limit)]
        crossing.sort(key=lambda o: (o[3] if side == BID else -o[3], o[5]))
        executions, stp_cancelled, remaining = [], [], count
        for o in crossing:
            if remaining <= 0:
                break
            if o[1] == owner:
                if stp == STP_TAKER_AT_CROSS:
                    break
                self.orders.remove(o)
                stp_cancelled.append(o[0])
                continue
            qty = min(o[4], remaining)
            o[4] -= qty
            remaining -= qty
            executions.append((o[0], o[3], qty))
            if o[4] == 0:
                self.orders.remove(o)
        return executions, stp_cancelled, remaining

    def levels(self, side):
        sizes: dict = {}
        for o in self.orders:
            if o[2] == side:
                sizes[o[3]] = sizes.get(o[3], D(0)) + o[4]
        return sorted(sizes.items())


book_op_st = st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from((BID, ASK)), price_st, count_st,
                       st.sampled_from((STP_TAKER_AT_CROSS, STP_MAKER)), st.booleans())


@SETTINGS
@given(ops=st.lists(book_op_st, min_size=1, max_size=60))
def test_book_matches_in_price_time_priority_like_the_reference(ops):
    book, ref = OrderBook(), ReferenceBook()
    for n, (owner, side, price, count, stp, rest_remainder) in enumerate(ops):
        got = book.match(owner, side, price, count, stp)
        want_exec, want_stp, want_remaining = ref.match(owner, side, price, count, stp)
        assert [(e.maker.order_id, e.price, e.count) for e in got.executions] == want_exec
        assert [m.order_id for m in got.stp_cancelled_makers] == want_stp
        assert got.remaining == want_remaining
        stopped_by_stp = got.taker_stp_cancelled or (stp == STP_MAKER and got.stp_cancelled_makers)
        if rest_remainder and got.remaining > 0 and not stopped_by_stp and not book.would_cross(side, price):
            book.add(f"o{n}", owner, side, price, got.remaining)
            ref.add(f"o{n}", owner, side, price, got.remaining)
        assert book.levels(BID) == ref.levels(BID) and book.levels(ASK) == ref.levels(ASK)
