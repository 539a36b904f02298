"""A market's listing (`GET /markets` entry) is built again only when what it shows
changed: it always shows the market as it is now, and every reader gets its own copy."""

from decimal import Decimal

from simex._model import Market, MarketSpec

T0 = 1_795_000_000 * 1_000_000_000


def market() -> Market:
    return Market(spec=MarketSpec(ticker="KXLIST-1", event_ticker="KXLIST", series_ticker="KX"), created_ns=T0)


def test_a_listing_shows_every_change_of_the_market():
    m = market()
    first = m.to_json(T0)
    m.record_trade(T0 + 1, Decimal("3.00"))
    m.last_price, m.updated_ns = Decimal("0.45"), T0 + 1
    after_trade = m.to_json(T0 + 2)
    assert (first["volume_fp"], first["volume_24h_fp"], first["last_price_dollars"]) == ("0.00", "0.00", "0.0000")
    assert (after_trade["volume_fp"], after_trade["volume_24h_fp"], after_trade["last_price_dollars"]) == ("3.00", "3.00", "0.4500")
    # the trade leaves the 24 h window: nothing else changed, the listing still does
    assert m.to_json(T0 + 2 + 86_400 * 1_000_000_000)["volume_24h_fp"] == "0.00"
    m.status, m.result = "determined", "yes"
    assert m.to_json(T0 + 3)["settlement_value_dollars"] == "1.0000"


def test_a_readers_listing_is_its_own_copy():
    m = market()
    mine = m.to_json(T0)
    mine["status"] = "scribbled"
    mine["price_ranges"][0]["step"] = "0.5000"
    again = m.to_json(T0)
    assert again["status"] == "active" and again["price_ranges"][0]["step"] == "0.0100"


def test_a_listing_of_negative_zero_volume_prints_as_built():
    m = market()
    assert m.to_json(T0)["open_interest_fp"] == "0.00"
    m.open_interest = Decimal("-0")  # equal to 0, printed otherwise: never served from the cache
    assert m.to_json(T0)["open_interest_fp"] == "-0.00"
