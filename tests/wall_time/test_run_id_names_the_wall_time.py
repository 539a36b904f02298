"""A run is named after the UTC wall time of its start, to the second: `run-YYYYmmddTHHMMSS`
(the name of its rows in SQLite and of the run in `mmd status`)."""

from __future__ import annotations

from freezegun import freeze_time

from mmd.runner import new_run_id


def test_the_run_id_is_the_utc_start_time_to_the_second():
    with freeze_time("2026-12-07 18:04:05.999999+00:00"):
        assert new_run_id() == "run-20261207T180405"



def test_the_run_id_of_a_start_just_before_midnight_utc_is_that_day():
    with freeze_time("2026-12-31 23:59:59.5+00:00"):
        assert new_run_id() == "run-20261231T235959"
