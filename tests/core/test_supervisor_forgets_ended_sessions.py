"""Ended sessions are remembered for what can still need them (memory over a day of paper,
~400 sessions a day): a maker's late MakerFinished (seconds to minutes after the close)
corrects the record for an hour; past that only the status page's last ENDED_SHOWN stay."""

from __future__ import annotations

from decimal import Decimal

from actors.supervisor._sessions import ENDED_KEPT_NS, ENDED_SHOWN, Session, SessionBook

T0 = 1_795_000_000 * 1_000_000_000
QUARTER = 15 * 60 * 1_000_000_000


def end_one(book: SessionBook, i: int, now: int) -> Session:
    ticker = f"KX-{i}"
    book.add(Session(session_id=book.next_session_id(), ticker=ticker, reason="test", started_ns=now))
    return book.finish(ticker, now)


def test_a_day_of_ended_sessions_keeps_the_last_hours_or_the_last_shown():
    book = SessionBook("run", max_concurrent=10)
    for i in range(400):  # ~16 an hour
        end_one(book, i, T0 + i * QUARTER // 4)

    assert len(book.ended) == ENDED_SHOWN
    assert [s.ticker for s in book.recently_ended(20)][-1] == "KX-399"


def test_a_late_final_report_within_the_hour_still_corrects_the_record():
    book = SessionBook("run", max_concurrent=10)
    session = end_one(book, 0, T0)
    for i in range(1, 40):  # many more end within the hour
        end_one(book, i, T0 + i * 60 * 1_000_000_000)

    assert book.final_report(session.session_id, Decimal("1.5"), Decimal(0)) is session
    assert session.pnl == Decimal("1.5")


def test_ended_sessions_past_the_hour_are_kept_while_fewer_than_shown():
    book = SessionBook("run", max_concurrent=10)
    first = end_one(book, 0, T0)
    end_one(book, 1, T0 + ENDED_KEPT_NS * 5)

    assert book.ended_by_session_id(first.session_id) is first
