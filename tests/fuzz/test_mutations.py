"""The mutators: seeded and repeatable, each kind damages what it says, on real frames."""

from __future__ import annotations

import json

import pytest

from .mutations import REST_KINDS, WS_KINDS, Mutator, Raw, dumps_with_raw, wire_text
from .ws_campaign import FRAME_TYPES, WsFuzzRig

DELTA = (
    '{"type":"orderbook_delta","sid":5,"seq":7,"msg":{"market_ticker":"KXFUZZ-26DEC31-A",'
    '"price_dollars":"0.4500","delta_fp":"-3.00","side":"yes","ts_ms":1795000002000}}'
)


@pytest.fixture(scope="module")
def corpus():
    return WsFuzzRig().corpus


def test_the_corpus_holds_real_frames_of_every_channel_and_reply(corpus):
    assert {seed.type for seed in corpus} == set(FRAME_TYPES)
    assert all(seed.origin in ("session", "probe") for seed in corpus)
    assert {"fill", "user_order", "market_position"} <= {s.type for s in corpus if s.origin == "session"}


def test_the_same_seed_gives_the_same_mutants():
    first, second = Mutator(11), Mutator(11)
    for kind in WS_KINDS + REST_KINDS:
        assert first.mutate(DELTA, kind) == second.mutate(DELTA, kind)


@pytest.mark.parametrize("kind", [k for k in WS_KINDS if k not in ("none", "status", "connection_lost")])
def test_every_damaging_kind_changes_every_kind_of_frame(kind, corpus):
    mutator = Mutator(3)
    for seed in corpus:
        for _ in range(3):
            mutant = mutator.mutate(seed.text, kind)
            assert mutant.raw != seed.text.encode(), f"{kind} left a {seed.type} frame unchanged ({mutant.note})"


def test_none_keeps_the_frame_as_the_exchange_sent_it():
    assert Mutator(1).mutate(DELTA, "none").raw == DELTA.encode()


def test_numbers_json_cannot_write_are_spliced_in_raw():
    mutator = Mutator(5)
    texts = {mutator.mutate(DELTA, "huge_number").raw for _ in range(200)}
    assert any(b"1" + b"0" * 5000 in t and b'"1' + b"0" * 5000 not in t for t in texts)  # a 5,001-digit integer
    nan = {mutator.mutate(DELTA, "nan_infinity").raw for _ in range(200)}
    assert any(b":NaN" in t for t in nan) and any(b":Infinity" in t for t in nan)


def test_deep_nesting_goes_past_the_recursion_limit():
    mutator = Mutator(2)
    deepest = max(len(mutator.mutate(DELTA, "deep_nesting").raw) for _ in range(50))
    assert deepest > 200_000  # 100,000 openers and as many closers


def test_sequencing_kinds_touch_seq_and_sid_only():
    mutator = Mutator(9)
    mutator.known_sids = (1, 2, 5)
    original = json.loads(DELTA)
    for kind, key in (("seq_disorder", "seq"), ("wrong_sid", "sid")):
        for _ in range(30):
            frame = json.loads(mutator.mutate(DELTA, kind).raw)
            assert {k: v for k, v in frame.items() if k != key} == {k: v for k, v in original.items() if k != key}
            assert frame.get(key, "removed") != original[key]


def test_invalid_utf8_reaches_the_actor_as_the_live_connector_decodes_it():
    mutator = Mutator(4)
    mutants = [mutator.mutate(DELTA, "invalid_utf8") for _ in range(40)]
    raw_damage = [m for m in mutants if m.note.startswith("bytes")]
    escapes = [m for m in mutants if m.note.startswith("escape")]
    assert raw_damage and escapes
    assert all("\ufffd" in wire_text(m.raw) for m in raw_damage)
    assert any("\\ud8" in wire_text(m.raw) or "\\udf" in wire_text(m.raw) for m in escapes)


def test_raw_values_survive_serialisation_verbatim():
    frame = {"a": Raw("NaN"), "b": [Raw("1" * 5000)], "c": "\x00raw0\x00"}
    assert dumps_with_raw(frame) == '{"a":NaN,"b":[' + "1" * 5000 + '],"c":"\\u0000raw0\\u0000"}'


def test_pooled_values_are_copied_so_one_mutant_never_changes_another(corpus):
    from . import mutations

    pool_before = json.dumps(mutations._OTHER_TYPES)
    mutator = Mutator(8)
    for seed in corpus:
        for kind in ("wrong_type", "unknown_field", "compound") * 5:
            mutator.mutate(seed.text, kind)
    assert json.dumps(mutations._OTHER_TYPES) == pool_before
