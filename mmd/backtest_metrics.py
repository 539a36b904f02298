"""What one backtest run earned and how it traded, from the rows its replay wrote.

Plain functions over plain records, all money Decimal (dollars, YES leg):
- cash: a bid fill (we bought YES) pays price x count, an ask fill (we sold YES) receives it
  (Kalshi books the ask as a NO bought at 1 - price; the two give the same P&L), and every
  fill pays its fee (the exchange's fee, rounding fee and rebate included).
- P&L settled: cash + position x payout ($1 YES, $0 NO) per market; None when a market
  still holds a position at the end and its result is unknown.
- P&L marked (mark-to-market): cash + position x the market's last print.
- realized: FIFO round trips closed (exit - entry per contract) minus every fee paid; the
  rest of the marked P&L is the open position's unrealised part.
- equity curve: cash + positions x marks after every fill and every public print (the
  mark is a market's last print, or our fill's price before the first print); the maximum
  drawdown is the largest fall from a running peak that starts at 0.
- writes per book update: order writes the exchange saw (orders rows accepted, amended,
  cancelled, and rejections by the exchange or the transport; a risk refusal never left
  the daemon) over the book updates the market went through (tape rows applied, or the
  scenario's scheduled exchange events).
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter, deque
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

__all__ = [
    "FillRow",
    "PrintRow",
    "MarketFacts",
    "RunRows",
    "RunMetrics",
    "summarise",
    "read_run_rows",
    "session_end_kind",
]

_ZERO = Decimal(0)
_ONE = Decimal(1)
PAYOUT = {"yes": _ONE, "no": _ZERO}
SHARE_STEP = Decimal("0.00000001")  # ratios, not money: stored to 8 decimals
WRITE_EVENTS = ("accepted", "amended", "cancelled")
WRITE_REJECTION_SOURCES = ("exchange", "transport")  # refusals that reached (or left for) the exchange


@dataclass(frozen=True)
class FillRow:
    ticker: str
    side: str  # our YES-leg side: bid (bought) | ask (sold)
    price: Decimal
    count: Decimal
    fee: Decimal
    ts_ns: int


@dataclass(frozen=True)
class PrintRow:
    ticker: str
    price: Decimal
    ts_ns: int


@dataclass(frozen=True)
class MarketFacts:
    """What the run's market source knew: contracts it traded in the run, and its result
    ("yes" | "no" | None) with where that came from ("tape", "simulator", "scenario")."""

    volume: Decimal
    result: str | None = None
    result_from: str | None = None


@dataclass(frozen=True)
class RunRows:
    fills: tuple[FillRow, ...]
    prints: tuple[PrintRow, ...]
    session_end_reasons: tuple[str | None, ...]
    session_tickers: frozenset[str]
    writes: int


@dataclass(frozen=True)
class RunMetrics:
    pnl_settled: Decimal | None
    settled_as: str  # per market still holding a position: yes | no | ?; "flat" when none does
    pnl_marked: Decimal
    realized: Decimal
    fees: Decimal
    fills: int
    contracts: Decimal
    market_volume: Decimal  # contracts traded in the markets made (sessions or fills)
    volume_share: Decimal | None  # contracts / market_volume
    max_inventory: Decimal  # largest |position| in one market
    max_drawdown: Decimal
    sessions: int
    end_reasons: dict[str, int] = field(default_factory=dict)
    writes: int = 0
    book_updates: int = 0

    @property
    def writes_per_update(self) -> Decimal | None:
        return None if not self.book_updates else (Decimal(self.writes) / Decimal(self.book_updates)).quantize(SHARE_STEP)


def session_end_kind(reason: str | None) -> str:
    """A session's end reason without its numbers, so that equal reasons count together:
    "maker:sigma 0.0012 below 0.01" -> "maker:sigma # below #"."""
    if reason is None:
        return "(still running)"
    return re.sub(r"-?\d+(?:\.\d+)?", "#", reason)


class _Fifo:
    """Signed lots of one market; returns the P&L a fill closes."""

    def __init__(self) -> None:
        self.lots: deque[list[Decimal]] = deque()  # [signed count, price]

    def fill(self, signed: Decimal, price: Decimal) -> Decimal:
        realized = _ZERO
        while signed and self.lots and (self.lots[0][0] > 0) != (signed > 0):
            lot = self.lots[0]
            closed = min(abs(signed), abs(lot[0]))
            direction = 1 if lot[0] > 0 else -1  # a long lot closes by selling
            realized += direction * (price - lot[1]) * closed
            lot[0] -= direction * closed
            signed += direction * closed
            if not lot[0]:
                self.lots.popleft()
        if signed:
            self.lots.append([signed, price])
        return realized


def summarise(rows: RunRows, markets: dict[str, MarketFacts], book_updates: int,
              results: dict[str, str] | None = None) -> RunMetrics:
    """The run's metrics; `results` (ticker -> yes | no) overrides the markets' own results."""
    given = results or {}
    cash = _ZERO
    fees = _ZERO
    realized_gross = _ZERO
    contracts = _ZERO
    positions: dict[str, Decimal] = {}
    marks: dict[str, Decimal] = {}
    fifo: dict[str, _Fifo] = {}
    max_inventory = _ZERO
    peak = _ZERO
    max_drawdown = _ZERO
    # a fill and the print of the same trade share a time: the fill first, then its print
    events = sorted([(f.ts_ns, 0, i, f) for i, f in enumerate(rows.fills)]
                    + [(p.ts_ns, 1, i, p) for i, p in enumerate(rows.prints)], key=lambda e: e[:3])
    for _, _, _, event in events:
        if isinstance(event, FillRow):
            signed = event.count if event.side == "bid" else -event.count
            cash += -signed * event.price - event.fee
            fees += event.fee
            contracts += event.count
            position = positions.get(event.ticker, _ZERO) + signed
            positions[event.ticker] = position
            max_inventory = max(max_inventory, abs(position))
            realized_gross += fifo.setdefault(event.ticker, _Fifo()).fill(signed, event.price)
            marks.setdefault(event.ticker, event.price)
        else:
            marks[event.ticker] = event.price
        equity = cash + sum((q * marks[t] for t, q in positions.items()), _ZERO)
        peak = max(peak, equity)
        max_drawdown = max(max_drawdown, peak - equity)
    pnl_marked = cash + sum((q * marks[t] for t, q in positions.items()), _ZERO)
    pnl_settled, settled_as = _settle(cash, positions, markets, given)
    made = rows.session_tickers | set(positions)
    volume = sum((markets[t].volume for t in sorted(made) if t in markets), _ZERO)
    return RunMetrics(
        pnl_settled=pnl_settled,
        settled_as=settled_as,
        pnl_marked=pnl_marked,
        realized=realized_gross - fees,
        fees=fees,
        fills=len(rows.fills),
        contracts=contracts,
        market_volume=volume,
        volume_share=(contracts / volume).quantize(SHARE_STEP) if volume else None,
        max_inventory=max_inventory,
        max_drawdown=max_drawdown,
        sessions=len(rows.session_end_reasons),
        end_reasons=dict(sorted(Counter(session_end_kind(r) for r in rows.session_end_reasons).items())),
        writes=rows.writes,
        book_updates=book_updates,
    )


def _settle(cash: Decimal, positions: dict[str, Decimal], markets: dict[str, MarketFacts],
            given: dict[str, str]) -> tuple[Decimal | None, str]:
    value = cash
    outcomes = []
    for ticker in sorted(positions):
        position = positions[ticker]
        if not position:
            continue
        facts = markets.get(ticker)
        result = given.get(ticker) or (facts.result if facts is not None else None)
        outcomes.append(result or "?")
        if result is None:
            value = None
        elif value is not None:
            value += position * PAYOUT[result]
    return value, ",".join(outcomes) if outcomes else "flat"


def _decimal(text: str | None) -> Decimal:
    return Decimal(text) if text not in (None, "") else _ZERO


def read_run_rows(db_path: Path) -> RunRows:
    """Fills, public prints, sessions and order writes of the replay database, in row order."""
    db = sqlite3.connect(f"{Path(db_path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        fills = tuple(
            FillRow(ticker, side, Decimal(price), Decimal(count), _decimal(fee), ts)
            for ticker, side, price, count, fee, ts in db.execute(
                "SELECT ticker, side, price, count, fee, ts_recv_ns FROM order_fills ORDER BY rowid")
        )
        prints = tuple(
            PrintRow(ticker, Decimal(price), ts)
            for ticker, price, ts in db.execute("SELECT ticker, price, ts_recv_ns FROM trades ORDER BY rowid")
        )
        sessions = db.execute("SELECT ticker, end_reason FROM volatility_sessions ORDER BY rowid").fetchall()
        marks = ", ".join("?" * len(WRITE_EVENTS))
        sources = ", ".join("?" * len(WRITE_REJECTION_SOURCES))
        (writes,) = db.execute(
            f"SELECT COUNT(*) FROM orders WHERE event IN ({marks}) "  # noqa: S608 (placeholders only)
            f"OR (event = 'rejected' AND source IN ({sources}))",
            (*WRITE_EVENTS, *WRITE_REJECTION_SOURCES),
        ).fetchone()
    finally:
        db.close()
    return RunRows(fills=fills, prints=prints, session_end_reasons=tuple(r for _, r in sessions),
                   session_tickers=frozenset(t for t, _ in sessions), writes=int(writes))
