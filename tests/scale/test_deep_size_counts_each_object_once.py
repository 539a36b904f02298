"""bench_memory_24h's deep_size: the estimate of the simulated exchange's own bytes."""

import sys
from decimal import Decimal

from bench.bench_memory_24h import deep_size


def test_a_flat_container_is_its_own_size_plus_its_items():
    items = [Decimal("1.5"), Decimal("2.5"), "a string of some length"]
    assert deep_size(items) == sys.getsizeof(items) + sum(sys.getsizeof(i) for i in items)


def test_an_object_shared_twice_is_counted_once():
    shared = ["x" * 1000]
    outer = [shared, shared, {"k": shared}]
    inner = sys.getsizeof(shared) + sys.getsizeof(shared[0])
    key_and_dict = sys.getsizeof(outer[2]) + sys.getsizeof("k")
    assert deep_size(outer) == sys.getsizeof(outer) + inner + key_and_dict


def test_sizes_of_disjoint_parts_add_up():
    a, b = {"a": [1000, 2000]}, (Decimal("3"), "bee" * 50)
    assert deep_size([a, b]) == sys.getsizeof([a, b]) + deep_size(a) + deep_size(b)


def test_code_classes_singletons_and_small_ints_are_not_counted():
    class Holder:
        pass

    assert deep_size([None, True, 7, Holder, len, deep_size]) == sys.getsizeof([None, True, 7, Holder, len, deep_size])


def test_a_cycle_is_walked_once():
    loop: list = []
    loop.append(loop)
    assert deep_size(loop) == sys.getsizeof(loop)


def test_objects_of_a_stop_package_are_neither_counted_nor_followed():
    from kernel.clock import ReplayClock

    clock = ReplayClock(0)
    held = [clock, "z" * 100]
    assert deep_size(held, stop_packages=("kernel",)) == sys.getsizeof(held) + sys.getsizeof(held[1])
    assert deep_size(held) > deep_size(held, stop_packages=("kernel",))


def test_an_instance_counts_its_attribute_values():
    class Row:
        def __init__(self) -> None:
            self.name = "n" * 500
            self.values = [Decimal("1"), Decimal("2")]

    row = Row()
    assert deep_size(row) >= sys.getsizeof(row) + sys.getsizeof(row.name) + deep_size(row.values)


def test_walked_in_a_child_process_it_gives_the_same_figure():
    from bench.bench_memory_24h import deep_size_apart

    held = {"rows": [Decimal(i) for i in range(300)], "name": "q" * 77}
    assert deep_size_apart(held) == deep_size(held)
