"""The numeric sections of the report: leaderboards, the hole-ratio breakdown, paired comparisons."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InpaintbenchError
from ..seeding import stable_seed
from ..status import COMPLETE
from . import svg
from .runs import Coverage, RunSet
from .stats import BUCKET_EDGES, N_BUCKETS, Paired, bucket_label, hole_ratio_bucket, paired_comparison

#: Baselines that make a neutral default reference, in order of preference.
BASELINES = ("mean_fill", "biharmonic")


@dataclass
class Cell:
    mean: float
    low: float = math.nan
    high: float = math.nan
    n: int = 0
    std: float = math.nan
    best: bool = False


@dataclass
class Row:
    model: str
    cells: list[Cell]
    coverage: Coverage

    @property
    def n(self) -> int:
        return self.coverage.rows


@dataclass
class Leaderboard:
    regime: str
    rows: list[Row]


def _mark_best(rows: list[Row], metrics: list[str], runset: RunSet) -> None:
    """Only complete rows compete: a mean over the images a model got through before failing is no match."""
    rows = [row for row in rows if row.coverage.status == COMPLETE]
    for column, metric in enumerate(metrics):
        higher = runset.higher_is_better(metric)
        means = np.array([row.cells[column].mean for row in rows], dtype=float)
        if higher is None or np.isnan(means).all():
            continue
        best = np.nanmax(means) if higher else np.nanmin(means)
        for row, mean in zip(rows, means, strict=True):
            row.cells[column].best = bool(mean == best)


def leaderboards(runset: RunSet) -> list[Leaderboard]:
    """Per regime, every model's mean, 95% interval and n per metric, as summary.csv has them (a set-level
    metric's one value, without interval); partial models below the complete ones, each group in the order
    the models were asked for."""
    summary = runset.summary.set_index(["model", "mask", "metric"])
    boards = []
    for regime in runset.regimes:
        rows = []
        for model in runset.models:
            coverage = runset.status[model].regimes.get(regime)
            if coverage is None or not coverage.rows:
                continue
            cells = []
            for metric in runset.metrics:
                if (model, regime, metric) in summary.index:
                    s = summary.loc[(model, regime, metric)]
                    cells.append(Cell(s["mean"], s["ci95_low"], s["ci95_high"], int(s["n"]), s["std"]))
                else:
                    cells.append(Cell(math.nan))
            rows.append(Row(model, cells, coverage))
        rows.sort(key=lambda row: row.coverage.status != COMPLETE)
        _mark_best(rows, runset.metrics, runset)
        boards.append(Leaderboard(regime, rows))
    return boards


@dataclass
class BucketRow:
    label: str
    n: int  # images in the bucket (the most any model has)
    cells: list[Cell]  # one per model


@dataclass
class Breakdown:
    metric: str
    rows: list[BucketRow]
    chart: str | None


@dataclass
class Breakdowns:
    regimes: list[str]  # the regimes pooled: those every model was evaluated on
    tables: list[Breakdown] = field(default_factory=list)


def breakdowns(runset: RunSet, colours: dict[str, str]) -> Breakdowns:
    """Mean and std per 10% hole-ratio bucket, pooled over the regimes all models share."""
    evaluated = set(zip(runset.results["model"], runset.results["mask"], strict=True))
    shared = [r for r in runset.regimes if all((m, r) in evaluated for m in runset.models)]
    result = Breakdowns(shared)
    frame = runset.results[runset.results["mask"].isin(shared)]
    if frame.empty:
        return result
    frame = frame.assign(bucket=hole_ratio_bucket(frame["hole_ratio"].to_numpy()))
    present = sorted(frame["bucket"].unique())
    for metric in runset.image_metrics:
        stats = frame.groupby(["bucket", "model"])[metric].agg(["mean", "std", "count"])
        rows = []
        for bucket in present:
            cells = []
            for model in runset.models:
                if (bucket, model) in stats.index and stats.loc[(bucket, model), "count"]:
                    s = stats.loc[(bucket, model)]
                    cells.append(Cell(s["mean"], n=int(s["count"]), std=s["std"]))
                else:
                    cells.append(Cell(math.nan))
            rows.append(BucketRow(bucket_label(bucket), max(c.n for c in cells), cells))
        chart = None
        if len(present) > 1:
            series = [
                svg.Series(model, colours[model], [row.cells[i].mean for row in rows])
                for i, model in enumerate(runset.models)
            ]
            ticks = [f"{BUCKET_EDGES[b] * 100:.0f}–{BUCKET_EDGES[b + 1] * 100:.0f}" for b in present]
            chart = svg.line_chart(f"{metric} by hole ratio", ticks, series, f"hole ratio (%); mean {metric}")
        result.tables.append(Breakdown(metric, rows, chart))
    return result


def choose_reference(runset: RunSet, requested: str | None) -> str | None:
    """The requested model, else the first complete baseline, else the first complete model (None: none is
    complete). Only a model with every image of every regime is a fair yardstick for the others."""
    complete = [m for m in runset.models if runset.complete(m)]
    if requested is not None:
        if requested not in runset.status:
            raise InpaintbenchError(
                f"--reference: model {requested!r} is not in the runs (models: {', '.join(runset.models)})"
            )
        status = runset.status[requested]
        if status.status != COMPLETE:
            raise InpaintbenchError(
                f"--reference: model {requested!r} is {status.status} ({status.shortfall}); "
                f"complete models: {', '.join(complete) or 'none'}"
            )
        return requested
    return next((m for m in BASELINES if m in complete), next(iter(complete), None))


@dataclass
class PairedRow:
    model: str
    cells: list[Paired | None]  # per metric
    coverage: Coverage


@dataclass
class PairedTable:
    regime: str
    rows: list[PairedRow]


def paired_tables(runset: RunSet, reference: str | None) -> list[PairedTable]:
    """Each model against the reference on the identical (image, mask) pairs, per regime and per-image
    metric (a set-level value has no pairs)."""
    results = runset.results
    seed = runset.runs[0].identity["seed"]
    tables = []
    for regime in runset.regimes:
        in_regime = results[results["mask"] == regime]
        ref = in_regime.loc[in_regime["model"] == reference, ["image", "source", *runset.image_metrics]]
        if ref.empty:
            continue
        rows = []
        for model in runset.models:
            if model == reference:
                continue
            other = in_regime.loc[in_regime["model"] == model, ["image", *runset.image_metrics]]
            if other.empty:
                continue
            joined = other.merge(ref, on="image", suffixes=("", "_ref"))
            cells: list[Paired | None] = []
            for metric in runset.image_metrics:
                cells.append(
                    paired_comparison(
                        joined[metric].to_numpy(dtype=float),
                        joined[f"{metric}_ref"].to_numpy(dtype=float),
                        runset.higher_is_better(metric),
                        seed=stable_seed(seed, "paired", model, reference, regime, metric),
                        sources=joined["source"].to_numpy(),
                    )
                )
            rows.append(PairedRow(model, cells, runset.status[model].regimes[regime]))
        if rows:
            tables.append(PairedTable(regime, rows))
    return tables


def regime_hole_ratios(runset: RunSet) -> dict[str, np.ndarray]:
    """One hole ratio per (regime, image): every model sees the same mask."""
    unique = runset.results.drop_duplicates(["mask", "image"])
    return {r: unique.loc[unique["mask"] == r, "hole_ratio"].to_numpy(dtype=float) for r in runset.regimes}


def bucket_counts(ratios: np.ndarray) -> list[int]:
    return np.bincount(hole_ratio_bucket(ratios), minlength=N_BUCKETS).tolist()
