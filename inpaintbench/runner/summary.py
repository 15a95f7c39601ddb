"""Per (model, mask, metric) statistics with a Student-t 95% confidence interval of the mean.

A set-level metric (fid, kid) has one value per (model, mask) instead: its row holds that value as
``mean``, the number of images it was computed over as ``n``, and NaN for std and the interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .sets import SetValues

SUMMARY_COLUMNS = [
    "model",
    "mask",
    "metric",
    "mean",
    "std",
    "ci95_low",
    "ci95_high",
    "n",
    "status",
    "held_out",
    "reference",
]
#: The terminal table's legend for its ± column.
PLUS_MINUS = "± is the half-width of the 95% confidence interval of the mean (Student t over images)"


def mean_ci(values: np.ndarray) -> tuple[float, float, float, float, int]:
    """Mean, sample std, and the 95% t-interval of the mean; NaN values (not computed) are left out."""
    v = values[~np.isnan(values)]
    n = len(v)
    if n == 0:
        return (float("nan"),) * 4 + (0,)
    mean = float(v.mean())
    if n == 1:
        return mean, float("nan"), float("nan"), float("nan"), 1
    std = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1) * std / np.sqrt(n))
    return mean, std, mean - half, mean + half, n


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
                stats = (value, nan, nan, nan, n)
            else:
                stats = mean_ci(group[metric].to_numpy(dtype=float))
            rows.append([model, mask, metric, *stats, *flags])
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
