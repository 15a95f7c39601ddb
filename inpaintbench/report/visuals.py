"""Which images the report shows (a fixed, bounded, deterministic choice) and their thumbnails."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..files import layout
from . import fmt
from .images import Assets
from .runs import RunSet

#: Images per regime in the comparison grid, and per end of each best/worst gallery.
GRID_IMAGES = 6
GALLERY_IMAGES = 3


@dataclass
class Picture:
    url: str | None  # None: the file is missing or unreadable
    name: str  # what it shows: a model, "input", "ground truth", "mask"
    label: str  # the caption under the picture
    title: str  # a longer description for the tooltip and the lightbox


@dataclass
class GridRow:
    image: str
    hole_ratio: float
    masked: Picture
    outputs: list[Picture]
    truth: Picture


@dataclass
class Grid:
    regime: str
    models: list[str]
    rows: list[GridRow]


@dataclass
class Gallery:
    model: str
    metric: str
    best: list[Picture]
    worst: list[Picture]


def spread(frame: pd.DataFrame, count: int) -> pd.DataFrame:
    """Up to ``count`` rows evenly spaced from easiest to hardest hole ratio; ties broken by image id."""
    ordered = frame.sort_values(["hole_ratio", "image"], kind="mergesort")
    picks = np.unique(np.linspace(0, len(ordered) - 1, min(count, len(ordered))).round().astype(int))
    return ordered.iloc[picks]


class Visuals:
    def __init__(self, runset: RunSet, assets: Assets) -> None:
        self.runset = runset
        self.assets = assets
        self.run_dir = {m: runset.model_run(m).path for m in runset.models}

    def _prediction(self, model: str, regime: str, image: str, label: str) -> Picture:
        path = layout.prediction_png(self.run_dir[model], model, regime, image)
        return Picture(self.assets.rgb(path), model, label, f"{model} · {regime} · {image}")

    def grids(self) -> list[Grid]:
        """Per regime, a spread of the images every model of that regime was scored on."""
        results, metric = self.runset.results, next(iter(self.runset.image_metrics), None)
        grids = []
        for regime in self.runset.regimes:
            frame = results[results["mask"] == regime]
            models = [m for m in self.runset.models if (frame["model"] == m).any()]
            per_image = frame.groupby("image")["model"].nunique()
            complete = frame[frame["image"].isin(per_image.index[per_image == len(models)])]
            values = complete.set_index(["model", "image"])[metric] if metric else None
            chosen = spread(complete.drop_duplicates("image"), GRID_IMAGES)
            rows = []
            for image, ratio in zip(chosen["image"], chosen["hole_ratio"], strict=True):
                outputs = [
                    self._prediction(m, regime, image, f"{metric} {fmt.number(values[(m, image)])}")
                    if metric
                    else self._prediction(m, regime, image, m)
                    for m in models
                ]
                masked, truth = self._input(models[0], regime, image), self._truth(models[0], image)
                rows.append(GridRow(image, ratio, masked, outputs, truth))
            grids.append(Grid(regime, models, rows))
        return grids

    def _input(self, model: str, regime: str, image: str) -> Picture:
        """The target with the hole greyed and outlined; target and mask as written by the model's run."""
        target = layout.target_png(self.run_dir[model], image)
        mask = layout.mask_png(self.run_dir[model], regime, image)
        return Picture(
            self.assets.masked_input(target, mask), "input", "input", f"input · {regime} · {image}"
        )

    def _truth(self, model: str, image: str) -> Picture:
        url = self.assets.rgb(layout.target_png(self.run_dir[model], image))
        return Picture(url, "ground truth", "ground truth", f"ground truth · {image}")

    def galleries(self) -> list[Gallery]:
        """Per model and metric (with a known direction), the best and worst images over all regimes."""
        galleries = []
        for model in self.runset.models:
            frame = self.runset.results[self.runset.results["model"] == model]
            for metric in self.runset.image_metrics:
                higher = self.runset.higher_is_better(metric)
                scored = frame[frame[metric].notna()]
                if higher is None or scored.empty:
                    continue
                ranked = scored.sort_values(
                    [metric, "mask", "image"], ascending=[not higher, True, True], kind="mergesort"
                )
                count = min(GALLERY_IMAGES, len(ranked) // 2) or 1
                galleries.append(
                    Gallery(
                        model,
                        metric,
                        self._gallery(model, metric, ranked.head(count)),
                        self._gallery(model, metric, ranked.tail(count).iloc[::-1]),
                    )
                )
        return galleries

    def _gallery(self, model: str, metric: str, rows: pd.DataFrame) -> list[Picture]:
        return [
            self._prediction(model, regime, image, f"{metric} {fmt.number(value)} · {regime}")
            for regime, image, value in zip(rows["mask"], rows["image"], rows[metric], strict=True)
        ]

    def mask_examples(self, grids: list[Grid]) -> dict[str, list[Picture]]:
        """The masks of the grid's images, so the examples span each regime's hole ratios."""
        examples = {}
        for grid in grids:
            source = self.run_dir[grid.models[0]]
            examples[grid.regime] = [
                Picture(
                    self.assets.mask(layout.mask_png(source, grid.regime, row.image)),
                    "mask",
                    f"{row.hole_ratio * 100:.1f}% hole",
                    f"mask · {grid.regime} · {row.image}",
                )
                for row in grid.rows
            ]
        return examples
