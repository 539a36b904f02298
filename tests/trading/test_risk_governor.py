"""RiskGovernor: every refusal reason, resting orders in exposure, REDUCING and HALTED."""

from dataclasses import replace
from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from actors.risk import RiskGovernor, TradingState
from messages import AllOrdersCancelled, AmendOrder, CancelAllOrders, CancelOrder

from .factories import T0, TICKER, accepted, amended, cancelled, fill, place, rejected, updated


@pytest.fixture
def governor(risk_config):
    # the position-limit cases here are written for a 20-contract limit
    return RiskGovernor(replace(risk_config, max_position_contracts=20))


def amend(order_id, client_order_id, price, count, side="bid", ticker=TICKER):
    return AmendOrder(
        order_id=order_id,
        client_order_id=client_order_id,
        updated_client_order_id=f"{client_order_id}-a",
        ticker=ticker,
        side=side,
        price=D(price),
        count=D(count),
        ts=T0,
    )


def resting_order(governor, cid, side, price, count, ticker=TICKER):
    cmd = place(cid, side, price, count, ticker=ticker)
    assert governor.admit(cmd).ok
    governor.apply(accepted(cmd, f"ex-{cid}"))
    return cmd


def go_long(governor, count, price="0.50"):
    governor.apply(fill("bid", price, count, fill_id=f"long-{count}-{price}", order_id="elsewhere"))


def test_a_sane_order_passes(governor):
    assert governor.check_place(place("c1", "bid", "0.49", 5)) == (True, "", "")


@pytest.mark.parametrize(
    "price, count, code",
    [
        ("0.495", 5, "price_off_grid"),
        ("1.00", 5, "price_out_of_range"),
        ("0.00", 5, "price_out_of_range"),
        ("0.50", 0, "bad_count"),
        ("0.10", 51, "order_too_large"),
    ],
)
def test_insane_prices_and_sizes_are_refused(governor, price, count, code):
    ok, got_code, reason = governor.check_place(place("c1", "bid", price, count))

    assert (ok, got_code) == (False, code)
    assert reason


def test_resting_orders_count_towards_the_worst_case_position(governor):
    resting_order(governor, "c1", "bid", "0.10", 15)

    verdict = governor.check_place(place("c2", "bid", "0.10", 10))

    assert (verdict.ok, verdict.code) == (False, "position_limit")
    assert governor.check_place(place("c3", "bid", "0.10", 5)).ok


def test_position_and_same_side_orders_count_towards_the_position_limit(governor):
    go_long(governor, 12, price="0.10")
    resting_order(governor, "c1", "bid", "0.10", 5)

    assert governor.check_place(place("c2", "bid", "0.10", 4)).code == "position_limit"
    assert governor.check_place(place("c3", "bid", "0.10", 3)).ok


def test_dollar_exposure_beyond_the_market_budget_is_refused(governor):
    resting_order(governor, "c1", "bid", "0.50", 10)  # $5.00
    resting_order(governor, "c2", "ask", "0.80", 10)  # (1 - 0.80) x 10 = $2.00

    verdict = governor.check_place(place("c3", "bid", "0.20", 6))  # + $1.20 -> $8.20

    assert (verdict.ok, verdict.code) == (False, "market_budget")
    assert governor.exposure(TICKER) == D("7.00")


def test_exposure_beyond_the_global_budget_is_refused(risk_config):
    governor = RiskGovernor(replace(risk_config, global_budget_dollars=D("10.00")))
    resting_order(governor, "a1", "bid", "0.50", 12, ticker="MKT-A")  # $6.00
    resting_order(governor, "b1", "bid", "0.50", 6, ticker="MKT-B")  # $3.00

    verdict = governor.check_place(place("b2", "bid", "0.50", 3, ticker="MKT-B"))

    assert (verdict.ok, verdict.code) == (False, "global_budget")
    assert governor.global_exposure() == D("9.00")


def test_resting_orders_that_close_the_position_count_only_beyond_it(governor):
    governor.apply(fill("ask", "0.40", 8, fill_id="short", order_id="elsewhere"))  # short 8: 8 x 0.60
    resting_order(governor, "c1", "bid", "0.39", 5)
    closing_only = governor.exposure(TICKER)
    resting_order(governor, "c2", "bid", "0.39", 5)  # 2 of these go beyond flat

    assert closing_only == D("4.80")
    assert governor.exposure(TICKER) == D("5.58")  # + 2 x 0.39


def test_a_cancelled_order_stays_in_exposure_until_the_exchange_confirms(governor):
    resting_order(governor, "c1", "bid", "0.50", 10)

    governor.admit(CancelOrder(order_id="ex-c1", client_order_id="c1", ticker=TICKER, ts=T0))
    before_confirmation = governor.exposure(TICKER)
    governor.apply(cancelled("ex-c1", "c1", reduced_by="10"))  # all 10 still rested

    assert before_confirmation == D("5.00")
    assert governor.exposure(TICKER) == 0


def test_each_market_and_the_global_total_follow_every_write_to_the_ledger(governor):
    other = "KXOTHER-26DEC31-T1"
    resting_order(governor, "c1", "bid", "0.40", 10)
    resting_order(governor, "c2", "bid", "0.30", 10, ticker=other)
    before = (governor.exposure(TICKER), governor.exposure(other), governor.global_exposure())

    governor.apply(fill("bid", "0.30", 4, order_id="ex-c2", client_order_id="c2", ticker=other))
    shrink = amend("ex-c1", "c1", "0.40", 5)
    governor.admit(shrink)
    governor.apply(amended(shrink))

    assert before == (D("4.00"), D("3.00"), D("7.00"))
    assert governor.exposure(other) == D("3.00")  # 4 held + 6 resting, all at 0.30
    assert governor.exposure(TICKER) == D("2.00")
    assert governor.global_exposure() == D("5.00")


def test_a_category_total_follows_the_ledger_and_every_market_learnt_in_it(governor):
    other = "KXOTHER-26DEC31-T1"
    resting_order(governor, "c1", "bid", "0.40", 10)
    resting_order(governor, "c2", "bid", "0.30", 10, ticker=other)
    governor.budgets.learn(TICKER, SimpleNamespace(category="Sports", max_exposure=None))
    alone = governor.category_exposure("sports")

    governor.budgets.learn(other, SimpleNamespace(category="sports", max_exposure=None))
    both = governor.category_exposure("sports")
    resting_order(governor, "c3", "bid", "0.10", 10, ticker=other)

    assert (alone, both) == (D("4.00"), D("7.00"))
    assert governor.category_exposure("sports") == D("8.00")


def test_an_order_sent_but_not_yet_accepted_already_counts(governor):
    governor.admit(place("c1", "bid", "0.50", 10))

    assert governor.exposure(TICKER) == D("5.00")


def test_an_exchange_refused_place_releases_its_exposure(governor):
    cmd = place("c1", "bid", "0.50", 10)
    governor.admit(cmd)

    governor.apply(rejected(cmd, "place"))

    assert governor.exposure(TICKER) == 0


def test_a_fill_moves_exposure_from_the_order_into_the_position(governor):
    resting_order(governor, "c1", "bid", "0.40", 10)

    governor.apply(fill("bid", "0.40", 4, order_id="ex-c1", client_order_id="c1"))
    governor.apply(fill("bid", "0.40", 4, order_id="ex-c1", client_order_id="c1"))  # duplicate report

    assert governor.position(TICKER) == D(4)
    assert governor.exposure(TICKER) == D("4.00")  # 4 held at 0.40 + 6 resting at 0.40


def test_an_amend_in_flight_counts_the_worse_of_old_and_new_terms(governor):
    resting_order(governor, "c1", "bid", "0.40", 10)
    cmd = amend("ex-c1", "c1", "0.30", 12)

    assert governor.admit(cmd).ok
    in_flight = governor.exposure(TICKER)
    governor.apply(amended(cmd))

    assert in_flight == D("4.00")  # max(0.40 x 10, 0.30 x 12 = 3.60)
    assert governor.exposure(TICKER) == D("3.60")


def test_an_amend_is_checked_against_the_limits(governor):
    resting_order(governor, "c1", "bid", "0.40", 10)

    verdict = governor.admit(amend("ex-c1", "c1", "0.40", 25))

    assert (verdict.ok, verdict.code) == (False, "position_limit")


def test_an_amend_of_an_unknown_order_is_refused(governor):
    assert governor.check_amend(amend("ex-nope", "nope", "0.40", 5)).code == "unknown_order"


def test_reducing_state_accepts_only_orders_that_reduce_the_position(governor):
    go_long(governor, 5)
    governor.set_state(TradingState.REDUCING, "daily loss")

    assert governor.check_place(place("c1", "ask", "0.55", 5)).ok
    assert governor.check_place(place("c2", "ask", "0.55", 6)).code == "reducing_only"
    assert governor.check_place(place("c3", "bid", "0.45", 1)).code == "reducing_only"


def test_resting_reducing_orders_count_against_what_is_left_to_reduce(governor):
    go_long(governor, 5)
    resting_order(governor, "c1", "ask", "0.55", 3)
    governor.set_state(TradingState.REDUCING, "daily loss")

    assert governor.check_place(place("c2", "ask", "0.55", 3)).code == "reducing_only"
    assert governor.check_place(place("c3", "ask", "0.55", 2)).ok


def test_an_order_that_reduces_the_position_is_not_held_to_the_dollar_budget(governor):
    go_long(governor, 14, price="0.50")  # $7.00 held
    resting_order(governor, "c1", "bid", "0.10", 5)  # + $0.50 -> $7.50

    assert governor.check_place(place("c2", "ask", "0.10", 10)).ok  # would lock $9.00 if it opened
    assert governor.check_place(place("c3", "bid", "0.60", 1)).code == "market_budget"  # $8.10


def test_the_kill_switch_halts_every_order_but_cancels(governor):
    resting_order(governor, "c1", "bid", "0.40", 5)
    governor.set_state(TradingState.HALTED, "kill switch")

    assert governor.admit(place("c2", "bid", "0.40", 1)).code == "halted"
    assert governor.admit(amend("ex-c1", "c1", "0.39", 5)).code == "halted"
    assert governor.admit(CancelOrder(order_id="ex-c1", client_order_id="c1", ticker=TICKER, ts=T0)).ok
    assert governor.admit(CancelAllOrders(reason="kill", ts=T0)).ok
    assert governor.status()["rejections"] == {"halted": 2}


# -- one execution, two reports: the exchange's running total and the fill -------------


def running_total(filled, remaining, order_id="ex-c1", client_order_id="c1", status="resting", price="0.40"):
    return updated(order_id, client_order_id, price=price, filled=filled, remaining=remaining, status=status)


def fill_of_c1(count=4, fill_id="f1"):
    return fill("bid", "0.40", count, fill_id=fill_id, order_id="ex-c1", client_order_id="c1")


@pytest.mark.parametrize(
    "sequence",
    [
        pytest.param(lambda: [running_total("4", "6"), fill_of_c1()], id="user_order then fill"),
        pytest.param(lambda: [fill_of_c1(), running_total("4", "6")], id="fill then user_order"),
        pytest.param(lambda: [fill_of_c1(), fill_of_c1()], id="duplicate fill"),
    ],
)
def test_an_execution_reported_as_running_total_and_as_fill_is_counted_once(governor, sequence):
    resting_order(governor, "c1", "bid", "0.40", 10)

    for event in sequence():
        governor.apply(event)

    assert governor.position(TICKER) == D(4)
    assert governor.exposure(TICKER) == D("4.00")  # 4 held at 0.40 + 6 still resting at 0.40
    assert governor.status()["resting_orders"] == {TICKER: 1}


def test_an_acknowledged_amend_after_a_partial_fill_rests_its_new_total_less_the_filled(governor):
    resting_order(governor, "c1", "bid", "0.40", 10)
    governor.apply(running_total("4", "6"))
    governor.apply(fill_of_c1())
    cmd = amend("ex-c1", "c1", "0.40", 9)  # 4 filled + 5 to rest

    assert governor.admit(cmd).ok
    governor.apply(amended(cmd, filled="4"))

    assert governor.exposure(TICKER) == D("3.60")  # 4 held + 5 resting, all at 0.40


# -- refusals that mean the order is gone ------------------------------------------------


def test_a_cancel_refused_because_the_order_already_executed_keeps_it_counted_as_position(governor):
    resting_order(governor, "c1", "bid", "0.50", 10)
    cancel = CancelOrder(order_id="ex-c1", client_order_id="c1", ticker=TICKER, ts=T0)

    governor.apply(rejected(cancel, "cancel", reason="HTTP 400 invalid_order: invalid order (order is executed)"))
    before_the_fill = (governor.position(TICKER), governor.exposure(TICKER))
    governor.apply(fill("bid", "0.50", 10, order_id="ex-c1", client_order_id="c1"))

    assert before_the_fill == (D(10), D("5.00"))  # filled, not yet seen as a fill
    assert (governor.position(TICKER), governor.exposure(TICKER)) == (D(10), D("5.00"))
    assert governor.status()["resting_orders"] == {TICKER: 0}


def test_a_cancel_refused_because_the_order_is_cancelled_releases_its_exposure(governor):
    resting_order(governor, "c1", "bid", "0.50", 10)
    cancel = CancelOrder(order_id="ex-c1", client_order_id="c1", ticker=TICKER, ts=T0)

    governor.apply(rejected(cancel, "cancel", reason="HTTP 400 invalid_order: invalid order (order is canceled)"))

    assert (governor.position(TICKER), governor.exposure(TICKER)) == (0, 0)


def test_a_cancel_refused_by_the_transport_keeps_the_order_counted(governor):
    resting_order(governor, "c1", "bid", "0.50", 10)
    cancel = CancelOrder(order_id="ex-c1", client_order_id="c1", ticker=TICKER, ts=T0)

    governor.apply(rejected(cancel, "cancel", code="transport_error", source="transport"))

    assert governor.exposure(TICKER) == D("5.00")


# -- orders we did not admit ---------------------------------------------------------------


def test_an_unknown_resting_order_reported_by_the_exchange_counts_in_exposure(governor):
    governor.apply(running_total("0", "10", order_id="ex-x", client_order_id="manual-1", price="0.50"))
    adopted = governor.exposure(TICKER)
    governor.apply(running_total("0", "0", order_id="ex-x", client_order_id="manual-1", status="canceled"))

    assert adopted == D("5.00")
    assert governor.exposure(TICKER) == 0


def test_a_place_whose_outcome_is_unknown_stays_counted_once_until_the_exchange_settles_it(governor):
    cmd = place("c1", "bid", "0.50", 10)
    governor.admit(cmd)
    governor.apply(rejected(cmd, "place", code="outcome_unknown", source="transport"))
    unknown = governor.exposure(TICKER)

    governor.apply(running_total("0", "10", order_id="ex-1", client_order_id="c1", price="0.50"))
    shown_resting = governor.exposure(TICKER)
    governor.apply(running_total("0", "0", order_id="ex-1", client_order_id="c1", price="0.50", status="canceled"))

    assert (unknown, shown_resting) == (D("5.00"), D("5.00"))
    assert governor.exposure(TICKER) == 0


def test_a_place_reported_resting_before_its_outcome_was_reported_unknown_stays_counted(governor):
    cmd = place("c1", "bid", "0.50", 10)
    governor.admit(cmd)
    governor.apply(running_total("0", "10", order_id="ex-1", client_order_id="c1", price="0.50"))

    governor.apply(rejected(cmd, "place", code="outcome_unknown", source="transport"))

    assert governor.exposure(TICKER) == D("5.00")


def test_a_confirmed_cancel_all_of_its_market_settles_a_place_whose_outcome_is_unknown(governor):
    cmd = place("c1", "bid", "0.50", 10)
    governor.admit(cmd)
    governor.apply(rejected(cmd, "place", code="outcome_unknown", source="transport"))

    governor.admit(CancelAllOrders(reason="maker stopped", ts=T0, ticker=TICKER))
    governor.apply(AllOrdersCancelled(reason="maker stopped", cancelled=0, still_resting=0, ts_recv=T0, ticker=TICKER))

    assert governor.exposure(TICKER) == 0


def test_a_place_refused_by_the_exchange_itself_releases_its_exposure_at_once(governor):
    cmd = place("c1", "bid", "0.50", 10)
    governor.admit(cmd)

    governor.apply(rejected(cmd, "place", code="invalid_order", reason="post only cross"))

    assert governor.exposure(TICKER) == 0


def test_a_cancelled_order_is_not_counted_again_after_a_late_resting_report(governor):
    resting_order(governor, "c1", "bid", "0.50", 10)
    governor.apply(cancelled("ex-c1", "c1", reduced_by="10"))

    governor.apply(running_total("0", "10", price="0.50"))

    assert governor.exposure(TICKER) == 0


def test_a_place_reply_that_trails_the_execution_does_not_count_the_order_again(governor):
    cmd = place("c1", "bid", "0.50", 10)
    governor.admit(cmd)
    governor.apply(running_total("10", "0", order_id="ex-c1", status="executed", price="0.50"))
    governor.apply(fill("bid", "0.50", 10, order_id="ex-c1", client_order_id="c1"))

    governor.apply(accepted(cmd, "ex-c1"))  # the REST reply, read before the execution

    assert governor.exposure(TICKER) == D("5.00")  # the 10 held, nothing resting
    assert governor.status()["resting_orders"] == {TICKER: 0}


# -- fills the exchange reported that have not reached us yet ----------------------------------


def test_an_order_reported_executed_counts_as_position_before_its_fill_arrives(governor):
    governor.apply(fill("ask", "0.90", 10, fill_id="short", order_id="elsewhere"))  # short 10
    resting_order(governor, "c1", "ask", "0.90", 10)
    governor.apply(updated("ex-c1", "c1", side="ask", price="0.90", filled="10", remaining="0", status="executed"))

    before_the_fill = governor.check_place(place("c2", "ask", "0.90", 5))
    governor.apply(fill("ask", "0.90", 10, fill_id="f-c1", order_id="ex-c1", client_order_id="c1"))

    assert (before_the_fill.ok, before_the_fill.code) == (False, "position_limit")  # -20 - 5 if it fills
    assert governor.position(TICKER) == D(-20)  # the fill settles the pending contracts, never adds twice
    assert governor.status()["unseen_fills"] == {TICKER: "0"}


def test_an_amend_refused_as_executed_carries_what_rested_as_position_until_its_fills_arrive(governor):
    governor.apply(fill("ask", "0.90", 10, fill_id="short", order_id="elsewhere"))  # short 10
    resting_order(governor, "c1", "ask", "0.90", 10)
    governor.apply(fill("ask", "0.90", 4, fill_id="f-a", order_id="ex-c1", client_order_id="c1"))
    cmd = amend("ex-c1", "c1", "0.91", 10, side="ask")
    assert governor.admit(cmd).ok

    governor.apply(rejected(cmd, "amend", reason="HTTP 400 invalid_order: invalid order (order is executed)"))
    pending = governor.position(TICKER)
    refused = governor.check_place(place("c2", "ask", "0.90", 5))
    governor.apply(fill("ask", "0.90", 6, fill_id="f-b", order_id="ex-c1", client_order_id="c1"))

    assert pending == D(-20)  # -14 seen + the 6 that rested, filled
    assert refused.code == "position_limit"
    assert governor.position(TICKER) == D(-20)


# -- amends that do not make the worst case worse ----------------------------------------------


def test_an_amend_that_shrinks_an_order_passes_even_beyond_the_position_limit(governor):
    resting_order(governor, "c1", "ask", "0.90", 5)
    governor.apply(fill("ask", "0.90", 18, fill_id="short", order_id="elsewhere"))  # worst case now -23

    assert governor.check_amend(amend("ex-c1", "c1", "0.90", 4, side="ask")).ok
    assert governor.check_amend(amend("ex-c1", "c1", "0.90", 6, side="ask")).code == "position_limit"


# -- fills that reached the position without reaching the order they belong to ----------------


def test_a_fill_seen_before_its_order_was_known_is_not_carried_again_when_the_order_executes(governor):
    assert governor.admit(place("s-1", "bid", "0.50", 5)).ok
    governor.apply(fill("bid", "0.50", 5, fill_id="f1", order_id="ex-1", client_order_id=""))  # no client id yet

    governor.apply(updated("ex-1", "s-1", price="0.50", filled="5", remaining="0", status="executed"))

    assert governor.position(TICKER) == D(5)
    assert governor.status()["unseen_fills"] == {TICKER: "0"}
    assert governor.status()["resting_orders"] == {TICKER: 0}


def test_fills_seen_before_an_order_is_adopted_count_as_its_filled_and_are_not_carried_again(governor):
    governor.apply(fill("bid", "0.50", 3, fill_id="f1", order_id="ex-9", client_order_id=""))
    governor.apply(updated("ex-9", "manual-1", price="0.50", filled="0", remaining="5"))  # stale: before the fill
    adopted = governor.exposure(TICKER)

    governor.apply(updated("ex-9", "manual-1", price="0.50", filled="5", remaining="0", status="executed"))
    governor.apply(fill("bid", "0.50", 2, fill_id="f2", order_id="ex-9", client_order_id=""))

    assert adopted == D("2.50")  # 3 held + 2 left resting, at 0.50
    assert governor.position(TICKER) == D(5)
    assert governor.status()["unseen_fills"] == {TICKER: "0"}


def test_a_fill_matched_by_client_id_teaches_the_order_its_exchange_id(governor):
    assert governor.admit(place("s-1", "bid", "0.50", 5)).ok  # its reply not read yet
    governor.apply(fill("bid", "0.50", 2, fill_id="f1", order_id="ex-1", client_order_id="s-1"))

    governor.apply(updated("ex-1", "", price="0.50", filled="2", remaining="0", status="canceled"))

    assert governor.position(TICKER) == D(2)
    assert governor.exposure(TICKER) == D("1.00")  # the 2 held; nothing rests
    assert governor.status()["resting_orders"] == {TICKER: 0}


# -- an order refused as executed while a shrinking amend is unsettled -------------------------


def test_an_order_refused_as_executed_during_an_unsettled_shrink_assumes_the_smaller_total(governor):
    resting_order(governor, "c1", "bid", "0.50", 10)
    shrink = amend("ex-c1", "c1", "0.50", 4)
    assert governor.admit(shrink).ok
    governor.apply(rejected(shrink, "amend", code="outcome_unknown", source="transport"))  # may have applied
    cancel = CancelOrder(order_id="ex-c1", client_order_id="c1", ticker=TICKER, ts=T0)

    governor.apply(rejected(cancel, "cancel", reason="HTTP 400 invalid_order: invalid order (order is executed)"))
    assumed = governor.position(TICKER)
    governor.apply(fill("bid", "0.50", 4, fill_id="f1", order_id="ex-c1", client_order_id="c1-a"))

    assert assumed == D(4)  # the amend did apply: 4 filled, never 10
    assert governor.position(TICKER) == D(4)
    assert governor.status()["unseen_fills"] == {TICKER: "0"}


def test_an_undercount_after_an_executed_refusal_is_made_good_by_the_fills(governor):
    resting_order(governor, "c1", "bid", "0.50", 10)
    shrink = amend("ex-c1", "c1", "0.50", 4)
    assert governor.admit(shrink).ok
    governor.apply(rejected(shrink, "amend", code="outcome_unknown", source="transport"))
    cancel = CancelOrder(order_id="ex-c1", client_order_id="c1", ticker=TICKER, ts=T0)
    governor.apply(rejected(cancel, "cancel", reason="HTTP 400 invalid_order: invalid order (order is executed)"))

    for n in range(10):  # the amend never applied: all 10 filled
        governor.apply(fill("bid", "0.50", 1, fill_id=f"f{n}", order_id="ex-c1", client_order_id="c1"))

    assert governor.position(TICKER) == D(10)
    assert governor.status()["unseen_fills"] == {TICKER: "0"}


# -- cancel-all confirmations, matched to their market -----------------------------------------


def test_a_cancel_all_confirmation_settles_only_the_places_of_its_own_market(governor):
    other = "KXTEST-26JAN01-T60"
    for cid, ticker in (("a1", TICKER), ("b1", other)):
        cmd = place(cid, "bid", "0.50", 10, ticker=ticker)
        assert governor.admit(cmd).ok
        governor.apply(rejected(cmd, "place", code="outcome_unknown", source="transport"))
    governor.admit(CancelAllOrders(reason="maker stopped", ts=T0, ticker=TICKER))
    governor.admit(CancelAllOrders(reason="maker stopped", ts=T0, ticker=other))

    governor.apply(AllOrdersCancelled(reason="maker stopped", cancelled=0, still_resting=0, ts_recv=T0, ticker=other))

    assert governor.exposure(other) == 0
    assert governor.exposure(TICKER) == D("5.00")  # its own cancel-all is not confirmed yet


def test_a_cancel_reply_that_overtakes_the_fills_keeps_the_filled_contracts_counted(governor):
    first = resting_order(governor, "c1", "bid", "0.50", 10)
    # 4 contracts fill; the REST cancel reply (it took off the 6 still resting) arrives
    # before the WS fill
    governor.apply(cancelled("ex-c1", "c1", reduced_by="6"))

    assert governor.position(TICKER) == 4
    assert governor.exposure(TICKER) == D("2.00")
    # so $6 of the $8 budget is left, not $8: 16 more at 0.50 is refused
    assert governor.check_place(place("c2", "bid", "0.50", 13)).code == "market_budget"
    governor.apply(fill("bid", "0.50", 4, fill_id="f1", order_id="ex-c1", client_order_id=first.client_order_id))
    assert (governor.position(TICKER), governor.pending_position(TICKER)) == (4, 0)


def test_a_cancel_reply_during_an_unsettled_amend_infers_no_fills(governor):
    resting_order(governor, "c1", "bid", "0.50", 10)
    assert governor.admit(amend("ex-c1", "c1", "0.50", 6)).ok  # the total the cancel reduced is unknown

    governor.apply(cancelled("ex-c1", "c1", reduced_by="6"))

    assert governor.position(TICKER) == 0


def test_the_fill_ids_kept_to_drop_duplicates_are_bounded_per_market(risk_config):
    governor = RiskGovernor(replace(risk_config, seen_fill_ids_per_market=3))
    for n in range(1, 6):
        governor.apply(fill("bid", "0.10", 1, fill_id=f"f{n}", order_id="elsewhere", ts=T0 + n))
    governor.apply(fill("bid", "0.10", 1, fill_id="f5", order_id="elsewhere", ts=T0 + 5))  # a recent duplicate
    governor.apply(fill("bid", "0.10", 1, fill_id="f1", order_id="elsewhere", ts=T0 + 1))  # an old one, forgotten

    inventory = governor.inventory(TICKER)
    assert governor.position(TICKER) == 5
    assert [inventory.has_fill(f"f{n}") for n in range(1, 6)] == [False, False, True, True, True]
