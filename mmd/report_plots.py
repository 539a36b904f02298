"""The report's figures: matplotlib on its Agg canvas, returned as PNG bytes.

Floats appear here only, for drawing; every number a reader copies comes from the
tables. Figures are built with `Figure` + `FigureCanvasAgg`, never pyplot: no global
state, no GUI backend, nothing left open between calls.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone
from decimal import Decimal
from typing import Iterable, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from mmd.report_data import Fill, Print
from mmd.report_format import money
from mmd.report_metrics import HORIZONS, EquityPoint, FillMarkouts, HorizonSummary, QuotePoint

__all__ = [
    "equity_png", "inventory_png", "quotes_png", "markouts_png", "fills_window", "run_figures", "WIDTH_IN", "DPI",
]

WIDTH_IN = 10.0
DPI = 100
_BUY, _SELL, _PRICE, _LINE = "#1a7f37", "#cf222e", "#8c959f", "#0969da"


def _when(ts_ns: int) -> datetime:
    return datetime.fromtimestamp(ts_ns / 1e9, tz=timezone.utc).replace(tzinfo=None)


def _figure(height_in: float = 3.2) -> tuple[Figure, object]:
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.grid(True, color="#d0d7de", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _time_axis(ax) -> None:
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_xlabel("time (UTC)")


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return buffer.getvalue()


def _extend(times: list[datetime], values: list[float], end_ns: int) -> None:
    """Hold the last value to the run's end, so a step line shows how long it lasted."""
    if times and _when(end_ns) > times[-1]:
        times.append(_when(end_ns))
        values.append(values[-1])


def equity_png(points: Sequence[EquityPoint], end_ns: int, settled_total: Decimal | None = None) -> bytes:
    fig, ax = _figure()
    times = [_when(p.ts_ns) for p in points]
    values = [float(p.equity) for p in points]
    _extend(times, values, end_ns)
    ax.step(times, values, where="post", color=_LINE, linewidth=1.4, label="P&L after fees (marked)")
    ax.fill_between(times, values, step="post", alpha=0.12, color=_LINE)
    ax.axhline(0, color="#57606a", linewidth=0.8)
    if settled_total is not None and points and settled_total != points[-1].equity and times:
        ax.scatter([times[-1]], [float(settled_total)], marker="D", color="#8250df", zorder=5,
                   label=f"settled: {money(settled_total)}")
    ax.set_ylabel("dollars")
    ax.set_title("Equity: realized + open position at the mark, after fees", loc="left", fontsize=11)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    _time_axis(ax)
    return _png(fig)


def inventory_png(paths: dict[str, list[tuple[int, Decimal]]], start_ns: int, end_ns: int) -> bytes:
    fig, ax = _figure(2.8)
    for ticker, path in sorted(paths.items()):
        times = [_when(start_ns)] + [_when(t) for t, _ in path]
        values = [0.0] + [float(q) for _, q in path]
        _extend(times, values, end_ns)
        ax.step(times, values, where="post", linewidth=1.3, label=ticker)
    ax.axhline(0, color="#57606a", linewidth=0.8)
    ax.set_ylabel("contracts (+ YES, - NO)")
    ax.set_title("Inventory", loc="left", fontsize=11)
    if paths:
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    _time_axis(ax)
    return _png(fig)


def _quote_line(points: Sequence[QuotePoint], side: str, end_ns: int) -> tuple[list[datetime], list[float]]:
    times, values = [], []
    for p in points:
        value = p.bid if side == "bid" else p.ask
        times.append(_when(p.ts_ns))
        values.append(float("nan") if value is None else float(value))  # nan: a gap while not quoting
    _extend(times, values, end_ns)
    return times, values


def quotes_png(ticker: str, prints: Iterable[Print], quotes: Sequence[QuotePoint], fills: Iterable[Fill],
               start_ns: int, end_ns: int, zoomed: bool = False) -> bytes:
    """Public prints, our best bid and ask, and our fills between start_ns and end_ns (our
    quote standing at start_ns is carried in from before)."""
    fig, ax = _figure(3.6)
    prints = [p for p in prints if start_ns <= p.ts_ns <= end_ns]
    if prints:
        ax.scatter([_when(p.ts_ns) for p in prints], [float(p.price) for p in prints], s=4, color=_PRICE,
                   label="public prints", zorder=1)
    before = [q for q in quotes if q.ts_ns <= start_ns]
    shown = ([QuotePoint(start_ns, before[-1].bid, before[-1].ask)] if before else []) + [
        q for q in quotes if start_ns < q.ts_ns <= end_ns]
    for side, color in (("bid", _BUY), ("ask", _SELL)):
        times, values = _quote_line(shown, side, end_ns)
        if times:
            ax.step(times, values, where="post", color=color, linewidth=1.0, alpha=0.85, label=f"our {side}")
    fills = [f for f in fills if start_ns <= f.ts_ns <= end_ns]
    for side, color, marker, name in (("bid", _BUY, "^", "we bought"), ("ask", _SELL, "v", "we sold")):
        chosen = [f for f in fills if f.side == side]
        if chosen:
            ax.scatter([_when(f.ts_ns) for f in chosen], [float(f.price) for f in chosen], s=46, marker=marker,
                       color=color, edgecolors="black", linewidths=0.6, zorder=4, label=name)
    if end_ns > start_ns:
        ax.set_xlim(_when(start_ns), _when(end_ns))
    ax.set_ylabel("YES price ($)")
    what = "around our fills" if zoomed else "over the price path"
    ax.set_title(f"{ticker}: our quotes and fills {what}", loc="left", fontsize=11, pad=18)
    # above the axes: inside, it would hide the prints of the very moments it describes
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, frameon=False, ncols=5, borderaxespad=0.1)
    _time_axis(ax)
    return _png(fig)


ZOOM_MARGIN_NS = 300 * 1_000_000_000


def fills_window(fills: Sequence[Fill], start_ns: int, end_ns: int) -> tuple[int, int] | None:
    """A closer look at where we traded: the fills' span with 5 minutes (or a tenth of the
    span) either side, when that is under half the run; None otherwise."""
    if not fills:
        return None
    first, last = min(f.ts_ns for f in fills), max(f.ts_ns for f in fills)
    margin = max(ZOOM_MARGIN_NS, (last - first) // 10)
    window = (max(start_ns, first - margin), min(end_ns, last + margin))
    return window if (window[1] - window[0]) * 2 < end_ns - start_ns else None


def markouts_png(markouts: Sequence[FillMarkouts], summary: Sequence[HorizonSummary]) -> bytes:
    """Per-contract markout of each fill by horizon (dots), and the contract-weighted average."""
    fig, ax = _figure(3.2)
    labels = ["at fill"] + [label for label, _ in HORIZONS]
    xs = list(range(len(labels)))
    for side, color in (("bid", _BUY), ("ask", _SELL)):
        # one line per fill, all of a side in one call (nan between fills): thousands of fills stay fast
        line_x: list[float] = []
        line_y: list[float] = []
        for m in markouts:
            if m.fill.side != side:
                continue
            per_contract = [m.spread / m.fill.count if m.fill.count else None, *m.per_contract]
            for x, v in zip(xs, per_contract):
                if v is not None:
                    line_x.append(x)
                    line_y.append(float(v) * 100)
            line_x.append(float("nan"))
            line_y.append(float("nan"))
        if line_x:
            ax.plot(line_x, line_y, color=color, alpha=0.25, linewidth=0.8, marker="o", markersize=2.5)
    averages = [(x, float(s.per_contract) * 100) for x, s in zip(xs, summary) if s.per_contract is not None]
    if averages:
        ax.plot([x for x, _ in averages], [y for _, y in averages], color="black", linewidth=2.2, marker="s",
                label="average per contract (weighted by contracts)")
    ax.axhline(0, color="#57606a", linewidth=0.8)
    ax.set_xticks(xs, labels)
    ax.set_xlabel("time after the fill")
    ax.set_ylabel("cents per contract (+ in our favour)")
    ax.set_title("Fill markouts: green buys, red sales", loc="left", fontsize=11)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return _png(fig)


def run_figures(report) -> dict[str, bytes]:
    """Every figure of one run's section, by name: equity, inventory, markouts, quotes:TICKER
    and, when the fills are a small part of the run, quotes-zoom:TICKER around them.
    A run without fills has no equity, inventory or markout figure (nothing to draw)."""
    records = report.records
    start, end = records.run.started_ns, records.end_ns
    figures: dict[str, bytes] = {}
    if records.fills:
        figures["equity"] = equity_png(report.equity, end, report.settled_total)
        figures["inventory"] = inventory_png(report.inventory, start, end)
        figures["markouts"] = markouts_png(report.markouts, report.markout_summary)
    for ticker in report.tickers:
        quotes = report.quotes.get(ticker, [])
        fills = [f for f in records.fills if f.ticker == ticker]
        if quotes or fills:
            prints = [p for p in records.prints if p.ticker == ticker]
            figures[f"quotes:{ticker}"] = quotes_png(ticker, prints, quotes, fills, start, end)
            window = fills_window(fills, start, end)
            if window is not None:
                figures[f"quotes-zoom:{ticker}"] = quotes_png(ticker, prints, quotes, fills, *window, zoomed=True)
    return figures
