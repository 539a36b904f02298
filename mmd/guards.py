"""Start-time guards: real money is recognised by where we connect, not by what `--env` says;
the status server listens on loopback unless the config explicitly allows otherwise.

Both run before the daemon touches the network, a key or a signal mask.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from config._rules import is_loopback_host, status_host_problem  # noqa: F401 (re-exported)

__all__ = [
    "REAL_MONEY_FLAG",
    "PRODUCTION_DOMAIN",
    "RealMoneyNotConfirmed",
    "is_production_url",
    "planned_exchange_urls",
    "require_real_money_confirmation",
    "is_loopback_host",
    "status_host_problem",
]

REAL_MONEY_FLAG = "--i-understand-this-trades-real-money"
# kalshi-api.md 1: production is external-api.kalshi.com, external-api-ws.kalshi.com,
# api.elections.kalshi.com (and the dead trading-api.kalshi.com); demo is *.kalshi.co.
# Any host under kalshi.com is taken for production: a new production host must not pass.
PRODUCTION_DOMAIN = "kalshi.com"


class RealMoneyNotConfirmed(Exception):
    """A production exchange was chosen without the explicit real-money flag."""


def _host_of(url: str) -> str | None:
    text = url.strip()
    if "://" not in text:  # "external-api.kalshi.com/trade-api/v2": a host without a scheme
        text = "//" + text
    try:
        host = urlsplit(text).hostname  # lower case, no port, no brackets, no user info
    except ValueError:  # e.g. a malformed IPv6 literal
        return None
    return host.rstrip(".") if host else None


def is_production_url(url: str) -> bool:
    """True when `url` points at Kalshi production: its host is kalshi.com or under it, in any
    case, with or without a port or a trailing dot (DNS root)."""
    host = _host_of(url)
    return host is not None and (host == PRODUCTION_DOMAIN or host.endswith("." + PRODUCTION_DOMAIN))


def planned_exchange_urls(exchange: object, env: str, exchange_url: str | None) -> tuple[str, ...]:
    """The REST and WS URLs `mmd start` will connect to (as mmd.runner.resolve_endpoint picks
    them), known before any key is loaded. A given URL serves both (its WS URL has the same
    host); paper without a URL runs its own loopback exchange."""
    if exchange_url:
        return (exchange_url,)
    if env == "demo":
        return (exchange.demo_rest_url, exchange.demo_ws_url)
    if env == "prod":
        return (exchange.prod_rest_url, exchange.prod_ws_url)
    return ()


def require_real_money_confirmation(env: str, urls: tuple[str, ...], confirmed: bool) -> None:
    """Raise RealMoneyNotConfirmed unless real money is confirmed wherever it is at stake:
    `--env prod`, or any URL on a production host whatever `--env` says (a demo config whose
    URL was overridden to production, `--exchange-url` given a production URL)."""
    if confirmed:
        return
    if env == "prod":
        raise RealMoneyNotConfirmed(f"--env prod trades real money: add {REAL_MONEY_FLAG} to confirm")
    production = [url for url in urls if is_production_url(url)]
    if production:
        raise RealMoneyNotConfirmed(
            f"{production[0]} is Kalshi production, where orders trade real money, although --env is "
            f"{env}: add {REAL_MONEY_FLAG} to confirm, or use the demo URL (*.demo.kalshi.co)"
        )


