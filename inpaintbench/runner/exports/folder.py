"""The run folder's outputs, all exported from the store: results.csv, summary.csv, run.json.

They are written by one process (rank 0 under torchrun, after merging every rank's store), from the
store alone, so a folder ends up the same however many processes filled it and however often it was
resumed: rows in the order the user named models and regimes, images in dataset order.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...files import layout
from ...files.atomic import write_atomically, write_text
from ...files.run_json import read_run_json
from ...status import COMPLETE, note, statuses
from ...summary import format_table, summarize
from ...version import __version__
from ..plan.config import Plan
from ..scoring.sets import run_json_section, set_metrics, table_notes
from ..store.results import ResultStore

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class RunOutcome:
    out: Path
    summary_table: str
    computed: int
    failures: list[dict[str, Any]]
    #: One line per reason the run is incomplete (a failed or partial model, a failed metric).
    incomplete: list[str] = field(default_factory=list)


class Exports:
    """What the outputs say about the run besides the store: its plan, device, world and timings."""

    def __init__(self, plan: Plan, argv: list[str], device: str, world_size: int, log: Any) -> None:
        self.plan = plan
        self.config = plan.config
        self.out = plan.out
        self.argv = argv
        self.device = device
        self.world_size = world_size
        self.log = log
        #: Per model prepared this invocation: provenance and sources, for run.json.
        self.model_info: dict[str, Any] = {}

    # -- status -----------------------------------------------------------------------------------------
    def statuses(self, store: ResultStore, n_images: int) -> dict[str, Any]:
        counts = store.row_counts()
        return statuses(counts, self.config.models, self.config.masks, n_images)

    def held_out(self, store: ResultStore) -> dict[str, bool]:
        """False for a model that read the evaluation images as training data, in any session."""
        trained_on_test = {event["model"] for event in store.events("not_held_out")}
        return {spec: spec not in trained_on_test for spec in self.config.models}

    def incomplete(self, store: ResultStore, status: dict[str, Any]) -> list[str]:
        lines = []
        for spec, entry in status.items():
            if entry["status"] != COMPLETE:
                rows = sum(r["rows"] for r in entry["regimes"].values())
                expected = sum(r["expected"] for r in entry["regimes"].values())
                verb = "failed" if entry["status"] == "failed" else "is partial"
                lines.append(f"model '{spec}' {verb} ({rows} of {expected} results)")
        for name in dict.fromkeys(e["metric"] for e in store.events("metric_failure", session_only=True)):
            lines.append(f"metric '{name}' failed and was dropped")
        return lines

    # -- the finished run -------------------------------------------------------------------------------
    def finish(self, store: ResultStore, timings: dict[str, Any]) -> RunOutcome:
        """results.csv, summary.csv and run.json from the store, and the terminal's table."""
        n_images, fingerprint = store.listing()
        metrics = self.plan.metrics
        sets = set_metrics(metrics)
        status = self.statuses(store, n_images)
        held_out = self.held_out(store)
        per_image = [m for m in self.config.metrics if m not in sets]
        results = in_run_order(store.results_frame(per_image), self.config.models, self.config.masks)
        results.insert(3, "source", [self.plan.dataset.source_of(i) or i for i in results["image"]])
        write_atomically(self.out / layout.RESULTS_CSV, lambda tmp: results.to_csv(tmp, index=False))
        per_regime = {(m, r): entry for m, s in status.items() for r, entry in s["regimes"].items()}
        set_values = store.set_values(list(sets))
        summary = summarize(
            results,
            self.config.metrics,
            {key: entry["status"] for key, entry in per_regime.items()},
            held_out,
            set_values,
            self.config.references,
        )
        write_atomically(self.out / layout.SUMMARY_CSV, lambda tmp: summary.to_csv(tmp, index=False))
        self.write_run_json(store, timings, finished=True)
        notes = {
            key: note(entry, held_out[key[0]], key[0] in self.config.references)
            for key, entry in per_regime.items()
        }
        return RunOutcome(
            self.out,
            format_table(summary, self.config.metrics, notes, table_notes(sets, set_values)),
            store.session_counts().get(store.session, 0),
            _unique(store.events("failure", session_only=True)),
            self.incomplete(store, status),
        )

    def write_run_json(self, store: ResultStore, timings: dict[str, Any], finished: bool) -> None:
        previous = read_previous(self.out)
        n_images, fingerprint = store.listing()
        if not finished and store.get_meta("listing_end") is None:
            fingerprint = None  # not known until the stream has met every image once
        models = previous.get("models", {}) | self.model_info
        held_out = self.held_out(store)
        for spec, entry in self.statuses(store, n_images).items():
            flags = {"held_out": held_out[spec], "reference": spec in self.config.references}
            models[spec] = models.get(spec, {}) | entry | flags
        import torch

        metrics = self.plan.metrics
        doc = {
            "command": " ".join(["inpaintbench", *self.argv]),
            "argv": self.argv,
            "created": previous.get("created") or _now(),
            "finished": _now() if finished else None,
            "versions": {
                "inpaintbench": __version__,
                "python": platform.python_version(),
                "torch": torch.__version__,
                "numpy": np.__version__,
                "plugins": self.plan.registry.plugin_versions(),
            },
            "config": asdict(self.config),
            "device": self.device,
            "processes": self.world_size,
            "dataset": {"spec": self.config.dataset, "n_images": n_images, "fingerprint": fingerprint},
            "skipped_inputs": _unique(store.events("skipped_input")),
            "failures": _unique(store.events("failure", session_only=True)),
            "metric_failures": _unique(store.events("metric_failure", session_only=True)),
            "metrics_not_computed": _unique(store.events("metric_not_computed", session_only=True)),
            "metric_info": {
                name: {"higher_is_better": m.higher_is_better, "description": m.description}
                for name, m in metrics.items()
            },
            "set_metrics": run_json_section(
                set_metrics(metrics), store.set_values(list(set_metrics(metrics)))
            ),
            "models": models,
            "components": self.components(),
            "timings": timings,
            "sessions": store.sessions(),
        }
        write_text(self.out / layout.RUN_JSON, json.dumps(doc, indent=2, default=str))

    def components(self) -> dict[str, dict[str, dict[str, str]]]:
        """Each component of the run with its description and the plugin that provides it."""
        plan = self.plan
        chosen = {
            "model": plan.models,
            "mask": plan.masks,
            "metric": plan.metrics,
            "dataset": {self.config.dataset: plan.dataset},
        }
        return {
            kind: {
                spec: {"description": c.description, "plugin": plan.registry.plugin_of(kind, c.name)}
                for spec, c in items.items()
            }
            for kind, items in chosen.items()
        }


def in_run_order(results: pd.DataFrame, models: list[str], masks: list[str]) -> pd.DataFrame:
    """Rows in the order the user named models and regimes, images in dataset order (``position``,
    dropped here; an image the listing lacks goes last, by id)."""
    orders = {"model": models, "mask": masks}

    def rank(column: Any) -> Any:
        if column.name in orders:
            position = {name: i for i, name in enumerate(orders[column.name])}
            return column.map(lambda v: (position.get(v, len(position)), v))
        if column.name == "position":
            return column.fillna(float("inf"))
        return column

    ordered = results.sort_values(["model", "mask", "position", "image"], key=rank, kind="stable")
    return ordered.drop(columns="position").reset_index(drop=True)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_previous(out: Path) -> dict[str, Any]:
    """The run.json a run into ``out`` extends ({} when there is none), checked against its shape: one
    edited out of shape is refused by name, not half-read."""
    path = out / layout.RUN_JSON
    if not path.is_file():
        return {}
    return read_run_json(out)


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event once, in order: ranks that meet the same failure (a metric that cannot run anywhere)
    record it once each, and a single process would have recorded it once."""
    seen, out = set(), []
    for item in items:
        key = json.dumps(item, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
