"""What `mmd report` computes from one run's rows: plain functions, money in Decimal.

Definitions (also printed in the report):

- Fill: q = +count for a buy (our bid filled), -count for a sale (our ask filled); p its
  price (YES leg, dollars), f its fee.
- Mark of a market at time t: the price of its last public print at or before t; before its
  first print, the mid of its last two-sided book snapshot at or before t. (Our own fills
  print too: a fill moves the mark to its price.) The end mark is the last one in the run.
- Settled P&L: cash + end position x payout ($1 YES, $0 NO), when the market's result is
  known (given, or a realization the maker closed at the market's settlement).
- Reference price r of a fill: the market's mark strictly before the fill's time stamp (the
  price before the event that filled us); the fill's own price when there is none. Prints
  bounce between bid and ask, so one fill's split is noisy; the sums are exact, and the
  marks agree with `mmd backtest`'s (its P&L marked is this total).
- Total P&L = cash + position x end mark, where cash = -sum(q x p) - sum(f): everything
  after fees, realized and marked to market.
- Split, exactly: total = spread capture + inventory - fees, with
    spread capture = sum over fills of q x (r - p)  (bought below / sold above the market),
    inventory      = sum over fills of q x (end mark - r)  (what the position made or lost
                     while the price moved; the sum of position x every change of the mark),
    fees           = sum(f).
  The identity is algebra (q x (r - p) + q x (end - r) = q x (end - p)), checked in Decimal
  with inexact arithmetic trapped, so a report whose parts do not add up cannot be written.
- Equity curve: cash + sum of position x mark, after every fill and every market
  observation (print, or snapshot before the first print). At one instant our fills come
  first, valued at the mark before them, then that instant's prints. A market's mark
  before its first observation is our fill's price. Its last point equals the marked
  total. Drawdown: the largest fall from a running peak that starts at 0.
- Markout of a fill at horizon h: q x (mark(t + h) - p) dollars, > 0 in our favour; per
  contract, (mark(t + h) - p) for a buy and (p - mark(t + h)) for a sale. At h = 0 it is
  the fill's spread capture (mark just before the fill). A horizon past the run's end is
  not measured.
"""

from __future__ import annotations

import bisect
from contextlib import AbstractContextManager
import decimal
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable, Iterator

from mmd.report_data import BookSample, Fill, OrderEvent, Print, Realization, RunRecords, Session

__all__ = [
    "HORIZONS",
    "Marks",
    "PnlSplit",
    "EquityPoint",
    "FillMarkouts",
    "HorizonSummary",
    "QuotePoint",
    "SessionLine",
    "Settlement",
    "RunReport",
    "exact",
    "pnl_split",
    "equity_curve",
    "max_drawdown",
    "inventory_paths",
    "quote_paths",
    "fill_markouts",
    "summarise_markouts",
    "session_lines",
    "end_reason_counts",
    "settlements",
    "build_report",
    "parse_result",
]

SECOND_NS = 1_000_000_000
HORIZONS: tuple[tuple[str, int], ...] = (("1 s", SECOND_NS), ("10 s", 10 * SECOND_NS), ("60 s", 60 * SECOND_NS),
                                         ("5 min", 300 * SECOND_NS))
PAYOUT = {"yes": Decimal(1), "no": Decimal(0)}
AVERAGE_STEP = Decimal("0.0001")  # averages are quotients: shown rounded half-even to 1/100 cent
_ZERO = Decimal(0)
_SETTLED_REASON = re.compile(r"\bmarket (settled|determined)\b")


def exact() -> AbstractContextManager[decimal.Context]:
    """A Decimal context in which any rounding raises: money sums here are exact or fail."""
    return decimal.localcontext(
        decimal.Context(prec=80, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.DivisionByZero])
    )


def average(total: Decimal, count: Decimal) -> Decimal | None:
    if not count:
        return None
    with decimal.localcontext(decimal.Context(prec=80)):
        return (total / count).quantize(AVERAGE_STEP, rounding=decimal.ROUND_HALF_EVEN)


def parse_result(text: str) -> tuple[str, str]:
    """'TICKER=yes' -> (TICKER, 'yes'); ValueError otherwise."""
    ticker, sep, result = text.partition("=")
    if not sep or not ticker.strip() or result.strip().lower() not in PAYOUT:
        raise ValueError(f"a result is TICKER=yes or TICKER=no, got {text!r}")
    return ticker.strip(), result.strip().lower()


# ----------------------------------------------------------------------------- marks
class Marks:
    """Each market's mark over time (see the module's definition), looked up by bisection."""

    def __init__(self, prints: Iterable[Print], books: Iterable[BookSample]) -> None:
        self._prints: dict[str, tuple[list[int], list[Decimal]]] = defaultdict(lambda: ([], []))
        self._mids: dict[str, tuple[list[int], list[Decimal]]] = defaultdict(lambda: ([], []))
        for p in sorted(prints, key=lambda p: p.ts_ns):  # stable: rows of one instant keep their order
            times, prices = self._prints[p.ticker]
            times.append(p.ts_ns)
            prices.append(p.price)
        for b in sorted(books, key=lambda b: b.ts_ns):
            if b.best_bid is None or b.best_ask is None:
                continue  # a one-sided book has no mid
            mid = b.mid if b.mid is not None else (b.best_bid + b.best_ask) / 2
            times, mids = self._mids[b.ticker]
            times.append(b.ts_ns)
            mids.append(mid)

    @staticmethod
    def _last(series: tuple[list[int], list[Decimal]] | None, ts_ns: int, strict: bool) -> Decimal | None:
        if not series:
            return None
        times, values = series
        i = bisect.bisect_left(times, ts_ns) if strict else bisect.bisect_right(times, ts_ns)
        return values[i - 1] if i else None

    def at(self, ticker: str, ts_ns: int) -> Decimal | None:
        """The mark at `ts_ns` (observations at that instant included)."""
        return self._mark(ticker, ts_ns, strict=False)

    def before(self, ticker: str, ts_ns: int) -> Decimal | None:
        """The mark strictly before `ts_ns`."""
        return self._mark(ticker, ts_ns, strict=True)

    def _mark(self, ticker: str, ts_ns: int, strict: bool) -> Decimal | None:
        printed = self._last(self._prints.get(ticker), ts_ns, strict)
        return printed if printed is not None else self._last(self._mids.get(ticker), ts_ns, strict)

    def last(self, ticker: str) -> Decimal | None:
        prints = self._prints.get(ticker)
        if prints and prints[1]:
            return prints[1][-1]
        mids = self._mids.get(ticker)
        return mids[1][-1] if mids and mids[1] else None

    def observed_marks(self) -> Iterator[tuple[int, str, Decimal]]:
        """(time, ticker, new mark) of every print, and of every two-sided snapshot before a
        market's first print (after it, prints alone set the mark)."""
        for ticker, (times, prices) in self._prints.items():
            yield from ((t, ticker, p) for t, p in zip(times, prices))
        for ticker, (times, mids) in self._mids.items():
            first_print = self._prints[ticker][0][0] if self._prints.get(ticker) and self._prints[ticker][0] else None
            yield from ((t, ticker, m) for t, m in zip(times, mids) if first_print is None or t < first_print)


# ----------------------------------------------------------------------------- P&L split
@dataclass(frozen=True)
class PnlSplit:
    spread: Decimal
    inventory: Decimal
    fees: Decimal  # paid: subtracted
    total: Decimal
    cash: Decimal
    end_position: Decimal
    end_mark: Decimal | None


def reference_price(fill: Fill, marks: Marks) -> Decimal:
    ref = marks.before(fill.ticker, fill.ts_ns)
    return fill.price if ref is None else ref


def end_mark(ticker: str, fills: list[Fill], marks: Marks) -> Decimal | None:
    last = marks.last(ticker)
    if last is None and fills:
        last = fills[-1].price  # no observation of the market at all: our last fill's price
    return last


def pnl_split(fills: Iterable[Fill], marks: Marks, ticker: str | None = None) -> PnlSplit:
    """One market's split (the fills of one ticker), marked at its end mark."""
    fills = list(fills)
    tickers = {f.ticker for f in fills}
    if len(tickers) > 1:
        raise ValueError(f"pnl_split takes one market's fills, got {sorted(tickers)}")
    name = ticker or (fills[0].ticker if fills else "")
    end = end_mark(name, fills, marks)
    with exact():
        spread = inventory = fees = cash = position = _ZERO
        for f in fills:
            q = f.signed_count
            ref = reference_price(f, marks)
            spread += q * (ref - f.price)
            inventory += q * (end - ref)  # end is None only without fills
            fees += f.fee
            cash += -q * f.price - f.fee
            position += q
        total = cash + position * (end if end is not None else _ZERO)
        if spread + inventory - fees != total:  # algebra says never: a bug, not bad input
            raise AssertionError(f"P&L split of {name} does not add up: {spread} + {inventory} - {fees} != {total}")
    return PnlSplit(spread, inventory, fees, total, cash, position, end)


def add_splits(splits: Iterable[PnlSplit]) -> PnlSplit:
    with exact():
        parts = list(splits)
        out = PnlSplit(
            spread=sum((s.spread for s in parts), _ZERO),
            inventory=sum((s.inventory for s in parts), _ZERO),
            fees=sum((s.fees for s in parts), _ZERO),
            total=sum((s.total for s in parts), _ZERO),
            cash=sum((s.cash for s in parts), _ZERO),
            end_position=_ZERO,  # positions of different markets do not add up to anything
            end_mark=None,
        )
        if out.spread + out.inventory - out.fees != out.total:
            raise AssertionError("P&L split totals do not add up")
    return out


# ----------------------------------------------------------------------------- curves
@dataclass(frozen=True)
class EquityPoint:
    ts_ns: int
    equity: Decimal


def equity_curve(fills: Iterable[Fill], marks: Marks, start_ns: int) -> list[EquityPoint]:
    """Cash + positions x marks after every fill and every market observation, starting at
    (start_ns, 0). At one instant our fills come first, valued at the mark before them (so
    the curve steps by each fill's spread capture less its fee), then the prints of that
    instant (one of them may be our fill's own print)."""
    fills = sorted(fills, key=lambda f: f.ts_ns)
    traded = {f.ticker for f in fills}
    events: list[tuple[int, int, int, str, Decimal | None, Fill | None]] = []
    for i, f in enumerate(fills):
        events.append((f.ts_ns, 0, i, f.ticker, None, f))
    for i, (ts, ticker, value) in enumerate(marks.observed_marks()):
        if ticker in traded:
            events.append((ts, 1, i, ticker, value, None))
    events.sort(key=lambda e: e[:3])
    cash = _ZERO
    positions: dict[str, Decimal] = {}
    current: dict[str, Decimal] = {}
    observed: set[str] = set()
    points = [EquityPoint(start_ns, _ZERO)]
    with exact():
        for ts, _, _, ticker, value, fill in events:
            if fill is not None:
                cash += -fill.signed_count * fill.price - fill.fee
                positions[ticker] = positions.get(ticker, _ZERO) + fill.signed_count
                if ticker not in observed:
                    current[ticker] = fill.price  # no observation of the market yet: our own price
            else:
                current[ticker] = value
                observed.add(ticker)
            if ts < start_ns:
                continue  # rows older than the run's start (a reused database): not this run's curve
            points.append(EquityPoint(ts, cash + sum((q * current[t] for t, q in positions.items()), _ZERO)))
    return points


def max_drawdown(points: Iterable[EquityPoint]) -> Decimal:
    peak = worst = _ZERO
    with exact():
        for p in points:
            peak = max(peak, p.equity)
            worst = max(worst, peak - p.equity)
    return worst


def inventory_paths(fills: Iterable[Fill]) -> dict[str, list[tuple[int, Decimal]]]:
    """ticker -> [(time, position after the fills of that instant)]."""
    paths: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
    positions: dict[str, Decimal] = defaultdict(Decimal)
    for f in sorted(fills, key=lambda f: f.ts_ns):
        positions[f.ticker] += f.signed_count
        path = paths[f.ticker]
        if path and path[-1][0] == f.ts_ns:
            path[-1] = (f.ts_ns, positions[f.ticker])
        else:
            path.append((f.ts_ns, positions[f.ticker]))
    return dict(paths)


@dataclass(frozen=True)
class QuotePoint:
    ts_ns: int
    bid: Decimal | None  # our highest resting bid; None when we rest none
    ask: Decimal | None


def quote_paths(orders: Iterable[OrderEvent]) -> dict[str, list[QuotePoint]]:
    """ticker -> our best resting bid and ask after the order events of each instant.

    An order rests from `accepted` (or an `updated` with status resting) until `cancelled`,
    an `updated` with status canceled/executed, or nothing left; `amended` moves it."""
    resting: dict[str, dict[str, tuple[str, Decimal]]] = defaultdict(dict)  # ticker -> order id -> (side, price)
    paths: dict[str, list[QuotePoint]] = defaultdict(list)
    for o in sorted(orders, key=lambda o: o.ts_ns):
        if not o.order_id:
            continue  # a refused place never rested
        book = resting[o.ticker]
        gone = (
            o.event == "cancelled"
            or (o.event == "updated" and o.status in ("canceled", "executed"))
            or (o.event in ("accepted", "amended", "updated") and o.remaining is not None and o.remaining <= 0)
        )
        if gone:
            book.pop(o.order_id, None)
        elif o.event in ("accepted", "amended", "updated") and o.side in ("bid", "ask") and o.price is not None:
            book[o.order_id] = (o.side, o.price)
        else:
            continue  # rejections change nothing that rests
        bids = [p for s, p in book.values() if s == "bid"]
        asks = [p for s, p in book.values() if s == "ask"]
        point = QuotePoint(o.ts_ns, max(bids) if bids else None, min(asks) if asks else None)
        path = paths[o.ticker]
        if path and path[-1].ts_ns == o.ts_ns:
            path[-1] = point
        elif not path or (path[-1].bid, path[-1].ask) != (point.bid, point.ask):
            path.append(point)
    return dict(paths)


# ----------------------------------------------------------------------------- markouts
@dataclass(frozen=True)
class FillMarkouts:
    fill: Fill
    reference: Decimal  # mark just before the fill
    spread: Decimal  # q x (reference - price): the markout at h = 0
    per_contract: tuple[Decimal | None, ...]  # per HORIZONS; None past the run's end
    dollars: tuple[Decimal | None, ...]


def fill_markouts(fills: Iterable[Fill], marks: Marks, end_ns: int) -> list[FillMarkouts]:
    out = []
    with exact():
        for f in fills:
            direction = 1 if f.side == "bid" else -1
            ref = reference_price(f, marks)
            per_contract: list[Decimal | None] = []
            dollars: list[Decimal | None] = []
            for _, h in HORIZONS:
                later = marks.at(f.ticker, f.ts_ns + h) if f.ts_ns + h <= end_ns else None
                if later is None:
                    per_contract.append(None)
                    dollars.append(None)
                else:
                    per_contract.append(direction * (later - f.price))
                    dollars.append(f.signed_count * (later - f.price))
            out.append(FillMarkouts(f, ref, f.signed_count * (ref - f.price), tuple(per_contract), tuple(dollars)))
    return out


@dataclass(frozen=True)
class HorizonSummary:
    horizon: str
    fills: int  # measured
    contracts: Decimal
    dollars: Decimal  # sum of the fills' markouts, exact
    per_contract: Decimal | None  # dollars / contracts, rounded to AVERAGE_STEP
    favourable: int
    adverse: int
    unmeasured: int  # fills too close to the run's end


def summarise_markouts(markouts: list[FillMarkouts]) -> list[HorizonSummary]:
    rows = []
    with exact():
        at_fill = _summary("at fill (spread)", [(m.fill, m.spread, m.spread) for m in markouts], 0)
        rows.append(at_fill)
        for i, (label, _) in enumerate(HORIZONS):
            measured = [(m.fill, m.dollars[i], m.per_contract[i]) for m in markouts if m.dollars[i] is not None]
            rows.append(_summary(label, measured, len(markouts) - len(measured)))
    return rows


def _summary(label: str, measured: list[tuple[Fill, Decimal, Decimal]], unmeasured: int) -> HorizonSummary:
    contracts = sum((f.count for f, _, _ in measured), _ZERO)
    dollars = sum((d for _, d, _ in measured), _ZERO)
    return HorizonSummary(
        horizon=label, fills=len(measured), contracts=contracts, dollars=dollars,
        per_contract=average(dollars, contracts),
        favourable=sum(1 for _, d, _ in measured if d > 0), adverse=sum(1 for _, d, _ in measured if d < 0),
        unmeasured=unmeasured,
    )


# ----------------------------------------------------------------------------- sessions
@dataclass(frozen=True)
class SessionLine:
    session: Session | None  # None: fills no session claims
    fills: int
    contracts: Decimal
    fees: Decimal
    pnl: Decimal  # cash of its fills + its net position x the mark at its end (after fees)
    end_position: Decimal


def session_lines(records: RunRecords, marks: Marks) -> list[SessionLine]:
    by_session: dict[str | None, list[Fill]] = defaultdict(list)
    known = {s.session_id for s in records.sessions}
    for f in records.fills:
        by_session[f.session_id if f.session_id in known else None].append(f)
    lines = []
    with exact():
        for s in records.sessions:
            lines.append(_session_line(s, by_session.get(s.session_id, []), marks, s.ended_ns or records.end_ns))
        if by_session.get(None):
            lines.append(_session_line(None, by_session[None], marks, records.end_ns))
    return lines


def _session_line(session: Session | None, fills: list[Fill], marks: Marks, end_ns: int) -> SessionLine:
    cash = fees = contracts = _ZERO
    positions: dict[str, Decimal] = defaultdict(Decimal)
    for f in fills:
        cash += -f.signed_count * f.price - f.fee
        fees += f.fee
        contracts += f.count
        positions[f.ticker] += f.signed_count
    value = cash
    for ticker, q in positions.items():
        if q:
            mark = marks.at(ticker, end_ns)
            value += q * (mark if mark is not None else [f for f in fills if f.ticker == ticker][-1].price)
    return SessionLine(session, len(fills), contracts, fees, value, sum(positions.values(), _ZERO))


def end_reason_kind(reason: str | None) -> str:
    """A reason without its numbers, so equal reasons count together ("sigma # below #")."""
    if reason is None:
        return "(still running)"
    return re.sub(r"-?\d+(?:\.\d+)?", "#", reason)


def end_reason_counts(sessions: Iterable[Session]) -> list[tuple[str, int]]:
    counts = Counter(end_reason_kind(s.end_reason) for s in sessions)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


# ----------------------------------------------------------------------------- settlement
@dataclass(frozen=True)
class Settlement:
    ticker: str
    result: str | None  # yes | no | None (unknown)
    source: str | None  # where the result came from
    end_position: Decimal
    cash: Decimal
    settled_pnl: Decimal | None  # cash + position x payout; None when unknown and not flat
    if_yes: Decimal
    if_no: Decimal


def settlements(
    fills_by_ticker: dict[str, list[Fill]],
    realizations: Iterable[Realization],
    given: dict[str, str],
) -> list[Settlement]:
    """Per traded market: its result (given, else a realization the maker closed at the
    market's settlement) and the P&L with the end position paid out at $1 / $0."""
    recorded: dict[str, tuple[str, str]] = {}
    for r in realizations:
        if r.exit_reason and _SETTLED_REASON.search(r.exit_reason) and r.exit_price in (Decimal(0), Decimal(1)):
            recorded[r.ticker] = ("yes" if r.exit_price == 1 else "no", f"realization: {r.exit_reason}")
    out = []
    with exact():
        for ticker in sorted(fills_by_ticker):
            fills = fills_by_ticker[ticker]
            cash = sum((-f.signed_count * f.price - f.fee for f in fills), _ZERO)
            position = sum((f.signed_count for f in fills), _ZERO)
            if ticker in given:
                result, source = given[ticker], "given"
            elif ticker in recorded:
                result, source = recorded[ticker]
            else:
                result, source = None, None
            if_yes, if_no = cash + position * PAYOUT["yes"], cash + position * PAYOUT["no"]
            settled = if_yes if result == "yes" else if_no if result == "no" else (cash if position == 0 else None)
            out.append(Settlement(ticker, result, source, position, cash, settled, if_yes, if_no))
    return out


# ----------------------------------------------------------------------------- all of it
@dataclass(frozen=True)
class RunReport:
    records: RunRecords
    tickers: tuple[str, ...]  # markets we traded or quoted or held a session in
    traded: tuple[str, ...]  # markets with fills
    split_by_ticker: dict[str, PnlSplit]
    split: PnlSplit  # all markets, marked at their last mark
    settled_total: Decimal | None  # all markets, held positions paid out; None when a result is unknown
    realized_fifo: Decimal  # closed round trips (FIFO), before fees
    equity: list[EquityPoint]
    drawdown: Decimal
    inventory: dict[str, list[tuple[int, Decimal]]]
    quotes: dict[str, list[QuotePoint]]
    markouts: list[FillMarkouts]
    markout_summary: list[HorizonSummary]
    sessions: list[SessionLine]
    end_reasons: list[tuple[str, int]]
    settlements: list[Settlement]
    notes: list[str] = field(default_factory=list)

    @property
    def contracts(self) -> Decimal:
        return sum((f.count for f in self.records.fills), _ZERO)


def fifo_realized(fills: Iterable[Fill]) -> Decimal:
    """Closed round trips, first in first out, before fees: sum of (exit - entry) x count."""
    lots: dict[str, list[list[Decimal]]] = defaultdict(list)  # ticker -> [[signed count, price]]
    realized = _ZERO
    with exact():
        for f in sorted(fills, key=lambda f: f.ts_ns):
            book = lots[f.ticker]
            q = f.signed_count
            while q and book and (book[0][0] > 0) != (q > 0):
                lot = book[0]
                closed = min(abs(q), abs(lot[0]))
                direction = 1 if lot[0] > 0 else -1
                realized += direction * (f.price - lot[1]) * closed
                lot[0] -= direction * closed
                q += direction * closed
                if not lot[0]:
                    book.pop(0)
            if q:
                book.append([q, f.price])
    return realized


def build_report(records: RunRecords, given_results: dict[str, str] | None = None) -> RunReport:
    marks = Marks(records.prints, records.books)
    given = dict(given_results or {})
    fills_by_ticker: dict[str, list[Fill]] = defaultdict(list)
    for f in records.fills:
        fills_by_ticker[f.ticker].append(f)
    settled = settlements(fills_by_ticker, records.realizations, given)
    split_by_ticker = {t: pnl_split(fs, marks, ticker=t) for t, fs in sorted(fills_by_ticker.items())}
    split = add_splits(split_by_ticker.values())
    with exact():
        settled_total: Decimal | None = _ZERO
        for s in settled:
            settled_total = None if settled_total is None or s.settled_pnl is None else settled_total + s.settled_pnl
    equity = equity_curve(records.fills, marks, records.run.started_ns)
    if equity[-1].equity != split.total:
        raise AssertionError(f"equity curve ends at {equity[-1].equity}, the P&L split says {split.total}")
    markouts = fill_markouts(records.fills, marks, records.end_ns)
    quoted = quote_paths(records.orders)
    tickers = sorted(set(fills_by_ticker) | set(quoted) | {s.ticker for s in records.sessions})
    notes = []
    if not records.fills:
        notes.append("No fills in this run: no P&L, inventory or markouts to show.")
    if records.other_runs:
        notes.append(f"This database holds other runs too ({', '.join(records.other_runs)}): pick one with --run.")
    if records.run.ended_ns is None:
        notes.append("The run has no end time (still running, or it did not stop cleanly): "
                     "its last row is taken as its end.")
    return RunReport(
        records=records,
        tickers=tuple(tickers),
        traded=tuple(sorted(fills_by_ticker)),
        split_by_ticker=split_by_ticker,
        split=split,
        settled_total=settled_total,
        realized_fifo=fifo_realized(records.fills),
        equity=equity,
        drawdown=max_drawdown(equity),
        inventory=inventory_paths(records.fills),
        quotes=quoted,
        markouts=markouts,
        markout_summary=summarise_markouts(markouts),
        sessions=session_lines(records, marks),
        end_reasons=end_reason_counts(records.sessions),
        settlements=settled,
        notes=notes,
    )
