"""Run folders written file by file as the runner documents them, from real scikit-image photos.

The report tests and ``benchmarks/report_render.py`` use these; metrics are computed for real
(scikit-image PSNR/SSIM, mean absolute error in the hole) and summary.csv comes from the runner's own code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skimage.data
from PIL import Image
from skimage.filters import gaussian
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from skimage.transform import resize

from inpaintbench.files import layout
from inpaintbench.images import write_png
from inpaintbench.plugins import get_registry
from inpaintbench.runner.plan.config import DEFAULT_METRICS
from inpaintbench.seeding import mask_rng
from inpaintbench.summary import summarize

PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "camera",
    "moon",
)
METRIC_INFO = {
    "psnr": {"higher_is_better": True, "description": "PSNR in dB"},
    "ssim": {"higher_is_better": True, "description": "SSIM (Gaussian window)"},
    "lpips": {"higher_is_better": False, "description": "LPIPS (AlexNet)"},
    "l1_hole": {"higher_is_better": False, "description": "mean absolute error in the hole x 100"},
}


def photo(name: str, size: int) -> np.ndarray:
    """A bundled scikit-image photo as float RGB in [0, 1], square-cropped and resized."""
    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    image = image[..., :3]
    side = min(image.shape[:2])
    top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
    crop = image[top : top + side, left : left + side]
    return resize(crop, (size, size), anti_aliasing=True).astype(np.float32)


def center_mask(size: int, rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros((size, size), dtype=bool)
    mask[size // 4 : size // 4 + size // 2, size // 4 : size // 4 + size // 2] = True
    return mask


def random_box_mask(size: int, rng: np.random.Generator) -> np.ndarray:
    """A box whose area varies from image to image, so hole ratios span several buckets."""
    h, w = rng.integers(size // 8, size - 2, size=2)
    top, left = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
    mask = np.zeros((size, size), dtype=bool)
    mask[top : top + h, left : left + w] = True
    return mask


MASKS: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
    "center": center_mask,
    "random": random_box_mask,
}


def fill(model: str, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """mean_fill paints the known pixels' mean colour; any other model a copy of that blurred by an amount
    that depends on its name, so different models score differently (stand-ins, not the real baselines)."""
    filled = image.copy()
    filled[mask] = image[~mask].mean(axis=0)
    if model != "mean_fill":
        filled = gaussian(filled, sigma=1 + sum(map(ord, model)) % 4, channel_axis=-1)
    return np.where(mask[..., None], filled, image)


def score(target: np.ndarray, output: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    return {
        "psnr": peak_signal_noise_ratio(target, output, data_range=1.0),
        "ssim": structural_similarity(
            target,
            output,
            data_range=1.0,
            channel_axis=-1,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        ),
        "lpips": np.nan,
        "l1_hole": float(np.abs(target - output)[mask].mean() * 100),
    }


def write_run(
    run_dir: Path,
    *,
    models: Sequence[str] = ("mean_fill", "biharmonic"),
    regimes: Sequence[str] = ("center", "random"),
    images: dict[str, str] | None = None,
    size: int = 48,
    seed: int = 0,
    fingerprint: str = "f00d",
) -> Path:
    """A complete run folder; ``images`` maps image ids (any text) to scikit-image photo names."""
    images = images or {f"{name}.png": name for name in PHOTOS[:6]}
    targets = {image_id: photo(name, size) for image_id, name in images.items()}
    rows = []
    for model in models:
        for regime in regimes:
            for image_id, target in targets.items():
                mask = MASKS[regime](size, mask_rng(seed, regime, image_id))
                output = fill(model, target, mask)
                write_png(layout.target_png(run_dir, image_id), target)
                write_png(layout.mask_png(run_dir, regime, image_id), mask.astype(np.float32))
                write_png(layout.prediction_png(run_dir, model, regime, image_id), output)
                rows.append(
                    {
                        "model": model,
                        "mask": regime,
                        "image": image_id,
                        "hole_ratio": mask.mean(),
                        **score(target, output, mask),
                        "checkpoint": "",
                    }
                )
    write_tables(
        run_dir,
        pd.DataFrame(rows),
        models=models,
        regimes=regimes,
        size=size,
        seed=seed,
        fingerprint=fingerprint,
        n_images=len(images),
    )
    return run_dir


def write_tables(
    run_dir: Path,
    results: pd.DataFrame,
    *,
    models: Sequence[str],
    regimes: Sequence[str],
    size: int,
    seed: int,
    fingerprint: str,
    n_images: int,
) -> None:
    """results.csv, summary.csv (by the runner's summarize) and run.json for the given result rows."""
    run_dir.mkdir(parents=True, exist_ok=True)
    metrics = list(METRIC_INFO)
    results.to_csv(run_dir / layout.RESULTS_CSV, index=False)
    summarize(results, metrics).to_csv(run_dir / layout.SUMMARY_CSV, index=False)
    meta = {
        "command": f"inpaintbench run --model {','.join(models)} --masks {','.join(regimes)}",
        "argv": ["run", "--model", ",".join(models)],
        "created": "2025-01-01T00:00:00+00:00",
        "finished": "2025-01-01T00:01:00+00:00",
        "versions": {"inpaintbench": "0.1.0", "python": "3.11", "torch": "2.14.1", "plugins": {}},
        "config": {
            "models": list(models),
            "masks": list(regimes),
            "metrics": metrics,
            "dataset": "samples",
            "image_size": size,
            "seed": seed,
            "limit": None,
            "batch_size": 8,
        },
        "device": "cpu",
        "dataset": {"spec": "samples", "n_images": n_images, "fingerprint": fingerprint},
        "skipped_inputs": [{"path": "broken<i>.png", "reason": "cannot identify image file"}],
        "failures": [],
        "metrics_not_computed": [{"metric": "lpips", "reason": "AlexNet weights not in the torch cache"}],
        "metric_info": METRIC_INFO,
        "models": {m: {"provenance": {"checkpoint": None}, "sources": {}} for m in models},
        "timings": {
            "total_s": 1.5,
            "prepare_s": {m: 0.01 for m in models},
            "eval_s": {m: {r: 0.2 for r in regimes} for m in models},
        },
    }
    (run_dir / layout.RUN_JSON).write_text(json.dumps(meta, indent=2))


@contextmanager
def edit_meta(run_dir: Path) -> Iterator[dict[str, Any]]:
    """run.json as a dict, written back on exit: for the fields a test sets by hand."""
    path = run_dir / layout.RUN_JSON
    meta = json.loads(path.read_text())
    yield meta
    path.write_text(json.dumps(meta, indent=2))


PARTIAL_MODEL = "partial_model"
FAILED_MODEL = "crashed"
NOT_HELD_OUT = "biharmonic"
#: Images per regime PARTIAL_MODEL scored before it crashed.
PARTIAL_IMAGES = 2
FAILED_ERROR = "FileNotFoundError: <weights>.pth"
METRIC_ERROR = "ValueError: ssim returned shape (3,), expected (8,)"


def write_partial_run(run_dir: Path, images: dict[str, str] | None = None) -> Path:
    """A run where not everything went well: the two baselines complete, PARTIAL_MODEL better than both on
    every metric but on only its first PARTIAL_IMAGES images of each regime, FAILED_MODEL requested but
    failed in prepare, NOT_HELD_OUT trained on the test images, one ssim failure and component descriptions.
    """
    complete = ("mean_fill", "biharmonic")
    write_run(run_dir, models=complete, images=images)
    results = pd.read_csv(run_dir / layout.RESULTS_CSV, dtype={"image": str})
    first = results["image"].drop_duplicates().iloc[:PARTIAL_IMAGES]
    partial = results[(results["model"] == "mean_fill") & results["image"].isin(first)].assign(
        model=PARTIAL_MODEL, psnr=results["psnr"].max() + 1, ssim=1.0, l1_hole=0.0
    )
    pred = layout.prediction_png(run_dir, "mean_fill", "center", "x").parents[1]
    shutil.copytree(pred, layout.prediction_png(run_dir, PARTIAL_MODEL, "center", "x").parents[1])
    regimes = list(MASKS)
    write_tables(
        run_dir,
        pd.concat([results, partial], ignore_index=True),
        models=(*complete, PARTIAL_MODEL, FAILED_MODEL),
        regimes=regimes,
        size=48,
        seed=0,
        fingerprint="f00d",
        n_images=results["image"].nunique(),
    )
    with edit_meta(run_dir) as meta:
        del meta["models"][FAILED_MODEL]  # the runner records a model's provenance once it has run
        meta["models"][NOT_HELD_OUT]["held_out"] = False
        meta["failures"] = [
            *(
                {"model": PARTIAL_MODEL, "stage": "inpaint", "mask": r, "error": "CUDA out of memory"}
                for r in regimes
            ),
            {"model": FAILED_MODEL, "stage": "prepare", "mask": None, "error": FAILED_ERROR},
        ]
        meta["metric_failures"] = [
            {"metric": "ssim", "model": "biharmonic", "mask": "random", "error": METRIC_ERROR}
        ]
        meta["components"] = {
            "model": {
                m: {"description": f"{m} stand-in", "plugin": "test-plugin"} for m in meta["config"]["models"]
            },
            "mask": {r: {"description": f"the {r} test masks", "plugin": "test-plugin"} for r in regimes},
        }
    return run_dir


def link_images(run_dir: Path, results: pd.DataFrame, size: int = 64) -> None:
    """Every image file of a large synthetic run as a hard link to one of a few real PNGs (cheap to write)."""
    sources = {}
    for name in PHOTOS:
        sources[name] = run_dir / "_src" / f"{name}.png"
        sources[name].parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((photo(name, size) * 255).round().astype(np.uint8)).save(sources[name])
    mask_src = run_dir / "_src" / "mask.png"
    Image.fromarray(center_mask(size, np.random.default_rng(0)).astype(np.uint8) * 255).save(mask_src)

    def link(src: Path, dst: Path) -> None:
        if not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.link(src, dst)

    for i, (model, regime, image) in enumerate(
        zip(results["model"], results["mask"], results["image"], strict=True)
    ):
        photo_src = sources[PHOTOS[i % len(PHOTOS)]]
        link(photo_src, layout.target_png(run_dir, image))
        link(mask_src, layout.mask_png(run_dir, regime, image))
        link(photo_src, layout.prediction_png(run_dir, model, regime, image))


#: The brief's real run: both baselines, both basic regimes, six sample images, the default metrics.
REAL_RUN = [
    "run",
    "--model",
    "mean_fill,biharmonic",
    "--masks",
    "center,random",
    "--limit",
    "6",
    "--no-progress",
]


def real_run(out: Path) -> Path:
    """A run folder written by ``inpaintbench run`` itself; skips while a component it needs is missing."""
    registry = get_registry()
    needed = {"model": ("mean_fill", "biharmonic"), "mask": ("center", "random"), "metric": DEFAULT_METRICS}
    missing = [
        f"{kind} {n}" for kind, names in needed.items() for n in names if n not in registry.names(kind)
    ]
    if missing:
        pytest.skip(f"not registered yet: {', '.join(missing)}")
    subprocess.run([sys.executable, "-m", "inpaintbench", *REAL_RUN, "--out", str(out)], check=True)
    return out
