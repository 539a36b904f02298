"""Risk through the real actors on the replay clock, against the in-process simulated
exchange: a hybrid-policy flatten lands in SQLite's triggers table (and a maker told to
flatten exits), and the kill switch cancels every resting order on the exchange and
refuses new ones until the resume.

In the first two, orders are told to the risk governor as a maker would tell them (no
scanner session is needed: the NHL tape's sports category is excluded from volatility
scanning), and a taker on the exchange fills them; fills come back over the WebSocket
like any other. The third runs a real maker, the scanner stopped, a crowd account
playing the rest of the market.
"""

from __future__ import annotations

import itertools
import sqlite3
from decimal import Decimal as D

import pytest

from actors.maker import MakerActor
from config import load_config
from messages import PlaceOrder, SessionStarted, SubscribeMarkets
from kernel.bus import post
from kernel.ids import CLIENT_ORDER_PREFIX
from mmd.replay import RIG_ACCOUNT, InProcessRig, table_dump
from simex import ASK, GTC, IOC, MarketSpec, OrderRequest, TapeMarketDriver

TAPE = "TRADES_KXNHLGAME-26APR04FLAPIT-PIT.csv"
TICKER = "KXNHLGAME-26APR04FLAPIT-PIT"
S = 1_000_000_000
_ids = itertools.count(1)


def rig_for(shared_data, db_path, overrides=None):
    config = load_config(overrides={"scanner": {"tickers": []}, **(overrides or {})})
    rig = InProcessRig(config, db_path, run_id="risk-replay")
    tape = TapeMarketDriver(rig.raw_exchange, TICKER, shared_data / TAPE)
    first_ns = tape.events()[0][0]
    rig.clock.advance_to(first_ns)
    rig.start()
    return rig, tape


def tell_risk(rig, side, price, count):
    """A PlaceOrder as a maker sends it, through the risk governor to the exchange."""
    cid = f"{CLIENT_ORDER_PREFIX}risk-test-{next(_ids)}"  # ours: a cancel-all takes it
    command = PlaceOrder(
        client_order_id=cid, ticker=TICKER, side=side, price=D(price), count=D(count), ts=rig.clock.now_ns()
    )
    post(rig.daemon.refs["risk"], command, rig.tracker)
    rig.quiet()
    rig.deliver_frames()
    return cid


def our_resting(rig, ticker=TICKER):
    return rig.exchange.run(lambda ex: list(ex.markets[ticker].book.orders_of(RIG_ACCOUNT)))


def risk_status(rig):
    return rig.daemon.refs["risk"].proxy().get_status().get(timeout=5)


@pytest.fixture
def rig_cleanup():
    rigs = []
    yield rigs
    for rig in rigs:
        rig.shutdown("test over")


def test_a_position_held_past_the_duration_limit_writes_a_trigger_row(shared_data, tmp_path, rig_cleanup):
    db = tmp_path / "flatten.sqlite"
    # 10 contracts x 2 minutes = 20 contract-minutes: a short limit keeps virtual time short
    rig, tape = rig_for(shared_data, db, {"risk": {"hybrid": {"default": {"duration_limit_contract_minutes": "20"}}}})
    rig_cleanup.append(rig)
    tell_risk(rig, "bid", "0.50", 10)
    assert len(our_resting(rig)) == 1
    filled_at = rig.clock.now_ns()
    rig.act(lambda ex: ex.place_order(tape.taker_id, OrderRequest(TICKER, ASK, D("0.50"), D(10), time_in_force=IOC)))
    rig.deliver_frames()
    assert risk_status(rig)["positions"][TICKER] == "10.00"

    rig.run_until(filled_at + 119 * S)
    assert risk_status(rig)["triggers"] == 0
    rig.run_until(filled_at + 121 * S)
    assert risk_status(rig)["triggers"] == 1
    rig.shutdown("test over")

    [row] = [dict(zip(_columns(db, "triggers"), r)) for r in table_dump(db, "triggers")]
    assert (row["ticker"], row["reason"], D(row["position_before"]), D(row["vwap"])) == (
        TICKER,
        "duration_weighted_20",
        D(10),
        D("0.50"),
    )
    assert row["ts_ns"] == filled_at + 120 * S + 1
    # no book subscribed for this market: the estimate falls back to the VWAP
    assert (D(row["exit_price"]), D(row["pnl_from_flatten"]), D(row["pnl_before"])) == (D("0.50"), 0, 0)


def test_kill_switch_cancels_every_resting_order_and_refuses_new_ones_until_resume(
    shared_data, tmp_path, rig_cleanup
):
    db = tmp_path / "kill.sqlite"
    rig, _ = rig_for(shared_data, db)
    rig_cleanup.append(rig)
    tell_risk(rig, "bid", "0.40", 5)
    tell_risk(rig, "ask", "0.90", 5)
    assert len(our_resting(rig)) == 2

    state = rig.daemon.engage_kill_switch("replay kill")
    rig.quiet()
    rig.deliver_frames()

    assert (state["engaged"], state["state"]) == (True, "HALTED")
    assert our_resting(rig) == []
    refused = tell_risk(rig, "bid", "0.40", 5)
    rig.run_until(rig.clock.now_ns() + 30 * S)  # time passing does not lift it
    assert our_resting(rig) == []
    assert risk_status(rig)["state"] == "HALTED"

    rig.daemon.release_kill_switch("replay resume")
    rig.quiet()
    tell_risk(rig, "bid", "0.40", 5)

    assert len(our_resting(rig)) == 1
    rig.shutdown("test over")
    orders = [dict(zip(_columns(db, "orders"), r)) for r in table_dump(db, "orders")]
    [refusal] = [o for o in orders if o["client_order_id"] == refused]
    assert (refusal["source"], refusal["code"]) == ("risk", "halted")
    kinds = [r[0] for r in _query(db, "SELECT kind FROM risk_events ORDER BY rowid")]
    assert kinds == ["state_changed", "kill_switch_engaged", "state_changed", "kill_switch_released"]


def _columns(db, table):
    return [r[1] for r in _query(db, f"PRAGMA table_info({table})")]


def _query(db, sql):
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchall()


# -- with a maker: the flatten reaches it and it exits ------------------------------------

MAKER_TICKER = "KXRISKTEST-26DEC-T50"
CROWD = "crowd"


def test_a_makers_position_past_the_duration_limit_is_flattened_by_the_maker(tmp_path):
    db = tmp_path / "maker-flatten.sqlite"
    overrides = {
        "risk": {"hybrid": {"default": {"duration_limit_contract_minutes": "5"}}},
        "maker": {"guardrails": {"min_sigma": "0", "no_trade_freeze_s": 100_000}},
    }
    config = load_config(overrides=overrides)
    rig = InProcessRig(config, db, run_id="risk-maker")
    rig.clock.advance_to(1_800_000_000_000_000_000)
    rig.raw_exchange.register_account(CROWD, 10_000_000)
    rig.exchange.run(
        lambda ex: ex.add_market(MarketSpec(ticker=MAKER_TICKER, event_ticker="KXRISKTEST-26DEC", series_ticker="KXRISKTEST"))
    )
    rig.start()
    try:
        refs = rig.daemon.refs
        refs["scanner"].stop()

        def crowd(side, price, count, tif=GTC):
            request = OrderRequest(MAKER_TICKER, side, D(price), D(count), time_in_force=tif)
            rig.act(lambda ex: ex.place_order(CROWD, request))
            rig.deliver_frames()

        crowd("bid", "0.45", 200)
        crowd("ask", "0.55", 200)
        rig.daemon.bus.publish(SessionStarted(session_id="mk1", ticker=MAKER_TICKER, reason="test", ts=rig.clock.now_ns()))
        maker = MakerActor.start(
            clock=rig.clock, bus=rig.daemon.bus, tracker=rig.tracker, ticker=MAKER_TICKER, session_id="mk1",
            config=config.maker, order_sink=refs["risk"], rest=refs["rest"], directory=rig.daemon.readers,
        )  # fmt: skip
        # the scanner tracked the market before it was stopped, so the books went out before
        # the maker existed: a new listener asks for a fresh snapshot
        post(refs["ws"], SubscribeMarkets(tickers=(MAKER_TICKER,), ts=rig.clock.now_ns(), snapshot=True), rig.tracker)
        rig.deliver_frames()
        rig.run_until(rig.clock.now_ns() + 10 * S)
        rig.deliver_frames()
        [bid] = [o for o in our_resting(rig, MAKER_TICKER) if o.side == "bid"]
        crowd("ask", bid.price, bid.remaining, tif=IOC)  # the crowd takes the maker's bid
        position = D(risk_status(rig)["positions"][MAKER_TICKER])
        assert position > 0

        for _ in range(150):  # 5 contract-minutes: at most 1 minute for 5+ contracts
            rig.run_until(rig.clock.now_ns() + S)
            rig.deliver_frames()
        status = risk_status(rig)
        maker_status = maker.proxy().get_status().get()
        maker.stop()
    finally:
        rig.shutdown("test over")

    [row] = [dict(zip(_columns(db, "triggers"), r)) for r in table_dump(db, "triggers")]
    assert (row["session_id"], row["reason"], D(row["position_before"])) == ("mk1", "duration_weighted_5", position)
    assert "risk flatten: duration_weighted_5" in str(maker_status)
    assert D(status["positions"][MAKER_TICKER]) == 0, (status, maker_status)
