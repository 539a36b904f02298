"""BatchGatherer: commands a maker decided together go out as one V2 batch, without threads."""

from decimal import Decimal as D

from actors.rest import BatchCall, BatchGatherDue, BatchGatherer
from actors.rest._batches import GATHER_TIMER, DropPlace, SendNow
from kernel.effects import ArmTimer, CancelTimer
from messages import CancelOrder, PlaceOrder

T0 = 1_790_000_000_000_000_000
GATHER_NS = 2_000_000
TICKER = "KXTEST-26"


def gatherer(max_places: int = 20, max_cancels: int = 20) -> BatchGatherer:
    return BatchGatherer(gather_ns=GATHER_NS, max_items={"place": max_places, "cancel": max_cancels})


def places(n: int, ticker: str = TICKER, prefix: str = "s") -> list[PlaceOrder]:
    ids = tuple(f"{prefix}-{i}" for i in range(1, n + 1))
    return [
        PlaceOrder(client_order_id=cid, ticker=ticker, side="bid", price=D("0.40"), count=D(5), ts=T0, batch=ids)
        for cid in ids
    ]


def cancels(n: int) -> list[CancelOrder]:
    ids = tuple(f"x-{i}" for i in range(1, n + 1))
    return [CancelOrder(order_id=f"ord-{i}", client_order_id=cid, ticker=TICKER, ts=T0, batch=ids) for i, cid in enumerate(ids)]


def sends(outputs) -> list:
    return [o.command for o in outputs if isinstance(o, SendNow)]


def test_a_group_arriving_within_the_window_goes_as_one_batch_in_the_groups_order():
    batcher = gatherer()
    first, second, third = places(3)
    out = batcher.gather("place", third, T0) + batcher.gather("place", first, T0) + batcher.gather("place", second, T0)
    assert sends(out) == [BatchCall("place", (first, second, third))]
    assert (batcher.batches_sent, batcher.batched_items, batcher.gathering_items) == (1, 3, 0)


def test_the_first_item_arms_the_gather_timer_and_the_last_group_sent_cancels_it():
    batcher = gatherer()
    first, second = places(2)
    assert batcher.gather("place", first, T0) == [ArmTimer(GATHER_TIMER, T0 + GATHER_NS, BatchGatherDue(ts=T0 + GATHER_NS))]
    out = batcher.gather("place", second, T0 + 1)
    assert out[0] == CancelTimer(GATHER_TIMER)
    assert sends(out) == [BatchCall("place", (first, second))]


def test_only_members_of_a_group_of_two_or_more_are_gathered():
    batcher = gatherer()
    (alone,) = places(1)
    assert not batcher.takes("place", alone)
    untagged = PlaceOrder(client_order_id="c-1", ticker=TICKER, side="bid", price=D("0.40"), count=D(5), ts=T0)
    assert not batcher.takes("place", untagged)
    assert batcher.takes("place", places(2)[0])


def test_a_group_whose_last_item_never_comes_is_sent_after_the_gather_time():
    batcher = gatherer()
    first, second, late = places(3)
    batcher.gather("place", first, T0)
    batcher.gather("place", second, T0)
    assert sends(batcher.due(T0 + GATHER_NS)) == [BatchCall("place", (first, second))]
    assert not batcher.takes("place", late)  # the straggler goes alone


def test_a_wake_up_sends_only_groups_that_have_waited_and_rearms_for_the_oldest_left():
    batcher = gatherer()
    old = places(2, prefix="a")
    young = places(2, prefix="b")
    batcher.gather("place", old[0], T0)
    batcher.gather("place", young[0], T0 + 1_000_000)
    out = batcher.due(T0 + GATHER_NS)
    assert sends(out) == [old[0]]  # a group left with one item goes as a single place
    assert out[-1] == ArmTimer(GATHER_TIMER, T0 + 3_000_000, BatchGatherDue(ts=T0 + 3_000_000))


def test_a_group_larger_than_a_batch_holds_is_sent_in_chunks_and_a_chunk_of_one_alone():
    batcher = gatherer(max_places=2)
    group = places(5)
    out = [o for cmd in group for o in batcher.gather("place", cmd, T0)]
    assert sends(out) == [BatchCall("place", tuple(group[0:2])), BatchCall("place", tuple(group[2:4])), group[4]]
    assert (batcher.batches_sent, batcher.batched_items) == (2, 4)


def test_an_item_refused_by_risk_completes_the_group_without_it():
    batcher = gatherer()
    first, refused, third = places(3)
    batcher.gather("place", first, T0)
    batcher.gather("place", third, T0)
    assert sends(batcher.refused("place", refused.client_order_id)) == [BatchCall("place", (first, third))]


def test_a_refusal_of_a_command_not_being_gathered_changes_nothing():
    batcher = gatherer()
    assert batcher.refused("place", "c-unknown") == []
    assert batcher.refused("amend", "s-1") == []


def test_cancels_are_gathered_apart_from_places():
    batcher = gatherer()
    first, second = cancels(2)
    batcher.gather("cancel", first, T0)
    assert sends(batcher.gather("cancel", second, T0)) == [BatchCall("cancel", (first, second))]


def test_a_cancel_all_drops_gathered_places_and_sends_gathered_cancels_of_its_market():
    batcher = gatherer()
    mine, other = places(2), places(2, ticker="KXOTHER-26", prefix="o")
    pulls = cancels(3)
    batcher.gather("place", mine[0], T0)
    batcher.gather("cancel", pulls[0], T0)
    batcher.gather("cancel", pulls[1], T0)
    batcher.gather("place", other[0], T0)
    out = batcher.settle_for_cancel_all(TICKER)
    assert out == [DropPlace(mine[0]), SendNow(BatchCall("cancel", (pulls[0], pulls[1])))]
    assert batcher.gathering_items == 1  # the other market's place still waits


def test_a_cancel_all_of_every_market_that_empties_the_gathering_cancels_the_timer():
    batcher = gatherer()
    batcher.gather("place", places(2)[0], T0)
    assert batcher.settle_for_cancel_all(None) == [CancelTimer(GATHER_TIMER), DropPlace(places(2)[0])]
