"""Decoded JSON as a message may carry it: frozen, all the way down.

A message is a fact shared by actors on several threads, so the JSON inside it (a REST
read's body) must not be a dict or a list someone could change. `freeze_json` turns
decoded JSON into read-only forms once, where the message is built: objects become
`types.MappingProxyType` (a read-only view over a dict nobody else holds), arrays become
tuples. Readers index them as before (`body["markets"]`, `.get`, iteration, `len`) and
test shapes with `isinstance(x, Mapping)` / `isinstance(x, tuple)`, never `dict` / `list`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Union

__all__ = ["JsonScalar", "JsonValue", "JsonObject", "JsonArray", "freeze_json"]

JsonScalar = Union[str, int, float, bool, None]
JsonObject = Mapping[str, "JsonValue"]  # a MappingProxyType once frozen
JsonArray = tuple["JsonValue", ...]
JsonValue = Union[JsonScalar, JsonObject, JsonArray]


def freeze_json(value: object) -> JsonValue:
    """`value` (decoded JSON: dicts, lists, scalars) with every object made read-only and
    every array a tuple. Copies the containers once; scalars are shared (immutable).

    Iterative (an explicit stack): a body nested deeper than the recursion limit still
    freezes, so the message carrying it is built and its reader gets a reply."""
    if not _is_container(value):
        return value  # type: ignore[return-value]
    try:
        return _freeze_nested(value, _NESTING_FOR_RECURSION)
    except _TooDeep:
        pass  # the explicit stack below has no depth limit
    # frames: [items left, output so far, is an object, key in the parent]
    stack: list[list] = [_open(value, None)]
    while True:
        frame = stack[-1]
        items, out, is_object = frame[0], frame[1], frame[2]
        descended = False
        for item in items:
            key, child = item if is_object else (None, item)
            kind = type(child)
            # most values are scalars: store them straight (a full market listing has ~10^5)
            if kind is str or kind is int or kind is float or kind is bool or child is None or not _is_container(child):
                if is_object:
                    out[key] = child
                else:
                    out.append(child)
                continue
            stack.append(_open(child, key))
            descended = True
            break
        if descended:
            continue
        stack.pop()
        frozen = MappingProxyType(out) if is_object else tuple(out)
        if not stack:
            return frozen
        parent = stack[-1]
        if parent[2]:
            parent[1][frame[3]] = frozen
        else:
            parent[1].append(frozen)


_SCALARS = frozenset((str, int, float, bool, type(None)))
_NESTING_FOR_RECURSION = 50  # a REST body nests 3-4 deep; deeper ones take the explicit stack


class _TooDeep(Exception):
    pass


def _freeze_nested(container: object, depth_left: int) -> JsonValue:
    """freeze_json by recursion, the common case: an object is copied whole at C speed and
    only its container values are replaced (~2x faster than the explicit stack on a market
    listing). Raises _TooDeep rather than come near the recursion limit."""
    if not depth_left:
        raise _TooDeep
    depth_left -= 1
    if isinstance(container, Mapping):
        out = dict(container)
        for key, child in out.items():
            if type(child) not in _SCALARS and _is_container(child):
                out[key] = _freeze_nested(child, depth_left)  # an existing key: safe while iterating
        return MappingProxyType(out)
    return tuple([
        child if type(child) in _SCALARS or not _is_container(child) else _freeze_nested(child, depth_left)
        for child in container  # type: ignore[attr-defined]
    ])  # fmt: skip


def _is_container(value: object) -> bool:
    kind = type(value)
    return kind is dict or kind is list or kind is tuple or kind is MappingProxyType or isinstance(value, Mapping)


def _open(container: object, key: object) -> list:
    if isinstance(container, Mapping):
        return [iter(container.items()), {}, True, key]
    return [iter(container), [], False, key]  # type: ignore[call-overload]
