"""FID and KID of a model's composited predictions against the ground truth, by torch-fidelity's own code.

Both read the pool3 features of ``inception`` (extracted once per image, shared) and are computed once
per (model, regime) over all of that model's images there, against the ground truth of the same images.

- FID: ``fid_features_to_statistics`` (mean and covariance) and ``fid_statistics_to_metric`` (the
  trace of the covariances' product's square root from its eigenvalues). Below 2,048 images the
  covariances are rank-deficient and FID is strongly biased upwards, so such a value carries a warning.
- KID: ``kid_features_to_metric`` with the library's defaults (cubic polynomial kernel, 100 subsets of
  1,000 images, rng seed 2020), the subset size capped at n; the value is the mean over the subsets.

Either is NaN below 2 images.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from .inception import InceptionSetMetric

#: Below this many images FID is strongly biased (the pool3 covariance has 2,048 dimensions).
FID_MIN_IMAGES = 2048


def _tensor(features: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(features))


class FID(InceptionSetMetric):
    name = "fid"
    description = "FID of the set, torch-fidelity Inception-v3 pool3, vs the ground truth (lower is better)"
    label: ClassVar[str] = "FID"

    def compute_set(self, pred: np.ndarray, real: np.ndarray) -> float:
        from torch_fidelity.metric_fid import (
            KEY_METRIC_FID,
            fid_features_to_statistics,
            fid_statistics_to_metric,
        )

        if min(len(pred), len(real)) < 2:
            return math.nan
        stats = [fid_features_to_statistics(_tensor(f)) for f in (pred, real)]
        return fid_statistics_to_metric(*stats, verbose=False)[KEY_METRIC_FID]

    def conventions(self) -> dict[str, Any]:
        return super().conventions() | {
            "statistic": "Frechet distance of Gaussians fitted to the two sets' features "
            "(torch-fidelity fid_statistics_to_metric)",
        }

    def caveats(self, n: int) -> list[str]:
        if n >= FID_MIN_IMAGES:
            return super().caveats(n)
        bias = (
            f"n = {n} < {FID_MIN_IMAGES:,} images: FID is strongly biased at this size; compare equal n only"
        )
        return [*super().caveats(n), bias]


class KID(InceptionSetMetric):
    name = "kid"
    description = "KID of the set, torch-fidelity Inception-v3 pool3, vs the ground truth (lower is better)"
    label: ClassVar[str] = "KID"

    def compute_set(self, pred: np.ndarray, real: np.ndarray) -> float:
        from torch_fidelity.defaults import DEFAULTS
        from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, kid_features_to_metric

        size = min(DEFAULTS["kid_subset_size"], len(pred), len(real))
        if size < 2:
            return math.nan
        kid = kid_features_to_metric(_tensor(pred), _tensor(real), kid_subset_size=size, verbose=False)
        return kid[KEY_METRIC_KID_MEAN]

    def conventions(self) -> dict[str, Any]:
        from torch_fidelity.defaults import DEFAULTS

        return super().conventions() | {
            "subsets": DEFAULTS["kid_subsets"],
            "subset_size": f"min({DEFAULTS['kid_subset_size']}, n)",
            "kernel": f"{DEFAULTS['kid_kernel']}, degree {DEFAULTS['kid_kernel_poly_degree']}, gamma 1/2048, "
            f"coef0 {DEFAULTS['kid_kernel_poly_coef0']}",
            "rng_seed": DEFAULTS["rng_seed"],
            "statistic": "the mean over the subsets of the unbiased MMD^2 estimate "
            "(torch-fidelity kid_features_to_metric)",
        }
