"""The Context Encoder's centre hole: the central square of half the side."""

from __future__ import annotations

import numpy as np

from ..components import MaskGenerator


class CenterMask(MaskGenerator):
    name = "center"
    description = "central square of half the side (25% for even sizes; the Context Encoder's 64x64 at 128)"

    hole_ratio = (0.19, 0.25)  # 0.25 at even sides, a little less at odd ones (0.1975 at 9 px)

    def generate(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        """Deterministic: ``rng`` is accepted for the common signature and not used."""
        mask = np.zeros((height, width), dtype=bool)
        hole_h, hole_w = height // 2, width // 2
        top, left = (height - hole_h) // 2, (width - hole_w) // 2
        mask[top : top + hole_h, left : left + hole_w] = True
        return mask
