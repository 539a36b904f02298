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
    every array a tuple. Copies the containers once; scalars are shared (immutable)."""
    kind = type(value)
    if kind is dict or kind is MappingProxyType or isinstance(value, Mapping):
        return MappingProxyType({key: _freeze_item(item) for key, item in value.items()})  # type: ignore[union-attr]
    if kind is list or kind is tuple:
        return tuple([_freeze_item(item) for item in value])  # type: ignore[union-attr]
    return value  # type: ignore[return-value]


def _freeze_item(item: object) -> JsonValue:
    # most values are scalars: skip the call for them (a full market listing has ~10^5)
    kind = type(item)
    if kind is str or kind is int or kind is float or kind is bool or item is None:
        return item  # type: ignore[return-value]
    return freeze_json(item)
