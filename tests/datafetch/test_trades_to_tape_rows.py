"""Kalshi REST trades become tape rows (plain logic, no server): the order, the numbering,
de-duplication, what is left out, and text the tape reader accepts."""

from decimal import Decimal

import pytest

from mmd.datafetch_files import PartialDownload
from mmd.datafetch_tape import MalformedReply, parse_trade, plan_rows, render_rows, tape_header
from simex._tape import read_tape

TICKER = "KXTEST-26APR04-T1"


def raw(trade_id, created, price="0.4200", count="3.00", side="yes", **extra):
    return {"trade_id": trade_id, "ticker": TICKER, "yes_price_dollars": price, "count_fp": count,
            "no_price_dollars": str(1 - Decimal(price)), "taker_outcome_side": side,
            "taker_book_side": "bid" if side == "yes" else "ask", "created_time": created,
            "is_block_trade": False, **extra}


def trades(*raws):
    return [parse_trade(r, TICKER) for r in raws]


def test_rows_are_oldest_first_by_created_time_then_trade_id_and_numbered_from_one():
    newest_first = trades(raw("c", "2026-04-04T13:00:02Z"), raw("b", "2026-04-04T13:00:01.5Z"),
                          raw("z", "2026-04-04T13:00:01.2Z"), raw("a", "2026-04-04T13:00:01.2Z"))

    batch = plan_rows(newest_first)

    assert [(n, t.trade_id) for n, t in batch.rows] == [(1, "a"), (2, "z"), (3, "b"), (4, "c")]


def test_a_trade_seen_twice_is_written_once():
    batch = plan_rows(trades(raw("a", "2026-04-04T13:00:01Z"), raw("b", "2026-04-04T13:00:02Z"),
                             raw("a", "2026-04-04T13:00:01Z")))

    assert [t.trade_id for _, t in batch.rows] == ["a", "b"]


def test_a_refresh_skips_the_trades_the_tape_holds_and_numbers_on():
    batch = plan_rows(trades(raw("old", "2026-04-04T13:00:05Z"), raw("new", "2026-04-04T13:00:05.5Z"),
                             raw("later", "2026-04-04T13:00:09Z")),
                      known_ids=["old"], first_sequence_id=41, newest_ts=1775307605)

    assert [(n, t.trade_id) for n, t in batch.rows] == [(41, "new"), (42, "later")]
    assert batch.already_in_tape == 1
    assert (batch.newest_ts, batch.newest_trade_ids) == (1775307609, ("later",))


def test_the_ids_at_the_newest_second_carry_over_when_nothing_newer_came():
    batch = plan_rows(trades(raw("old", "2026-04-04T13:00:05Z"), raw("new", "2026-04-04T13:00:05.5Z")),
                      known_ids=["old", "older"], first_sequence_id=3, newest_ts=1775307605)

    assert (batch.newest_ts, batch.newest_trade_ids) == (1775307605, ("new", "old", "older"))


def test_block_trades_and_trades_the_tape_cannot_hold_are_left_out_and_counted():
    batch = plan_rows(trades(
        raw("kept", "2026-04-04T13:00:01Z"),
        raw("block", "2026-04-04T13:00:02Z", is_block_trade=True),
        raw("subcent", "2026-04-04T13:00:03Z", price="0.4250"),
        raw("fraction", "2026-04-04T13:00:04Z", count="2.50"),
        raw("zero", "2026-04-04T13:00:05Z", price="0.0000"),
    ))

    assert [t.trade_id for _, t in batch.rows] == ["kept"]
    assert (batch.block_trades, batch.unrepresentable, batch.left_out) == (1, 3, 4)
    assert batch.newest_ts == 1775307605  # a refresh starts after what it saw, written or not


def test_the_text_is_the_recorded_tapes_format_and_reads_back(tmp_path):
    batch = plan_rows(trades(raw("a", "2026-04-04T13:07:07.250Z", price="0.67", count="7.00", side="yes"),
                             raw("b", "2026-04-04T13:08:36Z", price="0.6600", count="8", side="no")))
    path = tmp_path / "TRADES_X.csv"

    path.write_text(tape_header() + render_rows(batch.rows))

    assert path.read_bytes() == (b"Sequence id,Time sec,Datetime,Yes px,No px,Side taken,Size\n"
                                 b"1,1775308027,2026-04-04T13:07:07Z,67,33,yes,7\n"
                                 b"2,1775308116,2026-04-04T13:08:36Z,66,34,no,8\n")
    rows = read_tape(path)
    assert [(r.sequence_id, r.yes_price_cents, r.taker_side, r.size) for r in rows] == [
        (1, 67, "yes", Decimal(7)), (2, 66, "no", Decimal(8))]


def test_the_taker_side_falls_back_to_the_book_side_then_the_deprecated_field():
    book_only = {k: v for k, v in raw("a", "2026-04-04T13:00:01Z", side="no").items() if k != "taker_outcome_side"}
    legacy_only = {k: v for k, v in raw("b", "2026-04-04T13:00:01Z").items()
                   if k not in ("taker_outcome_side", "taker_book_side")} | {"taker_side": "no"}

    assert parse_trade(book_only, TICKER).taker_side == "no"
    assert parse_trade(legacy_only, TICKER).taker_side == "no"


@pytest.mark.parametrize("broken, words", [
    ("not a trade", "not a JSON object"),
    ({"ticker": TICKER}, "no trade_id"),
    (raw("a", "2026-04-04T13:00:01Z", price=0.42), "floats are not accepted"),
    (raw("a", "2026-04-04T13:00:01Z", price="1.5"), "out of range"),
    (raw("a", "2026-04-04T13:00:01Z", count="-1.00"), "out of range"),
    (raw("a", "yesterday"), "trade a"),
    (raw("a", "2026-04-04T13:00:01Z", side="maybe"), "no taker side"),
    (raw("a", "2026-04-04T13:00:01Z", ticker="KXOTHER"), "of market 'KXOTHER'"),
    (raw("a", "2026-04-04T13:00:01Z", is_block_trade="no"), "is_block_trade"),
])
def test_a_malformed_trade_is_refused_naming_what_is_wrong(broken, words):
    with pytest.raises(MalformedReply, match=words):
        parse_trade(broken, TICKER)


def test_an_unfinished_download_drops_a_last_line_cut_short_and_appends_cleanly_after(tmp_path):
    path = tmp_path / "TRADES_X.csv.partial"
    download = PartialDownload.start(path, {"ticker": "X"})
    download.append_page([{"trade_id": "a"}], "c1")
    download.append_page([{"trade_id": "b"}], "c2")
    path.write_text(path.read_text()[:-10])  # killed while writing the second page

    recovered = PartialDownload.recover(path)
    recovered.append_page([{"trade_id": "b"}], "c2")

    again = PartialDownload.recover(path)
    assert again.header == {"ticker": "X"} and again.pages == [([{"trade_id": "a"}], "c1"), ([{"trade_id": "b"}], "c2")]
    assert again.next_cursor == "c2" and not again.finished


def test_a_download_damaged_before_its_last_line_is_not_resumed(tmp_path):
    path = tmp_path / "TRADES_X.csv.partial"
    path.write_text('{"header": {"ticker": "X"}}\n{"trades": [\n{"trades": [], "cursor": ""}\n')

    assert PartialDownload.recover(path) is None
