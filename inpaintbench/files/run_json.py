"""run.json's shape: what the runner writes and what ``--resume``, a later run into the folder and the
report read back, so a file of another shape is refused by name before anything relies on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import layout
from .readback import Each, Schema, read_json

NAMES = [str]
SCHEMA: Schema = {
    "created": (str, type(None)),
    "config": {
        "models": NAMES,
        "masks": NAMES,
        "metrics": NAMES,
        "references": NAMES,
        "dataset": str,
        "image_size": int,
        "seed": int,
        "save_images": bool,
        "float_scores": bool,
    },
    "dataset": {"spec": str, "n_images": (int, type(None)), "fingerprint": (str, type(None))},
    "models": Each({"held_out": bool, "reference": bool, "provenance": {"labels": list}}),
    "failures": [dict],
    "skipped_inputs": [dict],
    "metrics_not_computed": [dict],
    "metric_failures": [dict],
    "metric_info": Each({"higher_is_better": (bool, type(None)), "description": str}),
    "set_metrics": Each({"warnings": [str]}),
    "components": Each(Each(Each(str))),
}


def read_run_json(run_dir: Path) -> dict[str, Any]:
    """``run_dir``'s run.json checked against ``SCHEMA``; one that does not fit is written again by the
    run's own command, from the store, once it is out of the way."""
    advice = (
        f"move it away and run the command that started the run again with --out {run_dir} "
        f"(the finished results in {layout.RESULTS_DB} are kept)"
    )
    return read_json(Path(run_dir) / layout.RUN_JSON, SCHEMA, advice)
