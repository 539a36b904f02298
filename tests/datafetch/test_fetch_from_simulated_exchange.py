"""`mmd data fetch` against a real `mmd sim` server on loopback: pagination, oldest-first
tapes the replay reads, results for the backtest, no second download, refresh, resume,
de-duplication, retries and the request rate (on a fake clock: no wall sleeps)."""

import json
import time

import pytest

from config import load_config
from mmd.backtest_inputs import parse_results, read_tape_input
from mmd.datafetch import FetchRequest, fetch_market, run_data_fetch
from mmd.datafetch_client import PublicMarketData
from mmd.replay import run_replay
from simex._tape import read_tape

from .sim_market import (
    HEADER,
    NS_PER_S,
    OTHER_TICKER,
    T0_S,
    TICKER,
    FakeTime,
    RecordingTransport,
    expected_tape,
    fetch_args,
)


def make_trades(sim, n, start_s=T0_S, spacing_ms=700, ticker=TICKER):
    """n trades 0.7 s apart (so some share a second), prices, sides and sizes varying."""
    for i in range(n):
        sim.trade(start_s * NS_PER_S + i * spacing_ms * 1_000_000, 30 + (i * 7) % 40, 1 + i % 5,
                  "yes" if i % 3 else "no", ticker=ticker)


def fetch(sim, out, *argv, clock=None, transport=None):
    clock = clock or FakeTime()
    transport = transport or RecordingTransport(sim.base_url, clock)
    code = run_data_fetch(fetch_args(TICKER, "--out", str(out), "--base-url", sim.base_url, *argv),
                          monotonic_ns=clock.monotonic_ns, sleep=clock.sleep, transport=transport)
    return code, transport


def test_a_fetch_follows_the_cursor_through_every_page_and_writes_the_trades_oldest_first(sim, tmp_path, capsys):
    make_trades(sim, 23)
    make_trades(sim, 4, ticker=OTHER_TICKER)  # another market's trades stay out

    code, transport = fetch(sim, tmp_path, "--page-size", "5")

    assert code == 0
    tape = tmp_path / f"TRADES_{TICKER}.csv"
    assert tape.read_text() == HEADER + expected_tape(sim.trades_of())
    assert [c.query.get("cursor") for c in transport.trade_pages][0] is None
    assert len(transport.trade_pages) == 5  # 5 + 5 + 5 + 5 + 3
    assert all(c.query["ticker"] == TICKER and c.query["limit"] == 5 for c in transport.trade_pages)
    assert len(read_tape(tape)) == 23
    assert not (tmp_path / f"TRADES_{TICKER}.csv.partial").exists()
    printed = capsys.readouterr().out
    assert f"{TICKER}: 23 trades, 2026-04-04 13:06:40Z to 2026-04-04 13:06:55Z" in printed


def test_the_fetched_tape_replays_and_backtests(sim, tmp_path):
    make_trades(sim, 30)
    fetch(sim, tmp_path)
    tape = tmp_path / f"TRADES_{TICKER}.csv"

    summary = run_replay(load_config(), tape=tape, db_path=tmp_path / "replay.sqlite", run_id="fetched")

    assert summary["tape_events"] == 30
    assert read_tape_input(tape).ticker == TICKER


def test_a_settled_market_records_its_result_beside_the_tape_for_the_backtest(sim, tmp_path):
    make_trades(sim, 6)
    sim.settle(TICKER, "yes")

    fetch(sim, tmp_path)

    record = json.loads((tmp_path / f"MARKET_{TICKER}.json").read_text())
    assert (record["ticker"], record["status"], record["result"]) == (TICKER, "finalized", "yes")
    assert record["close_time"] and record["settlement_ts"]
    assert parse_results([], str(tmp_path / "results.csv")) == {TICKER: "yes"}


def test_an_open_market_has_no_result_and_no_row_in_results_csv(sim, tmp_path):
    make_trades(sim, 3)
    fetch(sim, tmp_path)

    record = json.loads((tmp_path / f"MARKET_{TICKER}.json").read_text())
    assert (record["status"], record["result"]) == ("active", "")
    assert parse_results([], str(tmp_path / "results.csv")) == {}


def test_a_finished_fetch_is_not_downloaded_again(sim, tmp_path, capsys):
    make_trades(sim, 12)
    fetch(sim, tmp_path, "--page-size", "5")
    before = (tmp_path / f"TRADES_{TICKER}.csv").read_bytes()
    make_trades(sim, 3, start_s=T0_S + 100)

    code, transport = fetch(sim, tmp_path, "--page-size", "5")

    assert code == 0
    assert transport.trade_pages == []  # only the market itself was read
    assert (tmp_path / f"TRADES_{TICKER}.csv").read_bytes() == before
    assert "already fetched (12 trades" in capsys.readouterr().out


def test_refresh_appends_only_newer_trades_and_never_repeats_the_newest_second(sim, tmp_path):
    make_trades(sim, 10, spacing_ms=400)  # the last two trades share their second
    fetch(sim, tmp_path, "--page-size", "4")
    before = (tmp_path / f"TRADES_{TICKER}.csv").read_text()
    newest_s = int(before.splitlines()[-1].split(",")[1])
    sim.trade(newest_s * NS_PER_S + 900_000_000, 55, 2)  # same second as the tape's newest trade
    make_trades(sim, 5, start_s=newest_s + 3)

    code, transport = fetch(sim, tmp_path, "--refresh", "--page-size", "4")

    assert code == 0
    assert all(c.query["min_ts"] == newest_s for c in transport.trade_pages)
    after = (tmp_path / f"TRADES_{TICKER}.csv").read_text()
    assert after.startswith(before)
    assert after == HEADER + expected_tape(sim.trades_of())  # 16 rows, numbered on, none twice
    fresh_code, _ = fetch(sim, tmp_path / "fresh")
    assert fresh_code == 0 and (tmp_path / "fresh" / f"TRADES_{TICKER}.csv").read_text() == after


def test_refresh_of_a_tape_without_its_fetch_record_starts_after_the_newest_second(sim, tmp_path):
    make_trades(sim, 6)
    fetch(sim, tmp_path)
    (tmp_path / f"TRADES_{TICKER}.fetch.json").unlink()  # e.g. a tape copied from elsewhere
    newest_s = int((tmp_path / f"TRADES_{TICKER}.csv").read_text().splitlines()[-1].split(",")[1])
    make_trades(sim, 2, start_s=newest_s + 10)

    code, transport = fetch(sim, tmp_path, "--refresh")

    assert code == 0 and transport.trade_pages[0].query["min_ts"] == newest_s + 1
    assert (tmp_path / f"TRADES_{TICKER}.csv").read_text() == HEADER + expected_tape(sim.trades_of())


class Interrupt:
    """Ctrl-C just before the n-th request for trades."""

    def __init__(self, at_page):
        self.at_page, self.pages = at_page, 0

    def __call__(self, number, path):
        if path == "/markets/trades":
            self.pages += 1
            if self.pages == self.at_page:
                raise KeyboardInterrupt


def test_an_interrupted_fetch_leaves_no_tape_and_resumes_from_its_cursor(sim, tmp_path, capsys):
    make_trades(sim, 23)
    clock = FakeTime()
    cut = RecordingTransport(sim.base_url, clock, before=Interrupt(at_page=4))

    code, _ = fetch(sim, tmp_path, "--page-size", "5", clock=clock, transport=cut)

    assert code == 130
    assert "interrupted" in capsys.readouterr().err
    assert not (tmp_path / f"TRADES_{TICKER}.csv").exists()
    assert (tmp_path / f"TRADES_{TICKER}.csv.partial").exists()

    code, resumed = fetch(sim, tmp_path, "--page-size", "5")

    assert code == 0
    assert [c.query.get("cursor") is not None for c in resumed.trade_pages] == [True, True]  # pages 4 and 5 only
    assert (tmp_path / f"TRADES_{TICKER}.csv").read_text() == HEADER + expected_tape(sim.trades_of())
    assert "3 kept from an interrupted run" in capsys.readouterr().out


def test_a_page_cut_short_by_a_crash_is_fetched_again(sim, tmp_path):
    make_trades(sim, 12)
    fetch(sim, tmp_path, "--page-size", "5", transport=RecordingTransport(sim.base_url, before=Interrupt(3)))
    partial = tmp_path / f"TRADES_{TICKER}.csv.partial"
    text = partial.read_text()
    partial.write_text(text[: len(text) - 40])  # the second page's line, half written

    code, resumed = fetch(sim, tmp_path, "--page-size", "5")

    assert code == 0 and len(resumed.trade_pages) == 2  # page 2 again, then page 3
    assert (tmp_path / f"TRADES_{TICKER}.csv").read_text() == HEADER + expected_tape(sim.trades_of())


def test_a_fetch_for_another_window_does_not_resume_an_unfinished_one(sim, tmp_path):
    make_trades(sim, 12)
    fetch(sim, tmp_path, "--page-size", "5", transport=RecordingTransport(sim.base_url, before=Interrupt(2)))

    code, transport = fetch(sim, tmp_path, "--page-size", "5", "--min-ts", str(T0_S + 3))

    assert code == 0 and transport.trade_pages[0].query.get("cursor") is None
    trades = [t for t in sim.trades_of() if t.ts_ns // NS_PER_S >= T0_S + 3]
    assert (tmp_path / f"TRADES_{TICKER}.csv").read_text() == HEADER + expected_tape(trades)


def test_overlapping_pages_are_de_duplicated_by_trade_id(sim, tmp_path):
    make_trades(sim, 17)
    last_page: list = []

    def repeat_previous_last_trade(path, answer):
        status, payload = answer
        if path == "/markets/trades":
            trades = payload["trades"]
            payload = dict(payload, trades=last_page[-1:] + trades + trades[:1])  # overlap both ways
            last_page[:] = trades
        return status, payload

    code, _ = fetch(sim, tmp_path, "--page-size", "5",
                    transport=RecordingTransport(sim.base_url, reply=repeat_previous_last_trade))

    assert code == 0
    assert (tmp_path / f"TRADES_{TICKER}.csv").read_text() == HEADER + expected_tape(sim.trades_of())


def test_requests_never_exceed_the_rate_in_any_second(sim, tmp_path):
    make_trades(sim, 20)
    clock = FakeTime()

    code, transport = fetch(sim, tmp_path, "--page-size", "2", "--rate", "3", clock=clock)

    assert code == 0 and len(transport.calls) == 12  # the market, the historical cutoff, then 10 pages
    starts = [c.at_ns for c in transport.calls]
    assert all(later - earlier >= NS_PER_S for earlier, later in zip(starts, starts[3:]))  # <= 3 in any 1 s
    assert starts[-1] - starts[0] == pytest.approx(11 * NS_PER_S / 3, abs=1000)  # and no slower than needed


def test_too_many_requests_and_server_errors_are_retried_with_backoff(sim, tmp_path):
    make_trades(sim, 15)
    clock = FakeTime()

    def faults_mid_way(number, path):
        if number == 3:  # the first page (after the market and the historical cutoff)
            sim.faults(lambda faults: faults.burst_429(count=2))
        if number == 7:
            sim.faults(lambda faults: faults.burst_5xx(count=2, status=503))

    transport = RecordingTransport(sim.base_url, clock, before=faults_mid_way)
    code, _ = fetch(sim, tmp_path, "--page-size", "5", clock=clock, transport=transport)

    assert code == 0
    assert len(transport.calls) == 2 + 3 + 4  # the market and the cutoff, 3 pages, 4 answered 429 or 503
    assert (tmp_path / f"TRADES_{TICKER}.csv").read_text() == HEADER + expected_tape(sim.trades_of())


def test_a_server_failing_past_the_retries_is_one_line_and_the_next_run_resumes(sim, tmp_path, capsys):
    make_trades(sim, 15)

    def fail_from_the_second_page(number, path):
        if number == 4:
            sim.faults(lambda faults: faults.burst_5xx(count=100, status=502))

    code, _ = fetch(sim, tmp_path, "--page-size", "5",
                    transport=RecordingTransport(sim.base_url, before=fail_from_the_second_page))

    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "HTTP 502" in err and "after 6 attempts" in err and "run the same command again to resume" in err
    assert not (tmp_path / f"TRADES_{TICKER}.csv").exists()

    sim.faults(lambda faults: faults.clear())
    code, resumed = fetch(sim, tmp_path, "--page-size", "5")

    assert code == 0 and len(resumed.trade_pages) == 2
    assert (tmp_path / f"TRADES_{TICKER}.csv").read_text() == HEADER + expected_tape(sim.trades_of())


def test_a_market_without_trades_writes_no_tape_but_its_record(sim, tmp_path, capsys):
    code, _ = fetch(sim, tmp_path)

    assert code == 0
    assert not (tmp_path / f"TRADES_{TICKER}.csv").exists()
    assert (tmp_path / f"MARKET_{TICKER}.json").exists()
    assert f"{TICKER}: no trades to write" in capsys.readouterr().out


def test_fetch_market_is_usable_without_the_command_line(sim, tmp_path):
    make_trades(sim, 8)
    client = PublicMarketData(sim.base_url, rate_per_s=1000, sleep=lambda s: None)

    outcome = fetch_market(client, client.market(TICKER), tmp_path, FetchRequest(page_size=3))

    assert (outcome.pages, outcome.rows_in_tape, len(outcome.batch.rows)) == (3, 8, 8)
    assert outcome.files.tape.read_text() == HEADER + expected_tape(sim.trades_of())


def test_a_window_starting_before_kalshis_historical_cutoff_is_warned_about(sim, tmp_path, capsys):
    make_trades(sim, 3)
    cutoff_s = int(time.time()) + 86_400  # the market opened before it

    def historical_cutoff(path, answer):
        return (200, {"trades_created_ts": cutoff_s}) if path == "/historical/cutoff" else answer

    code, _ = fetch(sim, tmp_path, transport=RecordingTransport(sim.base_url, reply=historical_cutoff))
    err = capsys.readouterr().err
    late_code, _ = fetch(sim, tmp_path / "late", "--min-ts", str(cutoff_s),
                         transport=RecordingTransport(sim.base_url, reply=historical_cutoff))

    assert code == 0 and "only from its historical API (GET /historical/trades)" in err
    assert late_code == 0 and capsys.readouterr().err == ""


def test_mmd_sim_has_no_historical_cutoff_and_a_fetch_says_nothing_on_stderr(sim, tmp_path, capsys):
    make_trades(sim, 3)

    code, transport = fetch(sim, tmp_path)

    assert code == 0 and capsys.readouterr().err == ""
    assert [c.path for c in transport.calls][:2] == [f"/markets/{TICKER}", "/historical/cutoff"]
