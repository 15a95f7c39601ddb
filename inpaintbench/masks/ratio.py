"""Hole-ratio targeted masks in the style of CoModGAN and MAT: ``ratio:LO-HI``.

As in their ``RandomMask`` (the 512 px version), with ``coef = min(LO + HI, 1)``: up to
``10 * coef`` boxes of up to half the side and up to ``5 * coef`` of up to the whole side (each
may stick out of the image by half its size), then up to ``20 * coef`` brush strokes (the
DeepFill v2 stroke of ``freeform``, with CoModGAN's 4-17 vertices and widths of 12-48 px at
512 px, scaled with the image). The whole mask is redrawn until its hole ratio lies in the
half-open range [LO, HI). CoModGAN uses the open range (LO, HI) and the NVIDIA buckets are
(LO, HI]; an exact boundary area is rare but decides which bucket a mask counts in, so it is
stated. Counts of zero (``int(k * coef)`` below 1, which crashes CoModGAN) are raised to one
draw of ``randint(1)``, that is none. CoModGAN's final random flips are left out: they do not
change the distribution of a shape whose start point is uniform.

Any range with 0 <= LO < HI <= 1 is accepted. Every candidate that misses the range costs a
whole draw, so the NVIDIA buckets ``ratio:0.01-0.1`` ... ``ratio:0.5-0.6`` range from about a
thousand masks a second down to about sixty at 256 px (``benchmarks/mask_speed.py``); a candidate
is abandoned as soon as it reaches HI. Ranges the shapes rarely reach (above about 0.8) fail
after ``MAX_TRIES`` candidates with a clear error.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from ..components import MaskGenerator
from ..errors import InpaintbenchError
from .freeform import draw_stroke, stroke_vertices

WIDTH_RANGE_512 = (12.0, 48.0)
MAX_VERTEX = 18
MAX_TRIES = 2000


def parse_range(text: str | None) -> tuple[float, float]:
    """``"0.1-0.2"`` to (0.1, 0.2), checked."""
    lo_text, sep, hi_text = (text or "").partition("-")
    try:
        lo, hi = float(lo_text), float(hi_text)
    except ValueError:
        lo = hi = math.nan
    if not sep or not (0.0 <= lo < hi <= 1.0):
        raise InpaintbenchError(
            f"mask 'ratio:{text or ''}': write the hole range as ratio:LO-HI with 0 <= LO < HI <= 1"
        )
    return lo, hi


class RatioMask(MaskGenerator):
    name = "ratio"
    description = "CoModGAN-style boxes + strokes redrawn until the hole ratio is in [LO, HI): ratio:0.1-0.2"

    argument = "LO-HI, the hole-ratio range [LO, HI)"

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        self.lo, self.hi = parse_range(arg)
        self.hole_ratio = (self.lo, self.hi)
        self.coef = min(self.lo + self.hi, 1.0)

    def parameters(self, height: int, width: int) -> dict[str, Any]:
        return {
            "range": [self.lo, self.hi],
            "interval": "[lo, hi)",
            "max_half_boxes": max(1, int(10 * self.coef)) - 1,
            "max_full_boxes": max(1, int(5 * self.coef)) - 1,
            "max_strokes": max(1, int(20 * self.coef)) - 1,
        }

    def generate(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        for _ in range(MAX_TRIES):
            canvas = self._candidate(rng, height, width)
            if canvas is not None and self.lo <= _hole_ratio(canvas) < self.hi:
                return np.asarray(canvas, dtype=bool)
        raise InpaintbenchError(
            f"mask '{self.spec}' drew no mask with hole ratio in [{self.lo}, {self.hi}) in {MAX_TRIES} tries"
        )

    def _candidate(self, rng: np.random.Generator, height: int, width: int) -> Image.Image | None:
        """One draw of boxes then strokes; None as soon as it reaches HI (shapes only add hole)."""
        canvas = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(canvas)
        for count, max_h, max_w in ((10, height // 2, width // 2), (5, height, width)):
            for _ in range(int(rng.integers(max(1, int(count * self.coef))))):
                _fill_box(draw, rng, height, width, max_h, max_w)
        diagonal = math.hypot(height, width)
        for _ in range(int(rng.integers(max(1, int(20 * self.coef))))):
            if _hole_ratio(canvas) >= self.hi:
                return None
            vertices = stroke_vertices(rng, height, width, diagonal / 8, MAX_VERTEX)
            brush = int(rng.uniform(*WIDTH_RANGE_512) * diagonal / (512 * math.sqrt(2)))
            draw_stroke(draw, vertices, brush)
        return canvas


def _hole_ratio(canvas: Image.Image) -> float:
    """Share of pixels set to 1, from Pillow's histogram (much cheaper than a numpy copy)."""
    return canvas.histogram()[1] / (canvas.width * canvas.height)


def _fill_box(
    draw: ImageDraw.ImageDraw, rng: np.random.Generator, height: int, width: int, max_h: int, max_w: int
) -> None:
    """One box of random size below (max_h, max_w), allowed to stick out by half its size."""
    box_w, box_h = int(rng.integers(max_w)), int(rng.integers(max_h))
    left = int(rng.integers(-(box_w // 2), width - box_w + box_w // 2))
    top = int(rng.integers(-(box_h // 2), height - box_h + box_h // 2))
    right, bottom = min(left + box_w, width), min(top + box_h, height)
    left, top = max(left, 0), max(top, 0)
    if right > left and bottom > top:
        draw.rectangle((left, top, right - 1, bottom - 1), fill=1)
