"""Pixel-error metrics: PSNR over the whole image, and L1 / L2 / PSNR over the hole only.

Conventions (all on the [0, 1] scale, data range 1, composited images):

- PSNR cap: identical images have infinite PSNR, which makes every mean over images infinite. The
  MSE is therefore floored at 1e-10, so PSNR never exceeds ``PSNR_CAP_DB`` = 100 dB and means stay
  finite. Only near-identical images reach it: one 8-bit level (1/255) in one channel of one pixel
  scores 95 dB at 128x128 and 101 dB (so 100 after capping) at 256x256.
- Hole metrics average over hole pixels (mask > 0.5) and all three channels. ``l1_hole`` and
  ``l2_hole`` are the Context Encoder paper's "mean L1 / L2 loss" as fractions (the paper's 9.37% is
  0.0937 here); mmagic's "L1 error" is ``l1_hole`` x 100.
- An image whose mask has no hole pixel gets NaN from every hole metric: there is nothing to score,
  and NaN keeps it out of nan-aware means instead of pretending it scored perfectly.

Sums run in float64 (float32 on Apple's MPS, which has no float64).

``psnr:edgeconnect`` is EdgeConnect's ``scripts/metrics.py`` convention, reused by many inpainting
papers: ``compare_psnr(rgb2gray(a), rgb2gray(b), data_range=1)``, the PSNR of scikit-image's
greyscale (``GREY_WEIGHTS``). mmagic's ``PSNR()`` (on [0, 255], peak 255, no border crop, no Y) is
the default ``psnr`` exactly, except that identical images give infinity there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ..components import Metric
from ..errors import InpaintbenchError
from .chunking import per_image

if TYPE_CHECKING:
    import torch

PSNR_CAP_DB = 100.0
MSE_FLOOR = 10.0 ** (-PSNR_CAP_DB / 10.0)
WIDE_PLANES = 2  # float64 temporaries: each twice a float32 image's size
#: scikit-image's ``rgb2gray`` weights (ITU-R BT.709 luma), for the EdgeConnect profiles.
GREY_WEIGHTS = (0.2125, 0.7154, 0.0721)


def accumulation_dtype(device: torch.device) -> torch.dtype:
    """float64 for per-image sums wherever the device supports it."""
    import torch

    return torch.float32 if device.type == "mps" else torch.float64


def psnr_from_mse(mse: torch.Tensor) -> torch.Tensor:
    """PSNR in dB for data range 1, capped at ``PSNR_CAP_DB``; NaN stays NaN."""
    return -10.0 * mse.clamp_min(MSE_FLOOR).log10()


def hole_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of N x C x H x W ``values`` over hole pixels and channels; NaN for an empty hole (0 / 0)."""
    hole = (mask > 0.5).to(values.dtype)
    return (values * hole).sum((1, 2, 3)) / (hole.sum((1, 2, 3)) * values.shape[1])


def _difference(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return pred.to(accumulation_dtype(pred.device)) - target.to(accumulation_dtype(target.device))


def _psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return psnr_from_mse(_difference(pred, target).square().mean((1, 2, 3)))


def grey(images: torch.Tensor) -> torch.Tensor:
    """N x 3 x H x W -> N x 1 x H x W with ``GREY_WEIGHTS``, in the images' dtype."""
    import torch

    weights = torch.tensor(GREY_WEIGHTS, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images * weights).sum(1, keepdim=True)


def _psnr_grey(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return psnr_from_mse(grey(_difference(pred, target)).square().mean((1, 2, 3)))


def _psnr_hole(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return psnr_from_mse(hole_mean(_difference(pred, target).square(), mask))


def _l1_hole(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return hole_mean(_difference(pred, target).abs(), mask)


def _l2_hole(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return hole_mean(_difference(pred, target).square(), mask)


class PSNR(Metric):
    name = "psnr"
    description = "PSNR over the full image, data range 1, cap 100 dB (higher is better)"
    argument = "convention profile: edgeconnect (greyscale, EdgeConnect's metrics.py)"
    higher_is_better: ClassVar[bool] = True

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        if arg not in (None, "edgeconnect"):
            raise InpaintbenchError(f"metric 'psnr:{arg}': unknown profile (known: edgeconnect)")

    def compute(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return per_image(_psnr if self.arg is None else _psnr_grey, pred, target, planes=WIDE_PLANES)


class PSNRHole(Metric):
    name = "psnr_hole"
    description = "PSNR over hole pixels only, data range 1, cap 100 dB, NaN if no hole (higher is better)"
    higher_is_better: ClassVar[bool] = True

    def compute(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return per_image(_psnr_hole, pred, target, mask, planes=WIDE_PLANES)


class L1Hole(Metric):
    name = "l1_hole"
    description = "Mean absolute error over hole pixels on [0,1], Context Encoder's L1 (lower is better)"
    higher_is_better: ClassVar[bool] = False

    def compute(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return per_image(_l1_hole, pred, target, mask, planes=WIDE_PLANES)


class L2Hole(Metric):
    name = "l2_hole"
    description = "Mean squared error over hole pixels on [0,1], Context Encoder's L2 (lower is better)"
    higher_is_better: ClassVar[bool] = False

    def compute(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return per_image(_l2_hole, pred, target, mask, planes=WIDE_PLANES)
