"""Outside price feeds in the configuration: the real venues are the defaults for demo and
prod, a bad venue URL is refused with one clear line naming its key (by `mmd config check`
too), and the config's rule says which market cannot have its fair value for want of a feed."""

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from config import ConfigError, fair_value_feed_problem, load_config

ROOT = Path(__file__).resolve().parents[2]
TICKER = "KXFED-26DEC-T4.00"


def refusal(**feeds) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(overrides={"feeds": feeds})
    return caught.value.errors


def test_the_defaults_are_polymarkets_clob_and_binances_market_data_streams():
    feeds = load_config().feeds

    assert feeds.polymarket_url == "https://clob.polymarket.com"
    assert feeds.binance_url == "wss://stream.binance.com:9443"


@pytest.mark.parametrize(
    "url",
    ["off", "https://clob.polymarket.com", "https://clob.polymarket.com/", "https://proxy.example/polymarket",
     "http://127.0.0.1:8080", "http://localhost:8080"],
)
def test_a_polymarket_url_that_is_off_secure_or_loopback_is_accepted(url):
    assert load_config(overrides={"feeds": {"polymarket_url": url}}).feeds.polymarket_url == url


@pytest.mark.parametrize(
    ("key", "url", "why"),
    [
        ("polymarket_url", "clob.polymarket.com", "expected https://host[:port][/path] or 'off'"),
        ("polymarket_url", "", "expected https://host[:port][/path] or 'off'"),
        ("polymarket_url", "wss://clob.polymarket.com", "expected https://"),
        ("polymarket_url", "http://clob.polymarket.com", "plain http:// to clob.polymarket.com; use https://"),
        ("polymarket_url", "https://external-api.demo.kalshi.co", "is the Kalshi exchange, not the outside venue"),
        ("polymarket_url", "https://clob.polymarket.com/?token_id=1", "takes no query or fragment"),
        ("polymarket_url", "https://clob.polymarket.com:99999", "not a URL"),
        ("binance_url", "https://stream.binance.com:9443", "expected wss://host[:port][/path] or 'off'"),
        ("binance_url", "ws://stream.binance.com:9443", "plain ws:// to stream.binance.com; use wss://"),
        ("binance_url", "wss://external-api-ws.kalshi.com", "is the Kalshi exchange"),
    ],
)
def test_a_bad_venue_url_is_refused_naming_its_key(key, url, why):
    [error] = refusal(**{key: url})

    assert error.startswith(f"feeds.{key}: ") and why in error and repr(url) in error


def test_credentials_in_a_venue_url_are_refused_and_never_echoed():
    [error] = refusal(polymarket_url="https://me:s3cret-pass@clob.polymarket.com")

    assert "must not carry credentials" in error
    assert "s3cret-pass" not in error and "me:" not in error


def test_every_bad_token_pair_is_reported_by_the_config_itself():
    errors = refusal(reference_tokens=["KXFED=123", "no-equals-sign", "=456"])

    assert [e.split(":")[0] for e in errors] == ["feeds.reference_tokens[1]", "feeds.reference_tokens[2]"]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "mmd", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_config_check_reports_a_bad_venue_url_and_exits_1(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  polymarket_url: http://clob.polymarket.com\n  binance_url: stream.binance.com\n")

    result = run_cli("config", "check", str(path))

    assert result.returncode == 1
    assert f"{path}: feeds.polymarket_url: plain http:// to clob.polymarket.com; use https://" in result.stdout
    assert f"{path}: feeds.binance_url: expected wss://host[:port][/path] or 'off'" in result.stdout


# -- which market cannot have its fair value for want of a feed ---------------------------
@pytest.fixture(scope="module")
def feeds():
    return load_config().feeds


@pytest.mark.parametrize("source", ["book_mid", "microprice", "ewma"])
def test_a_fair_value_from_the_kalshi_book_alone_needs_no_feed(feeds, source):
    assert fair_value_feed_problem(source, replace(feeds, polymarket_url="off", binance_url="off"), TICKER) == ""


def test_reference_blend_needs_the_polymarket_feed_and_a_token_for_the_market(feeds):
    with_token = replace(feeds, reference_tokens=(f"{TICKER}=fed-dec-above-4",))

    assert fair_value_feed_problem("reference_blend", with_token, TICKER) == ""
    assert fair_value_feed_problem("reference_blend", replace(with_token, polymarket_url="off"), TICKER) == (
        "fair value (reference_blend) needs the polymarket feed, not configured (feeds.polymarket_url: off)"
    )
    assert fair_value_feed_problem("reference_blend", with_token, "KXOTHER-1") == (
        "fair value (reference_blend) needs the polymarket feed, not configured for this market "
        "(no feeds.reference_tokens entry KXOTHER-1=<token id>)"
    )


def test_model_nd2_needs_the_binance_feed_and_a_symbol(feeds):
    with_symbol = replace(feeds, spot_symbols=("BTCUSDT",))

    assert fair_value_feed_problem("model_nd2", with_symbol, TICKER) == ""
    assert "needs the binance feed, not configured (feeds.binance_url: off)" in fair_value_feed_problem(
        "model_nd2", replace(with_symbol, binance_url="off"), TICKER
    )
    assert "needs the binance feed, not configured (feeds.spot_symbols is empty)" in fair_value_feed_problem(
        "model_nd2", feeds, TICKER
    )
