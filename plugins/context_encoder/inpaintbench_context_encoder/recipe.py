"""What the generator sees and what its L2 term weighs, shared by training and inference.

Pixels are in [-1, 1]. Hidden pixels are filled with the dataset mean colour (117, 104, 123) / 255,
as in train.lua and train_random.lua.
"""

from __future__ import annotations

import torch

FINE = 128  #: the networks' input side
HOLE = 64  #: the centre network's output side (the central square of half the side)
LO, HI = (FINE - HOLE) // 2, (FINE + HOLE) // 2
MEAN_RGB = (117.0, 104.0, 123.0)


def mean_colour(like: torch.Tensor) -> torch.Tensor:
    """The fill colour mapped to [-1, 1], shaped 1 x 3 x 1 x 1 to broadcast over ``like``."""
    values = torch.tensor([2 * v / 255 - 1 for v in MEAN_RGB], dtype=like.dtype, device=like.device)
    return values.view(1, 3, 1, 1)


def centre_target(real: torch.Tensor) -> torch.Tensor:
    """The 64 x 64 centre the centre network predicts."""
    return real[:, :, LO:HI, LO:HI]


def centre_input(real: torch.Tensor, overlap: int) -> torch.Tensor:
    """The context with the centre minus an ``overlap``-pixel ring (56 x 56 for 4) mean-filled."""
    out = real.clone()
    out[:, :, LO + overlap : HI - overlap, LO + overlap : HI - overlap] = mean_colour(real)
    return out


def random_input(real: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """The image with every hole pixel (``hole`` N x 1 x H x W, True = hidden) mean-filled."""
    return torch.where(hole, mean_colour(real), real)


def centre_l2_weights(overlap: int, ring_weight: float, device: torch.device) -> torch.Tensor:
    """Per-pixel L2 weights over the 64 x 64 prediction: ``ring_weight`` on the ``overlap`` ring that
    overlaps the context, 1 inside, as train.lua's wtl2Matrix (divided by wtl2)."""
    weights = torch.full((1, 1, HOLE, HOLE), ring_weight, device=device)
    weights[:, :, overlap : HOLE - overlap, overlap : HOLE - overlap] = 1.0
    return weights


def weighted_l2(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """mean(weights * (pred - target)^2) over every element: the gradient train.lua builds, since its
    MSECriterion divides by the element count and the weights scale that gradient per pixel."""
    return (weights * (pred.float() - target.float()).square()).mean()
