"""The one path from test images to the prediction that is scored, shared by the runner and the kit.

The model gets a ``Batch`` built here: fresh tensors whose hole pixels hold ``HOLE_VALUE``, so its
input carries no information about what is scored, and nothing it does to its input reaches the
target. Its output is then validated and composited with the runner's own copy of the originals.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ...components import HOLE_VALUE, Batch, Model
from .outputs import composite, validate


def seal(target: torch.Tensor, holes: torch.Tensor, image_ids: Sequence[str], regime: str) -> Batch:
    """A batch for the model: new tensors (never views of ``target`` or ``holes``), holes blanked."""
    masks = (holes > 0.5).to(torch.float32)
    images = torch.where(
        masks.bool(), torch.tensor(HOLE_VALUE, dtype=target.dtype, device=target.device), target
    )
    return Batch(images.to(torch.float32).contiguous(), masks.contiguous(), tuple(image_ids), regime)


def inpaint_sealed(
    model: Model, target: torch.Tensor, holes: torch.Tensor, image_ids: Sequence[str], regime: str
) -> torch.Tensor:
    """What is scored for ``model`` on these images: its validated output inside the hole, the
    original outside. ``target`` and ``holes`` are never handed to the model."""
    output = model.inpaint(seal(target, holes, image_ids, regime))
    return composite(validate(output, target), target, holes)
