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
    values: np.ndarray,
    *,
    seed: int,
    sources: np.ndarray | None = None,
    n_boot: int = 2000,
    level: float = 0.95,
    max_elements: int = 4_000_000,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean, drawn in chunks so memory stays bounded.

    With ``sources`` (one label per value) whole sources are resampled, each with all its values (a
    cluster bootstrap): crops of one photo are not independent pairs. Without, every value is its own
    source, and the draws are ``default_rng(seed).integers(0, n, size=(n_boot, n))`` row by row;
    chunking does not change them, so a direct computation with one big draw gives the same interval.
    """
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n == 0:
        return float("nan"), float("nan")
    groups = np.arange(n) if sources is None else _in_order_of_appearance(np.asarray(sources).astype(str))
    count = int(groups.max()) + 1
    sums = np.bincount(groups, weights=values, minlength=count)
    sizes = np.bincount(groups, minlength=count).astype(float)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    rows = max(1, max_elements // count)
    for start in range(0, n_boot, rows):
        stop = min(n_boot, start + rows)
        drawn = rng.integers(0, count, size=(stop - start, count))
        means[start:stop] = sums[drawn].sum(axis=1) / sizes[drawn].sum(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def _in_order_of_appearance(labels: np.ndarray) -> np.ndarray:
    """Group numbers 0..G-1 by first appearance, so distinct labels in order give 0, 1, 2, ... and the
    draws over them are the draws over the values themselves."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    return np.argsort(np.argsort(first))[inverse]


@dataclass
class Paired:
    """One model against the reference on the pairs both have a value for."""

    n: int  # pairs where both values exist
    win_rate: float | None  # share of pairs where the model is better, ties counting half
    n_finite: int  # pairs with a finite difference (PSNR of a perfect fill is infinite)
    mean_diff: float  # model minus reference
    ci_low: float
    ci_high: float
    win_low: float = float("nan")  # the win rate's bootstrap interval (same resampling)
    win_high: float = float("nan")
    n_sources: int = 0  # the sources resampled (= n when each image is its own)


def paired_comparison(
    model: np.ndarray,
    reference: np.ndarray,
    higher_is_better: bool | None,
    *,
    seed: int,
    sources: np.ndarray | None = None,
) -> Paired:
    """The model against the reference pair by pair; the intervals resample ``sources`` (the photo
    each pair's image was cut from; None: each pair its own)."""
    model, reference = np.asarray(model, dtype=float), np.asarray(reference, dtype=float)
    labels = np.arange(len(model)).astype(str) if sources is None else np.asarray(sources).astype(str)
    both = ~np.isnan(model) & ~np.isnan(reference)
    model, reference, labels = model[both], reference[both], labels[both]
    win_rate, win_low, win_high = None, float("nan"), float("nan")
    if higher_is_better is not None and len(model):
        better = model > reference if higher_is_better else model < reference
        wins = better + 0.5 * (model == reference)
        win_rate = float(wins.mean())
        win_low, win_high = bootstrap_mean_ci(wins, seed=seed + 1, sources=labels)
    with np.errstate(invalid="ignore"):
        diff = model - reference
    finite = np.isfinite(diff)
    diff = diff[finite]
    mean_diff = float(diff.mean()) if len(diff) else float("nan")
    low, high = bootstrap_mean_ci(diff, seed=seed, sources=labels[finite] if sources is not None else None)
    return Paired(len(model), win_rate, len(diff), mean_diff, low, high, win_low, win_high, len(set(labels)))
