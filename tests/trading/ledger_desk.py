"""The one writer, for driving a maker session (or its order manager) without actors.

`deliver(reader, event, now)` does what the risk governor does between the exchange and
the maker: the commands the reader sent and risk has not recorded yet are recorded in a
trading ledger (risk admits a command before it reaches the exchange, so the exchange's
answer implies it; a refusal by risk, an OrderRejected with source "risk", records
nothing: the command it names never reaches the ledger, the others wait), the event is applied to the ledger, and the reader is handed the ledger's view
of the market (TradingStateChanged). A settlement (MarketLifecycleChanged determined or
settled, with a result) reaches the session directly, as it reaches the maker actor, then
through the ledger, which settles the market.
"""

from __future__ import annotations

from decimal import Decimal
from weakref import WeakKeyDictionary

from actors.ledger import TradingLedger
from actors.maker import MakerSession, OrderManager
from messages import MarketLifecycleChanged, OrderRejected

__all__ = ["deliver", "ledger_of", "record_in_flight", "write_with", "admitted"]

_LEDGERS: WeakKeyDictionary = WeakKeyDictionary()
_SETTLEMENT_PRICES = {"yes": Decimal(1), "no": Decimal(0)}


def ledger_of(reader: MakerSession | OrderManager) -> TradingLedger:
    """The ledger that writes for this reader (one per session, as risk keeps one)."""
    ledger = _LEDGERS.get(reader)
    if ledger is None:
        ledger = _LEDGERS[reader] = TradingLedger(seen_fill_ids_per_market=1_000)
    return ledger


def write_with(reader: MakerSession | OrderManager, ledger: TradingLedger) -> None:
    """The reader's writer is this ledger (a risk governor's, to check what risk counts)."""
    _LEDGERS[reader] = ledger


def admitted(reader: MakerSession | OrderManager, command, now: int) -> None:
    """Risk admitted (and so recorded) `command` itself: the reader gets the view."""
    ledger = ledger_of(reader)
    order = ledger.find(command.ticker, getattr(command, "order_id", None), command.client_order_id)
    _hand_over(reader, ledger.changed(command.ticker, command, order, now), now)


def _manager(reader: MakerSession | OrderManager) -> OrderManager:
    return reader.orders if isinstance(reader, MakerSession) else reader


def _hand_over(reader: MakerSession | OrderManager, change, now: int) -> list:
    if isinstance(reader, MakerSession):
        return reader.on_trading_state(change, now)
    reader.apply(change, now)
    return []


def record_in_flight(reader: MakerSession | OrderManager, now: int) -> None:
    """Risk records every command the reader sent, handing over the view after each."""
    ledger = ledger_of(reader)
    for command in _manager(reader).in_flight():
        ledger.record(command)
        order = ledger.find(command.ticker, getattr(command, "order_id", None), command.client_order_id)
        _hand_over(reader, ledger.changed(command.ticker, command, order, now), now)


def deliver(reader: MakerSession | OrderManager, event, now: int) -> list:
    """An exchange event (or a refusal by risk) reaches the reader through the ledger:
    returns the commands the reader sent in answer."""
    ledger = ledger_of(reader)
    if not (isinstance(event, OrderRejected) and event.source == "risk"):
        record_in_flight(reader, now)
    if isinstance(event, MarketLifecycleChanged):
        commands = reader.on_lifecycle(event, now) if isinstance(reader, MakerSession) else []
        price = _SETTLEMENT_PRICES.get((event.result or "").lower())
        if event.event_type in ("determined", "settled") and price is not None:
            if ledger.settle(event.ticker, price, event.ts_event):
                commands += _hand_over(reader, ledger.changed(event.ticker, event, None, now), now)
        return commands
    order, tickers = ledger.apply(event)
    commands: list = []
    for ticker in tickers or (event.ticker,):
        commands += _hand_over(reader, ledger.changed(ticker, event, order, now), now)
    return commands
