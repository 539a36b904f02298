"""The daemon (mmd.app) builds its REST client actor from the `rest:` config: how many
orders go in one V2 batch call (rest.batch_max_items) and how long a batch a maker decided
waits for its missing items (rest.batch_gather_s)."""

from __future__ import annotations

from decimal import Decimal

from config import load_config
from messages import PlaceOrder
from kernel.bus import post
from kernel.clock import seconds
from mmd.replay import InProcessRig

GROUP = tuple(f"mmd-b-{i}" for i in range(1, 6))  # a maker decided five places together


def place(client_order_id: str, ts: int) -> PlaceOrder:
    return PlaceOrder(
        client_order_id=client_order_id, ticker="KX-A", side="bid", price=Decimal("0.40"), count=Decimal(1), ts=ts,
        session_id="s-1", batch=GROUP,
    )


def test_batch_size_and_gather_time_come_from_the_rest_config(tmp_path):
    config = load_config(overrides={"rest": {"batch_max_items": 2, "batch_gather_s": 5.0}})
    rig = InProcessRig(config, tmp_path / "mmd.sqlite", run_id="batch-config")
    rig.start()
    rest = rig.daemon.refs["rest"]
    started = rig.clock.now_ns()
    for client_order_id in GROUP[:4]:  # the fifth never comes
        post(rest, place(client_order_id, started), rig.tracker)
    rig.quiet()

    while rig.fire_next_timer(started + seconds(4.9)):  # the shipped 2 ms would have sent it by now
        pass
    status = rest.proxy().get_status().get()
    assert (status["gathering"], status["batches_sent"]) == (4, 0)

    while rig.fire_next_timer(started + seconds(5.0)):
        pass
    status = rest.proxy().get_status().get()
    assert (status["gathering"], status["batches_sent"], status["batched_items"]) == (0, 2, 4)  # 2 + 2
    rig.daemon.stop_actors()
