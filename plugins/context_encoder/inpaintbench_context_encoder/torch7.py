"""A reader of Torch7's binary serialisation (``torch.save``), enough for ``nn`` model files.

Not ``torchfile`` (PyPI, 0.1.0 of 2017): it builds tensors with numpy's ``as_strided`` from the
sizes and strides in the file without checking them against the storage, so a damaged file reads
outside its buffer, and its 8-byte-long mode fails on Python 3. Here every length, size and stride
is checked against the bytes there are, nothing is executed (Lua functions are refused), and a bad
file is a ``Torch7Error``.

The format: each object is a 4-byte type tag, then nil (nothing), a number (8-byte double), a string
(4-byte length, bytes), a boolean (4-byte int), a table or a torch object. Tables and torch objects
carry a reference index (a repeat is the object read before); a table holds a 4-byte pair count and
the key/value objects; a torch object a version string ``V <n>`` (absent in old files), its class
name, then a tensor (4-byte ndim, 8-byte sizes, strides and 1-based storage offset, the storage
object), a storage (8-byte element count, raw little-endian elements) or, for any other class, its
field table. Longs are 8 bytes: the format is machine-dependent, and the released models were
written on 64-bit Linux.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

NIL, NUMBER, STRING, TABLE, TORCH, BOOLEAN = range(6)
FUNCTIONS = (6, 7, 8)
#: Storage classes and their element types (tensor classes are the same names with "Tensor").
STORAGES = {
    f"torch.{name}Storage": np.dtype(dtype).newbyteorder("<")
    for name, dtype in (
        ("Float", np.float32),
        ("Double", np.float64),
        ("Byte", np.uint8),
        ("Char", np.int8),
        ("Short", np.int16),
        ("Int", np.int32),
        ("Long", np.int64),
    )
}
TENSORS = {name.replace("Storage", "Tensor"): dtype for name, dtype in STORAGES.items()}
#: Deeper nesting than this is refused (an ``nn`` model nests a few levels).
MAX_DEPTH = 64


class Torch7Error(ValueError):
    """The bytes are not a Torch7 serialisation this reader accepts; the message says where."""


@dataclass
class TorchObject:
    """An instance of a Torch class other than a tensor or storage: its class name and fields."""

    typename: str
    fields: dict[Any, Any] = field(default_factory=dict)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0
        self.objects: dict[int, Any] = {}
        self.depth = 0

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise Torch7Error(f"ends early: {n} bytes wanted at byte {self.pos} of {len(self.data)}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def int(self) -> int:
        return self.unpack("<i")[0]

    def longs(self, n: int) -> list[int]:
        return list(self.unpack(f"<{n}q")) if n else []

    def string(self) -> str:
        return bytes(self.take(self.int())).decode("latin-1")

    def obj(self) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Torch7Error(f"nests deeper than {MAX_DEPTH} levels")
        try:
            return self._obj()
        finally:
            self.depth -= 1

    def _obj(self) -> Any:
        at = self.pos
        kind = self.int()
        if kind == NIL:
            return None
        if kind == NUMBER:
            return self.unpack("<d")[0]
        if kind == STRING:
            return self.string()
        if kind == BOOLEAN:
            return self.int() == 1
        if kind in FUNCTIONS:
            raise Torch7Error(f"holds a Lua function at byte {at}, which is not loaded")
        if kind not in (TABLE, TORCH):
            raise Torch7Error(f"has an unknown type tag {kind} at byte {at}")
        index = self.int()
        if index in self.objects:
            return self.objects[index]
        return self.table(index) if kind == TABLE else self.torch_object(index)

    def table(self, index: int) -> dict[Any, Any]:
        table: dict[Any, Any] = {}
        self.objects[index] = table
        for _ in range(self.int()):
            key = self.obj()
            if isinstance(key, dict | TorchObject | np.ndarray):
                raise Torch7Error(f"has a table key of type {type(key).__name__} before byte {self.pos}")
            table[key] = self.obj()
        return table

    def torch_object(self, index: int) -> Any:
        name = self.string()
        if name.startswith("V "):
            name = self.string()
        if name in STORAGES:
            dtype = STORAGES[name]
            count = self.longs(1)[0]
            if count < 0:
                raise Torch7Error(f"has a storage of {count} elements before byte {self.pos}")
            value: Any = np.frombuffer(self.take(count * dtype.itemsize), dtype=dtype)
        elif name in TENSORS:
            value = self.tensor(TENSORS[name])
        else:
            value = TorchObject(name)
            self.objects[index] = value  # before its fields, which may refer back to it
            fields = self.obj()
            if not isinstance(fields, dict):
                raise Torch7Error(f"has a {name} whose fields are a {type(fields).__name__}, not a table")
            value.fields = fields
        self.objects[index] = value
        return value

    def tensor(self, dtype: np.dtype) -> np.ndarray:
        at = self.pos
        ndim = self.int()
        if not 0 <= ndim <= 16:
            raise Torch7Error(f"has a tensor of {ndim} dimensions at byte {at}")
        sizes, strides = self.longs(ndim), self.longs(ndim)
        offset = self.longs(1)[0] - 1
        storage = self.obj()
        if ndim == 0 or storage is None:
            return np.empty(0, dtype)
        if not isinstance(storage, np.ndarray) or storage.dtype != dtype:
            raise Torch7Error(f"has a tensor at byte {at} whose storage is not of its type")
        if min(sizes) < 0 or min(strides) < 0 or offset < 0:
            raise Torch7Error(f"has a tensor at byte {at} with a negative size, stride or offset")
        if 0 in sizes:
            return np.empty(sizes, dtype)
        last = offset + sum((n - 1) * s for n, s in zip(sizes, strides, strict=True))
        if last >= storage.size:
            raise Torch7Error(f"has a tensor at byte {at} reaching past its {storage.size}-element storage")
        return np.lib.stride_tricks.as_strided(
            storage[offset:], sizes, [s * dtype.itemsize for s in strides], writeable=False
        )


def loads(data: bytes) -> Any:
    """The first object serialised in ``data``: tables as dicts, tensors as read-only numpy arrays
    (views of ``data``), other torch classes as ``TorchObject``."""
    return _Reader(data).obj()
