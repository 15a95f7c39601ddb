"""How a released model file wants its inputs, and how its output comes back: the options of a spec.

Released inpainting models disagree on every convention: the value range of the image, which mask
value is the hole, whether the holes are blanked, one tensor or two, the modulo the sides must be
padded to, the range of the output. A model file's spec names its conventions after ``?``, joined by
``&`` (``torchscript:big-lama.pt``, ``torchscript:migan.pt?preset=migan&size=512``); values are
percent-decoded, so ``%26`` is a literal ``&``. The defaults are LaMa's ``big-lama.pt`` as IOPaint calls
it: ``model(image, mask)``, image N x 3 x H x W in [0, 1], mask N x 1 x H x W with 1 = hole, sides padded
at the bottom and right to a multiple of 8 by mirroring with the edge repeated (numpy's ``symmetric``),
output N x 3 x H x W in [0, 1] cropped back.

The model always starts from the sealed batch: its hole pixels hold ``HOLE_VALUE`` (0 in [0, 1]), mapped
to the bottom of the model's range unless ``hole`` says what they hold instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..components import HOLE_VALUE
from ..errors import InpaintbenchError

if TYPE_CHECKING:
    import torch

#: Every option a model file's spec may set, with its one line of help (``list models -v`` shows them).
OPTIONS: dict[str, str] = {
    "preset": "a known model's conventions (lama, migan); options after it override them",
    "range": "LO,HI: the image range the model takes (default 0,1)",
    "out_range": "LO,HI: the range of its output (default: as range)",
    "mask": "hole (default) or known: which pixels the mask marks with 1",
    "mask_range": "LO,HI: the values the mask's 0 and 1 become (default 0,1)",
    "hole": "the value hole pixels hold in the model's range (default: the bottom of range)",
    "call": "image,mask (default), mask,image, cat:image,mask or cat:mask,image (one tensor)",
    "order": "rgb (default) or bgr: the channel order in and out",
    "mod": "pad height and width up to a multiple of this (default 8; 1 for none)",
    "pad": "symmetric (default), reflect, replicate or constant (zeros)",
    "square": "1: pad to a square as well",
    "min": "pad each side to at least this many pixels",
    "size": "N: resize to N x N for the model and back (for models that run at one size)",
    "output": "N: the model returns a tuple or list; score its N-th element",
    "batch": "N: at most N images per call (default: the run's --batch-size)",
    "precision": "fp32 (default), bf16 or fp16: the dtype the model runs in (torch formats)",
    "memory": "contiguous (default) or channels_last (torch formats)",
}

#: Known released models' conventions, as those who ship them call them (``docs/models.md``).
PRESETS: dict[str, dict[str, str]] = {
    "lama": {},
    "migan": {
        "range": "-1,1",
        "mask": "known",
        "mask_range": "-0.5,0.5",
        "hole": "0",
        "call": "cat:mask,image",
        "mod": "512",
        "square": "1",
    },
}

CALLS = ("image,mask", "mask,image", "cat:image,mask", "cat:mask,image")
PADS = ("symmetric", "reflect", "replicate", "constant")


def split_query(name: str, arg: str | None) -> tuple[str, dict[str, str]]:
    """``PATH?key=value&...`` -> (PATH, {key: value}); a malformed or repeated pair is one line."""
    if not arg:
        raise InpaintbenchError(f"model '{name}' needs a path: {name}:PATH (options after '?')")
    path, sep, query = arg.partition("?")
    options: dict[str, str] = {}
    for pair in query.split("&") if sep else []:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise InpaintbenchError(
                f"model '{name}:{arg}': '{pair}' is not KEY=VALUE (options join with '&')"
            )
        if key in options:
            raise InpaintbenchError(f"model '{name}:{arg}': option '{key}' is given twice")
        options[key] = unquote(value)
    if not path:
        raise InpaintbenchError(f"model '{name}:{arg}' names no file before '?'")
    return path, options


def refuse_unknown(spec: str, options: Mapping[str, str], known: Mapping[str, str]) -> None:
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise InpaintbenchError(f"model '{spec}': unknown option '{unknown[0]}' (known: {', '.join(known)})")


@dataclass(frozen=True)
class Convention:
    """The resolved options of one model file (every field is stated in run.json)."""

    preset: str = "lama"
    range: tuple[float, float] = (0.0, 1.0)
    out_range: tuple[float, float] = (0.0, 1.0)
    mask: str = "hole"
    mask_range: tuple[float, float] = (0.0, 1.0)
    hole: float = 0.0
    call: str = "image,mask"
    order: str = "rgb"
    mod: int = 8
    pad: str = "symmetric"
    square: bool = False
    min: int = 0
    size: int | None = None
    output: int | None = None
    batch: int | None = None
    precision: str = "fp32"
    memory: str = "contiguous"

    @classmethod
    def parse(cls, spec: str, given: Mapping[str, str]) -> Convention:
        """The convention a spec's options describe; every bad value is one line naming the option."""
        refuse_unknown(spec, given, OPTIONS)
        preset = given.get("preset", "lama")
        if preset not in PRESETS:
            raise InpaintbenchError(f"model '{spec}': preset '{preset}' is not one of {', '.join(PRESETS)}")
        options = {**PRESETS[preset], **{k: v for k, v in given.items() if k != "preset"}}
        read = OptionReader(spec, options)
        value_range = read.range("range", (0.0, 1.0))
        return cls(
            preset=preset,
            range=value_range,
            out_range=read.range("out_range", value_range),
            mask=read.choice("mask", "hole", ("hole", "known")),
            mask_range=read.range("mask_range", (0.0, 1.0), ordered=False),
            hole=read.number("hole", value_range[0]),
            call=read.choice("call", "image,mask", CALLS),
            order=read.choice("order", "rgb", ("rgb", "bgr")),
            mod=read.integer("mod", 8, low=1),
            pad=read.choice("pad", "symmetric", PADS),
            square=read.choice("square", "0", ("0", "1")) == "1",
            min=read.integer("min", 0, low=0),
            size=read.integer("size", None, low=8),
            output=read.integer("output", None, low=0),
            batch=read.integer("batch", None, low=1),
            precision=read.choice("precision", "fp32", ("fp32", "bf16", "fp16")),
            memory=read.choice("memory", "contiguous", ("contiguous", "channels_last")),
        )

    def stated(self) -> dict[str, Any]:
        """The convention as run.json states it."""
        return {f.name: getattr(self, f.name) for f in fields(self)} | {
            "range": list(self.range),
            "out_range": list(self.out_range),
            "mask_range": list(self.mask_range),
        }

    def padded_size(self, height: int, width: int) -> tuple[int, int]:
        """The model's input size for an image of ``height`` x ``width`` (after any ``size`` resize)."""
        if self.size is not None:
            height = width = self.size
        sides = [max(math.ceil(side / self.mod) * self.mod, self.min) for side in (height, width)]
        if self.square:
            sides = [max(sides)] * 2
        return sides[0], sides[1]

    # -- tensors ------------------------------------------------------------------------------------
    def inputs(self, images: torch.Tensor, masks: torch.Tensor, dtype: torch.dtype) -> list[torch.Tensor]:
        """The model's positional inputs from a sealed batch (images in [0, 1], masks 1 = hole)."""
        import torch

        if self.size is not None:
            images, masks = resize(images, (self.size, self.size)), resize_mask(masks, (self.size, self.size))
        height, width = self.padded_size(*images.shape[-2:])
        images, masks = (_pad(t, height, width, self.pad) for t in (images, masks))
        lo, hi = self.range
        image = images  # sealed: holes hold HOLE_VALUE, 0 in [0, 1]; each step below only when it changes it
        if (lo, hi) != (0.0, 1.0):
            image = image * (hi - lo) + lo
        if self.hole != lo + HOLE_VALUE * (hi - lo) or self.size is not None:
            image = torch.where(masks > 0.5, self.hole, image)
        if self.order == "bgr":
            image = image.flip(1)
        mask = masks if self.mask == "hole" else 1 - masks
        mlo, mhi = self.mask_range
        if (mlo, mhi) != (0.0, 1.0):
            mask = mask * (mhi - mlo) + mlo
        memory = torch.channels_last if self.memory == "channels_last" else torch.contiguous_format
        image, mask = (t.to(dtype).contiguous(memory_format=memory) for t in (image, mask))
        first, second = (mask, image) if self.call.endswith("mask,image") else (image, mask)
        if self.call.startswith("cat:"):
            return [torch.cat([first, second], dim=1).contiguous(memory_format=memory)]
        return [first, second]

    def output_of(self, output: object, images: torch.Tensor, where: str) -> torch.Tensor:
        """The model's output as N x 3 x H x W float32 in [0, 1] at the batch's size: picked, mapped,
        cropped and resized back. What is wrong with it is an ``InpaintbenchError`` naming ``where``."""
        import torch

        if isinstance(output, (tuple, list)):
            if self.output is None or self.output >= len(output):
                raise InpaintbenchError(
                    f"{where} returned a {type(output).__name__} of {len(output)}: "
                    "set output=N to score its N-th element"
                )
            output = output[self.output]
        if not isinstance(output, torch.Tensor):
            raise InpaintbenchError(f"{where} returned {type(output).__name__}, expected a tensor")
        n, _, height, width = images.shape
        expected = (n, 3, *self.padded_size(height, width))
        if tuple(output.shape) != expected:
            raise InpaintbenchError(
                f"{where} returned shape {tuple(output.shape)}, expected {expected} "
                f"(N x 3 x H x W at its input's size)"
            )
        out = output.to(device=images.device, dtype=torch.float32)
        if self.order == "bgr":
            out = out.flip(1)
        lo, hi = self.out_range
        if (lo, hi) != (0.0, 1.0):
            out = (out - lo) / (hi - lo)
        inner = self.size or height, self.size or width
        out = out[..., : inner[0], : inner[1]]
        if self.size is not None and (height, width) != inner:
            out = resize(out, (height, width))
        return out.contiguous()


def resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear, antialiased when shrinking (a weighted mean of the pixels either way: never outside
    their range, so nothing needs clamping)."""
    import torch.nn.functional as F

    shrink = size[0] < images.shape[-2] or size[1] < images.shape[-1]
    return F.interpolate(images, size=size, mode="bilinear", antialias=shrink)


def resize_mask(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Nearest neighbour, so the mask stays binary."""
    import torch.nn.functional as F

    return (F.interpolate(masks, size=size, mode="nearest") > 0.5).to(masks.dtype)


def range_hint(low: float, high: float, convention: Convention) -> str:
    """Which ``out_range`` an output seen in [low, high] (after mapping) suggests, if any."""
    lo, hi = convention.out_range
    raw_low, raw_high = low * (hi - lo) + lo, high * (hi - lo) + lo
    if raw_low < -0.05 and raw_high <= 1.05:
        return "; is its output in [-1, 1]? (out_range=-1,1)"
    if raw_high > 2:
        return "; is its output in [0, 255]? (out_range=0,255)"
    return ""


def _pad(tensor: torch.Tensor, height: int, width: int, mode: str) -> torch.Tensor:
    """Pad at the bottom and right to ``height`` x ``width``."""
    import torch.nn.functional as F

    extra_h, extra_w = height - tensor.shape[-2], width - tensor.shape[-1]
    if extra_h == 0 and extra_w == 0:
        return tensor
    if mode == "symmetric":
        return _mirror(_mirror(tensor, extra_h, -2), extra_w, -1)
    if mode == "reflect" and (extra_h >= tensor.shape[-2] or extra_w >= tensor.shape[-1]):
        raise InpaintbenchError(
            f"pad=reflect cannot pad {tuple(tensor.shape[-2:])} to {(height, width)}: "
            "use pad=symmetric or a larger --image-size"
        )
    return F.pad(tensor, (0, extra_w, 0, extra_h), mode=mode)


def _mirror(tensor: torch.Tensor, extra: int, dim: int) -> torch.Tensor:
    """Append ``extra`` rows or columns along ``dim`` that mirror the tensor with its edge repeated
    (numpy's ``symmetric``), folding again when more than one side's length is needed."""
    import torch

    parts, flipped, length = [tensor], False, 0
    while length < extra:
        flipped = not flipped
        piece = tensor.flip(dim) if flipped else tensor
        take = min(extra - length, tensor.shape[dim])
        parts.append(piece.narrow(dim, 0, take))
        length += take
    return torch.cat(parts, dim=dim) if len(parts) > 1 else tensor


class OptionReader:
    """Typed reads of a spec's option values, each failure one line naming the option."""

    def __init__(self, spec: str, options: Mapping[str, str]) -> None:
        self.spec, self.options = spec, options

    def _bad(self, key: str, expected: str) -> InpaintbenchError:
        return InpaintbenchError(f"model '{self.spec}': {key}={self.options[key]!r} is not {expected}")

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.options.get(key, default)
        if value not in choices:
            raise self._bad(key, f"one of {', '.join(choices)}")
        return value

    def number(self, key: str, default: float) -> float:
        if key not in self.options:
            return default
        try:
            value = float(self.options[key])
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise self._bad(key, "a finite number")
        return value

    def integer(self, key: str, default: int | None, low: int) -> int | None:
        if key not in self.options:
            return default
        text = self.options[key]
        if not text.isdigit() or int(text) < low or int(text) > 1 << 16:
            raise self._bad(key, f"an integer from {low} to {1 << 16}")
        return int(text)

    def range(self, key: str, default: tuple[float, float], ordered: bool = True) -> tuple[float, float]:
        if key not in self.options:
            return default
        parts = self.options[key].split(",")
        try:
            lo, hi = (float(p) for p in parts)
        except ValueError:
            raise self._bad(key, "LO,HI (two numbers)") from None
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo == hi or (ordered and lo > hi):
            raise self._bad(key, "LO,HI with finite LO " + ("< HI" if ordered else "!= HI"))
        return lo, hi
