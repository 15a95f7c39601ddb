"""Torch7 model files written the way torch.save and pathak22's util.save write them, and a numpy
forward pass of the netG they hold: the independent side of the .t7 round trip tests.

The writer follows torch7's File.lua / Tensor.c: a 4-byte type tag per object; numbers as doubles;
strings with a 4-byte length; tables and torch objects with a reference index; torch objects with
the version string "V 1" and the class name, then tensor header (ndim, sizes, strides, 1-based
offset, as 8-byte longs) and storage, or the object's field table.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

NIL, NUMBER, STRING, TABLE, TORCH, BOOLEAN = range(6)
CLASS = {np.dtype(np.float32): "Float", np.dtype(np.float64): "Double"}


@dataclass
class Module:
    """A Torch class instance: class name and fields."""

    typename: str
    fields: dict[str, Any] = field(default_factory=dict)


class Writer:
    def __init__(self) -> None:
        self.out = io.BytesIO()
        self.index = 0

    def pack(self, fmt: str, *values: Any) -> None:
        self.out.write(struct.pack(fmt, *values))

    def string(self, text: str) -> None:
        data = text.encode("latin-1")
        self.pack("<i", len(data))
        self.out.write(data)

    def reference(self, kind: int) -> None:
        self.index += 1
        self.pack("<ii", kind, self.index)

    def torch_header(self, typename: str) -> None:
        self.reference(TORCH)
        self.string("V 1")
        self.string(typename)

    def obj(self, value: Any) -> None:
        if value is None:
            self.pack("<i", NIL)
        elif isinstance(value, bool):
            self.pack("<ii", BOOLEAN, int(value))
        elif isinstance(value, int | float):
            self.pack("<id", NUMBER, float(value))
        elif isinstance(value, str):
            self.pack("<i", STRING)
            self.string(value)
        elif isinstance(value, list):
            self.obj({float(i): v for i, v in enumerate(value, start=1)})
        elif isinstance(value, dict):
            self.reference(TABLE)
            self.pack("<i", len(value))
            for key, item in value.items():
                self.obj(key)
                self.obj(item)
        elif isinstance(value, np.ndarray):
            self.tensor(value)
        elif isinstance(value, Module):
            self.torch_header(value.typename)
            self.obj(value.fields)
        else:
            raise TypeError(type(value))

    def tensor(self, array: np.ndarray) -> None:
        """A tensor over its own storage. Axes of stride 0 (``np.broadcast_to``) keep stride 0, so a
        large weight that repeats along an axis costs only its distinct values."""
        name = CLASS[array.dtype]
        self.torch_header(f"torch.{name}Tensor")
        if array.size == 0:  # what util.save leaves in output and gradInput: no dimensions, no storage
            self.pack("<iq", 0, 1)
            self.pack("<i", NIL)
            return
        compact = np.ascontiguousarray(array[tuple(slice(None) if s else slice(0, 1) for s in array.strides)])
        strides = [
            c // array.itemsize if s else 0 for c, s in zip(compact.strides, array.strides, strict=True)
        ]
        self.pack(f"<i{2 * array.ndim + 1}q", array.ndim, *array.shape, *strides, 1)
        self.torch_header(f"torch.{name}Storage")
        self.pack("<q", compact.size)
        self.out.write(compact.astype(array.dtype.newbyteorder("<")).tobytes())


def dumps(value: Any) -> bytes:
    writer = Writer()
    writer.obj(value)
    return writer.out.getvalue()


EMPTY = np.empty(0, np.float32)


def _common() -> dict[str, Any]:
    return {"train": True, "output": EMPTY, "gradInput": EMPTY}


def conv(rng, cin: int, cout: int, k: int, s: int, p: int, full: bool = False, bias: bool = True) -> Module:
    """nn.SpatialConvolution (weight out x in x kH x kW) or nn.SpatialFullConvolution (in x out x kH x kW)."""
    shape = (cin, cout, k, k) if full else (cout, cin, k, k)
    fields = {
        "nInputPlane": cin,
        "nOutputPlane": cout,
        "kW": k,
        "kH": k,
        "dW": s,
        "dH": s,
        "padW": p,
        "padH": p,
    }
    fields["weight"] = (rng.standard_normal(shape) * (2 / (cin * k * k)) ** 0.5).astype(np.float32)
    if bias:
        fields["bias"] = (rng.standard_normal(cout) * 0.05).astype(np.float32)
    if full:
        fields |= {"adjW": 0, "adjH": 0}
    return Module("nn.SpatialFullConvolution" if full else "nn.SpatialConvolution", _common() | fields)


def batch_norm(rng, n: int, style: str, eps: float) -> Module:
    """nn.SpatialBatchNormalization with running_var, or with running_std = 1 / sqrt(var + eps) (fbnn)."""
    var = rng.uniform(0.2, 3.0, n)
    fields = {
        "eps": eps,
        "momentum": 0.1,
        "affine": True,
        "running_mean": rng.normal(0, 0.5, n).astype(np.float32),
    }
    fields["running_" + style] = (var if style == "var" else 1 / np.sqrt(var + eps)).astype(np.float32)
    fields["weight"] = rng.uniform(0.5, 1.5, n).astype(np.float32)
    fields["bias"] = rng.normal(0, 0.1, n).astype(np.float32)
    return Module("nn.SpatialBatchNormalization", _common() | fields)


def leaky() -> Module:
    return Module("nn.LeakyReLU", _common() | {"negval": 0.2, "inplace": True})


def relu() -> Module:
    return Module("nn.ReLU", _common() | {"threshold": 0, "val": 0, "inplace": True})


def sequential(modules: list[Module]) -> Module:
    return Module("nn.Sequential", _common() | {"modules": modules})


def netg(
    seed: int,
    bottleneck: int,
    style: str = "var",
    eps: float = 1e-5,
    random_region: bool = False,
    repeated_code: bool = False,
) -> Module:
    """train.lua's netG (netE nested inside), or train_random.lua's at fineSize 128 (one more
    up-stage). ``repeated_code``: the two code layers' weights repeat along their 512-plane axis
    (stride 0), which keeps a 4000-unit file small."""
    rng = np.random.default_rng(seed)
    enc = [conv(rng, 3, 64, 4, 2, 1), leaky()]
    for cin, cout in ((64, 64), (64, 128), (128, 256), (256, 512)):
        enc += [conv(rng, cin, cout, 4, 2, 1), batch_norm(rng, cout, style, eps), leaky()]
    enc.append(conv(rng, 512, bottleneck, 4, 1, 0))
    dec = [batch_norm(rng, bottleneck, style, eps), leaky()]
    stages = [(bottleneck, 512, 1, 0), (512, 256, 2, 1), (256, 128, 2, 1), (128, 64, 2, 1)]
    stages += [(64, 64, 2, 1)] if random_region else []
    for cin, cout, s, p in stages:
        dec += [conv(rng, cin, cout, 4, s, p, full=True), batch_norm(rng, cout, style, eps), relu()]
    dec += [conv(rng, 64, 3, 4, 2, 1, full=True), Module("nn.Tanh", _common())]
    if repeated_code:
        for layer, axis in ((enc[-1], 1), (dec[2], 1)):
            weight = layer.fields["weight"]
            layer.fields["weight"] = np.broadcast_to(
                weight[(slice(None),) * axis + (slice(0, 1),)], weight.shape
            )
    return sequential([sequential(enc), *dec])


# The numpy forward pass, float64, NCHW.


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, s: int, p: int) -> np.ndarray:
    """Cross-correlation, weight out x in x kH x kW, as nn.SpatialConvolution computes it."""
    k = w.shape[-1]
    x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    side = (x.shape[-1] - k) // s + 1
    out = sum(
        np.einsum("oi,nihw->nohw", w[:, :, i, j], x[:, :, i : i + s * side : s, j : j + s * side : s])
        for i in range(k)
        for j in range(k)
    )
    return out if b is None else out + b[None, :, None, None]


def full_conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, s: int, p: int) -> np.ndarray:
    """nn.SpatialFullConvolution, weight in x out x kH x kW: every input pixel scatters its kernel
    onto the (side - 1) * s + k canvas, then ``p`` is cropped from each border."""
    k, side = w.shape[-1], x.shape[-1]
    span = (side - 1) * s + k
    out = np.zeros((x.shape[0], w.shape[1], span, span))
    for i in range(k):
        for j in range(k):
            out[:, :, i : i + s * side : s, j : j + s * side : s] += np.einsum(
                "io,nihw->nohw", w[:, :, i, j], x
            )
    out = out[:, :, p : span - p, p : span - p]
    return out if b is None else out + b[None, :, None, None]


def forward(net: Module, x: np.ndarray) -> np.ndarray:
    """The netG of ``netg`` on ``x`` in evaluation mode (running statistics), in float64."""
    for m in flat(net):
        f = {k: _double(v) if isinstance(v, np.ndarray) else v for k, v in m.fields.items()}
        if m.typename == "nn.SpatialConvolution":
            x = conv2d(x, f["weight"], f.get("bias"), f["dW"], f["padW"])
        elif m.typename == "nn.SpatialFullConvolution":
            x = full_conv2d(x, f["weight"], f.get("bias"), f["dW"], f["padW"])
        elif m.typename == "nn.SpatialBatchNormalization":
            inv = f["running_std"] if "running_std" in f else 1 / np.sqrt(f["running_var"] + f["eps"])
            scale = (inv * f["weight"])[None, :, None, None]
            x = (x - f["running_mean"][None, :, None, None]) * scale + f["bias"][None, :, None, None]
        elif m.typename == "nn.LeakyReLU":
            x = np.where(x > 0, x, x * f["negval"])
        elif m.typename == "nn.ReLU":
            x = np.maximum(x, 0)
        elif m.typename == "nn.Tanh":
            x = np.tanh(x)
        else:
            raise TypeError(m.typename)
    return x


def _double(array: np.ndarray) -> np.ndarray:
    """``array`` in float64, axes of stride 0 kept at stride 0 (no 4000 x 512 x 4 x 4 copy)."""
    compact = array[tuple(slice(None) if s else slice(0, 1) for s in array.strides)]
    return np.broadcast_to(compact.astype(np.float64), array.shape)


def flat(net: Module) -> list[Module]:
    if net.typename != "nn.Sequential":
        return [net]
    return [leaf for m in net.fields["modules"] for leaf in flat(m)]
