"""Bounded rings of small records packed into arrays: bytes per row, not objects per row.

A ring of 1,000 trades held as message objects costs ~450 bytes a trade (the object, two
Decimals, two ints, an id string); 200 markets of them are ~90 MB. Packed, the same rows
are ~50 bytes each and read back as equal values:

- ints in `array('q')`;
- floats in `array('d')`;
- a Decimal (or None) as its coefficient and exponent (Decimal('0.4500') -> 4500, -4), so it reads
  back with the SAME exponent (its str, and sums over it, are unchanged); one that does
  not fit (huge, special, negative zero) is kept as the object itself;
- a short enum-like text (a book side) as a code into the distinct values seen;
- an id in canonical UUID form as its 16 bytes; any other id is kept as the string.

Rows are tuples in column order, oldest first. Appending to a full ring drops the oldest
row, like `deque(maxlen=capacity)`. Storage grows with the rows held, up to `capacity`.
"""

from __future__ import annotations

import uuid
from array import array
from collections.abc import Iterator
from decimal import Context, Decimal
from typing import Any

__all__ = ["PackedRing", "IntColumn", "FloatColumn", "DecimalColumn", "TextColumn", "IdColumn"]

_EXACT = Context(prec=60)  # scaleb of a <= 19-digit coefficient never rounds under it
# (coefficient, exponent) -> Decimal: prices sit on a grid, so a few thousand values are
# most reads (Decimals are immutable: sharing one is safe, even across actor threads)
_DECODED: dict[tuple[int, int], Decimal] = {}
_DECODED_MAX = 8_192


class _ArrayColumn:
    """One machine number a slot, in an `array` of `_TYPECODE`."""

    __slots__ = ("_values",)
    _TYPECODE = "q"

    def __init__(self) -> None:
        self._values = array(self._TYPECODE)

    def put(self, slot: int, value: Any) -> None:
        if slot == len(self._values):
            self._values.append(value)
        else:
            self._values[slot] = value

    def get(self, slot: int) -> Any:
        return self._values[slot]


class IntColumn(_ArrayColumn):
    __slots__ = ()
    _TYPECODE = "q"  # 8-byte signed: nanosecond times, counts


class DecimalColumn:
    """`narrow`: 4-byte coefficients, for prices and counts (a value past +-2,147,483,647
    units of its last digit is kept whole); otherwise 8 bytes (dollar amounts)."""

    __slots__ = ("_coefficients", "_exponents", "_whole", "_bounds")

    def __init__(self, *, narrow: bool = False) -> None:
        self._coefficients = array("i" if narrow else "q")
        bits = self._coefficients.itemsize * 8
        self._bounds = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        self._exponents = array("b")
        self._whole: dict[int, Decimal | None] = {}  # slot -> None or a value that does not pack, kept as is

    def put(self, slot: int, value: Decimal | None) -> None:
        packed = _encoded(value) if value is not None else None
        if packed is not None and self._bounds[0] <= packed[0] <= self._bounds[1]:
            coefficient, exponent = packed
            if self._whole:
                self._whole.pop(slot, None)
        else:
            coefficient, exponent = 0, 0
            self._whole[slot] = value
        if slot == len(self._coefficients):
            self._coefficients.append(coefficient)
            self._exponents.append(exponent)  # type: ignore[arg-type]
        else:
            self._coefficients[slot] = coefficient
            self._exponents[slot] = exponent  # type: ignore[assignment]

    def get(self, slot: int) -> Decimal | None:
        if self._whole and slot in self._whole:
            return self._whole[slot]
        key = (self._coefficients[slot], self._exponents[slot])
        value = _DECODED.get(key)
        if value is None:
            value = Decimal(key[0]).scaleb(key[1], _EXACT)
            if len(_DECODED) >= _DECODED_MAX:
                _DECODED.clear()
            _DECODED[key] = value
        return value


# str(Decimal) -> (coefficient, exponent), or None when it does not pack: a Decimal's text
# names its sign, digits and exponent exactly (0.5 and 0.50 differ, unlike their hashes), and
# is far cheaper than as_tuple + scaleb; prices and counts repeat, so most puts are a lookup
_ENCODED: dict[str, tuple[int, int] | None] = {}
_ENCODED_MAX = 8_192


def _encoded(value: Decimal) -> tuple[int, int] | None:
    text = str(value)
    try:
        return _ENCODED[text]
    except KeyError:
        pass
    sign, _digits, exponent = value.as_tuple()
    packed = None
    if isinstance(exponent, int) and -128 <= exponent <= 127:  # not NaN or infinite
        coefficient = int(value.scaleb(-exponent, _EXACT))
        if not (sign and coefficient == 0):  # -0 does not pack: it would read back as 0
            packed = (coefficient, exponent)
    if len(_ENCODED) >= _ENCODED_MAX:
        _ENCODED.clear()
    _ENCODED[text] = packed
    return packed


class FloatColumn(_ArrayColumn):
    __slots__ = ()
    _TYPECODE = "d"


class TextColumn:
    """For a handful of distinct values (a side, a status): never for free text."""

    __slots__ = ("_codes", "_values", "_slots")

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}
        self._values: list[str] = []
        self._slots = array("H")

    def put(self, slot: int, value: str) -> None:
        code = self._codes.get(value)
        if code is None:
            code = self._codes[value] = len(self._values)
            self._values.append(value)
        if slot == len(self._slots):
            self._slots.append(code)
        else:
            self._slots[slot] = code

    def get(self, slot: int) -> str:
        return self._values[self._slots[slot]]


class IdColumn:
    __slots__ = ("_bytes", "_whole")

    def __init__(self) -> None:
        self._bytes = bytearray()
        self._whole: dict[int, str] = {}  # slot -> an id that is not a canonical UUID

    def put(self, slot: int, value: str) -> None:
        packed = _uuid_bytes(value)
        if packed is None:
            self._whole[slot] = value
            packed = bytes(16)
        else:
            self._whole.pop(slot, None)
        if slot * 16 == len(self._bytes):
            self._bytes += packed
        else:
            self._bytes[slot * 16 : slot * 16 + 16] = packed

    def get(self, slot: int) -> str:
        if self._whole and slot in self._whole:
            return self._whole[slot]
        return str(uuid.UUID(bytes=bytes(self._bytes[slot * 16 : slot * 16 + 16])))


def _uuid_bytes(value: str) -> bytes | None:
    """The 16 bytes of `value` when it reads back as exactly the same string, else None."""
    if len(value) != 36:
        return None
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    return parsed.bytes if str(parsed) == value else None


class PackedRing:
    """A deque(maxlen=capacity) of rows, one column object per field.

    Slots: the oldest row is at slot `_start`, the newest at `(_start + _size - 1) %
    capacity`. Columns grow by one slot per new row until they hold `capacity`, then rows
    overwrite the oldest slots."""

    __slots__ = ("capacity", "columns", "_start", "_size")

    def __init__(self, capacity: int, *columns: Any) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self.columns = columns
        self._start = 0
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0

    def _slot(self, index: int) -> int:
        if index < 0:
            index += self._size
        if not 0 <= index < self._size:
            raise IndexError("ring index out of range")
        return (self._start + index) % self.capacity

    def append(self, row: tuple) -> None:
        if self._size == self.capacity:  # full: the oldest row goes
            self._start = (self._start + 1) % self.capacity
            self._size -= 1
        slot = (self._start + self._size) % self.capacity
        for column, value in zip(self.columns, row):
            column.put(slot, value)
        self._size += 1

    def popleft(self) -> None:
        if not self._size:
            raise IndexError("pop from an empty ring")
        self._start = (self._start + 1) % self.capacity
        self._size -= 1

    def replace_last(self, row: tuple) -> None:
        slot = self._slot(-1)
        for column, value in zip(self.columns, row):
            column.put(slot, value)

    def first_index_at_least(self, column: int, value: Any) -> int:
        """The first index whose field is >= value, for a column in ascending order (times
        appended in order); len(self) when there is none."""
        get, lo, hi = self.columns[column].get, 0, self._size
        while lo < hi:
            mid = (lo + hi) // 2
            if get((self._start + mid) % self.capacity) < value:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def value(self, index: int, column: int) -> Any:
        """One field of one row (index as in a list: 0 oldest, -1 newest)."""
        return self.columns[column].get(self._slot(index))

    def row(self, index: int) -> tuple:
        slot = self._slot(index)
        return tuple(column.get(slot) for column in self.columns)

    def values(self, column: int, start: int = 0) -> Iterator[Any]:
        """One field of every row from index `start` on, oldest first."""
        get = self.columns[column].get
        for index in range(start, self._size):
            yield get((self._start + index) % self.capacity)

    def number_values(self, column: int, start: int = 0) -> list:
        """`list(values(column, start))` for an int or float column, sliced straight out of
        its array (no per-row call: a regime window is read on every sample)."""
        numbers = self.columns[column]._values
        begin, end = self._start + max(0, start), self._start + self._size
        if begin >= end:
            return []
        if end <= self.capacity:
            return numbers[begin:end].tolist()
        if begin >= self.capacity:
            return numbers[begin - self.capacity : end - self.capacity].tolist()
        return numbers[begin : self.capacity].tolist() + numbers[: end - self.capacity].tolist()

    def rows(self, start: int = 0) -> Iterator[tuple]:
        """Every row from index `start` on, oldest first."""
        columns = self.columns
        for index in range(start, self._size):
            slot = (self._start + index) % self.capacity
            yield tuple(column.get(slot) for column in columns)

    def __iter__(self) -> Iterator[tuple]:
        return self.rows()
