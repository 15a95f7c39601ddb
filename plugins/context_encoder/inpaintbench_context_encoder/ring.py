"""The estimate of the overlap ring when the benchmark hides it: a biharmonic fill of the centre hole.

train.lua trains the centre network seeing the true 4-pixel ring around its 56 x 56 hole, and test.lua
hides only that inner square and pastes back only the inner square of the prediction: the ring is
context, never output. The benchmark's ``center`` regime hides the whole 64 x 64 centre, so the ring
must be estimated. The smooth continuation of the context that solves the biharmonic equation inside
the hole (scikit-image's ``inpaint_biharmonic``) is, before clipping, a fixed linear map of the two
known pixel rows around the hole, computed once per process.
"""

from __future__ import annotations

from functools import cache

import torch

from .recipe import HI, HOLE, LO

BAND = 2  #: the biharmonic stencil reaches two pixels out
#: The 13-point stencil of the squared 5-point Laplacian: (row offset, column offset, weight).
STENCIL = (
    [(0, 0, 20.0)]
    + [(dr, dc, -8.0) for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1))]
    + [(dr, dc, 2.0) for dr in (1, -1) for dc in (1, -1)]
    + [(dr, dc, 1.0) for dr, dc in ((2, 0), (-2, 0), (0, 2), (0, -2))]
)


@cache
def _operator() -> tuple[torch.Tensor, torch.Tensor]:
    """(A, known): hole values = A @ band values, band values = window.flatten()[known].

    The window is the hole plus ``BAND`` pixels on each side; each hole pixel's equation is the stencil
    centred on it, hole terms on the left, known terms moved to the right. The left side is a principal
    block of the squared Laplacian, symmetric positive definite, so Cholesky solves it (in float64: the
    system's condition number is about 1e7).
    """
    side = HOLE + 2 * BAND
    inside = torch.zeros(side, side, dtype=torch.bool)
    inside[BAND:-BAND, BAND:-BAND] = True
    known = (~inside).flatten()
    hole_index = torch.full((side * side,), -1, dtype=torch.long)
    hole_index[inside.flatten()] = torch.arange(HOLE * HOLE)
    band_index = torch.full((side * side,), -1, dtype=torch.long)
    band_index[known] = torch.arange(int(known.sum()))
    rows, cols = torch.nonzero(inside, as_tuple=True)
    lhs = torch.zeros(HOLE * HOLE, HOLE * HOLE, dtype=torch.float64)
    rhs = torch.zeros(HOLE * HOLE, int(known.sum()), dtype=torch.float64)
    eq = torch.arange(HOLE * HOLE)
    for dr, dc, weight in STENCIL:
        flat = (rows + dr) * side + (cols + dc)
        in_hole = hole_index[flat] >= 0
        lhs[eq[in_hole], hole_index[flat[in_hole]]] += weight
        rhs[eq[~in_hole], band_index[flat[~in_hole]]] -= weight
    return torch.cholesky_solve(rhs, torch.linalg.cholesky(lhs)).float(), known


def biharmonic_centre(x: torch.Tensor) -> torch.Tensor:
    """``x`` (N x C x 128 x 128) with its central 64 x 64 replaced by the biharmonic fill of the band
    around it, clipped per channel to the range of the known pixels (as scikit-image clips); hidden
    values inside the hole are never read."""
    operator, known = _operator()
    window = x[:, :, LO - BAND : HI + BAND, LO - BAND : HI + BAND].flatten(2)
    fill = (window[:, :, known.to(x.device)].float() @ operator.to(x.device).T).view(*x.shape[:2], HOLE, HOLE)
    hidden = torch.zeros(x.shape[-2:], dtype=torch.bool, device=x.device)
    hidden[LO:HI, LO:HI] = True
    low = x.masked_fill(hidden, float("inf")).amin(dim=(-2, -1), keepdim=True)
    high = x.masked_fill(hidden, float("-inf")).amax(dim=(-2, -1), keepdim=True)
    out = x.clone()
    out[:, :, LO:HI, LO:HI] = torch.minimum(torch.maximum(fill.to(x.dtype), low), high)
    return out
