"""The Context Encoder's random-region holes (train_random.lua), at a fraction of the cost.

The released code thresholds one global pattern, 600 x 600 uniform noise bicubic-upscaled to
10000 x 10000 and cut at 0.25, and takes random 128 px windows until one is more than 20% and less
than 30% hole (strict, as there). Blobs are therefore about 10000 / 600 = 16.7 px across whatever
the window size. Here the pattern is 240 x 240 noise upscaled to 4000 x 4000 (the same 16.7 px per
noise cell), built once per process from the fixed seed ``PATTERN_SEED`` with Pillow's bicubic
filter, so every run and every machine sees the same field; windows are then drawn with the
caller's ``rng``, a batch of candidates at a time, each scored in O(1) from a summed-area table.
About 17% of the field is hole, so larger windows are accepted less often (about 1 in 4 at 128,
1 in 16 at 256, under 1 in 1000 at 512) and pile up near 20%; past ``MAX_TRIES`` it gives up.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from PIL import Image

from ..components import MaskGenerator
from ..errors import InpaintbenchError

PATTERN_SEED = 1604_07379  # the paper's arXiv id
NOISE_SIDE = 240
FIELD_SIDE = 4000
THRESHOLD = 0.25
MIN_RATIO, MAX_RATIO = 0.2, 0.3
BATCH = 256
MAX_TRIES = 100 * BATCH


@cache
def global_pattern() -> tuple[np.ndarray, np.ndarray]:
    """The boolean hole field and its zero-padded summed-area table (80 MB, about 0.6 s to build)."""
    noise = np.random.default_rng(PATTERN_SEED).random((NOISE_SIDE, NOISE_SIDE), dtype=np.float32)
    field = Image.fromarray(noise).resize((FIELD_SIDE, FIELD_SIDE), Image.Resampling.BICUBIC)
    pattern = np.asarray(field) < THRESHOLD
    table = np.zeros((FIELD_SIDE + 1, FIELD_SIDE + 1), dtype=np.uint32)
    np.cumsum(pattern, axis=0, dtype=np.uint32, out=table[1:, 1:])
    np.cumsum(table[1:, 1:], axis=1, out=table[1:, 1:])
    return pattern, table


class RandomRegionMask(MaskGenerator):
    name = "random"
    description = "Context Encoder random region: window of a thresholded noise field, 20-30% hole"
    hole_ratio = (MIN_RATIO, MAX_RATIO)

    def generate(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        if height > FIELD_SIDE or width > FIELD_SIDE:
            raise InpaintbenchError(
                f"mask 'random' supports images up to {FIELD_SIDE} px a side, not {height}x{width}"
            )
        pattern, table = global_pattern()
        area = height * width
        for _ in range(MAX_TRIES // BATCH):
            top = rng.integers(0, FIELD_SIDE - height + 1, size=BATCH)
            left = rng.integers(0, FIELD_SIDE - width + 1, size=BATCH)
            bottom, right = top + height, left + width
            holes = (
                table[bottom, right].astype(np.int64)
                - table[top, right]
                - table[bottom, left]
                + table[top, left]
            )
            hits = np.flatnonzero((holes > MIN_RATIO * area) & (holes < MAX_RATIO * area))
            if hits.size:
                y, x = int(top[hits[0]]), int(left[hits[0]])
                return pattern[y : y + height, x : x + width].copy()
        raise InpaintbenchError(
            f"mask 'random' found no {height}x{width} window with 20-30% hole in {MAX_TRIES} tries"
        )
