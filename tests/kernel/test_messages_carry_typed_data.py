"""Messages carry immutable, typed data only: no field typed `Any`, no mutable container
(dict, list, set), no actor ref. A REST read names its reader by role name; decoded JSON
rides frozen (read-only mappings, tuples). One core, two runtimes: a message is data that
either runtime can deliver, never a handle on one runtime's actors."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import typing
from types import MappingProxyType

import pykka
import pytest

import actors
import messages
from messages import Message, RestReadCompleted, RestReadRequested, SessionStarted, freeze_json

_NOT_DATA = {typing.Any: "Any", dict: "dict", list: "list", set: "set", pykka.ActorRef: "an actor ref"}

# The one exemption: a REST worker thread hands the REST actor the raw result of the
# actor's own HTTP call (an order ack, a batch's items, a read body). It is addressed to
# that actor alone, never published; a read body is frozen when it becomes RestReadCompleted.
_EXEMPT = {("actors.rest._calls", "RestCallFinished", "result")}


def _every_message_class() -> list[type]:
    """Every Message class of the messages package and of the actors (their internal
    timers and worker results), each once."""
    for module in pkgutil.walk_packages(actors.__path__, "actors."):
        importlib.import_module(module.name)
    found, pending = set(), [Message]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            # a slotted dataclass replaces the class it decorates: keep the one its module holds
            home = sys.modules.get(sub.__module__)
            if sub.__module__.startswith(("messages", "actors")) and getattr(home, sub.__qualname__, None) is sub:
                found.add(sub)
    return sorted(found, key=lambda cls: (cls.__module__, cls.__qualname__))


def _not_data_in(annotation: object) -> str | None:
    """What in `annotation` is not immutable typed data, or None."""
    if annotation in _NOT_DATA:
        return _NOT_DATA[annotation]
    origin = typing.get_origin(annotation)
    if origin in _NOT_DATA:
        return _NOT_DATA[origin]
    for arg in typing.get_args(annotation):
        if isinstance(arg, typing.ForwardRef):  # the recursive half of JsonValue
            continue
        found = _not_data_in(arg)
        if found:
            return found
    return None


MESSAGE_CLASSES = _every_message_class()


def test_every_message_class_is_found_by_the_walk():
    names = {cls.__name__ for cls in MESSAGE_CLASSES}
    assert {"RestReadRequested", "RestReadCompleted", "SessionStarted", "ReferenceFetched", "RequoteDue"} <= names
    vocabulary = {getattr(messages, name) for name in messages.__all__}
    assert {cls for cls in vocabulary if isinstance(cls, type) and issubclass(cls, Message)} - {Message} <= set(MESSAGE_CLASSES)


@pytest.mark.parametrize("cls", MESSAGE_CLASSES, ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_no_message_field_is_typed_any_or_mutable_or_an_actor_ref(cls):
    offending = {
        name: what
        for name, annotation in typing.get_type_hints(cls).items()
        if (what := _not_data_in(annotation)) and (cls.__module__, cls.__qualname__, name) not in _EXEMPT
    }
    assert offending == {}


def test_a_read_request_names_its_reader_and_refuses_an_actor_ref():
    assert typing.get_type_hints(RestReadRequested)["reply_to"] is str
    with pytest.raises(TypeError, match="role name"):
        RestReadRequested(request_id="r-1", path="/markets", query=(), reply_to=object(), ts=0)  # type: ignore[arg-type]


def test_a_read_reply_freezes_its_json_body_as_it_is_built():
    body = {"markets": [{"ticker": "KX-A", "tags": ["x"]}], "cursor": ""}
    reply = RestReadCompleted(request_id="r-1", path="/markets", status=200, body=body, error="", ts_recv=0)
    body["markets"].append({"ticker": "KX-LATE"})  # the decoder's dict is not the message's
    assert isinstance(reply.body, MappingProxyType)
    assert reply.body["markets"] == ({"ticker": "KX-A", "tags": ("x",)},)
    with pytest.raises(TypeError):
        reply.body["cursor"] = "next"  # type: ignore[index]
    with pytest.raises(TypeError):
        reply.body["markets"][0]["ticker"] = "KX-B"  # type: ignore[index]
    assert RestReadCompleted.__annotations__["body"] == "JsonValue"  # messages._json


def test_a_session_started_carries_a_market_config_or_none():
    assert typing.get_type_hints(SessionStarted)["config"] == messages.MarketConfig | None


def test_frozen_json_reads_like_the_decoded_json():
    frozen = freeze_json({"a": [1, 2.5, True, None, "s"], "b": {"c": []}})
    assert frozen == {"a": (1, 2.5, True, None, "s"), "b": {"c": ()}}
    assert frozen.get("b")["c"] == () and len(frozen) == 2 and list(frozen) == ["a", "b"]
    assert freeze_json(None) is None and freeze_json("x") == "x" and freeze_json([]) == ()
    assert freeze_json(frozen) == frozen  # freezing frozen JSON changes nothing


@pytest.mark.parametrize("depth", [1, 49, 50, 51, 2_000])
def test_frozen_json_is_read_only_copies_at_any_depth(depth):
    decoded: object = {"leaf": ["x", 1]}
    for _ in range(depth):
        decoded = {"k": [decoded, 2], "s": "t"}
    frozen = freeze_json(decoded)
    node, source = frozen, decoded
    for _ in range(depth):
        assert isinstance(node, MappingProxyType) and isinstance(node["k"], tuple) and node["s"] == "t"
        assert node == {"k": (node["k"][0], 2), "s": "t"} and node["k"][0] is not source["k"][0]
        node, source = node["k"][0], source["k"][0]
    assert node == {"leaf": ("x", 1)}
    source["leaf"].append("changed later")
    assert node["leaf"] == ("x", 1)  # a copy: the decoded JSON may change, the frozen does not
