"""The simulated exchange core on positions and collateral: reduce-only orders never grow or
flip a position, contracts held cover the orders that close them (YES/NO netting), and the
fee allowance keeps cash from going below zero.

Each test cites the Kalshi document it follows (kalshi-api.md in the shared folder beside the
repository, or the page of kalshi-docs/ it names).
"""

from decimal import Decimal

from simex_testkit import QUIET_SPEC, TICKER, order_body, place, rest

from simex import ApiError, Exchange, MarketSpec

D = Decimal


def _exchange(clock, tier=None, **spec) -> Exchange:
    ex = Exchange(now_ns=clock, rate_limit_tier=tier)
    ex.add_market(MarketSpec(ticker=TICKER, event_ticker=QUIET_SPEC.event_ticker,
                             series_ticker=QUIET_SPEC.series_ticker, **spec))
    for name in ("alice", "bob", "carol"):
        ex.register_account(name, 100_000)
    return ex


def _position(ex, account) -> Decimal:
    pos = ex.accounts[account].positions.get(TICKER)
    return pos.position if pos else D(0)


def _go_long(ex, account="alice", count=10, price="0.50"):
    place(ex, "bob", "ask", price, count)
    place(ex, account, "bid", price, count)
    assert _position(ex, account) == count


# ----- reduce_only never grows or flips the position (kalshi-api.md section 5) -----
def test_resting_reduce_only_order_is_cancelled_when_the_position_goes_flat(ex):
    """`reduce_only` caps the order at the position; `ReduceOnlyCancel` is the update reason
    when the exchange cancels it (kalshi-api.md section 5, last_update_reason)."""
    _go_long(ex)
    ro = place(ex, "alice", "ask", "0.70", 10, reduce_only=True)
    assert ro.status == "resting" and ro.reduce_only
    place(ex, "alice", "ask", "0.60", 10)
    place(ex, "bob", "bid", "0.60", 10)  # the plain ask closes the position
    assert _position(ex, "alice") == 0
    assert ro.status == "canceled" and ro.last_update_reason == "ReduceOnlyCancel"
    place(ex, "carol", "bid", "0.70", 10)  # nothing of alice's left to lift
    assert _position(ex, "alice") == 0


def test_resting_reduce_only_order_is_recapped_when_the_position_shrinks(ex):
    _go_long(ex)
    ro = place(ex, "alice", "ask", "0.70", 10, reduce_only=True)
    place(ex, "alice", "ask", "0.60", 6)
    place(ex, "bob", "bid", "0.60", 6)  # long 4 now
    assert (ro.status, ro.remaining, ro.last_update_reason) == ("resting", D(4), "ReduceOnlyCancel")
    assert ex.markets[TICKER].book.size_at("ask", D("0.70")) == D(4)


def test_reduce_only_orders_together_never_exceed_the_position(ex):
    _go_long(ex)
    first = place(ex, "alice", "ask", "0.70", 6, reduce_only=True)
    second = place(ex, "alice", "ask", "0.80", 10, reduce_only=True)
    assert (first.remaining, second.remaining) == (D(6), D(4))
    status, body = rest(ex, "POST", "/portfolio/events/orders", order_body("ask", "0.90", "1", reduce_only=True))
    assert status == 400 and body["error"]["code"] == "invalid_order"


def test_reduce_only_maker_stops_at_the_position_within_one_sweep(ex):
    """A sweep that first fills the holder's plain ask must not go on to fill its reduce-only
    ask past flat; the taker matches on against the next resting order instead."""
    _go_long(ex)
    place(ex, "alice", "ask", "0.55", 10)
    ro = place(ex, "alice", "ask", "0.60", 10, reduce_only=True)
    place(ex, "bob", "ask", "0.65", 10)
    taker = place(ex, "carol", "bid", "0.65", 20)
    assert _position(ex, "alice") == 0
    assert ro.status == "canceled" and ro.last_update_reason == "ReduceOnlyCancel" and ro.filled == 0
    assert taker.filled == 20 and _position(ex, "carol") == 20  # 10 from alice at 0.55, 10 from bob
    assert ex.markets[TICKER].book.levels("ask") == []


# ----- YES/NO netting: closing contracts need no new collateral (kalshi-api.md section 5) -----
def test_a_fully_invested_account_can_sell_the_contracts_it_holds(clock):
    ex = _exchange(clock)
    ex.register_account("p", 520)  # $5.20
    _go_long(ex, "p")
    assert ex.available(ex.accounts["p"]) == D("0.02")
    status, body = rest(ex, "POST", "/portfolio/events/orders", order_body("ask", "0.60", "10"), account="p")
    assert status == 201 and body["remaining_count"] == "10.00"
    assert ex.available(ex.accounts["p"]) == D("0.02")  # a covered ask holds nothing
    place(ex, "bob", "bid", "0.60", 10)
    assert _position(ex, "p") == 0
    assert ex.available(ex.accounts["p"]) >= D("5.80")  # + 10 x 0.60, less the fee


def test_an_order_beyond_the_position_locks_only_the_part_that_opens_exposure(ex):
    _go_long(ex)
    alice = ex.accounts["alice"]
    before = ex.available(alice)
    order = place(ex, "alice", "ask", "0.60", 15)  # 10 close the long, 5 open NO at 0.40
    assert order.status == "resting"
    assert before - ex.available(alice) == 5 * D("0.40")


def test_losing_the_cover_is_paid_for_when_a_better_priced_order_takes_it(clock):
    """The position covers orders in fill priority: a new better-priced sell claims it, so the
    older sell then locks its full collateral, and the new order must pay for that."""
    ex = _exchange(clock)
    ex.register_account("p", 700)  # $7.00
    _go_long(ex, "p")  # $2.00 left
    place(ex, "p", "ask", "0.80", 10)  # covered: locks nothing
    with_cover_stolen = 10 * D("0.20")  # the 0.80 ask would lose its cover to a 0.70 ask
    assert ex.available(ex.accounts["p"]) == D("1.82") < with_cover_stolen  # $2.00 less the 0.18 fee
    try:
        place(ex, "p", "ask", "0.70", 10)
        raise AssertionError("expected insufficient_balance")
    except ApiError as exc:
        assert exc.code == "insufficient_balance"


# ----- the fee allowance uses the fee actually charged (kalshi-api.md section 9) -----
def test_fee_multiplier_counts_in_the_collateral_check_so_cash_never_goes_negative(clock):
    ex = _exchange(clock, fee_multiplier=D(2))
    ex.register_account("poor", 500)  # $5.00
    place(ex, "bob", "ask", "0.48", 10)
    try:  # 4.80 + 2 x 0.07 x 10 x 0.48 x 0.52 = 0.3494 of fee > $5.00
        place(ex, "poor", "bid", "0.48", 10)
        raise AssertionError("expected insufficient_balance")
    except ApiError as exc:
        assert exc.code == "insufficient_balance"
    order = place(ex, "poor", "bid", "0.48", 9)
    assert order.filled == 9
    account = ex.accounts["poor"]
    assert account.cash >= 0 and ex.available(account) >= 0


def test_many_small_fills_never_take_the_balance_below_zero(ex):
    """Fee rounding (kalshi-api.md section 9): the per-order accumulator may hold $0.01 before it
    rebates, so four one-contract fills at 0.50 cost 0.08 against ceil(0.07 x 4 x 0.25) = 0.07.
    The allowance covers that cent: $2.07 is refused (it would end at -$0.01), $2.08 is enough."""
    ex.register_account("short", 207)
    ex.register_account("tight", 208)
    for _ in range(4):
        place(ex, "bob", "ask", "0.50", 1)
    try:
        place(ex, "short", "bid", "0.50", 4)
        raise AssertionError("expected insufficient_balance")
    except ApiError as exc:
        assert exc.code == "insufficient_balance"
    order = place(ex, "tight", "bid", "0.50", 4)
    assert order.filled == 4 and order.taker_fees == D("0.08")
    assert ex.available(ex.accounts["tight"]) == 0
