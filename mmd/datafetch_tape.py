"""From Kalshi's REST trades to the rows of a trade tape (plain logic: no network, no files).

The tape is the format of the recorded tapes in shared/data/kalshi (README section 1) that
simex/_tape.py reads: `Sequence id,Time sec,Datetime,Yes px,No px,Side taken,Size`, oldest
first, LF line endings. What a fetched tape puts in each column:
- Sequence id: 1, 2, 3... in file order (REST trades carry no sequence number; a refresh
  goes on from the last one);
- Time sec: the trade's `created_time`, whole Unix seconds (UTC);
- Datetime: the same second as text, in UTC with a `Z` (the recorded tapes used the
  recorder's local time; readers use `Time sec`);
- Yes px / No px: `yes_price_dollars` in cents, and 100 minus it;
- Side taken: `taker_outcome_side` (`yes`: the taker bought YES, lifting the asks);
- Size: `count_fp`, whole contracts.

Left out, and counted: block trades (matched off the book, so no book taker to replay) and
trades the tape cannot hold (a price off the whole-cent grid or a fractional count).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Iterable

from kalshi.wire import WireFormatError, ns_from_rfc3339, parse_count, parse_dollars

__all__ = [
    "TAPE_COLUMNS",
    "MalformedReply",
    "FetchedTrade",
    "TapeBatch",
    "parse_trade",
    "plan_rows",
    "tape_header",
    "render_rows",
]

TAPE_COLUMNS = ("Sequence id", "Time sec", "Datetime", "Yes px", "No px", "Side taken", "Size")
NS_PER_S = 1_000_000_000
_HUNDRED = Decimal(100)
_BOOK_SIDE_OUTCOME = {"bid": "yes", "ask": "no"}  # kalshi-api.md 3: bid = buy YES


class MalformedReply(ValueError):
    """A reply that does not have Kalshi's shape: one line naming what is wrong."""


@dataclass(frozen=True)
class FetchedTrade:
    trade_id: str
    created_ns: int
    yes_price: Decimal  # dollars
    count: Decimal  # contracts
    taker_side: str  # outcome the taker bought: "yes" | "no"
    is_block_trade: bool

    @property
    def ts_s(self) -> int:
        return self.created_ns // NS_PER_S

    @property
    def tape_cells(self) -> tuple[int, int] | None:
        """(yes price in cents, whole contracts), or None when the tape cannot hold it."""
        cents = self.yes_price * _HUNDRED
        if cents != cents.to_integral_value() or not 1 <= cents <= 99:
            return None
        if self.count != self.count.to_integral_value() or self.count < 1:
            return None
        return int(cents), int(self.count)


def _taker_side(raw: dict) -> str:
    """taker_outcome_side, else taker_book_side, else the deprecated taker_side."""
    side = raw.get("taker_outcome_side")
    if side is None and raw.get("taker_book_side") is not None:
        side = _BOOK_SIDE_OUTCOME.get(raw["taker_book_side"], raw["taker_book_side"])
    if side is None:
        side = raw.get("taker_side")
    if side not in ("yes", "no"):
        raise MalformedReply(f"trade {raw.get('trade_id')!r}: no taker side (taker_outcome_side {side!r})")
    return side


def parse_trade(raw: Any, ticker: str) -> FetchedTrade:
    """One element of `GET /markets/trades`' `trades`; MalformedReply names the bad field."""
    if not isinstance(raw, dict):
        raise MalformedReply(f"a trade is not a JSON object: {str(raw)[:80]!r}")
    trade_id = raw.get("trade_id")
    if not isinstance(trade_id, str) or not trade_id:
        raise MalformedReply(f"a trade has no trade_id: {str(raw)[:80]!r}")
    if raw.get("ticker", ticker) != ticker:  # the server ignored the ticker filter: refuse to mix markets
        raise MalformedReply(f"trade {trade_id} is of market {raw.get('ticker')!r}, not {ticker}")
    try:
        price = parse_dollars(raw.get("yes_price_dollars"), "yes_price_dollars")
        count = parse_count(raw.get("count_fp"), "count_fp")
        created = raw.get("created_time")
        if not isinstance(created, str):
            raise WireFormatError(f"created_time: expected an RFC 3339 string, got {created!r}")
        created_ns = ns_from_rfc3339(created)
    except ValueError as exc:  # WireFormatError and unparseable times
        raise MalformedReply(f"trade {trade_id}: {exc}") from None
    if not 0 <= price <= 1 or count <= 0:
        raise MalformedReply(f"trade {trade_id}: price {price} or count {count} out of range")
    block = raw.get("is_block_trade", False)
    if not isinstance(block, bool):
        raise MalformedReply(f"trade {trade_id}: is_block_trade is not a boolean: {block!r}")
    return FetchedTrade(trade_id, created_ns, price, count, _taker_side(raw), block)


@dataclass(frozen=True)
class TapeBatch:
    """The rows a fetch adds to a tape, oldest first, and what it left out."""

    rows: tuple[tuple[int, FetchedTrade], ...]  # (sequence id, trade)
    block_trades: int
    unrepresentable: int
    already_in_tape: int  # refetched trades the tape already holds (a refresh's boundary second)
    newest_ts: int | None  # newest second among every trade seen, written or not
    newest_trade_ids: tuple[str, ...]  # every trade id seen at that second, sorted

    @property
    def left_out(self) -> int:
        return self.block_trades + self.unrepresentable


def plan_rows(fetched: Iterable[FetchedTrade], *, known_ids: Iterable[str] = (), first_sequence_id: int = 1,
              newest_ts: int | None = None) -> TapeBatch:
    """De-duplicate by trade id, drop trades the tape holds already (`known_ids`), order by
    created time then trade id, and number the rows from `first_sequence_id`.

    newest_ts / known_ids: the tape's newest second and the ids seen at it, carried into
    the batch's own newest second when nothing newer came."""
    known = frozenset(known_ids)
    unique: dict[str, FetchedTrade] = {}
    for trade in fetched:
        unique.setdefault(trade.trade_id, trade)  # pages can overlap: keep the first copy
    fresh = sorted((t for t in unique.values() if t.trade_id not in known),
                   key=lambda t: (t.created_ns, t.trade_id))
    kept = [t for t in fresh if not t.is_block_trade and t.tape_cells is not None]
    seen_ts = [t.ts_s for t in unique.values()] + ([newest_ts] if newest_ts is not None else [])
    top = max(seen_ts) if seen_ts else None
    ids_at_top = {t.trade_id for t in unique.values() if t.ts_s == top}
    if top is not None and top == newest_ts:
        ids_at_top |= known
    return TapeBatch(
        rows=tuple(enumerate(kept, start=first_sequence_id)),
        block_trades=sum(t.is_block_trade for t in fresh),
        unrepresentable=sum(not t.is_block_trade and t.tape_cells is None for t in fresh),
        already_in_tape=len(unique) - len(fresh),
        newest_ts=top,
        newest_trade_ids=tuple(sorted(ids_at_top)),
    )


def _utc_text(ts_s: int) -> str:
    return datetime.fromtimestamp(ts_s, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _csv_text(rows: Iterable[Iterable[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")  # LF, as the recorded tapes
    writer.writerows(rows)
    return buffer.getvalue()


def tape_header() -> str:
    return _csv_text([TAPE_COLUMNS])


def render_rows(rows: Iterable[tuple[int, FetchedTrade]]) -> str:
    lines = []
    for sequence_id, trade in rows:
        cells = trade.tape_cells
        if cells is None:
            raise ValueError(f"trade {trade.trade_id} cannot be written to a tape")
        cents, size = cells
        lines.append((sequence_id, trade.ts_s, _utc_text(trade.ts_s), cents, 100 - cents, trade.taker_side, size))
    return _csv_text(lines)
