"""Where each file of a run folder lives, so the runner and the report agree on one layout."""

from __future__ import annotations

from pathlib import Path

from ..exchange import file_key

RESULTS_DB = "results.sqlite"
RESULTS_CSV = "results.csv"
SUMMARY_CSV = "summary.csv"
RUN_JSON = "run.json"
INDEX_HTML = "index.html"
IMAGES_DIR = "images"
#: Held (flock) by the run writing the folder; it holds that run's pid.
LOCK = "run.lock"
#: Exported from the store when a run finishes; removed when a run starts writing, so they are never
#: present without describing every stored result.
DERIVED = (RESULTS_CSV, SUMMARY_CSV, INDEX_HTML)


def target_png(run_dir: Path, image_id: str) -> Path:
    return Path(run_dir) / IMAGES_DIR / "target" / f"{file_key(image_id)}.png"


def mask_png(run_dir: Path, regime: str, image_id: str) -> Path:
    return Path(run_dir) / IMAGES_DIR / "masks" / file_key(regime) / f"{file_key(image_id)}.png"


def prediction_png(run_dir: Path, model: str, regime: str, image_id: str) -> Path:
    return (
        Path(run_dir) / IMAGES_DIR / "pred" / file_key(model) / file_key(regime) / f"{file_key(image_id)}.png"
    )
