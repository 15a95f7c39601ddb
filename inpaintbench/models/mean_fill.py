"""The floor every model must beat: fill the hole with the mean colour of what is visible."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..components import Model

if TYPE_CHECKING:
    import torch

    from ..components import Batch


class MeanFill(Model):
    name = "mean_fill"
    description = "each hole pixel gets the image's per-channel mean of the known pixels"

    def inpaint(self, batch: Batch) -> torch.Tensor:
        """An image with no known pixel at all is filled with mid-grey (0.5)."""
        import torch

        images, hole = batch.images, batch.masks > 0.5
        known = (~hole).to(images.dtype)
        count = known.sum(dim=(2, 3), keepdim=True)
        total = (images * known).sum(dim=(2, 3), keepdim=True)
        mean = torch.where(count > 0, total / count.clamp_min(1), torch.full_like(total, 0.5))
        return torch.where(hole, mean, images)
