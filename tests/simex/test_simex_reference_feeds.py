"""Reference venue (Polymarket-shaped book) and spot feed (Binance-shaped bookTicker) that follow
a scenario: payload shapes, lead over the Kalshi book, N(d2) link, and the HTTP/WS routes."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests
import websocket
from simex_testkit import START_NS, VirtualClock

from simex import Exchange, ReferenceFeeds, SimServer, build_scenario_exchange, install_scenario, load_scenario
from simex._scenario import above_strike_probability, parse_scenario

NS = 1_000_000_000
FED = "KXFED-26DEC-T4.00"
TOKEN = "fed-dec-above-4"


def scenario_at(name: str, seconds: int, seed: int | None = None):
    clock = VirtualClock(START_NS)
    exchange = Exchange(now_ns=clock, seed=1)
    run = install_scenario(exchange, load_scenario(name), seed)
    for _ in range(seconds):
        exchange.advance(clock.tick(1))
    return exchange, ReferenceFeeds(run)


def mid(levels_best_last: list[dict]) -> Decimal:
    return Decimal(levels_best_last[-1]["price"])


def test_polymarket_book_has_the_clob_shape_with_best_prices_last():
    exchange, feeds = scenario_at("mr_jump", 30)
    book = feeds.polymarket_book(TOKEN)
    assert set(book) == {"market", "asset_id", "timestamp", "hash", "bids", "asks", "min_order_size", "tick_size",
                         "neg_risk"}
    assert book["asset_id"] == TOKEN
    assert book["timestamp"] == str(exchange.now() // 1_000_000)
    bids = [Decimal(level["price"]) for level in book["bids"]]
    asks = [Decimal(level["price"]) for level in book["asks"]]
    assert bids == sorted(bids) and asks == sorted(asks, reverse=True)  # best last on both sides
    assert bids[-1] < asks[-1]
    assert all(isinstance(level["size"], str) and Decimal(level["size"]) > 0 for level in book["bids"] + book["asks"])
    assert abs((bids[-1] + asks[-1]) / 2 * 100 - Decimal(feeds.run.fair_cents(FED))) <= 3


def test_the_reference_leads_the_kalshi_book_during_a_jump():
    exchange, feeds = scenario_at("mr_jump", 92)  # the 16 c jump starts at 90 s, over 3 s; book lags 2 s
    book = feeds.polymarket_book(TOKEN)
    reference_mid = (mid(book["bids"]) + mid(book["asks"])) / 2
    kalshi = exchange.markets[FED].book
    kalshi_mid = (kalshi.best("bid") + kalshi.best("ask")) / 2
    assert reference_mid - kalshi_mid >= Decimal("0.05")


def test_same_seed_same_reference_payloads():
    _, first = scenario_at("mr_jump", 50)
    _, second = scenario_at("mr_jump", 50)
    assert first.polymarket_book(TOKEN) == second.polymarket_book(TOKEN)


def test_rest_front_door_answers_404_for_unknown_tokens_and_400_without_one():
    _, feeds = scenario_at("mr_jump", 1)
    assert feeds.handle_rest("/reference/polymarket/book", {"token_id": "nope"})[0] == 404
    assert feeds.handle_rest("/reference/polymarket/book", {})[0] == 400
    status, body = feeds.handle_rest("/reference/polymarket/book", {"token_id": [TOKEN]})
    assert status == 200 and body["asset_id"] == TOKEN


def test_book_ticker_has_binance_fields_and_a_new_update_id_each_second():
    _, feeds = scenario_at("default", 10)
    frame = feeds.book_ticker("btcusdt")
    assert set(frame) == {"u", "s", "b", "B", "a", "A"}
    assert frame["s"] == "BTCUSDT" and frame["u"] == 10
    assert Decimal(frame["a"]) - Decimal(frame["b"]) == Decimal("0.01")
    assert all(len(frame[k].split(".")[1]) == 8 for k in ("b", "B", "a", "A"))
    assert feeds.symbol_for_stream("btcusdt@bookTicker") == "BTCUSDT"
    assert feeds.symbol_for_stream("dogeusdt@bookTicker") is None
    assert feeds.symbol_for_stream("btcusdt@trade") is None


def test_above_strike_market_prices_at_n_of_d2_of_the_spot():
    exchange, feeds = scenario_at("default", 200)  # BTC jumped at 150 s
    market = exchange.markets["KXBTCD-26NOV20-T95000"]
    spot, _ = feeds.run.spot("BTCUSDT")
    seconds_left = (market.close_ns - exchange.now()) / NS
    expected = 100 * above_strike_probability(float(spot), 95_000.0, 0.45, seconds_left)
    assert feeds.run.fair_cents("KXBTCD-26NOV20-T95000") == pytest.approx(expected)
    assert spot > Decimal("95500")  # the 200 bp jump lifted spot above the strike


def test_spot_regimes_are_in_basis_points():
    scenario = parse_scenario({"spots": [{"symbol": "ethusdt", "initial": "3000", "regimes": [
        {"kind": "trend", "drift_per_min": 60, "volatility": 0.0, "reversion": 1.0}]}],
        "markets": [{"ticker": "KXETH-1", "category": "Crypto",
                     "spot": {"symbol": "ETHUSDT", "strike": "3000", "sigma_annual": 0.5},
                     "regimes": [{"kind": "quiet"}]}]})
    clock = VirtualClock(START_NS)
    exchange = Exchange(now_ns=clock, seed=1)
    run = install_scenario(exchange, scenario)
    for _ in range(60):
        exchange.advance(clock.tick(1))
    price, update_id = run.spot("ETHUSDT")
    assert update_id == 60
    assert price == pytest.approx(Decimal("3000") * Decimal("1.006018"), abs=Decimal("0.02"))  # e^(60 bp)


@pytest.fixture
def served():
    exchange, _run = build_scenario_exchange("default", seed=7)
    server = SimServer(exchange, ping_interval_s=0).start_in_thread()
    yield server
    server.stop()


def test_simulator_serves_the_reference_book_and_the_spot_stream(served):
    base = f"http://{served.host}:{served.port}"
    book = requests.get(f"{base}/reference/polymarket/book", params={"token_id": TOKEN}, timeout=5)
    assert book.status_code == 200 and book.json()["asset_id"] == TOKEN
    assert requests.get(f"{base}/reference/polymarket/book", params={"token_id": "x"}, timeout=5).status_code == 404
    ws = websocket.create_connection(f"ws://{served.host}:{served.port}/reference/binance/ws/btcusdt@bookTicker",
                                     timeout=5)
    try:
        frame = json.loads(ws.recv())
    finally:
        ws.close()
    assert frame["s"] == "BTCUSDT" and Decimal(frame["b"]) > 0
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(f"ws://{served.host}:{served.port}/reference/binance/ws/nope@bookTicker", timeout=5)
