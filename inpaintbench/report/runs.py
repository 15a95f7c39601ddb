"""Reading one or several run folders into one table, refusing runs that did not score the same pairs."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InpaintbenchError, one_line
from ..files import layout, lock
from ..files.run_json import read_run_json
from ..status import COMPLETE, overall, regime_status
from ..summary import summarize

#: results.csv columns that are not metrics.
KEY_COLUMNS = ("model", "mask", "image", "hole_ratio")
EXTRA_COLUMNS = ("source", "checkpoint")
SUMMARY_NUMERIC = ("mean", "std", "ci95_low", "ci95_high", "n")


@dataclass
class Run:
    """One run folder as written by the runner."""

    path: Path
    meta: dict[str, Any]
    results: pd.DataFrame
    summary: pd.DataFrame

    @property
    def identity(self) -> dict[str, Any]:
        """What two runs must share for their results to be paired image by image."""
        config = self.meta.get("config", {})
        return {
            "dataset fingerprint": self.meta.get("dataset", {}).get("fingerprint"),
            "image size": config.get("image_size"),
            "seed": config.get("seed"),
        }


@dataclass(frozen=True)
class Coverage:
    """How many of its run's images a model has rows for in one regime: fewer means it stopped early."""

    rows: int
    expected: int

    @property
    def status(self) -> str:
        return regime_status(self.rows, self.expected)

    @property
    def label(self) -> str:
        return f"{self.rows} of {self.expected} images"


@dataclass
class ModelStatus:
    """What became of one requested model, from the run that owns its rows (or first requested it)."""

    model: str
    regimes: dict[str, Coverage]  # the regimes that run asked for or has rows in
    failures: list[dict[str, Any]]  # that run's run.json failures for the model
    held_out: bool  # False: it was trained on the images it is tested on
    reference: bool = False  # added by the run as a reference baseline, not asked for
    labels: list[str] = field(default_factory=list)  # the model's own provenance labels

    @property
    def status(self) -> str:
        return overall(c.status for c in self.regimes.values())

    @property
    def shortfall(self) -> str:
        """The regimes it is short of images in, e.g. "center: 16 of 34 images"."""
        return ", ".join(f"{r}: {c.label}" for r, c in self.regimes.items() if c.status != COMPLETE)


@dataclass
class RunSet:
    """Several runs merged: each model's rows come from the first run that evaluated it."""

    runs: list[Run]
    results: pd.DataFrame  # KEY_COLUMNS + image_metrics + "run" (index into runs)
    summary: pd.DataFrame
    models: list[str]
    regimes: list[str]
    metrics: list[str]  # every metric with a value, per-image and set-level, in the order the runs name them
    metric_info: dict[str, dict[str, Any]]
    status: dict[str, ModelStatus]  # every requested model (and any with rows), in the order asked for
    notes: list[str] = field(default_factory=list)
    #: The set-level metrics (fid, kid: one value per model and regime, in summary.csv only) with the
    #: warnings their values carry (run.json's ``set_metrics``), over all runs.
    set_metrics: dict[str, list[str]] = field(default_factory=dict)

    @property
    def image_metrics(self) -> list[str]:
        """The per-image metrics: the only ones breakdowns, paired comparisons and galleries can use."""
        return [m for m in self.metrics if m not in self.set_metrics]

    def model_run(self, model: str) -> Run:
        return self.runs[int(self.results.loc[self.results["model"] == model, "run"].iloc[0])]

    def complete(self, model: str) -> bool:
        return self.status[model].status == COMPLETE

    def component(self, kind: str, name: str) -> dict[str, str]:
        """run.json's description and plugin of one component (kind "model", "mask", ...); {} when no run
        records it, as in runs written before run.json had "components"."""
        for run in self.runs:
            found = run.meta.get("components", {}).get(kind, {}).get(name)
            if found:
                return found
        return {}

    def higher_is_better(self, metric: str) -> bool | None:
        return self.metric_info.get(metric, {}).get("higher_is_better")


def _read_csv(path: Path, required: tuple[str, ...], key: tuple[str, ...]) -> pd.DataFrame:
    """Every column as text, so image ids such as "NA" or "1e3" stay as written. A file that is empty,
    not UTF-8 text, ragged, or holds a column or a ``key`` twice is refused by name: the runner never
    writes one."""
    if not path.is_file():
        raise InpaintbenchError(f"{path}: missing; is this a run folder written by `inpaintbench run`?")
    cure = f"write it again with: inpaintbench run --resume {path.parent}"
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            rows = [row for row in csv.reader(fh) if row]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InpaintbenchError(f"{path}: not a table inpaintbench wrote ({one_line(exc)}); {cure}") from None
    if not rows:
        raise InpaintbenchError(f"{path}: empty; {cure}")
    header = rows[0]
    ragged = next((n for n, row in enumerate(rows, 1) if len(row) != len(header)), None)
    if ragged is not None or len(set(header)) != len(header):
        where = f"line {ragged} has {len(rows[ragged - 1])} fields, not {len(header)}" if ragged else ""
        raise InpaintbenchError(f"{path}: ragged ({where or 'a column is named twice'}); {cure}")
    frame = pd.DataFrame(rows[1:], columns=header, dtype=str)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InpaintbenchError(f"{path}: missing column(s) {', '.join(missing)}; {cure}")
    repeated = frame.duplicated(list(key))
    if repeated.any():
        first = frame.loc[repeated, list(key)].iloc[0]
        raise InpaintbenchError(f"{path}: holds {', '.join(first)} twice; {cure}")
    return frame


def _to_numbers(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    for column in columns:
        try:
            frame[column] = pd.to_numeric(frame[column].replace("", np.nan))
        except ValueError as exc:
            raise InpaintbenchError(f"{path}: column {column!r} is not numeric ({exc})") from None


def _unfinished(run_dir: Path) -> str:
    """Why a run folder with run.json has no results.csv, and what to do about it."""
    writer = lock.writer(run_dir)
    if writer is not None:
        return f"{run_dir}: a run ({writer}) is writing this folder now; report it when that run finishes"
    return (
        f"{run_dir}: the run stopped before it finished (no {layout.RESULTS_CSV} yet); "
        f"finish it with: inpaintbench run --resume {run_dir}"
    )


def load_run(run_dir: Path) -> Run:
    run_dir = Path(run_dir)
    meta_path = run_dir / layout.RUN_JSON
    if not meta_path.is_file():
        raise InpaintbenchError(f"{meta_path}: missing; is this a run folder written by `inpaintbench run`?")
    meta = read_run_json(run_dir)
    results_path = run_dir / layout.RESULTS_CSV
    if not results_path.is_file():
        raise InpaintbenchError(_unfinished(run_dir))
    results = _read_csv(results_path, KEY_COLUMNS, ("model", "mask", "image"))
    metrics = [c for c in results.columns if c not in KEY_COLUMNS + EXTRA_COLUMNS]
    _to_numbers(results, ["hole_ratio", *metrics], results_path)
    if "source" not in results:  # a folder from before sources: each image its own
        results["source"] = results["image"]
    results["source"] = results["source"].astype(str)
    summary_path = run_dir / layout.SUMMARY_CSV
    stored = _read_csv(
        summary_path, ("model", "mask", "metric", *SUMMARY_NUMERIC), ("model", "mask", "metric")
    )
    _to_numbers(stored, list(SUMMARY_NUMERIC), summary_path)
    return Run(run_dir, meta, results, _rebuilt_summary(results, metrics, stored, meta))


def _rebuilt_summary(
    results: pd.DataFrame, metrics: list[str], stored: pd.DataFrame, meta: dict[str, Any]
) -> pd.DataFrame:
    """Every per-image metric's statistics recomputed from results.csv, so a stale, truncated or edited
    summary.csv cannot change what the report shows; only the set-level values (fid, kid: computed
    from features kept in the store, not in results.csv) are taken from summary.csv."""
    set_level = set(meta.get("set_metrics", {})) if isinstance(meta.get("set_metrics"), dict) else set()
    per_image = [m for m in metrics if m not in set_level]
    kept = stored[stored["metric"].isin(set_level)]
    return pd.concat([summarize(results, per_image), kept], ignore_index=True)


def _check_same_pairs(runs: list[Run]) -> None:
    first = runs[0]
    for run in runs[1:]:
        for key, value in run.identity.items():
            if value != first.identity[key]:
                raise InpaintbenchError(
                    f"{run.path}: {key} {value!r} differs from {first.path} ({first.identity[key]!r}); "
                    "a report only compares runs on the same images and masks"
                )


def _ordered_union(lists: list[list[str]]) -> list[str]:
    return list(dict.fromkeys(item for items in lists for item in items))


def _requested(run: Run) -> list[str]:
    return run.meta.get("config", {}).get("models", [])


def _model_status(model: str, run: Run) -> ModelStatus:
    """Rows per regime against the run's n_images, counted from results.csv so older runs work too."""
    expected = run.meta.get("dataset", {}).get("n_images") or run.results["image"].nunique()
    mine = run.results[run.results["model"] == model]
    entry = run.meta.get("models", {}).get(model, {})
    labels = entry.get("provenance", {}).get("labels", [])
    counts = mine["mask"].value_counts()
    regimes = _ordered_union([run.meta.get("config", {}).get("masks", []), list(mine["mask"].unique())])
    return ModelStatus(
        model,
        {r: Coverage(int(counts.get(r, 0)), int(expected)) for r in regimes},
        [f for f in run.meta.get("failures", []) if f.get("model") == model],
        entry.get("held_out", True) is not False,
        entry.get("reference", False) is True,
        [str(label) for label in labels] if isinstance(labels, list) else [],
    )


def load_runs(run_dirs: list[Path]) -> RunSet:
    if not run_dirs:
        raise InpaintbenchError("report: give at least one run folder")
    runs = [load_run(Path(d)) for d in run_dirs]
    _check_same_pairs(runs)

    owner: dict[str, int] = {}
    notes = []
    for index, run in enumerate(runs):
        for model in run.results["model"].unique():
            if model in owner:
                notes.append(f"{model}: also in {run.path}; rows from {runs[owner[model]].path} are shown")
            else:
                owner[model] = index

    def owned(frame: pd.DataFrame, index: int) -> pd.DataFrame:
        return frame[frame["model"].map(owner) == index]

    metrics = _ordered_union(
        [run.meta.get("config", {}).get("metrics", []) for run in runs]
        + [[c for c in run.results.columns if c not in KEY_COLUMNS + EXTRA_COLUMNS] for run in runs]
    )
    set_metrics: dict[str, list[str]] = {}
    for run in runs:
        for name, info in run.meta.get("set_metrics", {}).items():
            set_metrics[name] = _ordered_union([set_metrics.get(name, []), info.get("warnings", [])])
    per_image = [m for m in metrics if m not in set_metrics]
    results = pd.concat(
        [owned(run.results, i).assign(run=i) for i, run in enumerate(runs)], ignore_index=True
    ).reindex(columns=[*KEY_COLUMNS, "source", *per_image, "run"])
    summary = pd.concat([owned(run.summary, i) for i, run in enumerate(runs)], ignore_index=True)
    with_value = set(summary.loc[summary["mean"].notna(), "metric"])
    metrics = [m for m in metrics if (m in with_value if m in set_metrics else results[m].notna().any())]
    metric_info: dict[str, dict[str, Any]] = {}
    for run in reversed(runs):
        metric_info.update(run.meta.get("metric_info", {}))
    requested = _ordered_union([_requested(run) for run in runs] + [list(owner)])

    def home(model: str) -> Run:
        """The run that owns the model's rows, else the first that asked for it."""
        if model in owner:
            return runs[owner[model]]
        return next(run for run in runs if model in _requested(run))

    return RunSet(
        runs=runs,
        results=results,
        summary=summary,
        models=list(owner),
        regimes=list(results["mask"].unique()),
        metrics=metrics,
        metric_info=metric_info,
        status={m: _model_status(m, home(m)) for m in requested},
        notes=notes,
        set_metrics={m: lines for m, lines in set_metrics.items() if m in metrics},
    )
