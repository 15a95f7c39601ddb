"""The released centre models (pathak22/context-encoder: ``paris_inpaintCenter.t7``,
``imagenet_inpaintCenter.t7``): train.lua's netG, read from its Torch7 file onto ``Generator``.

The file is an ``nn.Sequential`` holding netE (itself an ``nn.Sequential``) and the decoder; with
the containers expanded, its modules are the Generator's in the same order. util.save wrote plain
``nn`` modules with float tensors on the CPU. Layouts: ``nn.SpatialConvolution`` weights are
nOutputPlane x nInputPlane x kH x kW and ``nn.SpatialFullConvolution`` weights nInputPlane x
nOutputPlane x kH x kW, the layouts of ``nn.Conv2d`` and ``nn.ConvTranspose2d``; both carry a bias
(the last step's update, as saved). ``nn.SpatialBatchNormalization`` holds ``running_var`` or, as
fbnn and older nn wrote it, ``running_std`` = 1 / sqrt(var + eps) (nn's own loader converts with
var = std^-2 - eps); either is folded, with the file's eps, into a variance for torch's eps.

The code size is read from the file (the output planes of its one unpadded convolution); the
overlap, 4, is what the README's demo and test commands give these models (overlapPred=4), and the
rest of the configuration is the README's training command (the ``paper`` preset).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import torch
from torch import nn

from inpaintbench import InpaintbenchError

from .config import PRESETS, TrainConfig
from .networks import Generator
from .torch7 import Torch7Error, TorchObject, loads

#: ``format`` of the meta of a Torch7 checkpoint (``checkpoint.open_checkpoint``).
FORMAT = "torch7-nn/pathak22-context-encoder-netG"
OVERLAP = 4
CONV, FULL, BN = "nn.SpatialConvolution", "nn.SpatialFullConvolution", "nn.SpatialBatchNormalization"
#: Torch7 class of each Generator module type.
TORCH7_CLASS = {
    nn.Conv2d: CONV,
    nn.ConvTranspose2d: FULL,
    nn.BatchNorm2d: BN,
    nn.LeakyReLU: "nn.LeakyReLU",
    nn.ReLU: "nn.ReLU",
    nn.Tanh: "nn.Tanh",
}


def released_meta(path: Path, data: bytes) -> dict[str, Any]:
    """The checkpoint meta of the Torch7 file ``path`` holding ``data``: its configuration as
    inferred, its sha256, and where it came from (for ``run.json``)."""
    cfg, _, origin = read_generator(path, data)
    sha = hashlib.sha256(data).hexdigest()
    return {
        "format": FORMAT,
        "config": cfg.to_json(),
        "weights": path.name,
        "weights_sha256": sha,
        "complete": True,
        "origin": {"file": str(path.resolve()), "sha256": sha, **origin},
    }


def read_generator(path: Path, data: bytes) -> tuple[TrainConfig, dict[str, torch.Tensor], dict[str, Any]]:
    """The configuration, Generator state dict and conversion notes of the netG in ``data``."""
    try:
        top = loads(data)
    except Torch7Error as exc:
        raise InpaintbenchError(f"'{path}' is not a readable Torch7 file: it {exc}") from None
    layers = _expanded(top, path)
    unpadded = [m for m in layers if m.typename == CONV and _padding(m) == (0, 0)]
    codes = [_int(m.fields.get("nOutputPlane")) for m in unpadded]
    bottleneck = next((n for n in codes if n is not None and n > 0), 4000)
    with torch.device("meta"):
        expected = list(Generator(64, bottleneck))
    for i, (got, want) in enumerate(zip(layers, expected, strict=False), start=1):
        if describe(got) != describe_module(want):
            _mismatch(path, f"module {i} is {describe(got)}, expected {describe_module(want)}")
    if len(layers) != len(expected):
        i = min(len(layers), len(expected))
        more = f"module {i + 1} is {describe(layers[i])}" if len(layers) > i else f"it ends after module {i}"
        _mismatch(path, f"{more}, expected {len(expected)} modules ending in nn.Tanh")
    biased = any(_array(m.fields.get("bias")).size for m in layers if m.typename in (CONV, FULL))
    state: dict[str, torch.Tensor] = {}
    for i, (got, want) in enumerate(zip(layers, expected, strict=True)):
        state |= {f"{i}.{k}": v for k, v in _tensors(path, i + 1, got, want, biased).items()}
    cfg = replace(PRESETS["paper"]["center"], bottleneck=bottleneck, overlap=OVERLAP)
    norms = {
        "running_var" if "running_var" in m.fields else "running_std" for m in layers if m.typename == BN
    }
    origin = {
        "architecture": f"train.lua centre netG, {bottleneck}-unit code (inferred from the layers)",
        "batch_norm": " and ".join(sorted(norms)),
        "biases": biased,
        "overlap": f"{OVERLAP} (overlapPred of the README's demo and test commands)",
    }
    return cfg, state, origin


def describe(module: TorchObject) -> str:
    """A Torch7 module as ``class(hyper-parameters)``: equal texts mean equal architectures."""
    f, name = module.fields, module.typename
    if name in (CONV, FULL):
        kernel = f"{_int(f.get('kW'))}x{_int(f.get('kH'))}"
        stride = f"{_int(f.get('dW'))}x{_int(f.get('dH'))}"
        pad = "{}x{}".format(*_padding(module))
        adj = (_int(f.get("adjW", 0)), _int(f.get("adjH", 0)))
        extra = ", adj {}x{}".format(*adj) if adj != (0, 0) else ""
        planes = f"{_int(f.get('nInputPlane'))} -> {_int(f.get('nOutputPlane'))}"
        return f"{name}({planes}, {kernel}, stride {stride}, pad {pad}{extra})"
    if name == BN:
        return f"{name}({_array(f.get('running_mean')).size})"
    if name == "nn.LeakyReLU":
        return f"{name}({f.get('negval')})"
    return name


def describe_module(module: nn.Module) -> str:
    """The same text for one of the Generator's modules."""
    name = next(t for cls, t in TORCH7_CLASS.items() if isinstance(module, cls))
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        (kh, kw), (sh, sw), (ph, pw) = module.kernel_size, module.stride, module.padding
        planes = f"{module.in_channels} -> {module.out_channels}"
        return f"{name}({planes}, {kw}x{kh}, stride {sw}x{sh}, pad {pw}x{ph})"
    if isinstance(module, nn.BatchNorm2d):
        return f"{name}({module.num_features})"
    if isinstance(module, nn.LeakyReLU):
        return f"{name}({module.negative_slope})"
    return name


def _tensors(
    path: Path, number: int, got: TorchObject, want: nn.Module, biased: bool
) -> dict[str, torch.Tensor]:
    """The state-dict entries of Generator module ``want`` from Torch7 module ``got`` (number ``number``)."""
    f = got.fields
    if isinstance(want, nn.Conv2d | nn.ConvTranspose2d):
        out = {"weight": _sized(path, number, "weight", f.get("weight"), tuple(want.weight.shape))}
        if biased:
            bias, n = _array(f.get("bias")), (want.out_channels,)
            out["bias"] = _sized(path, number, "bias", bias, n) if bias.size else torch.zeros(n)
        return out
    if isinstance(want, nn.BatchNorm2d):
        n = (want.num_features,)
        eps = f.get("eps")
        if not isinstance(eps, float) or not eps > 0:
            _mismatch(path, f"module {number} ({BN}) has eps {eps!r}, not a positive number")
        if "running_var" in f:  # var + eps: what the normalisation divides by, squared
            total = _sized(path, number, "running_var", f["running_var"], n).double() + eps
        else:  # fbnn / older nn: the inverse standard deviation 1 / sqrt(var + eps)
            total = _sized(path, number, "running_std", f.get("running_std"), n).double() ** -2
        affine = _array(f.get("weight")).size > 0
        return {
            "weight": _sized(path, number, "weight", f["weight"], n) if affine else torch.ones(n),
            "bias": _sized(path, number, "bias", f["bias"], n) if affine else torch.zeros(n),
            "running_mean": _sized(path, number, "running_mean", f.get("running_mean"), n),
            "running_var": (total - want.eps).float(),
            "num_batches_tracked": torch.tensor(0),
        }
    return {}


def _sized(path: Path, number: int, name: str, value: Any, shape: tuple[int, ...]) -> torch.Tensor:
    """A float32 copy of the file's tensor, laid out as ``shape`` (same element order)."""
    array = _array(value)
    if array.size != int(np.prod(shape)) or array.dtype.kind != "f":
        _mismatch(path, f"module {number}'s {name} holds {array.size} {array.dtype} values, expected {shape}")
    return torch.from_numpy(np.array(array, dtype=np.float32).reshape(shape))


def _expanded(top: Any, path: Path) -> list[TorchObject]:
    """The modules in call order, ``nn.Sequential`` containers expanded (netE sits inside netG)."""
    if not isinstance(top, TorchObject) or top.typename != "nn.Sequential":
        got = top.typename if isinstance(top, TorchObject) else type(top).__name__
        raise InpaintbenchError(f"'{path}' holds a {got}, not the nn.Sequential of a Context Encoder")
    out: list[TorchObject] = []
    modules = top.fields.get("modules")
    items = modules if isinstance(modules, dict) else {}
    if sorted(items) != list(range(1, len(items) + 1)):
        raise InpaintbenchError(f"'{path}' has an nn.Sequential whose modules are not a list")
    for key in range(1, len(items) + 1):
        module = items[key]
        if not isinstance(module, TorchObject):
            raise InpaintbenchError(f"'{path}' has an nn.Sequential entry that is a {type(module).__name__}")
        out += _expanded(module, path) if module.typename == "nn.Sequential" else [module]
    return out


def _mismatch(path: Path, what: str) -> NoReturn:
    raise InpaintbenchError(f"'{path}' is not the released centre Context Encoder (train.lua's netG): {what}")


def _padding(module: TorchObject) -> tuple[int | None, int | None]:
    return _int(module.fields.get("padW", 0)), _int(module.fields.get("padH", 0))


def _int(value: Any) -> int | None:
    """A Lua number (or a default) that is a whole number, as an int; anything else as None (which
    never matches)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, float) and value.is_integer() else None


def _array(value: Any) -> np.ndarray:
    return value if isinstance(value, np.ndarray) else np.empty(0, np.float32)
