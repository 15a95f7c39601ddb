"""Drawing one seeded mask exactly as a run does, shared by the runner, ``freeze`` and ``masks``.

Everything that draws a mask for an image goes through ``draw_mask``, so a frozen evaluation set,
a preview and a run hold bit-identical masks for the same (seed, regime spec, image id).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..components import MaskGenerator
from ..errors import InpaintbenchError
from ..seeding import mask_rng


def draw_mask(generator: MaskGenerator, regime: str, seed: int, image_id: str, size: int) -> np.ndarray:
    """The boolean size x size mask (True = hole) the run draws for ``image_id`` under ``regime``."""
    try:
        mask = np.asarray(generator.generate(mask_rng(seed, regime, image_id), size, size))
    except Exception as exc:
        raise InpaintbenchError(f"mask regime '{regime}' failed on image '{image_id}': {exc}") from exc
    if mask.shape != (size, size):
        raise InpaintbenchError(f"mask regime '{regime}' drew shape {mask.shape}, expected {(size, size)}")
    return mask.astype(bool)


def resize_nearest(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """A boolean mask resized with nearest-neighbour sampling, so it stays binary."""
    if mask.shape == (height, width):
        return mask
    image = Image.fromarray(mask.astype(np.uint8) * 255)
    return np.asarray(image.resize((width, height), Image.Resampling.NEAREST)) > 127
