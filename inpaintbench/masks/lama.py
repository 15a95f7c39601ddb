"""LaMa's evaluation masks: ``lama-thin``, ``lama-medium`` and ``lama-thick`` (Suvorov et al. 2022).

Each preset exists for 256 px and 512 px images (``configs/data_gen/random_{kind}_{size}.yaml``
in LaMa's repository; their values are ``PRESETS`` below). A mask is either a set of brush
chains or, for medium and thick, with probability 0.3/1.3 a set of boxes. As LaMa's code runs it
(no ramp, so its generators widen the configured ranges by one):

- chains: ``min_times`` to ``max_times + 1`` of them; each starts at a uniform pixel and has 1-5
  segments; angle ``0.01 + randint(4)`` radians, mirrored to ``2*pi - angle`` on even chains;
  length ``10 + randint(max_len)``; width ``5 + randint(max_width)``; x moves by length*sin,
  y by length*cos, truncated and clipped to the image (to the pixel one past the edge, as LaMa's
  ``np.clip(..., 0, width)``); each segment is ``cv2.line(mask, start, end, 1, width)``, LaMa's own
  call, which covers a pixel or two more than the width and ends in round caps.
- boxes: ``min_times`` to ``max_times`` of them, sides uniform in [min, max] (capped at the
  image side less both margins, less one), placed inside the margin.
- candidates covering more than 50% of the image are discarded and redrawn (``max_tamper_area``).

Choosing the preset: ``lama-thick:256`` or ``lama-thick:512`` names it; plain ``lama-thick``
takes the preset nearer the image's short side (512 from 384 px up, 256 below). The mask is drawn
on the preset's own canvas (the short side at 256 or 512, in pixels exactly as LaMa's) and then
resized with nearest-neighbour sampling to the image, so at 128 px a ``lama-thin`` mask looks as
it does at 256; the 50% cap is checked on the final mask.

Non-square images: LaMa's evaluation sets are made by drawing each candidate on the whole
short-side-resized image and then cutting the square where ``square_crop_start`` says, so the crop
depends on the mask; ``generate_cropped`` does that, for datasets that follow the protocol
(``places365:PATH?crop=lama-thick:512``). ``generate`` draws on the square it is given, which is
what LaMa does for square sources.

Checked against LaMa's generator (``bin/gen_mask_dataset.py`` at 786f593, sample in
``tests/data/lama_masks.csv``): hole-ratio, component-count and crop-position distributions agree
(two-sample KS) for all six presets, on squares and on 4:3 sources. Departures, none of which
changes those distributions: the random numbers come from the seeded ``numpy`` Generator, not
LaMa's global ``np.random``, so no mask is LaMa's mask bit for bit; LaMa draws five candidates per
image and picks one of those under the cap at random (dropping the image when none is), where
here candidates are drawn until one is under the cap; at image sizes other than 256 and 512 the
mask is resized from the preset canvas (LaMa has no such case).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

from ..components import MaskGenerator
from ..errors import InpaintbenchError
from .draw import resize_nearest

MAX_HOLE = 0.5
BOX_PROBABILITY = 0.3 / 1.3
MAX_ANGLE = 4
MAX_TRIES = 200
PRESET_SIZES = (256, 512)


@dataclass(frozen=True)
class Boxes:
    margin: int
    min_size: int
    max_size: int
    min_times: int
    max_times: int


@dataclass(frozen=True)
class Preset:
    """One LaMa config, in its own numbers (the widened ranges are applied when drawing)."""

    min_times: int
    max_times: int
    max_width: int
    max_len: int
    boxes: Boxes | None = None


PRESETS: dict[str, dict[int, Preset]] = {
    "thin": {
        256: Preset(4, 50, 10, 40),
        512: Preset(4, 70, 20, 100),
    },
    "medium": {
        256: Preset(4, 5, 50, 100, Boxes(0, 10, 50, 1, 5)),
        512: Preset(4, 10, 100, 200, Boxes(0, 30, 150, 1, 5)),
    },
    "thick": {
        256: Preset(1, 5, 100, 200, Boxes(10, 30, 150, 1, 3)),
        512: Preset(1, 5, 250, 450, Boxes(10, 30, 300, 1, 4)),
    },
}


def preset_size_for(height: int, width: int) -> int:
    """The preset nearer the short side: 512 from 384 px up, 256 below."""
    return 512 if min(height, width) >= 384 else 256


def draw_chains(rng: np.random.Generator, preset: Preset, height: int, width: int) -> np.ndarray:
    import cv2  # imported here: listing components must not load OpenCV

    canvas = np.zeros((height, width), dtype=np.uint8)
    for chain in range(int(rng.integers(preset.min_times, preset.max_times + 2))):
        x, y = int(rng.integers(width)), int(rng.integers(height))
        for _ in range(1 + int(rng.integers(5))):
            angle = 0.01 + int(rng.integers(MAX_ANGLE))
            if chain % 2 == 0:
                angle = 2 * 3.1415926 - angle  # LaMa's constant
            length = 10 + int(rng.integers(preset.max_len))
            brush = 5 + int(rng.integers(preset.max_width))
            end_x = min(max(int(x + length * math.sin(angle)), 0), width)
            end_y = min(max(int(y + length * math.cos(angle)), 0), height)
            cv2.line(canvas, (x, y), (end_x, end_y), 1, brush)
            x, y = end_x, end_y
    return canvas.astype(bool)


def draw_boxes(rng: np.random.Generator, boxes: Boxes, height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    high = min(boxes.max_size + 1, height - 2 * boxes.margin, width - 2 * boxes.margin)
    for _ in range(int(rng.integers(boxes.min_times, boxes.max_times + 1))):
        box_w = int(rng.integers(boxes.min_size, high))
        box_h = int(rng.integers(boxes.min_size, high))
        left = int(rng.integers(boxes.margin, width - boxes.margin - box_w + 1))
        top = int(rng.integers(boxes.margin, height - boxes.margin - box_h + 1))
        mask[top : top + box_h, left : left + box_w] = True
    return mask


class LamaMask(MaskGenerator):
    """Shared by the three kinds; ``kind`` picks the row of ``PRESETS``."""

    kind_name: ClassVar[str] = ""
    argument = "the preset: 256 or 512 (default: the one nearer the image's short side)"
    hole_ratio = (0.0, MAX_HOLE)

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        self.size: int | None = None
        if arg is not None:
            if arg not in {str(s) for s in PRESET_SIZES}:
                raise InpaintbenchError(f"mask '{self.name}:{arg}': the preset size must be 256 or 512")
            self.size = int(arg)

    def preset_size(self, height: int, width: int) -> int:
        return self.size or preset_size_for(height, width)

    def parameters(self, height: int, width: int) -> dict[str, Any]:
        """The preset used at this image size, for manifests and ``masks stats``."""
        size = self.preset_size(height, width)
        preset = asdict(PRESETS[self.kind_name][size])
        return {"preset": f"{self.kind_name}-{size}", **preset, "cap": MAX_HOLE}

    def draw(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        """One candidate for a height x width image, drawn on the preset's canvas and resized to it."""
        size = self.preset_size(height, width)
        preset = PRESETS[self.kind_name][size]
        scale = size / min(height, width)
        canvas_h, canvas_w = round(height * scale), round(width * scale)
        if preset.boxes is not None and rng.random() < BOX_PROBABILITY:
            drawn = draw_boxes(rng, preset.boxes, canvas_h, canvas_w)
        else:
            drawn = draw_chains(rng, preset, canvas_h, canvas_w)
        return resize_nearest(drawn, height, width)

    def generate(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        for _ in range(MAX_TRIES):
            mask = self.draw(rng, height, width)
            if mask.mean() <= MAX_HOLE:
                return mask
        raise self.no_mask_under_cap()

    def generate_cropped(self, rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, int]:
        """LaMa's protocol for a height x width image: each candidate is drawn on the whole image, the
        square (side min(height, width)) is cut where ``square_crop_start`` puts it, and the first cut
        under the cap is kept. Returns the square mask and where the square starts on the long side."""
        side = min(height, width)
        for _ in range(MAX_TRIES):
            full = self.draw(rng, height, width)
            start = square_crop_start(rng, full)
            mask = full[:, start : start + side] if width > height else full[start : start + side]
            if mask.mean() <= MAX_HOLE:
                return mask, start
        raise self.no_mask_under_cap()

    def no_mask_under_cap(self) -> InpaintbenchError:
        return InpaintbenchError(f"mask '{self.spec}' drew no mask under 50% hole in {MAX_TRIES} tries")


def square_crop_start(rng: np.random.Generator, mask: np.ndarray) -> int:
    """Where LaMa's square crop starts along the long side (``crop_min_overlap: 1``): drawn uniformly
    so that the crop ends within one pixel of the hole's last row or column, never flush with the
    image's far edge on a non-square image (its bounds, kept as they are), and 0 on a square."""
    height, width = mask.shape
    profile = mask.any(axis=0) if width > height else mask.any(axis=1)
    long, side = max(height, width), min(height, width)
    last = int(np.flatnonzero(profile)[-1])
    low = max(0, min(long - side - 1, last - side))
    high = max(low + 1, min(long - side, last))
    return int(rng.integers(low, high))


class LamaThin(LamaMask):
    name = "lama-thin"
    description = "LaMa thin strokes (256/512 presets by image size, or lama-thin:512); at most 50% hole"
    kind_name = "thin"


class LamaMedium(LamaMask):
    name = "lama-medium"
    description = "LaMa medium strokes or boxes (256/512 presets, or lama-medium:256); at most 50% hole"
    kind_name = "medium"


class LamaThick(LamaMask):
    name = "lama-thick"
    description = "LaMa thick strokes or boxes (256/512 presets, or lama-thick:512); at most 50% hole"
    kind_name = "thick"
