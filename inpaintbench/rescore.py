"""``inpaintbench rescore RUN_DIR``: every row recomputed from the PNGs the folder keeps.

A run scores the 8-bit composites it saves (``images/target``, ``images/masks``, ``images/pred``), so
each number in results.csv is a function of three files anyone can read. Without ``--metrics`` this
is a check: the run's per-image metrics are recomputed from the files and compared with results.csv,
and a row that differs is named. With ``--metrics`` the named metrics (new ones, or a new version of
one) are computed from the files and written, row by row, to ``--out`` (``RUN_DIR/rescored.csv`` by
default); results.csv and the store are never changed. Set-level metrics (fid, kid) need every image's
features at once and are not rescored here.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .components import Metric, SetMetric
from .errors import InpaintbenchError
from .files import layout
from .files.atomic import check_replaceable, write_atomically
from .files.run_json import read_run_json
from .images import read_image, to_float_rgb

if TYPE_CHECKING:
    import torch

    from .plugins import Registry

#: How close a recomputed value must be to the stored one: float32 metrics recomputed on other batches.
ABS_TOLERANCE = 1e-6
REL_TOLERANCE = 1e-7
BATCH = 16
#: results.csv columns that are not metric values.
KEYS = ("model", "mask", "image", "source", "hole_ratio", "checkpoint")


@dataclass
class Rescored:
    """What a rescore found: the rows recomputed, the metrics, and every row that disagreed."""

    rows: int
    metrics: list[str]
    largest: dict[str, float] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)


def rescore(
    run_dir: Path, registry: Registry, metrics: list[str] | None, out: Path | None, device: torch.device
) -> Rescored:
    """Recompute ``metrics`` (None: check the run's own) for every row of ``run_dir``'s results.csv from
    its PNGs; with ``metrics``, write them to ``out``."""
    meta, rows = _read_run(run_dir)
    checking = metrics is None
    if checking and meta.get("config", {}).get("float_scores") is True:
        raise InpaintbenchError(
            f"{run_dir} was scored with --float-scores: its numbers are those of float composites, not of "
            "its 8-bit PNGs, so they cannot be checked against them (rescore --metrics ... recomputes them)"
        )
    names = [m for m in rows[0] if m not in KEYS] if checking else list(metrics or [])
    chosen = {name: registry.get("metric", name) for name in names}
    per_image = {name: m for name, m in chosen.items() if not isinstance(m, SetMetric)}
    if not per_image:
        raise InpaintbenchError(f"{run_dir}: no per-image metric to rescore (fid and kid are set-level)")
    target = out or run_dir / "rescored.csv"
    if not checking:
        check_replaceable(target, "-o")  # before any work: a folder, FIFO or device is one line
    for metric in per_image.values():
        metric.setup(device)
    found = Rescored(len(rows), list(per_image))
    recomputed: list[dict[str, Any]] = []
    for batch in _batches(rows):
        values = _score(run_dir, batch, per_image, device)
        for k, row in enumerate(batch):
            recomputed.append({key: row.get(key, "") for key in ("model", "mask", "image", "source")})
            for name in per_image:
                value = values[name][k]
                recomputed[-1][name] = value
                if checking:
                    _compare(found, row, name, value)
    if not checking:
        columns = ["model", "mask", "image", "source", *per_image]
        write_atomically(target, lambda tmp: _write_csv(tmp, columns, recomputed))
    return found


def _read_run(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, str]]]:
    meta_path, results_path = run_dir / layout.RUN_JSON, run_dir / layout.RESULTS_CSV
    if not meta_path.is_file() or not results_path.is_file():
        raise InpaintbenchError(
            f"{run_dir}: no finished run here (no {layout.RUN_JSON} or {layout.RESULTS_CSV})"
        )
    meta = read_run_json(run_dir)
    try:
        with open(results_path, newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
    except (OSError, ValueError) as exc:
        raise InpaintbenchError(f"{results_path}: cannot be read: {exc}") from None
    if not rows or any(key not in rows[0] for key in ("model", "mask", "image")):
        raise InpaintbenchError(f"{results_path}: no rows with model, mask and image columns")
    if meta.get("config", {}).get("save_images") is False:
        raise InpaintbenchError(f"{run_dir} was run with --no-images: it keeps no PNGs to rescore")
    return meta, rows


def _batches(rows: list[dict[str, str]]) -> Iterator[list[dict[str, str]]]:
    """Rows in runs of one (model, mask), at most ``BATCH`` at a time."""
    start = 0
    while start < len(rows):
        stop = start + 1
        while stop < len(rows) and stop - start < BATCH and _group(rows[stop]) == _group(rows[start]):
            stop += 1
        yield rows[start:stop]
        start = stop


def _group(row: dict[str, str]) -> tuple[str, str]:
    return row["model"], row["mask"]


def _score(
    run_dir: Path, batch: list[dict[str, str]], metrics: dict[str, Metric], device: torch.device
) -> dict[str, list[float]]:
    import torch

    model, regime = _group(batch[0])

    def stack(paths: list[Path]) -> torch.Tensor:
        arrays = [_read_png(path) for path in paths]
        return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous().to(device)

    ids = [row["image"] for row in batch]
    target = stack([layout.target_png(run_dir, i) for i in ids])
    pred = stack([layout.prediction_png(run_dir, model, regime, i) for i in ids])
    holes = (stack([layout.mask_png(run_dir, regime, i) for i in ids])[:, :1] >= 0.5).float()
    with torch.no_grad():
        return {
            name: [float(v) for v in metric.compute(pred.clone(), target.clone(), holes.clone()).cpu()]
            for name, metric in metrics.items()
        }


def _read_png(path: Path) -> np.ndarray:
    try:
        return to_float_rgb(read_image(path))
    except FileNotFoundError:
        raise InpaintbenchError(f"{path}: missing, so its row cannot be rescored") from None
    except OSError as exc:
        raise InpaintbenchError(f"{path}: cannot be read ({exc})") from None


def _compare(found: Rescored, row: dict[str, str], name: str, value: float) -> None:
    stored_text = row.get(name) or ""
    try:
        stored = float(stored_text) if stored_text else math.nan
    except ValueError:  # an edited results.csv: a value that is no number differs from any score
        stored, stored_text = math.nan, repr(stored_text)
        gap = math.inf
    else:
        if math.isnan(stored) and math.isnan(value):
            return
        finite = math.isfinite(value) and math.isfinite(stored)
        gap = abs(value - stored) if finite else 0.0 if value == stored else math.inf
    found.largest[name] = max(found.largest.get(name, 0.0), gap)
    if not gap <= ABS_TOLERANCE + REL_TOLERANCE * abs(stored):
        found.mismatches.append(
            f"model {row['model']}, mask {row['mask']}, image {row['image']}: {name} is {stored_text} in "
            f"results.csv but {value!r} from its PNGs"
        )


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
