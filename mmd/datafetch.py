"""`mmd data fetch TICKER...`: download markets' trades from Kalshi's public market data (no
credentials) into trade tapes that `mmd replay` and `mmd backtest` read, so users backtest
their own markets.

For each ticker: GET /markets/{ticker} (an unknown ticker stops everything before a byte is
written), then GET /markets/trades page by page with the cursor (newest first), saving each
page as it comes (TRADES_T.csv.partial: an interrupted fetch resumes from its cursor), then
the tape TRADES_T.csv oldest first (created time, then trade id; de-duplicated by trade id),
written whole and atomically, beside the market's status and result (MARKET_T.json) and the
folder's results.csv for `mmd backtest --results`. Files: mmd/datafetch_files.py; columns:
mmd/datafetch_tape.py; requests, pacing and retries: mmd/datafetch_client.py.

A finished tape is not downloaded again; `--refresh` appends only the trades newer than
its newest (that second is fetched again and de-duplicated by the trade ids it held).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, TextIO

from kalshi.wire import ns_from_rfc3339

from .datafetch_client import DEFAULT_RATE_PER_S, MAX_PAGE_SIZE, FetchError, PublicMarketData
from .datafetch_files import (
    RESULTS_FILE,
    MarketFiles,
    PartialDownload,
    market_record,
    rebuild_results,
    valid_ticker,
    write_atomically,
)
from .datafetch_tape import NS_PER_S, MalformedReply, TapeBatch, parse_trade, plan_rows, render_rows, tape_header

__all__ = ["add_data_parser", "cmd_data_fetch", "run_data_fetch", "fetch_market", "FetchRequest", "FetchOutcome",
           "FetchError", "DEFAULT_OUT_DIR"]

DEFAULT_OUT_DIR = Path("var/data/kalshi")


@dataclass(frozen=True)
class FetchRequest:
    min_ts: int | None = None  # Unix seconds, as GET /markets/trades takes them
    max_ts: int | None = None
    refresh: bool = False
    page_size: int = MAX_PAGE_SIZE


@dataclass(frozen=True)
class FetchOutcome:
    ticker: str
    files: MarketFiles
    market: dict  # market_record(): ticker, status, result, close_time, settlement_ts
    already_fetched: bool = False
    pages: int = 0  # fetched by this run
    resumed_pages: int = 0  # kept from an interrupted run
    batch: TapeBatch | None = None
    rows_in_tape: int = 0
    first_ts: int | None = None  # of the tape
    last_ts: int | None = None


@dataclass(frozen=True)
class _TapeBase:
    """What the existing tape holds, for a refresh to go on from."""

    size: int
    rows: int
    last_sequence_id: int
    first_ts: int | None
    newest_ts: int | None
    newest_trade_ids: tuple[str, ...]  # empty when only the file is known: start after its newest second


def _tape_base(files: MarketFiles) -> _TapeBase | None:
    if not files.tape.exists():
        return None
    size = files.tape.stat().st_size
    state = files.read_state()
    if state is not None and state.get("tape_bytes") == size:
        try:
            return _TapeBase(size, int(state["rows"]), int(state["last_sequence_id"]), state.get("first_ts"),
                             state.get("newest_ts"), tuple(state.get("newest_trade_ids") or ()))
        except (KeyError, TypeError, ValueError):
            pass  # a record we cannot read: derive from the tape itself
    from simex._tape import read_tape

    try:
        rows = read_tape(files.tape)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FetchError(f"{files.tape} exists and is not a trade tape ({exc}): move it away first") from None
    if not rows:
        return _TapeBase(size, 0, 0, None, None, ())
    return _TapeBase(size, len(rows), rows[-1].sequence_id, rows[0].ts_ns // NS_PER_S,
                     rows[-1].ts_ns // NS_PER_S, ())


def _window(base: _TapeBase | None, request: FetchRequest) -> tuple[int | None, int | None]:
    """A refresh starts at the tape's newest second (de-duplicated by the ids seen there), or
    just after it when those ids are unknown."""
    min_ts = request.min_ts
    if base is not None and base.newest_ts is not None:
        start = base.newest_ts if base.newest_trade_ids else base.newest_ts + 1
        min_ts = start if min_ts is None else max(min_ts, start)
    return min_ts, request.max_ts


def _write_market(files: MarketFiles, record: dict) -> None:
    write_atomically(files.market, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())
    rebuild_results(files.out_dir)


def fetch_market(client: PublicMarketData, market: dict, out_dir: Path, request: FetchRequest,
                 progress: Callable[[int], None] = lambda trades: None,
                 note: Callable[[str], None] = lambda text: None, trades_cutoff: int | None = None) -> FetchOutcome:
    """Download one market's trades into its tape (see the module doc); `market` is its
    GET /markets/{ticker} object, `trades_cutoff` Kalshi's historical cutoff (a window
    starting before it gets a warning through `note`). Raises FetchError; KeyboardInterrupt
    leaves the pages fetched so far for the next run."""
    ticker = market["ticker"]
    files = MarketFiles(out_dir, ticker)
    out_dir.mkdir(parents=True, exist_ok=True)
    record = market_record(market)
    base = _tape_base(files)
    min_ts, max_ts = _window(base, request)
    header = {"ticker": ticker, "base_url": client.base_url, "min_ts": min_ts, "max_ts": max_ts,
              "tape_bytes": base.size if base is not None else None}
    partial = PartialDownload.recover(files.partial)
    stale = partial is not None and partial.header != header  # another window or URL, or the tape changed
    if stale:
        partial.discard()
        partial = None
    if base is not None and not request.refresh:
        _write_market(files, record)
        return FetchOutcome(ticker, files, record, already_fetched=True, rows_in_tape=base.rows,
                            first_ts=base.first_ts, last_ts=base.newest_ts)
    if stale:
        note(f"{ticker}: an unfinished download of another request was dropped; starting over")
    gap = _historical_gap(market, min_ts, trades_cutoff)
    if gap:
        note(gap)
    partial = partial or PartialDownload.start(files.partial, header)
    resumed = len(partial.pages)
    try:
        _download(client, partial, ticker, min_ts, max_ts, request.page_size, progress)
        batch = plan_rows((parse_trade(raw, ticker) for trades, _ in partial.pages for raw in trades),
                          known_ids=base.newest_trade_ids if base else (),
                          first_sequence_id=base.last_sequence_id + 1 if base else 1,
                          newest_ts=base.newest_ts if base else None)
    except MalformedReply as exc:
        partial.discard()  # what the exchange sent cannot be trusted: nothing of it is kept
        raise FetchError(str(exc)) from None
    except FetchError as exc:
        if not exc.resumable or not partial.pages:
            partial.discard()  # a refused request (a 400 on the cursor...) would fail again: start over
        raise
    except BaseException:  # Ctrl-C: keep what was fetched
        if not partial.pages:
            partial.discard()
        raise
    outcome = _commit(files, base, batch, client.base_url, record)
    partial.discard()  # last: until here a crash leaves the download to finish again
    return FetchOutcome(ticker, files, record, pages=len(partial.pages) - resumed, resumed_pages=resumed,
                        batch=batch, **outcome)


def _commit(files: MarketFiles, base: _TapeBase | None, batch: TapeBatch, base_url: str, record: dict) -> dict:
    """Write the tape (old rows, then the batch's), then its fetch record, then the market's."""
    rows_in_tape = (base.rows if base else 0) + len(batch.rows)
    first_ts = base.first_ts if base and base.rows else (batch.rows[0][1].ts_s if batch.rows else None)
    last_ts = batch.rows[-1][1].ts_s if batch.rows else (base.newest_ts if base else None)
    if batch.rows:
        before = files.tape.read_bytes() if base is not None else tape_header().encode()
        write_atomically(files.tape, before + render_rows(batch.rows).encode())  # the commit point
    if files.tape.exists():
        last_sequence_id = batch.rows[-1][0] if batch.rows else (base.last_sequence_id if base else 0)
        state = {"ticker": files.ticker, "base_url": base_url, "rows": rows_in_tape,
                 "last_sequence_id": last_sequence_id, "first_ts": first_ts, "newest_ts": batch.newest_ts,
                 "newest_trade_ids": list(batch.newest_trade_ids), "tape_bytes": files.tape.stat().st_size}
        write_atomically(files.state, (json.dumps(state, indent=2, sort_keys=True) + "\n").encode())
    _write_market(files, record)
    return {"rows_in_tape": rows_in_tape, "first_ts": first_ts, "last_ts": last_ts}


def _download(client: PublicMarketData, partial: PartialDownload, ticker: str, min_ts: int | None,
              max_ts: int | None, page_size: int, progress: Callable[[int], None]) -> None:
    cursors = partial.cursors
    while not partial.finished:
        trades, next_cursor = client.trades_page(ticker, cursor=partial.next_cursor, min_ts=min_ts, max_ts=max_ts,
                                                 limit=page_size)
        if next_cursor and next_cursor in cursors:  # a server bug must not become an endless loop
            raise MalformedReply(f"trades of {ticker}: the exchange sent cursor {next_cursor!r} twice")
        partial.append_page(trades, next_cursor)
        cursors.add(next_cursor)
        progress(len(trades))


# ----------------------------------------------------------------------------- command line
def _utc(ts: int | None) -> str:
    return "?" if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _market_words(record: dict) -> str:
    result = record.get("result")
    return f"market {record.get('status')}" + (f", result {result}" if result else "")


def describe(outcome: FetchOutcome) -> str:
    """One line per market for the terminal."""
    files, ticker = outcome.files, outcome.ticker
    span = f"{_utc(outcome.first_ts)} to {_utc(outcome.last_ts)}"
    if outcome.already_fetched:
        return (f"{ticker}: already fetched ({outcome.rows_in_tape} trades, {span}) in {files.tape}; "
                f"--refresh appends newer trades ({_market_words(outcome.market)})")
    batch = outcome.batch
    assert batch is not None
    pages = f"{outcome.pages} page{'' if outcome.pages == 1 else 's'}"
    if outcome.resumed_pages:
        pages += f", {outcome.resumed_pages} kept from an interrupted run"
    left = []
    if batch.block_trades:
        left.append(f"{batch.block_trades} block trades")
    if batch.unrepresentable:
        left.append(f"{batch.unrepresentable} trades off the whole-cent grid or of fractional size")
    left_out = f"; left out {' and '.join(left)}" if left else ""
    if not outcome.rows_in_tape:
        return f"{ticker}: no trades to write ({pages}{left_out}); {_market_words(outcome.market)}"
    added = len(batch.rows)
    if added == outcome.rows_in_tape:
        grew = f"{added} trades"
    else:
        grew = f"{added or 'no'} newer trades ({outcome.rows_in_tape} in the tape)"
    return f"{ticker}: {grew}, {span} -> {files.tape} ({pages}{left_out}; {_market_words(outcome.market)})"


def _historical_gap(market: dict, min_ts: int | None, cutoff: int | None) -> str | None:
    """A warning when the window starts before Kalshi's historical cutoff: older trades are
    only in GET /historical/trades, which this fetch does not read."""
    if cutoff is None:
        return None
    try:
        opened = ns_from_rfc3339(str(market.get("open_time"))) // NS_PER_S
    except ValueError:
        opened = 0
    if max(min_ts or 0, opened) >= cutoff:
        return None
    return (f"{market['ticker']}: warning: Kalshi serves trades before {_utc(cutoff)} only from its historical API "
            f"(GET /historical/trades), which mmd data fetch does not read: the tape starts there")


def _parse_time(text: str, flag: str) -> int:
    """Unix seconds from an ISO 8601 date or date-time (UTC unless it says otherwise)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise FetchError(f"{flag} {text!r}: write an ISO 8601 date or time, "
                         f"e.g. 2026-04-04 or 2026-04-04T13:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def _request_from(args: argparse.Namespace) -> FetchRequest:
    min_ts = args.min_ts if args.since is None else _parse_time(args.since, "--since")
    max_ts = args.max_ts if args.until is None else _parse_time(args.until, "--until")
    for flag, value in (("--min-ts/--since", min_ts), ("--max-ts/--until", max_ts)):
        if value is not None and value < 0:
            raise FetchError(f"{flag}: a time before 1970 ({value})")
    if min_ts is not None and max_ts is not None and min_ts > max_ts:
        raise FetchError(f"the window is empty: it starts at {_utc(min_ts)}, after its end {_utc(max_ts)}")
    if not 1 <= args.page_size <= MAX_PAGE_SIZE:
        raise FetchError(f"--page-size {args.page_size}: Kalshi pages hold 1 to {MAX_PAGE_SIZE} trades")
    if not args.rate > 0:
        raise FetchError(f"--rate {args.rate}: requests per second must be above 0")
    return FetchRequest(min_ts=min_ts, max_ts=max_ts, refresh=args.refresh, page_size=args.page_size)


def _base_url(args: argparse.Namespace) -> str:
    if args.base_url:
        return args.base_url
    from config import load_config  # only when needed: a given URL works without a config

    return load_config(args.config).exchange.prod_rest_url


def _progress_bar(ticker: str, stream: TextIO) -> Any:
    from tqdm import tqdm

    return tqdm(desc=ticker, unit=" trades", file=stream, disable=not stream.isatty(), leave=False)


def run_data_fetch(args: argparse.Namespace, *, monotonic_ns: Callable[[], int] = time.monotonic_ns,
                   sleep: Callable[[float], None] = time.sleep, transport: Any = None,
                   out: TextIO | None = None, err: TextIO | None = None) -> int:
    """The command, with its clock, sleep and transport injectable (tests)."""
    out, err = out or sys.stdout, err or sys.stderr

    def fail(message: str) -> int:
        print(f"mmd: data fetch: {message}", file=err)
        return 1

    tickers = list(dict.fromkeys(args.tickers))
    bad = [t for t in tickers if not valid_ticker(t)]
    if bad:
        return fail(f"{bad[0]!r} is not a market ticker (letters, digits, '.', '_' and '-')")
    out_dir = Path(args.out)
    partial_of = {t: MarketFiles(out_dir, t).partial for t in tickers}
    current: str | None = None
    try:
        request = _request_from(args)
        client = PublicMarketData(_base_url(args), rate_per_s=args.rate, monotonic_ns=monotonic_ns, sleep=sleep,
                                  transport=transport)
        markets = [client.market(t) for t in tickers]  # every ticker known before anything is written
        cutoff = client.trades_cutoff()
        for market in markets:
            current = market["ticker"]
            bar = _progress_bar(current, err)
            try:
                outcome = fetch_market(client, market, out_dir, request, progress=bar.update,
                                       note=lambda text: print(text, file=err), trades_cutoff=cutoff)
            finally:
                bar.close()
            print(describe(outcome), file=out)
    except FetchError as exc:
        kept = partial_of.get(current or "")
        if kept is not None and kept.exists():
            return fail(f"{exc} (pages fetched so far are kept in {kept}: run the same command again to resume)")
        return fail(str(exc))
    except KeyboardInterrupt:
        kept = partial_of.get(current or "")
        where = f" (pages fetched so far are kept in {kept})" if kept is not None and kept.exists() else ""
        print(f"mmd: data fetch: interrupted{where}; run the same command again to resume", file=err)
        return 130
    if any(market_record(m)["result"] in ("yes", "no") for m in markets):
        print(f"settled markets' results for mmd backtest --results: {out_dir / RESULTS_FILE}", file=out)
    return 0


def cmd_data_fetch(args: argparse.Namespace) -> int:
    return run_data_fetch(args)


FETCH_NOTES = """\
Writes, in the --out folder, for each TICKER:
  TRADES_<TICKER>.csv        the trade tape, oldest first (the format of the recorded tapes:
                             Sequence id,Time sec,Datetime,Yes px,No px,Side taken,Size)
  MARKET_<TICKER>.json       status, result ("" until determined), close_time, settlement_ts
  results.csv                ticker,result,status,close_time of every settled market in the folder
                             (for mmd backtest --results)
  TRADES_<TICKER>.fetch.json what the finished tape holds (for --refresh)
An interrupted fetch (Ctrl-C, network, 429/5xx past the retries) keeps its pages in
TRADES_<TICKER>.csv.partial: the same command resumes from there. A finished tape is not
downloaded again; --refresh appends only newer trades. Block trades, and trades off the
whole-cent grid or of fractional size, are left out (counted in the summary line).

  mmd data fetch KXNHLGAME-26APR04FLAPIT-PIT
  mmd backtest var/data/kalshi --results var/data/kalshi/results.csv
"""


def add_data_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The `data` subcommand (with `fetch`) on an argparse subparsers object; sets func."""
    data = subparsers.add_parser("data", help="market data for backtests: fetch Kalshi trade tapes")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    fetch = data_sub.add_parser(
        "fetch", help="download markets' trades from Kalshi's public API into trade tapes (no credentials)",
        description="Download markets' trades from Kalshi's public market data (no credentials) into trade "
                    "tapes that mmd replay and mmd backtest read.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=FETCH_NOTES,
    )
    fetch.add_argument("tickers", nargs="+", metavar="TICKER", help="market ticker, e.g. KXNHLGAME-26APR04FLAPIT-PIT")
    fetch.add_argument("--out", default=str(DEFAULT_OUT_DIR), metavar="DIR",
                       help="folder for TRADES_<TICKER>.csv, MARKET_<TICKER>.json and results.csv (default: %(default)s)")
    fetch.add_argument("--base-url", metavar="URL",
                       help="REST root, e.g. http://127.0.0.1:8080/trade-api/v2 for mmd sim "
                            "(default: Kalshi production, exchange.prod_rest_url; no key needed)")
    fetch.add_argument("--config", help="YAML config file (for the default base URL)")
    since = fetch.add_mutually_exclusive_group()
    since.add_argument("--since", metavar="ISO", help="only trades from this date or time on (UTC unless it says otherwise)")
    since.add_argument("--min-ts", type=int, metavar="SECONDS", help="the same as Unix seconds")
    until = fetch.add_mutually_exclusive_group()
    until.add_argument("--until", metavar="ISO", help="only trades up to this date or time")
    until.add_argument("--max-ts", type=int, metavar="SECONDS", help="the same as Unix seconds")
    fetch.add_argument("--refresh", action="store_true", help="append the trades newer than a finished tape's newest")
    fetch.add_argument("--rate", type=float, default=DEFAULT_RATE_PER_S, metavar="N",
                       help="requests per second at most, retries included (default: %(default)s)")
    fetch.add_argument("--page-size", type=int, default=MAX_PAGE_SIZE, metavar="N",
                       help="trades per request, 1-1000 (default: %(default)s)")
    fetch.set_defaults(func=cmd_data_fetch)
    return data
