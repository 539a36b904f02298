"""What `mmd report` reads: one run of an mmd analytics database, or a backtest folder.

Read-only: a database is opened with SQLite's `mode=ro` (a live daemon may still be
writing it; nothing here can create or change a file) and each run is read inside one
transaction, so all its tables come from the same moment. Money stays Decimal, built
from the TEXT the schema stores (schema/001_initial.sql); times are the clock's receive
stamps in integer nanoseconds.

A backtest folder (`mmd backtest --out`) holds `backtest.sqlite` with a `backtest_runs`
table and one replay database per run under `runs/<run>/replay.sqlite`. Its columns are
read only if present, so the report does not depend on that command's exact schema.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

__all__ = [
    "ReportError",
    "RunInfo",
    "Fill",
    "Print",
    "BookSample",
    "OrderEvent",
    "Session",
    "Realization",
    "RiskEvent",
    "RunRecords",
    "BacktestEntry",
    "Source",
    "open_database",
    "list_runs",
    "load_run",
    "resolve_source",
    "RUN_TABLES",
]

# A run database has all of these (schema 001); fewer means it is not an mmd database.
RUN_TABLES = ("strategy_runs", "orders", "order_fills", "trades", "market_snapshots", "volatility_sessions")
BACKTEST_DB = "backtest.sqlite"
RUN_DB_IN_BACKTEST = "replay.sqlite"


class ReportError(Exception):
    """Bad input (missing file, not an mmd database, unknown run): one line for the operator."""


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    mode: str
    started_ns: int
    ended_ns: int | None
    exit_reason: str | None


@dataclass(frozen=True)
class Fill:
    ts_ns: int  # clock receive stamp (order_fills.ts_recv_ns)
    ticker: str
    side: str  # our order's YES-leg side: bid (we bought YES) | ask (we sold YES)
    price: Decimal
    count: Decimal
    fee: Decimal
    is_taker: bool
    fill_id: str | None
    order_id: str
    session_id: str | None  # from the orders rows of its order; None when unknown

    @property
    def signed_count(self) -> Decimal:
        """+count for a buy, -count for a sale (the change of our YES position)."""
        return self.count if self.side == "bid" else -self.count


@dataclass(frozen=True)
class Print:
    ts_ns: int
    ticker: str
    price: Decimal
    count: Decimal
    taker_side: str


@dataclass(frozen=True)
class BookSample:
    ts_ns: int
    ticker: str
    best_bid: Decimal | None
    best_ask: Decimal | None
    mid: Decimal | None


@dataclass(frozen=True)
class OrderEvent:
    ts_ns: int
    ticker: str
    event: str  # accepted | amended | rejected | cancelled | updated
    order_id: str | None
    side: str | None
    price: Decimal | None
    remaining: Decimal | None
    status: str | None  # updated: resting | canceled | executed


@dataclass(frozen=True)
class Session:
    session_id: str
    ticker: str
    started_ns: int | None
    ended_ns: int | None
    start_reason: str | None
    end_reason: str | None
    pnl: Decimal | None  # as the maker reported it when the session stopped


@dataclass(frozen=True)
class Realization:
    session_id: str | None
    ticker: str
    exit_price: Decimal
    exit_ns: int
    exit_reason: str | None
    pnl: Decimal


@dataclass(frozen=True)
class RiskEvent:
    ts_ns: int
    kind: str
    state: str | None
    reason: str


@dataclass(frozen=True)
class RunRecords:
    database: Path
    run: RunInfo
    other_runs: tuple[str, ...]  # the database's other run ids
    fills: tuple[Fill, ...]  # in time order
    prints: tuple[Print, ...]
    books: tuple[BookSample, ...]
    orders: tuple[OrderEvent, ...]
    sessions: tuple[Session, ...]
    realizations: tuple[Realization, ...]
    risk_events: tuple[RiskEvent, ...]
    trigger_count: int

    @property
    def last_record_ns(self) -> int:
        """The newest time stamp any of the run's rows carries (its end when ended_ns is NULL)."""
        stamps = [self.run.started_ns]
        for rows in (self.fills, self.prints, self.books, self.orders):
            if rows:
                stamps.append(max(r.ts_ns for r in rows))
        stamps += [s.ended_ns for s in self.sessions if s.ended_ns is not None]
        return max(stamps)

    @property
    def end_ns(self) -> int:
        return self.run.ended_ns if self.run.ended_ns is not None else self.last_record_ns


@dataclass(frozen=True)
class BacktestEntry:
    label: str
    fill_model: str | None
    seed: int | None
    database: Path
    results: dict[str, str]  # ticker -> yes | no, as the backtest knew them


@dataclass(frozen=True)
class Source:
    """What the operator pointed at: one run database, or a backtest folder."""

    kind: str  # run | backtest
    path: Path
    entries: tuple[BacktestEntry, ...] = ()


# ----------------------------------------------------------------------------- opening
def open_database(path: Path) -> sqlite3.Connection:
    """A read-only connection to an existing mmd run database, or ReportError."""
    if not path.exists():
        raise ReportError(f"no such database: {path}")
    if not path.is_file():
        raise ReportError(f"not a database file: {path}")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ReportError(f"cannot open {path}: {exc}") from None
    try:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ReportError(f"{path} is not an mmd database ({exc})") from None
    missing = [t for t in RUN_TABLES if t not in tables]
    if missing:
        conn.close()
        raise ReportError(f"{path} is not an mmd database (missing tables: {', '.join(missing)})")
    return conn


def list_runs(conn: sqlite3.Connection) -> list[str]:
    """Run ids, oldest first."""
    return [r for (r,) in conn.execute("SELECT run_id FROM strategy_runs ORDER BY started_ns, run_id")]


def _dec(text: Any) -> Decimal | None:
    if text is None or text == "":
        return None
    try:
        return Decimal(str(text))
    except InvalidOperation:
        raise ReportError(f"not a decimal number in the database: {text!r}") from None


def _dec0(text: Any) -> Decimal:
    value = _dec(text)
    return Decimal(0) if value is None else value


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def load_run(conn: sqlite3.Connection, database: Path, run_id: str | None) -> RunRecords:
    """The run `run_id` (default: the newest) with all its rows, or ReportError."""
    runs = list_runs(conn)
    if not runs:
        raise ReportError(f"{database} holds no runs (strategy_runs is empty)")
    if run_id is None:
        run_id = runs[-1]
    elif run_id not in runs:
        raise ReportError(f"no run {run_id!r} in {database} (runs: {', '.join(runs)})")
    conn.execute("BEGIN")  # one snapshot of every table, even while a daemon writes
    try:
        return _read_run(conn, database, run_id, tuple(r for r in runs if r != run_id))
    except sqlite3.DatabaseError as exc:
        raise ReportError(f"{database}: cannot read run {run_id!r}: {exc}") from None
    finally:
        conn.rollback()


def _read_run(conn: sqlite3.Connection, database: Path, run_id: str, others: tuple[str, ...]) -> RunRecords:
    run_id_, mode, started, ended, exit_reason = conn.execute(
        "SELECT run_id, mode, started_ns, ended_ns, exit_reason FROM strategy_runs WHERE run_id = ?", (run_id,)
    ).fetchone()
    info = RunInfo(run_id_, mode, int(started), None if ended is None else int(ended), exit_reason)

    session_of: dict[str, str] = {}  # order id and client order id -> session id
    for client_id, order_id, session_id in conn.execute(
        "SELECT client_order_id, order_id, session_id FROM orders WHERE run_id = ? AND session_id IS NOT NULL",
        (run_id,),
    ):
        session_of.setdefault(client_id, session_id)
        if order_id:
            session_of.setdefault(order_id, session_id)

    fills = tuple(
        Fill(
            ts_ns=int(ts), ticker=ticker, side=side, price=_dec0(price), count=_dec0(count), fee=_dec0(fee),
            is_taker=bool(taker), fill_id=fill_id, order_id=order_id,
            session_id=session_of.get(client_id or "") or session_of.get(order_id or ""),
        )
        for fill_id, order_id, client_id, ticker, side, price, count, fee, taker, ts in conn.execute(
            "SELECT fill_id, order_id, client_order_id, ticker, side, price, count, fee, is_taker, ts_recv_ns "
            "FROM order_fills WHERE run_id = ? ORDER BY ts_recv_ns, id", (run_id,)
        )
    )
    prints = tuple(
        Print(int(ts), ticker, _dec0(price), _dec0(count), taker_side)
        for ticker, price, count, taker_side, ts in conn.execute(
            "SELECT ticker, price, count, taker_side, ts_recv_ns FROM trades WHERE run_id = ? ORDER BY ts_recv_ns, id",
            (run_id,),
        )
    )
    books = tuple(
        BookSample(int(ts), ticker, _dec(bid), _dec(ask), _dec(mid))
        for ticker, ts, bid, ask, mid in conn.execute(
            "SELECT ticker, ts_ns, best_bid, best_ask, mid FROM market_snapshots WHERE run_id = ? ORDER BY ts_ns, id",
            (run_id,),
        )
    )
    orders = tuple(
        OrderEvent(int(ts), ticker, event, order_id, side, _dec(price), _dec(remaining), status)
        for ts, ticker, event, order_id, side, price, remaining, status in conn.execute(
            "SELECT ts_ns, ticker, event, order_id, side, price, remaining, status FROM orders "
            "WHERE run_id = ? ORDER BY ts_ns, id", (run_id,)
        )
    )
    sessions = tuple(
        Session(sid, ticker, started_ns, ended_ns, start_reason, end_reason, _dec(pnl))
        for sid, ticker, started_ns, ended_ns, start_reason, end_reason, pnl in conn.execute(
            "SELECT session_id, ticker, started_ns, ended_ns, start_reason, end_reason, pnl FROM volatility_sessions "
            "WHERE run_id = ? ORDER BY started_ns, session_id", (run_id,)
        )
    )
    realizations: tuple[Realization, ...] = ()
    if _has_table(conn, "realizations"):
        realizations = tuple(
            Realization(sid, ticker, _dec0(exit_price), int(exit_ns), exit_reason, _dec0(pnl))
            for sid, ticker, exit_price, exit_ns, exit_reason, pnl in conn.execute(
                "SELECT session_id, ticker, exit_price, exit_ns, exit_reason, pnl FROM realizations "
                "WHERE run_id = ? ORDER BY exit_ns, id", (run_id,)
            )
        )
    risk_events: tuple[RiskEvent, ...] = ()
    if _has_table(conn, "risk_events"):
        risk_events = tuple(
            RiskEvent(int(ts), kind, state, reason)
            for ts, kind, state, reason in conn.execute(
                "SELECT ts_ns, kind, state, reason FROM risk_events WHERE run_id = ? ORDER BY ts_ns, id", (run_id,)
            )
        )
    trigger_count = 0
    if _has_table(conn, "triggers"):
        (trigger_count,) = conn.execute("SELECT COUNT(*) FROM triggers WHERE run_id = ?", (run_id,)).fetchone()
    return RunRecords(
        database=database, run=info, other_runs=others, fills=fills, prints=prints, books=books, orders=orders,
        sessions=sessions, realizations=realizations, risk_events=risk_events, trigger_count=int(trigger_count),
    )


# ----------------------------------------------------------------------------- sources
def resolve_source(path: Path) -> Source:
    """A run database, a backtest folder or its backtest.sqlite; ReportError otherwise."""
    if not path.exists():
        raise ReportError(f"no such database: {path}")
    if path.is_dir():
        results_db = path / BACKTEST_DB
        if not results_db.is_file():
            raise ReportError(f"{path} is a folder without {BACKTEST_DB} (give a run database or a backtest folder)")
        return Source("backtest", path, _backtest_entries(path, results_db))
    if _is_backtest_results(path):
        return Source("backtest", path.parent, _backtest_entries(path.parent, path))
    return Source("run", path)


def _is_backtest_results(path: Path) -> bool:
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        return _has_table(conn, "backtest_runs") and not _has_table(conn, "strategy_runs")
    except sqlite3.DatabaseError:
        return False  # not SQLite at all: open_database says so
    finally:
        conn.close()


def _backtest_entries(folder: Path, results_db: Path) -> tuple[BacktestEntry, ...]:
    conn = sqlite3.connect(f"{results_db.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        if not _has_table(conn, "backtest_runs"):
            raise ReportError(f"{results_db} has no backtest_runs table")
        rows = [dict(r) for r in conn.execute("SELECT * FROM backtest_runs")]
    except sqlite3.DatabaseError as exc:
        raise ReportError(f"{results_db} is not a backtest results database ({exc})") from None
    finally:
        conn.close()
    entries = []
    for row in rows:
        run_dir = row.get("run_dir")
        if not run_dir:
            raise ReportError(f"{results_db}: a backtest_runs row has no run_dir")
        entries.append(
            BacktestEntry(
                label=str(row.get("label") or run_dir),
                fill_model=row.get("fill_model"),
                seed=row.get("seed"),
                database=folder / run_dir / RUN_DB_IN_BACKTEST,
                results=_results(row.get("markets_json")),
            )
        )
    if not entries:
        raise ReportError(f"{results_db} lists no runs")
    entries.sort(key=lambda e: (e.label, e.fill_model or "", -1 if e.seed is None else e.seed, str(e.database)))
    return tuple(entries)


def _results(markets_json: Any) -> dict[str, str]:
    """ticker -> yes | no from backtest_runs.markets_json ({ticker: {result: ...}})."""
    if not markets_json:
        return {}
    try:
        markets = json.loads(markets_json)
    except ValueError:
        return {}
    out = {}
    if isinstance(markets, dict):
        for ticker, facts in markets.items():
            result = facts.get("result") if isinstance(facts, dict) else None
            if isinstance(result, str) and result.lower() in ("yes", "no"):
                out[ticker] = result.lower()
    return out
