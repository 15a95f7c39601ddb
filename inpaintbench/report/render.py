"""Turning loaded runs into one index.html with a jinja2 template that autoescapes everything."""

from __future__ import annotations

import base64
import hashlib
import math
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
from markupsafe import Markup

from ..files import layout
from ..files.atomic import write_text
from ..status import COMPLETE, FAILED, PARTIAL
from . import fmt, svg
from .folder import ReportFolder
from .images import Assets
from .runs import RunSet, load_runs
from .stats import N_BUCKETS, bucket_label
from .tables import (
    breakdowns,
    bucket_counts,
    choose_reference,
    leaderboards,
    paired_tables,
    regime_hole_ratios,
)
from .visuals import GRID_IMAGES, Visuals

#: Bins of the hole-ratio histogram on the masks section (2% wide).
HISTOGRAM_EDGES = [i / 50 for i in range(51)]


def _data_value(value: float | None) -> str:
    """A cell's sort key as JavaScript's parseFloat reads it; empty for a missing value."""
    if value is None or math.isnan(value):
        return ""
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(float(value))


def _json_number(value: float) -> float | str | None:
    """JSON has no NaN or infinity: missing becomes null, infinite the strings "inf"/"-inf"."""
    if math.isnan(value):
        return None
    return str(value) if math.isinf(value) else float(value)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("inpaintbench.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=fmt.number, signed=fmt.signed, pct=fmt.percent, datav=_data_value)
    env.tests["nan"] = lambda value: isinstance(value, float) and math.isnan(value)
    return env


def _static(name: str) -> str:
    return (resources.files("inpaintbench.report") / "static" / name).read_text(encoding="utf-8")


def _issues(runset: RunSet) -> dict[str, list[dict[str, Any]]]:
    """Skipped inputs, failed models, metrics not computed and metrics that failed, each tagged with its
    run folder."""
    issues: dict[str, list[dict[str, Any]]] = {
        "skipped_inputs": [],
        "failures": [],
        "metrics_not_computed": [],
        "metric_failures": [],
    }
    for run in runset.runs:
        for key, items in issues.items():
            items.extend({**item, "run": str(run.path)} for item in run.meta.get(key, []))
    return issues


def _machine_data(runset: RunSet, reference: str | None) -> dict[str, Any]:
    """The leaderboard numbers embedded as JSON, for tools that read the page."""
    summary = runset.summary
    return {
        "models": runset.models,
        "regimes": runset.regimes,
        "metrics": runset.metrics,
        "reference": reference,
        "status": {model: s.status for model, s in runset.status.items()},
        "summary": [
            {
                "model": row.model,
                "mask": row.mask,
                "metric": row.metric,
                **{k: _json_number(getattr(row, k)) for k in ("mean", "std", "ci95_low", "ci95_high")},
                "n": None if math.isnan(row.n) else int(row.n),
            }
            for row in summary.itertuples(index=False)
        ],
    }


def _masks(runset: RunSet, visuals: Visuals, grids: list) -> list[dict[str, Any]]:
    examples = visuals.mask_examples(grids)
    sections = []
    for regime, ratios in regime_hole_ratios(runset).items():
        counts = np.histogram(np.clip(ratios, 0, 1), bins=HISTOGRAM_EDGES)[0].tolist()
        sections.append(
            {
                "regime": regime,
                "n": len(ratios),
                "mean": float(ratios.mean()),
                "min": float(ratios.min()),
                "max": float(ratios.max()),
                "buckets": bucket_counts(ratios),
                "histogram": svg.histogram(f"hole ratios of {regime}", counts, HISTOGRAM_EDGES, "hole ratio"),
                "examples": examples.get(regime, []),
                "component": runset.component("mask", regime),
            }
        )
    return sections


def render(
    run_dirs: list[Path],
    out_dir: Path,
    *,
    self_contained: bool = False,
    reference: str | None = None,
    own_run: bool = False,
) -> Path:
    """Render one report from one or several run folders into ``out_dir/index.html``; returns its path.

    Images go to ``out_dir/assets/`` as small PNGs, or inline as data: URIs with ``self_contained``.
    ``out_dir`` must be new, empty or an earlier report's (``folder.py``), or, with ``own_run``, the run
    folder of the one run reported.
    """
    runset = load_runs([Path(d) for d in run_dirs])
    reference = choose_reference(runset, reference)
    folder = ReportFolder(Path(out_dir), own_run)
    out_dir = folder.path
    assets = Assets(out_dir, inline=self_contained)
    visuals = Visuals(runset, assets)
    colours = {model: svg.colour(i) for i, model in enumerate(runset.models)}
    saved_images = any((run.path / layout.IMAGES_DIR).is_dir() for run in runset.runs)  # not --no-images
    grids = visuals.grids() if saved_images else []
    script = _static("report.js")
    metrics = [
        {
            "name": m,
            "higher": runset.higher_is_better(m),
            "description": runset.metric_info.get(m, {}).get("description", ""),
        }
        for m in runset.metrics
    ]
    context = {
        "runset": runset,
        "runs": runset.runs,
        "first": runset.runs[0].meta,
        "reference": reference,
        "colours": colours,
        "tally": {k: sum(s.status == k for s in runset.status.values()) for k in (COMPLETE, PARTIAL, FAILED)},
        "model_components": {m: runset.component("model", m) for m in runset.status},
        "metrics": metrics,
        "image_metrics": [m for m in metrics if m["name"] in runset.image_metrics],
        "leaderboards": leaderboards(runset),
        "breakdowns": breakdowns(runset, colours),
        "paired": paired_tables(runset, reference),
        "n_images": runset.results["image"].nunique(),
        "n_sources": runset.results["source"].nunique(),
        "float_scores": any(run.meta.get("config", {}).get("float_scores") is True for run in runset.runs),
        "grids": grids,
        "grid_images": GRID_IMAGES,
        "galleries": visuals.galleries() if saved_images else [],
        "masks": _masks(runset, visuals, grids),
        "bucket_labels": [bucket_label(b) for b in range(N_BUCKETS)],
        "issues": _issues(runset),
        "data": _machine_data(runset, reference),
        "css": Markup(_static("report.css")),
        "script": Markup(script),
        "script_hash": base64.b64encode(hashlib.sha256(script.encode()).digest()).decode(),
    }
    path = out_dir / layout.INDEX_HTML
    write_text(path, _environment().get_template("report.html").render(context))
    folder.finish([layout.INDEX_HTML, *assets.written])
    return path
