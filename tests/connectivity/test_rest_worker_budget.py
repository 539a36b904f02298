"""WorkerBudget: a live call's requests beyond the one its start paid for wait for the REST
actor's grant (the budget lives in the actor; the worker only asks and waits)."""

import threading

import pytest

from actors.rest._calls import AttemptAsked, AttemptNotGranted, AttemptUnanswered, WorkerBudget
from actors.rest._scheduler import CANCEL_LANE, READ_LANE, WRITE_LANE


def lane_cost(kind: str, items: int) -> tuple[str, int]:
    if kind == "read":
        return READ_LANE, 10
    return (CANCEL_LANE, 2 * items) if kind == "cancel" else (WRITE_LANE, 10 * items)


class Inbox:
    """Stands for the REST actor's ref: what the worker told it."""

    def __init__(self):
        self.told = []
        self.arrived = threading.Event()

    def tell(self, message):
        self.told.append(message)
        self.arrived.set()


def test_the_request_its_start_paid_for_goes_at_once_and_asks_nothing():
    inbox = Inbox()
    budget = WorkerBudget(1, (WRITE_LANE, 10), lane_cost, inbox, None)
    budget.before("place", 1, 0.0)
    assert inbox.told == []


def test_a_retry_asks_the_actor_with_its_backoff_and_goes_only_when_granted():
    inbox = Inbox()
    budget = WorkerBudget(1, (WRITE_LANE, 10), lane_cost, inbox, None)
    budget.before("place", 1, 0.0)
    went = threading.Event()
    worker = threading.Thread(target=lambda: (budget.before("place", 1, 0.25), went.set()))
    worker.start()
    assert inbox.arrived.wait(5)
    assert inbox.told == [AttemptAsked(job_id=1, kind="place", items=1, backoff_ns=250_000_000)]
    assert not went.is_set()  # waits for the grant
    budget.grant()
    worker.join(5)
    assert went.is_set()


def test_a_first_request_other_than_the_one_its_start_priced_asks_too():
    inbox = Inbox()  # a cancel-all: charged as one cancel, its first request is a read
    budget = WorkerBudget(3, (CANCEL_LANE, 2), lane_cost, inbox, None, grant_wait_s=0.01)
    with pytest.raises(AttemptNotGranted):
        budget.before("read", 1, 0.0)
    assert inbox.told == [AttemptAsked(job_id=3, kind="read", items=1, backoff_ns=0)]


def test_a_request_waiting_for_its_grant_fails_when_the_actor_stops():
    budget = WorkerBudget(1, (WRITE_LANE, 10), lane_cost, Inbox(), None)
    budget.stop()
    with pytest.raises(AttemptNotGranted):
        budget.before("read", 1, 0.0)


def test_a_request_that_timed_out_is_told_to_the_actor():
    inbox = Inbox()
    WorkerBudget(2, (WRITE_LANE, 60), lane_cost, inbox, None).unanswered("place", 6)
    assert inbox.told == [AttemptUnanswered(job_id=2, kind="place", items=6)]
