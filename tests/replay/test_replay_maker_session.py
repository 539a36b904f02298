"""The maker through the real actors (REST client, WS connection, market state, risk
governor) against the in-process simulated exchange, on virtual time.

The test plays the rest of the market: a "crowd" account rests liquidity and takes ours.
The scanner is stopped, so the only maker is the one the test starts. Hazard: any crowd
trade would take our quotes first (they are the touch), so the no-trade and sigma
guardrails (unit-tested apart) are switched off here.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from actors.maker import MakerActor, MakerState
from config import load_config
from messages import ExitUrgency, StopSession, SubscribeMarkets
from kernel.bus import post
from kernel.clock import seconds
from mmd.replay import InProcessRig
from simex._model import IOC, MarketSpec, OrderRequest

TICKER = "KXMAKERTEST-26DEC-T50"
CROWD = "crowd"
START_NS = 1_800_000_000_000_000_000


class MakerRig:
    def __init__(self, tmp_path, overrides=None) -> None:
        config = load_config(overrides=overrides or {})
        self.config = config
        self.rig = InProcessRig(config, tmp_path / "maker.sqlite", run_id="maker")
        self.rig.clock.advance_to(START_NS)
        self.rig.raw_exchange.register_account(CROWD, 10_000_000)
        self.rig.exchange.run(
            lambda ex: ex.add_market(MarketSpec(ticker=TICKER, event_ticker="KXMAKERTEST-26DEC", series_ticker="KXMAKERTEST"))
        )
        self.rig.start()
        self.rig.daemon.refs["scanner"].stop()
        self.finished: list = []
        self.maker = None

    @property
    def clock(self):
        return self.rig.clock

    def crowd_order(self, side: str, price: str, count: int, *, take: bool = False) -> None:
        request = OrderRequest(
            ticker=TICKER, side=side, price=D(price), count=D(count), time_in_force=IOC if take else "good_till_canceled"
        )
        self.rig.act(lambda ex: ex.place_order(CROWD, request))
        self.rig.deliver_frames()

    def start_maker(self) -> None:
        refs = self.rig.daemon.refs
        self.maker = MakerActor.start(
            clock=self.clock,
            bus=self.rig.daemon.bus,
            tracker=self.rig.tracker,
            ticker=TICKER,
            session_id="mk1",
            config=self.config.maker,
            order_sink=refs["risk"],
            rest=refs["rest"],
            directory=self.rig.daemon.readers,  # its fill reads' replies find it by name
        )
        # subscribed after the maker: the snapshot's BookUpdated must find it listening
        post(refs["ws"], SubscribeMarkets(tickers=(TICKER,), ts=self.clock.now_ns(), snapshot=True), self.rig.tracker)
        self.rig.deliver_frames()

    def run_for(self, seconds_: float) -> None:
        self.rig.run_until(self.clock.now_ns() + seconds(seconds_))
        self.rig.deliver_frames()

    def wait_seconds(self, seconds_: int) -> None:
        for _ in range(seconds_):
            self.run_for(1)

    def status(self) -> dict:
        return self.maker.proxy().get_status().get()

    def close(self) -> None:
        self.rig.shutdown("test over")


@pytest.fixture
def rig(tmp_path):
    maker_rig = MakerRig(tmp_path, overrides={"maker": {"guardrails": {"min_sigma": "0", "no_trade_freeze_s": 100_000}}})
    yield maker_rig
    maker_rig.close()


def deep_book(rig: MakerRig, bid="0.45", ask="0.55", size=200) -> None:
    rig.crowd_order("bid", bid, size)
    rig.crowd_order("ask", ask, size)


def test_quotes_are_placed_after_the_warm_up_and_repriced_by_amend(rig):
    deep_book(rig)
    rig.start_maker()
    rig.wait_seconds(6)

    status = rig.status()
    assert status["state"] == MakerState.QUOTING
    assert sorted((o["side"], D(o["price"])) for o in status["open_orders"]) == [("ask", D("0.51")), ("bid", D("0.49"))]
    writes_before = status["counters"]

    # others now show 0.48 x 300 / 0.55 x 200: microprice 0.522, quotes 0.512 / 0.532 snapped out
    rig.crowd_order("bid", "0.48", 300)
    rig.wait_seconds(2)

    status = rig.status()
    counters = status["counters"]
    assert counters["amends"] >= writes_before["amends"] + 1  # moved in place ...
    assert (counters["places"], counters["cancels"]) == (writes_before["places"], writes_before["cancels"])  # ... not replaced
    assert sorted((o["side"], D(o["price"])) for o in status["open_orders"]) == [("ask", D("0.54")), ("bid", D("0.51"))]


def test_a_fill_moves_the_reservation_price_below_the_fair_value(rig):
    deep_book(rig)
    rig.start_maker()
    rig.wait_seconds(6)
    flat = D(rig.status()["last_quote"]["reservation"])

    rig.crowd_order("ask", "0.49", 5, take=True)  # a seller hits our 0.49 bid
    rig.wait_seconds(2)

    status = rig.status()
    assert D(status["position"]) == 5
    assert D(status["last_quote"]["reservation"]) < flat  # long: skewed down to sell


def test_a_passive_exit_sells_the_position_and_finishes(rig):
    deep_book(rig)
    rig.start_maker()
    rig.wait_seconds(6)
    rig.crowd_order("ask", "0.49", 5, take=True)
    rig.wait_seconds(2)
    assert D(rig.status()["position"]) == 5

    post(rig.maker, StopSession(ticker=TICKER, reason="ttl", ts=rig.clock.now_ns(), urgency=ExitUrgency.PASSIVE), rig.rig.tracker)
    rig.run_for(1)
    assert rig.status()["state"] == MakerState.FLATTENING
    assert rig.status()["open_orders"] == []  # quotes pulled; waiting for mean reversion

    rig.wait_seconds(15)
    exit_orders = rig.status()["open_orders"]
    assert [(o["side"], D(o["price"])) for o in exit_orders] == [("ask", D("0.54"))]  # one tick inside the ask

    rig.crowd_order("bid", "0.54", 5, take=True)  # a buyer lifts it
    rig.run_for(1)
    status = rig.status()
    assert (status["state"], D(status["position"])) == (MakerState.DONE, 0)
    assert D(status["realized_pnl"]) > 0


def test_a_wide_spread_throttle_widens_after_three_checks_and_recovers_after_five(rig):
    deep_book(rig, bid="0.30", ask="0.70")  # a 40-cent spread: wide
    rig.start_maker()
    rig.wait_seconds(6)  # warm-up, then the first check
    assert rig.status()["throttles"] == []

    rig.wait_seconds(3)
    status = rig.status()
    assert status["throttles"] == ["wide_spread"] and status["widen_ticks"] == 5
    wide_quotes = sorted((o["side"], D(o["price"])) for o in status["open_orders"])

    deep_book(rig, bid="0.45", ask="0.55")  # the spread narrows to 10 cents
    rig.wait_seconds(4)
    assert rig.status()["throttles"] == ["wide_spread"]  # four good checks: not yet
    rig.wait_seconds(2)
    status = rig.status()
    assert status["throttles"] == [] and status["widen_ticks"] == 0
    assert wide_quotes == [("ask", D("0.56")), ("bid", D("0.44"))]  # 0.49 / 0.51, each 5 ticks further out


def test_the_session_end_fill_read_is_answered_to_the_maker_by_its_name(rig):
    deep_book(rig)
    rig.start_maker()
    rig.wait_seconds(6)
    readers = rig.rig.daemon.readers
    assert readers.resolve("maker:mk1") is rig.maker and readers.resolve("supervisor") is rig.rig.daemon.refs["supervisor"]

    post(rig.maker, StopSession(ticker=TICKER, reason="shutdown", ts=rig.clock.now_ns(), urgency=ExitUrgency.CANCEL), rig.rig.tracker)
    rig.run_for(0.1)  # well inside exit.fills_reconcile_timeout_s: the reply came, not the timeout

    assert rig.status()["state"] == MakerState.DONE
    assert "reply_reader_gone" not in rig.rig.daemon.refs["rest"].proxy().get_status().get()["errors"]
