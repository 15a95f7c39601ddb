"""Per (model, mask, metric) statistics with a 95% confidence interval of the mean that respects where
the images came from.

Images cut from one photo (the ``samples`` crops, any crop-based split) are not independent samples:
two crops of one cat are more alike than two photos. When the dataset says which source each image
came from (``Dataset.source_of``, the ``source`` column of results.csv) and some source gave more than
one image, the interval is cluster-robust: the mean is still the mean over images, its standard error
the sandwich (CR1) estimate over sources, ``sqrt(G / (G - 1) * sum_g (sum_{i in g} (x_i - mean))^2) / n``
for G sources, and the quantile Student t with G - 1 degrees of freedom. With one image per source this
is exactly the usual t interval over images. ``unit`` in summary.csv says which (``image`` or
``source``) and ``n_sources`` how many sources the values came from; the interval of a mean over three
photos is wide, as it should be.

A set-level metric (fid, kid) has one value per (model, mask) instead: its row holds that value as
``mean``, the number of images it was computed over as ``n``, and NaN for std and the interval.

The t quantile is computed here (``t_quantile``, within 1e-12 of scipy's) rather than imported from
``scipy.stats``, whose import alone took 0.56 s of every run.
"""

from __future__ import annotations

import math
from functools import cache
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from .runner.scoring.sets import SetValues

SUMMARY_COLUMNS = [
    "model",
    "mask",
    "metric",
    "mean",
    "std",
    "ci95_low",
    "ci95_high",
    "n",
    "unit",
    "n_sources",
    "status",
    "held_out",
    "reference",
]
#: The terminal table's legend for its ± column.
PLUS_MINUS = (
    "± is the half-width of the 95% confidence interval of the mean (Student t over images, or over "
    "source photos where several images were cut from one)"
)


def mean_ci(
    values: np.ndarray, sources: np.ndarray | None = None
) -> tuple[float, float, float, float, int, str, int]:
    """Mean, sample std, the 95% interval of the mean, n, the interval's unit and the number of
    sources; NaN values (not computed) are left out. ``sources`` (one label per value; None: each
    value its own) makes the interval cluster-robust when some source holds several values."""
    keep = ~np.isnan(values)
    v = values[keep]
    n = len(v)
    labels = np.asarray(sources, dtype=object)[keep] if sources is not None else np.arange(n)
    groups = np.unique(labels.astype(str), return_inverse=True)[1] if n else np.zeros(0, int)
    n_sources = int(groups.max()) + 1 if n else 0
    unit = "source" if n_sources < n else "image"
    nan = float("nan")
    if n == 0:
        return nan, nan, nan, nan, 0, unit, 0
    mean = float(v.mean())
    std = float(v.std(ddof=1)) if n > 1 else nan
    if n_sources < 2:
        return mean, std, nan, nan, n, unit, n_sources
    if unit == "image":
        half = float(t_quantile(0.975, n - 1) * std / np.sqrt(n))
    else:
        residual_sums = np.bincount(groups, weights=v - mean)
        se = float(np.sqrt(n_sources / (n_sources - 1) * np.sum(residual_sums**2)) / n)
        half = float(t_quantile(0.975, n_sources - 1) * se)
    return mean, std, mean - half, mean + half, n, unit, n_sources


def summarize(
    results: pd.DataFrame,
    metrics: list[str],
    status: dict[tuple[str, str], str] | None = None,
    held_out: dict[str, bool] | None = None,
    set_values: SetValues | None = None,
    references: list[str] | None = None,
) -> pd.DataFrame:
    """One row per (model, mask, metric); ``status`` (complete or partial, per model and mask) and
    ``held_out`` (per model) default to complete and True, ``reference`` says whether the run added the
    model as a reference baseline. The metrics in ``set_values`` are set-level: their rows take the
    stored value and n (NaN and 0 where none was computed)."""
    status, held_out, set_values = status or {}, held_out or {}, set_values or {}
    references = set(references or [])
    nan = float("nan")
    rows = []
    for (model, mask), group in results.groupby(["model", "mask"], sort=False):
        flags = [status.get((model, mask), "complete"), held_out.get(model, True), model in references]
        for metric in metrics:
            if metric in set_values:
                value, n = set_values[metric].get((model, mask), (nan, 0))
                stats = (value, nan, nan, nan, n, "image", n)
            else:
                sources = group["source"].to_numpy() if "source" in group else None
                stats = mean_ci(group[metric].to_numpy(dtype=float), sources)
            rows.append([model, mask, metric, *stats, *flags])
    import pandas as pd

    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def format_table(
    summary: pd.DataFrame,
    metrics: list[str],
    notes: dict[tuple[str, str], str] | None = None,
    footer: list[str] | None = None,
) -> str:
    """A plain-text table for the terminal: mean ± CI half-width per metric (the value alone for a
    set-level metric), a note per row that is partial or not held-out, the legend of ±, then ``footer``."""
    notes = notes or {}
    header = ["model", "mask", *metrics, "n", "note"]
    lines = []
    for (model, mask), group in summary.groupby(["model", "mask"], sort=False):
        cells = [model, mask]
        by_metric = group.set_index("metric")
        for metric in metrics:
            r = by_metric.loc[metric]
            if r["n"] == 0 or np.isnan(r["mean"]):  # a set-level value is NaN below 2 images
                cells.append("-")
            elif np.isnan(r["ci95_high"]):
                cells.append(f"{r['mean']:.4f}")
            else:
                cells.append(f"{r['mean']:.4f} ±{(r['ci95_high'] - r['ci95_low']) / 2:.4f}")
        cells.append(str(int(group["n"].max())))
        cells.append(notes.get((model, mask), ""))
        lines.append(cells)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    table = [fmt.format(*header), fmt.format(*("-" * w for w in widths))] + [fmt.format(*c) for c in lines]
    return "\n".join([line.rstrip() for line in table] + [PLUS_MINUS, *(footer or [])])


#: From this many degrees of freedom on, the Cornish-Fisher series is exact to double precision.
SERIES_FROM = 1000


@cache
def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile (0.5 < p < 1) of Student's t with ``df`` degrees of freedom: exact for 1 and 2,
    Newton's method on the distribution function below ``SERIES_FROM``, the Cornish-Fisher series from
    there (its first omitted term is below 1e-15 there)."""
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    z = NormalDist().inv_cdf(p)
    terms = (
        (z**3 + z) / 4,
        (5 * z**5 + 16 * z**3 + 3 * z) / 96,
        (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384,
        (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160,
    )
    t = z + sum(term / df ** (i + 1) for i, term in enumerate(terms))
    if df >= SERIES_FROM:
        return t
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    for _ in range(50):
        density = math.exp(log_norm - (df + 1) / 2 * math.log1p(t * t / df))
        step = (_t_upper_tail(t, df) - (1 - p)) / density
        t += step
        if abs(step) <= 1e-15 * abs(t):
            break
    return t


def _t_upper_tail(t: float, df: int) -> float:
    """P(T > t) for t >= 0: half the regularised incomplete beta I_x(df/2, 1/2) at x = df / (df + t^2)."""
    return 0.5 * _incomplete_beta(df / 2, 0.5, df / (df + t * t))


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function by its continued fraction (Numerical Recipes 6.4)."""
    if x <= 0.0 or x >= 1.0:
        return 0.0 if x <= 0.0 else 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    tiny = 1e-300

    def guard(v: float) -> float:
        return v if abs(v) > tiny else tiny

    c, d = 1.0, 1.0 / guard(1.0 - (a + b) * x / (a + 1))
    h = d
    for m in range(1, 1000):
        even = m * (b - m) * x / ((a - 1 + 2 * m) * (a + 2 * m))
        d = 1.0 / guard(1.0 + even * d)
        c = guard(1.0 + even / c)
        h *= d * c
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 1 + 2 * m))
        d = 1.0 / guard(1.0 + odd * d)
        c = guard(1.0 + odd / c)
        h *= d * c
        if abs(d * c - 1.0) < 1e-16:
            break
    return h
