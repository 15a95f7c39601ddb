"""Hole-ratio buckets and paired comparisons between models on identical (image, mask) pairs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Bucket edges k/10; each bucket is half-open [k/10, (k+1)/10), the last one also holds 1.0.
BUCKET_EDGES = np.arange(11) / 10
N_BUCKETS = len(BUCKET_EDGES) - 1


def hole_ratio_bucket(ratio: np.ndarray) -> np.ndarray:
    """Bucket index 0..9; a ratio of exactly 0.1 falls in [0.1, 0.2), as the intervals say."""
    index = np.searchsorted(BUCKET_EDGES, np.asarray(ratio, dtype=float), side="right") - 1
    return np.clip(index, 0, N_BUCKETS - 1)


def bucket_label(index: int) -> str:
    low, high = int(BUCKET_EDGES[index] * 100), int(BUCKET_EDGES[index + 1] * 100)
    return f"[{low}, {high}%{']' if index == N_BUCKETS - 1 else ')'}"


def bootstrap_mean_ci(
    values: np.ndarray, *, seed: int, n_boot: int = 2000, level: float = 0.95, max_elements: int = 4_000_000
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean, drawn in chunks so memory stays bounded.

    The draws are ``default_rng(seed).integers(0, n, size=(n_boot, n))`` row by row; chunking does not
    change them, so a direct computation with one big draw gives the same interval.
    """
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    rows = max(1, max_elements // n)
    for start in range(0, n_boot, rows):
        stop = min(n_boot, start + rows)
        means[start:stop] = values[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


@dataclass
class Paired:
    """One model against the reference on the pairs both have a value for."""

    n: int  # pairs where both values exist
    win_rate: float | None  # share of pairs where the model is better, ties counting half
    n_finite: int  # pairs with a finite difference (PSNR of a perfect fill is infinite)
    mean_diff: float  # model minus reference
    ci_low: float
    ci_high: float


def paired_comparison(
    model: np.ndarray, reference: np.ndarray, higher_is_better: bool | None, *, seed: int
) -> Paired:
    model, reference = np.asarray(model, dtype=float), np.asarray(reference, dtype=float)
    both = ~np.isnan(model) & ~np.isnan(reference)
    model, reference = model[both], reference[both]
    win_rate = None
    if higher_is_better is not None and len(model):
        better = model > reference if higher_is_better else model < reference
        win_rate = float((better.sum() + 0.5 * (model == reference).sum()) / len(model))
    with np.errstate(invalid="ignore"):
        diff = model - reference
    diff = diff[np.isfinite(diff)]
    mean_diff = float(diff.mean()) if len(diff) else float("nan")
    low, high = bootstrap_mean_ci(diff, seed=seed)
    return Paired(len(model), win_rate, len(diff), mean_diff, low, high)
