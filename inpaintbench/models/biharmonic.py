"""scikit-image's biharmonic inpainting: a smooth, training-free baseline (CPU, one image at a time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..components import Model

if TYPE_CHECKING:
    import torch

    from ..components import Batch


class Biharmonic(Model):
    name = "biharmonic"
    description = "scikit-image inpaint_biharmonic, per image on the CPU"

    def inpaint(self, batch: Batch) -> torch.Tensor:
        """The biharmonic solution can overshoot, so it is clipped to [0, 1]."""
        import torch

        images, masks = batch.images, batch.masks
        pixels = images.detach().permute(0, 2, 3, 1).cpu().double().numpy()
        holes = (masks[:, 0] > 0.5).cpu().numpy()
        filled = np.stack([_solve(img, hole) for img, hole in zip(pixels, holes, strict=True)])
        out = torch.from_numpy(np.clip(filled, 0.0, 1.0)).permute(0, 3, 1, 2)
        return out.to(device=images.device, dtype=images.dtype)


def _solve(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """One image's biharmonic fill; with no known pixel at all (an all-hole mask, which scikit-image
    cannot solve) mid-grey, as ``mean_fill`` gives."""
    from skimage.restoration import inpaint_biharmonic

    if hole.all():
        return np.full_like(image, 0.5)
    return inpaint_biharmonic(image, hole, channel_axis=-1)
