"""Seeded, deterministic mutators of wire text: Kalshi WS frames and REST reply bodies.

`Mutator(seed).mutate(text, kind)` turns one real frame (or reply body) into the bytes a
broken or hostile peer might send instead. The same seed and the same calls give the same
bytes, so a campaign is repeatable and a finding can be replayed from its seed.

Kinds (`WS_KINDS`; `REST_KINDS` drops the two sequencing kinds and adds transport ones):

| kind            | what changes                                                              |
| --------------- | ------------------------------------------------------------------------- |
| none            | nothing (the baseline: a real frame, as the exchange sent it)             |
| byte_flip       | 1-3 random bits flipped anywhere in the bytes                             |
| truncate        | cut short at a random byte                                                |
| wrong_type      | one value (or the whole frame) replaced by a value of another JSON type  |
| huge_number     | a numeric value replaced by 1e308, 10**40, 2**64, "1E+999999999", a 5,000-digit integer... |
| negative_count  | a numeric value made negative (-1, "-5.00", "-0.01", -10**40...)          |
| nan_infinity    | a numeric value replaced by NaN / Infinity literals or "NaN" / "Infinity" strings |
| unknown_field   | 1-3 fields no document names, added to some object                       |
| missing_field   | one field removed from some object                                        |
| seq_disorder    | `seq` repeated, stepped back, jumped, zero, negative, huge, a string or removed |
| wrong_sid       | `sid` of another subscription, unknown, zero, negative, huge, a string, null or removed |
| invalid_utf8    | invalid UTF-8 bytes, lone-surrogate escapes or control characters inserted |
| empty           | an empty or trivial body ("", "{}", "null", "[]", whitespace...)        |
| deep_nesting    | a value (or the frame) replaced by arrays/objects nested 64 to 100,000 deep |
| compound        | 2-4 of the structural kinds above at once (reaches fallbacks one change cannot) |
| status          | (REST) the HTTP status replaced by another one, body unchanged            |
| connection_lost | (REST) the reply never arrives: the transport raises (after the exchange acted) |

Hazard: `json.dumps` cannot write an integer past Python's 4,300-digit limit, nor nesting
past the recursion limit, nor a number like 1e400: such values are spliced into the text
as they are (`Raw`).
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Mutator", "Mutant", "Raw", "dumps_with_raw", "wire_text", "WS_KINDS", "REST_KINDS", "STRUCTURAL_KINDS", "STATUSES",
]  # fmt: skip

WS_KINDS = (
    "none", "byte_flip", "truncate", "wrong_type", "huge_number", "negative_count", "nan_infinity",
    "unknown_field", "missing_field", "seq_disorder", "wrong_sid", "invalid_utf8", "empty", "deep_nesting",
    "compound",
)  # fmt: skip
REST_KINDS = (
    "none", "byte_flip", "truncate", "wrong_type", "huge_number", "negative_count", "nan_infinity",
    "unknown_field", "missing_field", "invalid_utf8", "empty", "deep_nesting", "compound", "status", "connection_lost",
)  # fmt: skip
# what `compound` combines: the kinds that change one value or field of a parsed frame
STRUCTURAL_KINDS = (
    "wrong_type", "huge_number", "negative_count", "nan_infinity", "unknown_field", "missing_field",
    "seq_disorder", "wrong_sid",
)  # fmt: skip
STATUSES = (200, 201, 202, 204, 206, 301, 304, 400, 401, 403, 404, 409, 418, 422, 429, 500, 502, 503, 504, 599)


@dataclass(frozen=True, slots=True)
class Raw:
    """JSON text spliced in verbatim (what json.dumps cannot or will not write)."""

    text: str


@dataclass(frozen=True, slots=True)
class Mutant:
    kind: str
    raw: bytes  # what goes on the wire
    note: str = ""  # what was done, for reports ("seq 7 -> 6", "$.msg.price_dollars -> 1e308")


def wire_text(raw: bytes) -> str:
    """A WS frame's bytes as the actor receives them: LiveConnector decodes a binary frame
    with errors="replace" (a text frame is valid UTF-8 by then)."""
    return raw.decode("utf-8", errors="replace")


_HUGE: tuple[Any, ...] = (
    1e308, -1e308, 10**40, -(10**40), 2**63, 2**64, 10**18, "1e308", "1E+999999999", "1e40",
    "99999999999999999999999999999999.99", "0.0000001", Raw("1" + "0" * 5000), "1" + "0" * 5000, Raw("1e400"),
)  # fmt: skip
_NEGATIVE: tuple[Any, ...] = (-1, -5, "-5.00", "-0.01", "-0.00", "-1e308", -(10**40), "-1.0000")
_NAN: tuple[Any, ...] = (Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), "NaN", "Infinity", "-inf", "sNaN", "nan")
_OTHER_TYPES: tuple[Any, ...] = ("", "x", "0.50", 0, 7, 1.5, True, False, None, [], {}, [1, "a"], {"x": 1}, ["0.40", "1.00"])
_EMPTY = (b"", b" ", b"\n", b"{}", b"null", b"[]", b'""', b"0", b"\x00", b"{", b"\r\n\r\n")
_BAD_UTF8 = (b"\xff", b"\xfe\xff", b"\xc3\x28", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82")
_BAD_ESCAPES = ("\\ud800", "\\udfff", "\\ud83d", "\\u0000", "\\u001b[2J", "\\ufffe")
_UNKNOWN_NAMES = ("zz_fuzz", "market_ticker ", "", "__proto__", "Ticker", "Seq", "\u00e9t\u00e9", "x" * 300)
_DEPTHS = (64, 900, 1_100, 5_000, 100_000)
_SEQ_KEYS = ("seq",)
_SID_KEYS = ("sid",)


def _is_numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, str) and value:
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


def _paths(obj: Any, path: tuple = ()) -> list[tuple]:
    """Every value's path below `obj` (dict keys and list indexes), depth first."""
    out: list[tuple] = []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        out.append((*path, key))
        out.extend(_paths(value, (*path, key)))
    return out


def _get(obj: Any, path: tuple) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def _set(obj: Any, path: tuple, value: Any) -> Any:
    """`obj` with the value at `path` replaced (the root when path is empty)."""
    if not path:
        return value
    _get(obj, path[:-1])[path[-1]] = value
    return obj


def _show(path: tuple) -> str:
    return "$" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path)


def dumps_with_raw(obj: Any) -> str:
    """JSON text with every Raw spliced in as it is."""
    raws: list[str] = []
    nonce = uuid.uuid4().hex  # a placeholder no frame can already contain (it never reaches the output)

    def swap(value: Any) -> Any:
        if isinstance(value, Raw):
            raws.append(value.text)
            return f"\x00{nonce}{len(raws) - 1}\x00"
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    text = json.dumps(swap(obj), separators=(",", ":"), allow_nan=True)
    for i, raw in enumerate(raws):
        text = text.replace(f'"\\u0000{nonce}{i}\\u0000"', raw)
    return text


class Mutator:
    """Deterministic for its seed: the n-th call gives the same mutant on every run."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.known_sids: tuple[int, ...] = ()  # sids in use (a "wrong" sid may be another live one)
        self.compound_kinds = STRUCTURAL_KINDS  # REST replies have no seq or sid to disorder

    def pick(self, seq: Any) -> Any:
        return seq[self.rng.randrange(len(seq))]

    def pick_value(self, pool: Any) -> Any:
        """A fresh copy: a pooled list or dict put into one frame must not be mutated later
        as part of another."""
        return copy.deepcopy(self.pick(pool))

    def mutate(self, text: str, kind: str) -> Mutant:
        raw = text.encode("utf-8")
        if kind == "none" or kind == "status" or kind == "connection_lost":
            return Mutant(kind, raw)
        if kind == "byte_flip":
            data = bytearray(raw or b" ")
            flips = []
            for _ in range(self.rng.randint(1, 3)):
                at = self.rng.randrange(len(data))
                data[at] ^= 1 << self.rng.randrange(8)
                flips.append(at)
            return Mutant(kind, bytes(data), f"bits flipped at bytes {flips}")
        if kind == "truncate":
            cut = self.rng.randrange(len(raw)) if raw else 0
            return Mutant(kind, raw[:cut], f"cut at byte {cut} of {len(raw)}")
        if kind == "empty":
            body = self.pick(_EMPTY)
            return Mutant(kind, body, f"body {body!r}")
        if kind == "invalid_utf8":
            return self._invalid_utf8(raw, text)
        try:
            frame = json.loads(text)
        except ValueError:  # not JSON to begin with: structural kinds degrade to byte damage
            return self.mutate(text, "byte_flip")
        mutate = getattr(self, "_" + kind)
        frame, note = mutate(frame)
        return Mutant(kind, dumps_with_raw(frame).encode("utf-8"), note)

    # -- structural kinds: (frame, note) ---------------------------------------------
    def _compound(self, frame: Any) -> tuple[Any, str]:
        notes = []
        for _ in range(self.rng.randint(2, 4)):
            kind = self.pick(self.compound_kinds)
            frame, note = getattr(self, "_" + kind)(frame)
            notes.append(f"{kind}: {note}")
        return frame, "; ".join(notes)

    def _numeric_path(self, frame: Any) -> tuple | None:
        numeric = [p for p in _paths(frame) if _is_numeric(_get(frame, p))]
        return self.pick(numeric) if numeric else None

    def _replace_numeric(self, frame: Any, pool: tuple) -> tuple[Any, str]:
        path = self._numeric_path(frame)
        if path is None:
            path = self.pick(_paths(frame) or [()])
        value = self.pick_value(pool)
        shown = value.text[:20] if isinstance(value, Raw) else repr(value)[:40]
        return _set(frame, path, value), f"{_show(path)} -> {shown}"

    def _huge_number(self, frame: Any) -> tuple[Any, str]:
        return self._replace_numeric(frame, _HUGE)

    def _negative_count(self, frame: Any) -> tuple[Any, str]:
        return self._replace_numeric(frame, _NEGATIVE)

    def _nan_infinity(self, frame: Any) -> tuple[Any, str]:
        return self._replace_numeric(frame, _NAN)

    def _wrong_type(self, frame: Any) -> tuple[Any, str]:
        path = self.pick([(), *_paths(frame)])
        current = _get(frame, path)
        choices = [v for v in _OTHER_TYPES if type(v) is not type(current)]
        value = self.pick_value(choices)
        return _set(frame, path, value), f"{_show(path)} -> {value!r}"

    def _objects(self, frame: Any) -> list[tuple]:
        return [p for p in [(), *_paths(frame)] if isinstance(_get(frame, p), dict)]

    def _unknown_field(self, frame: Any) -> tuple[Any, str]:
        objects = self._objects(frame)
        if not objects:
            return self._wrong_type(frame)
        path = self.pick(objects)
        target = _get(frame, path)
        added = []
        for _ in range(self.rng.randint(1, 3)):
            name = f"{self.pick(_UNKNOWN_NAMES)}{self.rng.randrange(1000) if self.rng.random() < 0.5 else ''}"
            while name in target:  # unknown means unknown: never overwrite a field
                name += "_"
            target[name] = self.pick_value(_OTHER_TYPES + ("fuzz",))
            added.append(name[:30])
        return frame, f"{_show(path)} + {added}"

    def _missing_field(self, frame: Any) -> tuple[Any, str]:
        keyed = [p for p in _paths(frame) if isinstance(p[-1], str)]
        if not keyed:
            return self._wrong_type(frame)
        path = self.pick(keyed)
        del _get(frame, path[:-1])[path[-1]]
        return frame, f"{_show(path)} removed"

    def _seq_disorder(self, frame: Any) -> tuple[Any, str]:
        if not isinstance(frame, dict):
            return self._wrong_type(frame)
        # a refreshed seed carries the next seq: base - 1 repeats the last one the actor saw
        seq = frame.get("seq")
        base = seq if isinstance(seq, int) and not isinstance(seq, bool) else 1
        choice = self.rng.randrange(8)
        if choice == 7 and "seq" in frame:
            del frame["seq"]
            return frame, f"seq {seq!r} removed"
        value = (base - 1, base - self.rng.randint(2, 50), base + self.rng.randint(1, 100), 0, -1, 10**40, str(base),
                 base + 1)[choice]  # fmt: skip
        frame["seq"] = value
        return frame, f"seq {seq!r} -> {value!r}"

    def _wrong_sid(self, frame: Any) -> tuple[Any, str]:
        if not isinstance(frame, dict):
            return self._wrong_type(frame)
        sid = frame.get("sid")
        others = [s for s in self.known_sids if s != sid]
        choice = self.rng.randrange(9)
        if choice == 8 and "sid" in frame:
            del frame["sid"]
            return frame, f"sid {sid!r} removed"
        other = self.pick(others) if others else (sid + 1 if isinstance(sid, int) else 2)
        value = (other, 999, 0, -1, 10**40, str(sid), None, 1.5, 10**40 + 1)[choice]
        frame["sid"] = value
        return frame, f"sid {sid!r} -> {value!r}"

    def _deep_nesting(self, frame: Any) -> tuple[Any, str]:
        depth = self.pick(_DEPTHS)
        opener, closer = ("[", "]") if self.rng.random() < 0.5 else ('{"a":', "}")
        nested = Raw(opener * depth + "0" + closer * depth)
        path = self.pick([(), *_paths(frame)])
        return _set(frame, path, nested), f"{_show(path)} -> {opener}x{depth}"

    # -- bytes / text -------------------------------------------------------------------
    def _invalid_utf8(self, raw: bytes, text: str) -> Mutant:
        strings = [i for i, ch in enumerate(text) if ch == '"']
        if self.rng.random() < 0.5 or len(strings) < 2:
            bad = self.pick(_BAD_UTF8)
            at = self.rng.randrange(len(raw) + 1)
            return Mutant("invalid_utf8", raw[:at] + bad + raw[at:], f"bytes {bad!r} at {at}")
        # inside a JSON string: a lone surrogate or control escape is valid JSON text
        at = self.pick(strings) + 1
        escape = self.pick(_BAD_ESCAPES)
        mutated = text[:at] + escape + text[at:]
        return Mutant("invalid_utf8", mutated.encode("utf-8"), f"escape {escape} at char {at}")
