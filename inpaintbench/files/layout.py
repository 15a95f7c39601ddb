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
#: Tracebacks of the plugin errors a run met, appended.
ERRORS_LOG = "errors.log"
#: The stores of the ranks of a torchrun run, until rank 0 merges them.
SHARDS_DIR = "shards"
#: The report's pictures, and the record of the files a report wrote into its folder.
ASSETS_DIR = "assets"
REPORT_RECORD = ".inpaintbench-report.json"
#: Exported from the store when a run finishes; removed when a run starts writing, so they are never
#: present without describing every stored result.
DERIVED = (RESULTS_CSV, SUMMARY_CSV, INDEX_HTML)
#: What a report writes in its folder.
REPORT_FILES = (INDEX_HTML, ASSETS_DIR, REPORT_RECORD)
#: Every name a run writes in its folder (SQLite's files beside the store included); none may be a link.
RUN_FILES = (
    LOCK,
    ERRORS_LOG,
    RUN_JSON,
    *(RESULTS_DB + suffix for suffix in ("", "-wal", "-shm", "-journal")),
    IMAGES_DIR,
    SHARDS_DIR,
    *DERIVED,
    *REPORT_FILES,
)


def target_png(run_dir: Path, image_id: str) -> Path:
    return Path(run_dir) / IMAGES_DIR / "target" / f"{file_key(image_id)}.png"


def mask_png(run_dir: Path, regime: str, image_id: str) -> Path:
    return Path(run_dir) / IMAGES_DIR / "masks" / file_key(regime) / f"{file_key(image_id)}.png"


def prediction_png(run_dir: Path, model: str, regime: str, image_id: str) -> Path:
    return (
        Path(run_dir) / IMAGES_DIR / "pred" / file_key(model) / file_key(regime) / f"{file_key(image_id)}.png"
    )
