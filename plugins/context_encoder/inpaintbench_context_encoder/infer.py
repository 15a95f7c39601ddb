"""Inpainting with a trained generator at any run size.

The networks take 128 x 128 inputs (the 4000-unit code layer fixes that), so other sizes are
resized to 128 (bilinear, antialiased) and the prediction back to the run size. Hidden pixels are
replaced by the mean colour at the run size first, so no hidden value leaks into the input.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .networks import Generator
from .recipe import FINE, HI, HOLE, LO, mean_colour
from .ring import biharmonic_centre


def _to_fine(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] at 128 x 128, hole pixels mean-filled before any resizing."""
    x = torch.where(masks > 0.5, mean_colour(images), images * 2 - 1)
    if x.shape[-2:] != (FINE, FINE):
        x = F.interpolate(x, size=(FINE, FINE), mode="bilinear", antialias=True, align_corners=False)
    return x


def _to_run_size(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if x.shape[-2:] != size:
        x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    return ((x + 1) / 2).clamp(0, 1)


#: Test-time views: 1 (the image), 2 (and its mirror image: the released training flips), 8 (all
#: rotations by 90 degrees of both: what ``augment=dihedral`` trains with).
VIEWS = (1, 2, 8)


def _view(x: torch.Tensor, k: int) -> torch.Tensor:
    """View k of 8: turned k % 4 quarter turns, then mirrored when k >= 4."""
    x = torch.rot90(x, k % 4, (-2, -1))
    return x.flip(-1) if k >= 4 else x


def _unview(x: torch.Tensor, k: int) -> torch.Tensor:
    x = x.flip(-1) if k >= 4 else x
    return torch.rot90(x, -(k % 4), (-2, -1))


def _averaged(
    predict: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    masks: torch.Tensor,
    views: int,
) -> torch.Tensor:
    """The mean of ``predict`` over ``views`` transformed copies, each transformed back."""
    if views not in VIEWS:
        raise ValueError(f"views must be one of {VIEWS}, not {views}")
    order = (0,) if views == 1 else (0, 4) if views == 2 else range(8)
    total = sum(_unview(predict(_view(images, k), _view(masks, k)), k) for k in order)
    return total / len(order)


def _centre_once(gen: Generator, images: torch.Tensor, masks: torch.Tensor, overlap: int) -> torch.Tensor:
    """As test.lua: the network sees the ring around the mean-filled inner square, and only its
    prediction of the inner square is pasted. The hidden ring is the biharmonic estimate (``ring``)."""
    out = biharmonic_centre(_to_fine(images, masks))
    inner = slice(LO + overlap, HI - overlap)
    inp = out.clone()
    inp[:, :, inner, inner] = mean_colour(out)
    out[:, :, inner, inner] = gen(inp).float()[:, :, overlap : HOLE - overlap, overlap : HOLE - overlap]
    return _to_run_size(out, tuple(images.shape[-2:]))


@torch.inference_mode()
def inpaint_centre(
    gen: Generator, images: torch.Tensor, masks: torch.Tensor, overlap: int, views: int = 1
) -> torch.Tensor:
    """Inpaint the central 64 x 64 (at 128): the network's inner square inside the estimated ring,
    averaged over ``views``."""
    return _averaged(lambda x, m: _centre_once(gen, x, m, overlap), images, masks, views)


@torch.inference_mode()
def inpaint_random(gen: Generator, images: torch.Tensor, masks: torch.Tensor, views: int = 1) -> torch.Tensor:
    """Predict the whole image from the mean-filled context (the runner keeps the known pixels)."""

    def once(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        return _to_run_size(gen(_to_fine(x, m)).float(), tuple(x.shape[-2:]))

    return _averaged(once, images, masks, views)
