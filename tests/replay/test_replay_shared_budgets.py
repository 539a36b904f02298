"""Two sessions in one category share its budget without living on refusals: each maker
sizes its quotes to the room the other leaves (the risk governor's ExposureChanged), so
the governor never refuses one of their orders for the category budget. Through the real
actors on a virtual clock (four_events: two Rates markets), the test playing the scanner.
"""

from __future__ import annotations

import sqlite3

from test_replay_sessions_driven import NO_MAKER_SIGMA_GUARD, event, every_second, regime, run_driven

FED, TBILL = "KXFED-26DEC-T4.00", "KXTBILL3M-26DEC-T4.10"  # both Rates


def test_two_sessions_in_one_category_are_never_refused_for_the_category_budget(tmp_path):
    script = (
        [(20.0, event(FED)), (22.0, event(TBILL))]
        + [entry for ticker in (FED, TBILL) for entry in every_second(15, 200, regime(ticker))]
    )
    db = run_driven(tmp_path, "four_events", script, NO_MAKER_SIGMA_GUARD, duration_s=200)

    with sqlite3.connect(db) as conn:
        refusals = dict(conn.execute(
            "SELECT code, COUNT(*) FROM orders WHERE event = 'rejected' AND source = 'risk' GROUP BY code"
        ).fetchall())
        quoted = {t for (t,) in conn.execute("SELECT DISTINCT ticker FROM orders WHERE event = 'accepted'")}
    assert quoted == {FED, TBILL}  # both made their market...
    assert refusals.get("category_budget", 0) == 0, refusals  # ...inside the category budget they share
    assert refusals.get("global_budget", 0) == 0, refusals
