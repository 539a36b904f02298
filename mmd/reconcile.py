"""Reconciliation with the exchange before the first quote, and `mmd cancel-all`.

Start-up runs one ordered list of named steps (`reconciliation_steps`); the first that
fails stops the list and the daemon does not quote. Orders of ours left resting by an
earlier run are cancelled, not adopted: no session owns them, and their prices were set
on a book that is gone. Other clients' orders are left alone and reported. Positions
held are counted by the risk governor (budgets, hybrid policy, status); nothing exits
them on its own.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Callable

from kalshi.shapes import parse_position
from kernel.ids import CLIENT_ORDER_PREFIX, is_ours
from messages import HeldPosition

log = logging.getLogger("mmd")

__all__ = [
    "ReconciliationFailedError",
    "Step",
    "Findings",
    "run_steps",
    "exchange_steps",
    "held_positions",
    "add_cancel_all_parser",
    "cancel_all_command",
]


class ReconciliationFailedError(Exception):
    """A step failed: what we believe may differ from the exchange. Carries the reason."""


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[], str]  # does the step; returns a one-line summary


@dataclass
class Findings:
    """What the exchange steps found (the runner's status and logs report it)."""

    ours_resting: int = 0
    foreign_resting: int = 0
    foreign_tickers: tuple[str, ...] = ()
    ours_cancelled: int = 0
    positions: tuple[HeldPosition, ...] = field(default_factory=tuple)


def run_steps(steps: list[Step]) -> list[tuple[str, str]]:
    """Run the steps in order; the first failure raises ReconciliationFailedError naming it."""
    done = []
    for step in steps:
        try:
            summary = step.run()
        except Exception as exc:  # REST error after retries, malformed reply, ...
            raise ReconciliationFailedError(f"{step.name}: {type(exc).__name__}: {exc}") from exc
        log.info("reconcile: %s: %s", step.name, summary)
        done.append((step.name, summary))
    return done


def held_positions(positions: list) -> tuple[HeldPosition, ...]:
    """The account's non-zero positions, each at its average YES price (exposure / size;
    without an exposure, the worst case: $1 long, $0 short)."""
    held = []
    for p in positions:
        size = abs(p.position)
        if size == 0:
            continue
        if p.exposure is not None and p.exposure > 0:
            cost = min(Decimal(p.exposure) / size, Decimal(1))
            price = cost if p.position > 0 else Decimal(1) - cost
        else:
            price = Decimal(1) if p.position > 0 else Decimal(0)
        held.append(HeldPosition(ticker=p.ticker, position=Decimal(p.position), price=price))
    return tuple(sorted(held, key=lambda h: h.ticker))


def read_positions_of(client) -> list:
    """GET /portfolio/positions, all pages."""
    return [parse_position(p) for p in client.get_all_pages("/portfolio/positions", {}, "market_positions")]


def exchange_steps(client, findings: Findings) -> list[Step]:
    """The steps that need only the exchange (run before any actor starts)."""

    def read_open_orders() -> str:
        resting = client.get_orders(status="resting")
        ours = [o for o in resting if is_ours(o.client_order_id)]
        foreign = [o for o in resting if not is_ours(o.client_order_id)]
        findings.ours_resting, findings.foreign_resting = len(ours), len(foreign)
        findings.foreign_tickers = tuple(sorted({o.ticker for o in foreign}))
        if foreign:
            log.warning("reconcile: %d order(s) of other clients rest (left alone): %s",
                        len(foreign), ", ".join(findings.foreign_tickers))
        return f"{len(ours)} of ours, {len(foreign)} of other clients"

    def cancel_ours() -> str:
        if findings.ours_resting == 0:
            return "none to cancel"
        result = client.cancel_all(client_order_prefix=CLIENT_ORDER_PREFIX)
        findings.ours_cancelled = result.cancelled
        if result.still_resting:
            raise RuntimeError(f"{result.still_resting} order(s) of ours still rest after cancelling")
        return f"{result.cancelled} cancelled"

    def read_positions() -> str:
        findings.positions = held_positions(read_positions_of(client))
        return ", ".join(f"{h.ticker} {h.position}" for h in findings.positions) or "flat"

    return [
        Step("read open orders", read_open_orders),
        Step("cancel ours", cancel_ours),
        Step("read positions", read_positions),
    ]


# -- mmd cancel-all -------------------------------------------------------------------
ALL_CLIENTS_CONFIRM = "--yes-cancel-other-clients-orders"


def add_cancel_all_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("cancel-all", help="cancel our resting orders (no daemon needed)")
    parser.add_argument("--config", help="config file (default: the shipped one)")
    parser.add_argument("--env", choices=["paper", "demo", "prod"], default="paper")
    parser.add_argument("--exchange-url", help="REST base URL (paper: an `mmd sim`)")
    parser.add_argument("--data-dir", help="where the paper keys are (default: config paths.data_dir)")
    parser.add_argument("--ticker", help="only this market")
    parser.add_argument("--all-clients", action="store_true",
                        help=f"every resting order of the account, not only mmd's (needs {ALL_CLIENTS_CONFIRM})")
    parser.add_argument(ALL_CLIENTS_CONFIRM, dest="confirm_all_clients", action="store_true")
    parser.add_argument("--i-understand-this-trades-real-money", dest="real_money", action="store_true")
    parser.set_defaults(func=cancel_all_command)
    return parser


def cancel_all_command(args: argparse.Namespace) -> int:
    """Cancel resting orders over REST, print cancelled / still resting; exit 1 if any
    order in scope still rests (or on a start-up problem)."""
    from config import load_config
    from mmd.runner import StartupError, cancel_all_client, check_real_money

    cfg = load_config(getattr(args, "config", None))
    if args.all_clients and not args.confirm_all_clients:
        print(f"cancel-all: --all-clients cancels orders mmd did not place: add {ALL_CLIENTS_CONFIRM} to confirm")
        return 1
    if args.env == "paper" and not args.exchange_url:
        print("cancel-all: --env paper needs --exchange-url (the `mmd sim` whose orders to cancel)")
        return 1
    data_dir = Path(args.data_dir) if args.data_dir else Path(cfg.paths.data_dir)
    try:
        check_real_money(cfg, args.env, args.exchange_url, args.real_money)
        client = cancel_all_client(cfg, args.env, args.exchange_url, data_dir)
        prefix = "" if args.all_clients else CLIENT_ORDER_PREFIX
        result = client.cancel_all(ticker=args.ticker, client_order_prefix=prefix)
    except StartupError as exc:
        print(f"cancel-all: {exc}")
        return 1
    except Exception as exc:  # REST error after retries, malformed reply
        print(f"cancel-all: {type(exc).__name__}: {exc}")
        return 1
    scope = "of the account's" if args.all_clients else "of ours"
    where = f" on {args.ticker}" if args.ticker else ""
    print(f"cancelled {result.cancelled} order(s) {scope}{where}; {result.still_resting} still resting")
    return 0 if result.still_resting == 0 else 1
