"""Real money is recognised by where the daemon connects, not by the name given to --env:
a Kalshi production host needs --i-understand-this-trades-real-money whatever --env says.
The guard runs before any key is loaded or any socket is opened."""

from __future__ import annotations

import pytest

from config import load_config
from mmd.guards import (
    REAL_MONEY_FLAG,
    RealMoneyNotConfirmed,
    is_production_url,
    planned_exchange_urls,
    require_real_money_confirmation,
)
from mmd.runner import StartupError, run_daemon


@pytest.mark.parametrize(
    "url",
    [
        "https://external-api.kalshi.com/trade-api/v2",
        "https://api.elections.kalshi.com/trade-api/v2",
        "wss://external-api-ws.kalshi.com/trade-api/ws/v2",
        "https://trading-api.kalshi.com/trade-api/v2",
        "HTTPS://External-API.KALSHI.COM/trade-api/v2",
        "https://external-api.kalshi.com:443/trade-api/v2",
        "https://external-api.kalshi.com./trade-api/v2",
        "https://external-api.kalshi.com.:8443",
        "https://someone@external-api.kalshi.com/trade-api/v2",
        "  https://kalshi.com  ",
        "external-api.kalshi.com/trade-api/v2",
        "http://external-api.kalshi.com/trade-api/v2",
    ],
)
def test_production_hosts_are_recognised(url):
    assert is_production_url(url) is True


@pytest.mark.parametrize(
    "url",
    [
        "https://external-api.demo.kalshi.co/trade-api/v2",
        "https://demo-api.kalshi.co/trade-api/v2",
        "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2",
        "http://127.0.0.1:8080/trade-api/v2",
        "https://kalshi.com.example.net/trade-api/v2",
        "https://notkalshi.com/trade-api/v2",
        "https://example.com/external-api.kalshi.com/trade-api/v2",
        "http://[::1]:8080/trade-api/v2",
        "",
    ],
)
def test_other_hosts_are_not_production(url):
    assert is_production_url(url) is False


def demo_config_pointing_at(url: str):
    return load_config(overrides={"mode": "demo", "exchange": {"demo_rest_url": url}})


def test_a_demo_config_overridden_to_production_needs_the_flag(tmp_path):
    cfg = demo_config_pointing_at("https://EXTERNAL-API.kalshi.com.:443/trade-api/v2")

    with pytest.raises(StartupError) as refused:
        run_daemon(cfg, env="demo", exchange_url=None, data_dir=tmp_path, duration_s=0)

    assert REAL_MONEY_FLAG in str(refused.value)
    assert "is Kalshi production" in str(refused.value) and "--env is demo" in str(refused.value)
    assert list(tmp_path.iterdir()) == []  # refused before anything was written


def test_a_demo_ws_url_overridden_to_production_needs_the_flag(tmp_path):
    cfg = load_config(overrides={"exchange": {"demo_ws_url": "wss://external-api-ws.kalshi.com/trade-api/ws/v2"}})

    with pytest.raises(StartupError, match=REAL_MONEY_FLAG):
        run_daemon(cfg, env="demo", exchange_url=None, data_dir=tmp_path, duration_s=0)


@pytest.mark.parametrize("env", ["demo", "paper"])
def test_a_production_exchange_url_needs_the_flag_whatever_env_says(tmp_path, env):
    with pytest.raises(StartupError, match=REAL_MONEY_FLAG):
        run_daemon(
            load_config(), env=env, exchange_url="https://api.elections.kalshi.com/trade-api/v2",
            data_dir=tmp_path, duration_s=0,
        )


def test_prod_needs_the_flag_even_with_a_non_production_url():
    with pytest.raises(RealMoneyNotConfirmed, match="--env prod trades real money"):
        require_real_money_confirmation("prod", ("http://127.0.0.1:8080/trade-api/v2",), confirmed=False)


def test_the_flag_confirms_production_under_any_env():
    urls = ("https://external-api.kalshi.com/trade-api/v2",)
    for env in ("paper", "demo", "prod"):
        require_real_money_confirmation(env, urls, confirmed=True)


def test_demo_and_paper_urls_need_no_flag():
    cfg = load_config()
    require_real_money_confirmation("demo", planned_exchange_urls(cfg.exchange, "demo", None), confirmed=False)
    require_real_money_confirmation("paper", planned_exchange_urls(cfg.exchange, "paper", None), confirmed=False)
    require_real_money_confirmation(
        "paper", planned_exchange_urls(cfg.exchange, "paper", "http://127.0.0.1:8080/trade-api/v2"), confirmed=False
    )


def test_the_planned_urls_are_the_ones_start_connects_to():
    exchange = load_config().exchange
    assert planned_exchange_urls(exchange, "prod", None) == (exchange.prod_rest_url, exchange.prod_ws_url)
    assert planned_exchange_urls(exchange, "demo", None) == (exchange.demo_rest_url, exchange.demo_ws_url)
    assert planned_exchange_urls(exchange, "demo", "http://h:1/trade-api/v2") == ("http://h:1/trade-api/v2",)
    assert planned_exchange_urls(exchange, "paper", None) == ()
