"""DeepFill v1's random box, scaled from its 256 px setting to any image size.

At 256 x 256 DeepFill v1 (inpaint.yml: HEIGHT/WIDTH 128, MAX_DELTA_HEIGHT/WIDTH 32, margins 0)
places a 128 x 128 box uniformly inside the image, then shrinks it by the same random 0-16 px on
the top and bottom and by another random 0-16 px on the left and right: sides 96-128, hole ratio
0.140625-0.25. Here the box is half of each side and the shrink up to 1/16 of each side, so any
size divisible by 16 gives exactly that ratio range. The margin is 0, as in DeepFill v1.
"""

from __future__ import annotations

import numpy as np

from ..components import MaskGenerator


class BlockMask(MaskGenerator):
    name = "block"
    description = "one random box, DeepFill v1 style: half the side, each side shrunk by up to 1/16"

    def generate(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        box_h, box_w = height // 2, width // 2
        top = int(rng.integers(0, height - box_h + 1))
        left = int(rng.integers(0, width - box_w + 1))
        shrink_h = int(rng.integers(0, height // 16 + 1))
        shrink_w = int(rng.integers(0, width // 16 + 1))
        mask = np.zeros((height, width), dtype=bool)
        mask[top + shrink_h : top + box_h - shrink_h, left + shrink_w : left + box_w - shrink_w] = True
        return mask
