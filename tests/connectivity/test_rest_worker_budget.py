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


class GrantingInbox(Inbox):
    """An actor that grants every ask at once."""

    budget = None

    def tell(self, message):
        super().tell(message)
        self.budget.grant()


def test_a_first_request_other_than_the_one_its_start_priced_asks_too():
    inbox = GrantingInbox()  # a cancel-all: charged as one cancel, its first request is a read
    inbox.budget = WorkerBudget(3, (CANCEL_LANE, 2), lane_cost, inbox, None, grant_wait_s=600)
    inbox.budget.before("read", 1, 0.0)
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


def run_before(budget, kind="read"):
    """budget.before on a worker thread; what it raised (None: granted), once it returned."""
    raised = []

    def body():
        try:
            budget.before(kind, 1, 0.0)
            raised.append(None)
        except AttemptNotGranted as exc:
            raised.append(exc)

    worker = threading.Thread(target=body)
    worker.start()
    return worker, raised


def test_a_stop_while_a_request_waits_for_its_grant_wakes_it_at_once():
    inbox = Inbox()
    budget = WorkerBudget(1, (WRITE_LANE, 10), lane_cost, inbox, None, grant_wait_s=600)
    worker, raised = run_before(budget)
    assert inbox.arrived.wait(5)
    budget.stop()
    worker.join(5)  # not the 600 s grant wait
    assert not worker.is_alive() and isinstance(raised[0], AttemptNotGranted)


def test_a_stop_landing_just_before_the_wait_is_armed_is_not_lost():
    budget = WorkerBudget(1, (WRITE_LANE, 10), lane_cost, Inbox(), None, grant_wait_s=600)

    class StoppedWhileClearing(threading.Event):
        def clear(self):
            budget.stop()  # sets the event, then the clear undoes that: the stop must still be seen
            super().clear()

    budget._granted = StoppedWhileClearing()
    worker, raised = run_before(budget)
    worker.join(5)
    assert not worker.is_alive() and isinstance(raised[0], AttemptNotGranted)


def test_a_stop_while_the_ask_is_being_told_is_not_lost():
    budget = None

    class StoppingInbox(Inbox):
        def tell(self, message):
            super().tell(message)
            budget.stop()

    budget = WorkerBudget(1, (WRITE_LANE, 10), lane_cost, StoppingInbox(), None, grant_wait_s=600)
    worker, raised = run_before(budget)
    worker.join(5)
    assert not worker.is_alive() and isinstance(raised[0], AttemptNotGranted)
