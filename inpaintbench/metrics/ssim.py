"""SSIM computed in batches with torch, equal to scikit-image's reference settings.

Matches ``skimage.metrics.structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=1, channel_axis=-1)``: a Gaussian window (sigma 1.5,
truncated at 3.5 sigma, so 11 taps), K1 = 0.01, K2 = 0.03, population covariance, and the mean of
the SSIM map over each RGB channel, then over the channels. skimage filters with reflected borders
and then crops 5 pixels on each side, which is exactly a 'valid' filter, so no padding is needed.

Why shifted sums instead of ``conv2d``: cuDNN runs float32 convolutions in TF32 by default (about
1e-3 relative error), whereas multiply-adds of shifted views are plain float32 on every device and,
with the batch cut into cache-sized chunks, close to oneDNN's depthwise convolution on the CPU.
Why float32: on real photos (noisy, blurred, 8-bit quantised, hole-filled) it stayed within 7e-7 of
skimage's float64 result, and it ran about 2x faster than float64 here (1.0 vs 2.0 ms per 128 px
image on 2 CPU cores). The per-image mean is accumulated in float64.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar

from ..components import Metric
from ..errors import InpaintbenchError
from .chunking import per_image
from .pixel import accumulation_dtype

if TYPE_CHECKING:
    import torch

SIGMA = 1.5
TRUNCATE = 3.5
K1, K2 = 0.01, 0.03
RADIUS = int(TRUNCATE * SIGMA + 0.5)  # skimage's and scipy's rule: 5, so a window of 11


def gaussian_taps() -> list[float]:
    """scipy.ndimage's normalised 1-D Gaussian weights, computed in double precision."""
    weights = [math.exp(-0.5 * (i / SIGMA) ** 2) for i in range(-RADIUS, RADIUS + 1)]
    total = sum(weights)
    return [w / total for w in weights]


TAPS = gaussian_taps()


def _correlate_valid(x: torch.Tensor, taps: list[float], dim: int) -> torch.Tensor:
    """1-D correlation along ``dim`` keeping only positions where the window fits."""
    n = x.shape[dim] - len(taps) + 1
    out = x.narrow(dim, 0, n) * taps[0]
    for offset, tap in enumerate(taps[1:], start=1):
        out.add_(x.narrow(dim, offset, n), alpha=tap)
    return out


def _ssim_chunk(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM of n x C x H x W images, in float32."""
    import torch

    a, b = a.float(), b.float()
    c = a.shape[1]
    moments = torch.cat([a, b, a * a, b * b, a * b], dim=1)
    blurred = _correlate_valid(_correlate_valid(moments, TAPS, -1), TAPS, -2)
    mu_a, mu_b, aa, bb, ab = blurred.unflatten(1, (5, c)).unbind(1)
    var_a = aa - mu_a * mu_a
    var_b = bb - mu_b * mu_b
    cov = ab - mu_a * mu_b
    c1, c2 = K1**2, K2**2
    numerator = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    denominator = (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    ssim_map = numerator / denominator
    return ssim_map.to(accumulation_dtype(a.device)).mean((1, 2, 3))


def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """SSIM per image for N x C x H x W tensors in [0, 1] (data range 1), averaged over channels."""
    h, w = pred.shape[-2:]
    if min(h, w) < len(TAPS):
        raise InpaintbenchError(f"ssim needs images of at least {len(TAPS)}x{len(TAPS)} pixels, got {h}x{w}")
    return per_image(_ssim_chunk, pred, target, planes=5)  # the moment stack holds 5 images' worth


class SSIM(Metric):
    name = "ssim"
    description = "SSIM (skimage: Gaussian sigma 1.5, population cov, range 1), RGB mean (higher is better)"
    higher_is_better: ClassVar[bool] = True

    def compute(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return ssim(pred, target)
