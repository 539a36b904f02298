"""`mmd cancel-all` works with no daemon running: it cancels our resting orders (one
market with --ticker; every client's with --all-clients and its confirmation), prints
how many were cancelled and still rest, and refuses production without the real-money flag."""

import argparse

import pytest

from mmd.reconcile import ALL_CLIENTS_CONFIRM, add_cancel_all_parser

from ._reconcile_exchange import start_paper_exchange

pytest.importorskip("simex")


@pytest.fixture
def exchange(tmp_path):
    paper = start_paper_exchange(tmp_path / "var")
    yield paper
    paper.server.stop()


def cancel_all(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="mmd")
    add_cancel_all_parser(parser.add_subparsers())
    args = parser.parse_args(["cancel-all", *argv])
    return args.func(args)


def _on(exchange):
    return ["--exchange-url", exchange.url, "--data-dir", str(exchange.data_dir)]


def test_our_resting_orders_are_cancelled_and_other_clients_orders_are_untouched(exchange, capsys):
    exchange.rest("mmd-r1-s1-1")
    exchange.rest("mmd-r1-s1-2", price="0.04")
    exchange.rest("manual-by-hand", price="0.03")

    assert cancel_all(*_on(exchange)) == 0

    assert exchange.resting_ids() == {"manual-by-hand"}
    assert "cancelled 2 order(s) of ours; 0 still resting" in capsys.readouterr().out


def test_with_a_ticker_only_that_markets_orders_are_cancelled(exchange, capsys):
    other = next(m["ticker"] for m in exchange.client.get_markets() if m["ticker"] != exchange.ticker)
    exchange.rest("mmd-r1-s1-1")
    exchange.rest("mmd-r1-s2-1", ticker=other)

    assert cancel_all(*_on(exchange), "--ticker", other) == 0

    assert exchange.resting_ids() == {"mmd-r1-s1-1"}


def test_a_ticker_without_orders_of_ours_cancels_nothing(exchange, capsys):
    exchange.rest("mmd-r1-s1-1")

    assert cancel_all(*_on(exchange), "--ticker", "KXNOSUCH-1") == 0

    assert exchange.resting_ids() == {"mmd-r1-s1-1"}
    assert "cancelled 0 order(s) of ours on KXNOSUCH-1; 0 still resting" in capsys.readouterr().out


def test_all_clients_needs_its_confirmation_then_cancels_every_order(exchange, capsys):
    exchange.rest("mmd-r1-s1-1")
    exchange.rest("manual-by-hand", price="0.03")

    assert cancel_all(*_on(exchange), "--all-clients") == 1
    assert exchange.resting_ids() == {"mmd-r1-s1-1", "manual-by-hand"}

    assert cancel_all(*_on(exchange), "--all-clients", ALL_CLIENTS_CONFIRM) == 0
    assert exchange.resting_ids() == set()
    assert "cancelled 2 order(s) of the account's; 0 still resting" in capsys.readouterr().out


def test_an_unreachable_exchange_is_one_line_and_exit_1(exchange, capsys):
    exchange.fail_rest(count=1000)
    try:
        assert cancel_all(*_on(exchange)) == 1
    finally:
        exchange.heal()
    assert capsys.readouterr().out.startswith("cancel-all: RestError")


def test_production_needs_the_real_money_flag(tmp_path, capsys):
    rc = cancel_all("--env", "demo", "--exchange-url", "https://api.elections.kalshi.com/trade-api/v2",
                    "--data-dir", str(tmp_path))

    assert rc == 1
    assert "Kalshi production" in capsys.readouterr().out
