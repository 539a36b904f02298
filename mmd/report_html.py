"""The report as one self-contained HTML page: inline CSS, figures as data: PNGs, no
script and no external request. Money is printed from Decimal exactly as computed (only
trailing zeros past the cents are dropped); the only rounded figures are averages, and
their headers say so.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Sequence

from mmd.report_format import cents, clock_time, count, duration, money, price, when
from mmd.report_metrics import HORIZONS, PnlSplit, RunReport

__all__ = ["BacktestLine", "render_page", "render_run", "MAX_FILL_ROWS"]

MAX_FILL_ROWS = 500
MAX_RISK_ROWS = 200
MAX_SESSION_ROWS = 500

_CSS = """
:root { --ink:#1f2328; --muted:#59636e; --line:#d0d7de; --bg:#f6f8fa; --good:#1a7f37; --bad:#cf222e; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 1180px; padding: 24px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 8px; padding-top: 12px; border-top: 3px solid var(--ink); }
h3 { font-size: 16px; margin: 26px 0 6px; }
p, dl { margin: 6px 0; }
.meta { color: var(--muted); }
.note { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 8px 12px; margin: 10px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; background: var(--bg); }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; font-size: 13px; }
td.num, th.num, td.nowrap { text-align: right; white-space: nowrap; }
td.nowrap { text-align: left; }
td.reason { overflow-wrap: break-word; }
.scroll { overflow-x: auto; max-width: 100%; }
table.compact td, table.compact th { padding: 3px 7px; font-size: 13px; }
table.nowrap td, table.nowrap th { white-space: nowrap; }
tr.total td { font-weight: 700; border-top: 2px solid var(--ink); }
.pos { color: var(--good); } .neg { color: var(--bad); }
img { display: block; max-width: 100%; height: auto; margin: 8px 0; border: 1px solid var(--line); }
dl.defs dt { font-weight: 600; margin-top: 6px; }
dl.defs dd { margin: 0 0 0 18px; color: var(--muted); }
.check { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
nav ul { columns: 2; margin: 4px 0; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _signed_class(value: Decimal | None) -> str:
    if value is None or value == 0:
        return "num"
    return "num pos" if value > 0 else "num neg"


@dataclass(frozen=True)
class Cell:
    text: str
    css: str = ""


def _table(headers: Sequence[str | tuple[str, str]], rows: Iterable[Sequence[Cell | str]],
           total: Sequence[Cell | str] | None = None, css: str = "") -> str:
    """A table in a horizontal scroller (a wide one never widens the page); css: compact, nowrap."""
    out = [f"<div class='scroll'><table class='{css}'><thead><tr>" if css else "<div class='scroll'><table><thead><tr>"]
    for h in headers:
        name, css = (h, "") if isinstance(h, str) else h
        out.append(f'<th class="{css}">{_e(name)}</th>' if css else f"<th>{_e(name)}</th>")
    out.append("</tr></thead><tbody>")
    for row, cls in [(r, "") for r in rows] + ([(total, "total")] if total is not None else []):
        out.append(f'<tr class="{cls}">' if cls else "<tr>")
        for cell in row:
            cell = cell if isinstance(cell, Cell) else Cell(str(cell))
            out.append(f'<td class="{cell.css}">{_e(cell.text)}</td>' if cell.css else f"<td>{_e(cell.text)}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _money_cell(value: Decimal | None) -> Cell:
    return Cell(money(value), _signed_class(value))


def _img(png: bytes, alt: str) -> str:
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{encoded}">'


def _card(label: str, value: str, css: str = "") -> str:
    return (f'<div class="card"><div class="label">{_e(label)}</div>'
            f'<div class="value {css}">{_e(value)}</div></div>')


# ----------------------------------------------------------------------------- one run
_DEFINITIONS = [
    ("Mark", "a market's price at a moment: its last public print at or before it (our own fills print too); "
             "before its first print, the mid of its last two-sided book snapshot. The end mark is the last "
             "one in the run."),
    ("Reference price of a fill", "the mark strictly before the fill's time stamp (the price before the event "
                                  "that filled us); the fill's own price when the market has none yet. Prints "
                                  "bounce between bid and ask, so a single fill's split is noisy: read the sums "
                                  "and the averages over many fills."),
    ("Spread capture", "sum over fills of q × (reference − price), q = +contracts bought, −contracts sold: "
                       "what we bought below / sold above the market at the moment of the fill."),
    ("Inventory", "sum over fills of q × (end mark − reference): what the contracts we held made or lost while "
                  "the price moved after we traded them (the sum of position × every change of the mark)."),
    ("Fees", "every fee the exchange charged on our fills (a rebate counts negative)."),
    ("P&L after fees", "cash (−Σ q × price − Σ fees) + end position × end mark = spread capture + inventory "
                       "− fees, exactly (Decimal, inexact arithmetic trapped)."),
    ("Markout at h", "q × (mark at fill time + h − fill price): > 0 when the price moved our way after the "
                     "fill. At h = 0 (just before the fill) it is the fill's spread capture; the fall from there "
                     "to 5 min is adverse selection. Horizons past the run's end are not measured."),
]


def _split_table(report: RunReport) -> str:
    rows = []
    for ticker, s in report.split_by_ticker.items():
        rows.append(_split_row(ticker, s))
    total = _split_row("all markets", report.split) if len(report.split_by_ticker) > 1 else None
    headers = ["Market", ("Spread capture", "num"), ("Inventory", "num"), ("Fees", "num"),
               ("P&L after fees", "num"), ("End position", "num"), ("End mark", "num")]
    return _table(headers, rows, total)


def _split_row(name: str, s: PnlSplit) -> list[Cell | str]:
    return [name, _money_cell(s.spread), _money_cell(s.inventory), Cell(money(-s.fees), _signed_class(-s.fees)),
            _money_cell(s.total), Cell(count(s.end_position) if s.end_mark is not None else "", "num"),
            Cell(price(s.end_mark) if s.end_mark is not None else "", "num")]


def _markout_section(report: RunReport, figures: dict[str, bytes]) -> str:
    rows = []
    for s in report.markout_summary:
        rows.append([s.horizon, Cell(str(s.fills), "num"), Cell(count(s.contracts), "num"), _money_cell(s.dollars),
                     Cell(cents(s.per_contract), _signed_class(s.per_contract)), Cell(str(s.favourable), "num"),
                     Cell(str(s.adverse), "num"), Cell(str(s.unmeasured), "num")])
    headers = ["Horizon", ("Fills", "num"), ("Contracts", "num"), ("Total", "num"),
               ("Average per contract (rounded to 0.01¢)", "num"), ("In our favour", "num"),
               ("Against us", "num"), ("Not measured (past the end)", "num")]
    parts = [_table(headers, rows)]
    if "markouts" in figures:
        parts.append(_img(figures["markouts"], "fill markouts by horizon"))
    return "".join(parts)


def _settlement_section(report: RunReport) -> str:
    if not report.settlements:
        return "<p>No fills: nothing to settle.</p>"
    rows = []
    for s in report.settlements:
        result = s.result.upper() if s.result else "unknown"
        if s.source:
            result += f" ({s.source})"
        if s.end_position == 0:
            what = "flat at the end: the result changes nothing"
        elif s.result is None:
            what = f"if YES {money(s.if_yes)}, if NO {money(s.if_no)}"
        else:
            what = f"{count(s.end_position)} contracts paid out at ${'1' if s.result == 'yes' else '0'}"
        rows.append([s.ticker, result, Cell(count(s.end_position), "num"),
                     _money_cell(report.split_by_ticker[s.ticker].total), _money_cell(s.settled_pnl), what])
    headers = ["Market", "Result", ("End position", "num"), ("P&L marked", "num"), ("P&L settled", "num"), ""]
    intro = ("<p>A market that settled pays $1 a YES contract and $0 a NO one: the end position is realized at "
             "that payout instead of the last mark. The result comes from <code>--result TICKER=yes|no</code>, "
             "the backtest's market facts, or a realization the maker closed at the market's settlement.</p>")
    return intro + _table(headers, rows)


def _session_section(report: RunReport) -> str:
    if not report.sessions:
        return "<p>No maker sessions in this run.</p>"
    parts = []
    if report.end_reasons:
        parts.append("<p>End reasons (numbers folded into #):</p>")
        parts.append(_table(["End reason", ("Sessions", "num")],
                            [[reason, Cell(str(n), "num")] for reason, n in report.end_reasons]))
    rows = []
    lines = report.sessions
    day = report.records.run.started_ns
    several = len({s.ticker for s in report.records.sessions}) > 1  # else the run's header names the market
    for line in lines[:MAX_SESSION_ROWS]:
        s = line.session
        if s is None:
            rows.append(["(fills of no known session)", *([""] if several else []), "", "", "", "",
                         Cell(str(line.fills), "num"),
                         Cell(count(line.contracts), "num"), Cell(money(line.fees), "num"), _money_cell(line.pnl),
                         Cell("", "num")])
            continue
        length = None if s.started_ns is None or s.ended_ns is None else s.ended_ns - s.started_ns
        rows.append([Cell(s.session_id, "nowrap"), *([Cell(s.ticker, "nowrap")] if several else []),
                     Cell(clock_time(s.started_ns, day) if s.started_ns is not None else "n/a", "nowrap"),
                     Cell(duration(length), "nowrap"), Cell(s.start_reason or "", "reason"),
                     Cell(s.end_reason or "(still running)", "reason"), Cell(str(line.fills), "num"),
                     Cell(count(line.contracts), "num"), Cell(money(line.fees), "num"), _money_cell(line.pnl),
                     _money_cell(s.pnl)])
    headers = ["Session", *(["Market"] if several else []), "Started (UTC)", "Lasted", "Start reason", "End reason",
               ("Fills", "num"), ("Qty", "num"), ("Fees", "num"), ("P&L", "num"), ("Maker's P&L", "num")]
    parts.append(_table(headers, rows, css="compact"))
    if len(lines) > MAX_SESSION_ROWS:
        parts.append(f"<p class='meta'>First {MAX_SESSION_ROWS} of {len(lines)} sessions.</p>")
    parts.append("<p class='meta'>P&amp;L of a session, after fees: the cash of its fills plus its net position "
                 "at the mark when it ended. Maker's P&amp;L: what the maker reported when the session stopped.</p>")
    return "".join(parts)


def _fills_section(report: RunReport) -> str:
    if not report.markouts:
        return "<p>No fills.</p>"
    rows = []
    day = report.records.run.started_ns
    for m in report.markouts[:MAX_FILL_ROWS]:
        f = m.fill
        rows.append([clock_time(f.ts_ns, day), f.ticker, "buy" if f.side == "bid" else "sell",
                     Cell(price(f.price), "num"), Cell(count(f.count), "num"), Cell(money(f.fee), "num"),
                     "taker" if f.is_taker else "maker", Cell(price(m.reference), "num"), _money_cell(m.spread),
                     *[Cell(cents(v), _signed_class(v)) for v in m.per_contract]])
    headers = ["Time (UTC)", "Market", "Side", ("Price", "num"), ("Qty", "num"), ("Fee", "num"), "Role",
               ("Reference", "num"), ("Spread capture", "num"), *[(label, "num") for label, _ in HORIZONS]]
    out = ("<p class='meta'>Markouts per contract (1 s … 5 min after the fill), in cents, + in our favour; "
           "n/a past the run's end.</p>" + _table(headers, rows, css="compact nowrap"))
    if len(report.markouts) > MAX_FILL_ROWS:
        out += f"<p class='meta'>First {MAX_FILL_ROWS} of {len(report.markouts)} fills.</p>"
    return out


def _risk_section(report: RunReport) -> str:
    events = report.records.risk_events
    text = f"<p>Risk flatten triggers: {report.records.trigger_count}.</p>"
    if not events:
        return text + "<p>No risk events.</p>"
    rows = [[Cell(when(e.ts_ns), "nowrap"), e.kind, e.state or "", Cell(e.reason, "reason")]
            for e in events[:MAX_RISK_ROWS]]
    out = text + _table(["Time", "Kind", "State", "Reason"], rows)
    if len(events) > MAX_RISK_ROWS:
        out += f"<p class='meta'>First {MAX_RISK_ROWS} of {len(events)} risk events.</p>"
    return out


def render_run(report: RunReport, figures: dict[str, bytes], anchor: str, title: str) -> str:
    records = report.records
    run = records.run
    split = report.split
    fills = records.fills
    parts = [f'<section id="{_e(anchor)}">', f"<h2>{_e(title)}</h2>"]
    parts.append(
        f"<p class='meta'>Run <b>{_e(run.run_id)}</b> ({_e(run.mode)}) in {_e(records.database)}: "
        f"{_e(when(run.started_ns))} to {_e(when(records.end_ns))} ({_e(duration(records.end_ns - run.started_ns))})"
        f"{', ended: ' + _e(run.exit_reason) if run.exit_reason else ''}. "
        f"Markets: {_e(', '.join(report.tickers) or 'none')}.</p>"
    )
    for note in report.notes:
        parts.append(f"<p class='note'>{_e(note)}</p>")
    makers = sum(1 for f in fills if not f.is_taker)
    parts.append("<div class='cards'>")
    parts.append(_card("P&L after fees (marked)", money(split.total), _signed_class(split.total)))
    if report.settled_total is not None and report.settled_total != split.total:
        parts.append(_card("P&L settled", money(report.settled_total), _signed_class(report.settled_total)))
    parts.append(_card("Spread capture", money(split.spread), _signed_class(split.spread)))
    parts.append(_card("Inventory", money(split.inventory), _signed_class(split.inventory)))
    parts.append(_card("Fees", money(split.fees)))
    parts.append(_card("Max drawdown", money(report.drawdown)))
    parts.append(_card("Fills (maker / taker)", f"{len(fills)} ({makers} / {len(fills) - makers})"))
    parts.append(_card("Contracts traded", count(report.contracts)))
    parts.append(_card("Sessions", str(len(records.sessions))))
    parts.append("</div>")

    parts.append("<h3>P&amp;L split</h3>")
    if fills:
        parts.append(_split_table(report))
        open_part = split.total + split.fees - report.realized_fifo
        parts.append(
            f"<p class='check'>check: {_e(money(split.spread))} + {_e(money(split.inventory))} − "
            f"{_e(money(split.fees))} = {_e(money(split.total))} (exact)<br>"
            f"same total another way: closed round trips (FIFO, before fees) {_e(money(report.realized_fifo))} + "
            f"open position at the mark {_e(money(open_part))} − fees {_e(money(split.fees))}</p>"
        )
    else:
        parts.append("<p>No fills in this run: no P&amp;L.</p>")
    parts.append("<dl class='defs'>")
    for term, text in _DEFINITIONS:
        parts.append(f"<dt>{_e(term)}</dt><dd>{_e(text)}</dd>")
    parts.append("</dl>")

    parts.append("<h3>Equity</h3>")
    parts.append(_img(figures["equity"], "equity curve") if "equity" in figures else "<p>No fills: flat at $0.</p>")
    parts.append("<h3>Inventory</h3>")
    parts.append(_img(figures["inventory"], "inventory over time") if "inventory" in figures
                 else "<p>No fills: no inventory.</p>")
    parts.append("<h3>Quotes and fills</h3>")
    quote_figures = [(name, png) for name, png in figures.items() if name.startswith(("quotes:", "quotes-zoom:"))]
    if quote_figures:
        for name, png in quote_figures:
            kind, ticker = name.split(":", 1)
            what = "around our fills" if kind == "quotes-zoom" else "over the run"
            parts.append(_img(png, f"quotes and fills in {ticker} {what}"))
    else:
        parts.append("<p>No quotes and no fills in this run.</p>")
    parts.append("<h3>Fill markouts</h3>")
    parts.append(_markout_section(report, figures) if fills else "<p>No fills: no markouts.</p>")
    parts.append("<h3>Settlement</h3>")
    parts.append(_settlement_section(report))
    parts.append("<h3>Sessions</h3>")
    parts.append(_session_section(report))
    parts.append("<h3>Fills</h3>")
    parts.append(_fills_section(report))
    parts.append("<h3>Risk</h3>")
    parts.append(_risk_section(report))
    parts.append("</section>")
    return "".join(parts)


# ----------------------------------------------------------------------------- the page
@dataclass(frozen=True)
class BacktestLine:
    anchor: str
    label: str
    fill_model: str | None
    seed: int | None
    report: RunReport


def _summary_table(lines: Sequence[BacktestLine]) -> str:
    rows = []
    for line in lines:
        r = line.report
        ten_seconds = r.markout_summary[2] if len(r.markout_summary) > 2 else None
        rows.append([
            Cell(line.label, "nowrap"), Cell(line.fill_model or "", "nowrap"),
            Cell("" if line.seed is None else str(line.seed), "num"),
            Cell(str(len(r.records.fills)), "num"), Cell(count(r.contracts), "num"), _money_cell(r.split.spread),
            _money_cell(r.split.inventory), Cell(money(r.split.fees), "num"), _money_cell(r.split.total),
            _money_cell(r.settled_total), Cell(money(r.drawdown), "num"),
            Cell(cents(ten_seconds.per_contract) if ten_seconds else "n/a", "num"),
            Cell(str(len(r.records.sessions)), "num"),
        ])
    headers = ["Run", "Fill model", ("Seed", "num"), ("Fills", "num"), ("Qty", "num"), ("Spread", "num"),
               ("Inventory", "num"), ("Fees", "num"), ("P&L", "num"), ("Settled", "num"),
               ("Drawdown", "num"), ("10 s markout", "num"), ("Sessions", "num")]
    return _table(headers, rows, css="compact")


def render_page(title: str, subtitle: str, runs: Sequence[tuple[RunReport, dict[str, bytes], str]],
                backtest: Sequence[BacktestLine] = ()) -> str:
    """The whole page: (report, figures, section title) per run; with `backtest` lines, a
    summary table and a contents list first."""
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             "<meta name='viewport' content='width=device-width, initial-scale=1'>",
             f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{_e(title)}</h1><p class='meta'>{_e(subtitle)}</p>"]
    if backtest:
        parts.append("<h2 id='summary'>Summary</h2>")
        parts.append(_summary_table(backtest))
        parts.append("<p class='meta'>Spread, inventory, fees and P&amp;L (after fees, marked) as defined in each "
                     "run's section; money exact (Decimal). Settled: n/a when a market still held a position and "
                     "its result is unknown. Drawdown: the largest fall of the equity curve. 10 s markout: the "
                     "average per contract, rounded to 0.01¢.</p>")
        parts.append("<nav><ul>")
        for line in backtest:
            seed = "" if line.seed is None else f" seed {line.seed}"
            name = f"{line.label} {line.fill_model or ''}{seed}"
            parts.append(f"<li><a href='#{_e(line.anchor)}'>{_e(name)}</a></li>")
        parts.append("</ul></nav>")
    for index, (report, figures, section_title) in enumerate(runs, start=1):
        anchor = backtest[index - 1].anchor if backtest else "run"
        parts.append(render_run(report, figures, anchor, section_title))
    parts.append("</body></html>")
    return "".join(parts)
