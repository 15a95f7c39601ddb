"""The benchmark run: prepare each model, inpaint every (regime, image), score, store at once.

Each model sees the test images only through sealed batches (``sealed.py``) and its ``prepare`` only
the training split (``TrainSplit``). Errors are charged to the component that raised them: a model's
to that model (its finished rows are kept and it is marked partial), a metric's to that metric (the
other metrics and every model's rows are kept), and the run's exit status says it is incomplete.
Set-level metrics (fid, kid) store per-image features with each batch and get their values at the end
of the run from everything stored (``sets.py``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from .. import __version__
from ..cache import cache_dir
from ..components import (
    Dataset,
    MaskGenerator,
    Metric,
    MetricUnavailable,
    Model,
    PrepareContext,
    Sample,
    SetMetric,
    TrainSplit,
)
from ..device import resolve_device
from ..errors import InpaintbenchError
from ..masks.draw import check_reproducible, draw_mask
from ..options import check_options
from ..plugins import Registry, get_registry
from . import DEFAULT_METRICS, layout
from .bounds import check_image_size, check_positive
from .errorlog import ErrorLog, one_line
from .files import DiskFull, kind, write_atomically, write_text, writing
from .lock import exclusive
from .outputs import validate_features, validate_scores, validate_set_value
from .pngs import write_png
from .sealed import inpaint_sealed
from .sets import feature_groups, run_json_section, set_metrics, table_notes
from .status import COMPLETE, note, statuses
from .store import ResultStore, Row
from .summary import format_table, summarize

#: Settings a resumed run must share with the stored one, or its rows would not be comparable.
IDENTITY_KEYS = ("dataset", "image_size", "seed", "limit", "metrics")
#: What a full disk part-way through a run says to do.
RESUME_ADVICE = "finished results are kept; free some space, then: inpaintbench run --resume {}"


@dataclass
class RunConfig:
    models: list[str]
    masks: list[str]
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS))
    dataset: str = "samples"
    train_dataset: str | None = None
    image_size: int = 128
    seed: int = 0
    limit: int | None = None
    batch_size: int = 16
    device: str = "auto"
    options: dict[str, str] = field(default_factory=dict)
    save_images: bool = True
    #: Let models train on the evaluation images when the dataset has no training split; their
    #: results are then marked not held-out everywhere.
    train_on_test: bool = False
    #: The models of ``models`` that the run added as reference baselines (``references.py``).
    references: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class RunOutcome:
    out: Path
    summary_table: str
    computed: int
    failures: list[dict[str, Any]]
    #: One line per reason the run is incomplete (a failed or partial model, a failed metric).
    incomplete: list[str] = field(default_factory=list)


class ModelFailed(Exception):
    """Raised around any exception from a model's own code, so the model is blamed, not the host."""


def _log(line: str) -> None:
    tqdm.write(line, file=sys.stderr)


class Runner:
    """One invocation of ``inpaintbench run`` into one output folder."""

    def __init__(
        self,
        config: RunConfig,
        out: Path,
        argv: list[str],
        progress: bool = True,
        registry: Registry | None = None,
        log: Callable[[str], None] = _log,
        debug: bool = False,
    ) -> None:
        self.config = config
        self.out = Path(out)
        self.argv = argv
        self.progress = progress
        self.log = log
        self.errors = ErrorLog(self.out, debug)
        self.registry = registry or get_registry()
        # Resolve every name first: a typo fails before any work is done.
        self.dataset: Dataset = self.registry.get("dataset", config.dataset)
        self.masks: dict[str, MaskGenerator] = {m: self.registry.get("mask", m) for m in config.masks}
        self.metrics: dict[str, Metric] = {m: self.registry.get("metric", m) for m in config.metrics}
        self.models: dict[str, Model] = {spec: self.registry.get("model", spec) for spec in config.models}
        for flag, specs in (
            ("--model", config.models),
            ("--masks", config.masks),
            ("--metrics", config.metrics),
        ):
            if not specs:
                raise InpaintbenchError(f"{flag} names nothing")
            if len(set(specs)) != len(specs):
                raise InpaintbenchError(f"{flag} names {max(specs, key=specs.count)!r} twice")
        if config.train_dataset is not None:
            self.registry.get("dataset", config.train_dataset)  # read only by models that train
        check_options(config.options, list(self.models.values()))
        check_image_size(config.image_size)
        check_positive("--batch-size", config.batch_size)
        check_positive("--limit", config.limit)
        if kind(self.out, "--out") == "file":
            raise InpaintbenchError(f"{self.out} is a file, not a folder: give --out a folder")
        try:
            self.device = resolve_device(config.device)
        except RuntimeError as exc:  # torch's own refusal of a malformed name such as cpu:x
            raise InpaintbenchError(f"--device {config.device!r}: {one_line(exc)}") from None
        self.timings: dict[str, Any] = {"prepare_s": {}, "eval_s": {}, "metric_s": {}, "features_s": {}}
        self.model_info: dict[str, Any] = {}

    # -- setup ------------------------------------------------------------------------------------
    def _load_samples(self) -> list[Sample]:
        samples: list[Sample] = []
        for sample in self.dataset.samples("test", self.config.image_size):
            samples.append(sample)
            if self.config.limit is not None and len(samples) >= self.config.limit:
                break
        if not samples:
            raise InpaintbenchError(f"--dataset {self.config.dataset} gave no usable test images")
        return samples

    @staticmethod
    def fingerprint(samples: list[Sample]) -> str:
        """sha256 over every image id and its pixels: equal fingerprints mean the same data."""
        h = hashlib.sha256()
        for s in samples:
            h.update(s.image_id.encode() + b"\0")
            h.update(np.ascontiguousarray(s.image, dtype=np.float32).tobytes())
        return h.hexdigest()

    def _claim(self, store: ResultStore, identity: dict[str, Any]) -> None:
        stored = store.open_session(identity)
        if stored is None:
            return
        key = next(k for k, v in identity.items() if stored.get(k) != v)
        raise InpaintbenchError(
            f"{self.out} holds a run with {key}={stored.get(key)!r}, not {identity[key]!r}: "
            "use another --out, or the same settings to resume"
        )

    def _setup_metrics(self, store: ResultStore) -> dict[str, Metric]:
        ready = {}
        for name, metric in self.metrics.items():
            try:
                metric.setup(self.device)
                if isinstance(metric, SetMetric) and not isinstance(metric.feature_key(), str):
                    raise TypeError("feature_key() must return a str")  # charged here, not mid-run
            except MetricUnavailable as exc:
                self._metric_unavailable(store, name, str(exc))
                continue
            except Exception as exc:
                self._metric_unavailable(store, name, f"setup failed: {type(exc).__name__}: {exc}")
                continue
            ready[name] = metric
        return ready

    def _metric_unavailable(self, store: ResultStore, name: str, reason: str) -> None:
        self.log(f"warning: metric '{name}' not computed: {reason}")
        store.add_event("metric_not_computed", {"metric": name, "reason": reason})

    def _failure(
        self, store: ResultStore, model: str, stage: str, mask: str | None, exc: BaseException
    ) -> None:
        where = f"{stage}{f', {mask}' if mask else ''}"
        self.errors.record(f"model '{model}' ({where})", exc)
        error = one_line(exc)
        self.log(f"error: model '{model}' failed ({where}): {error} [traceback in {self.errors.path}]")
        store.add_event("failure", {"model": model, "stage": stage, "mask": mask, "error": error})

    def _metric_failure(
        self, store: ResultStore, metric: str, model: str, mask: str, exc: BaseException
    ) -> None:
        self.errors.record(f"metric '{metric}' (scoring {model}, {mask})", exc)
        error = one_line(exc)
        self.log(
            f"error: metric '{metric}' failed scoring {model} on {mask}: {error}; it is dropped for the "
            f"rest of the run, the other metrics go on [traceback in {self.errors.path}]"
        )
        store.add_event("metric_failure", {"metric": metric, "model": model, "mask": mask, "error": error})

    # -- the run ------------------------------------------------------------------------------------
    def execute(self) -> RunOutcome:
        """Read the images and draw every mask first, so any problem with the inputs is reported before
        a file is created; then hold the folder for the whole run and compute what it lacks."""
        started = time.perf_counter()
        samples = self._load_samples()
        masks = {regime: self._draw_masks(regime, gen, samples) for regime, gen in self.masks.items()}
        settings = asdict(self.config)
        identity = {k: settings[k] for k in IDENTITY_KEYS} | {"fingerprint": self.fingerprint(samples)}
        self._make_folder()
        with exclusive(self.out):
            store = ResultStore(self.out / layout.RESULTS_DB, self.argv)
            try:
                self._begin(store, identity, len(samples), started)
                try:
                    return self._run(store, identity["fingerprint"], samples, masks, started)
                except DiskFull as exc:  # run.json now holds this invocation: --resume finishes it
                    raise DiskFull(exc.path, RESUME_ADVICE.format(self.out)) from None
            finally:
                store.close()

    def _make_folder(self) -> None:
        try:
            with writing(self.out):
                self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InpaintbenchError(f"cannot create the output folder {self.out}: {exc.strerror}") from None

    def _begin(self, store: ResultStore, identity: dict[str, Any], n_images: int, started: float) -> None:
        """Claim the folder and record this invocation in run.json; the outputs that would be stale from
        here on are removed, and written again when the run finishes."""
        self._claim(store, identity)
        for name in layout.DERIVED:
            (self.out / name).unlink(missing_ok=True)
        for skipped in self.dataset.skipped:
            store.add_event("skipped_input", skipped)
        self._write_run_json(store, identity["fingerprint"], n_images, started, finished=False)

    def _run(
        self,
        store: ResultStore,
        fingerprint: str,
        samples: list[Sample],
        masks: dict[str, list[np.ndarray]],
        started: float,
    ) -> RunOutcome:
        if self.config.save_images:
            self._save_inputs(samples, masks)
        metrics = self._setup_metrics(store)
        self._real_features(samples, metrics, store)
        for spec in self.config.models:
            self._evaluate_model(spec, samples, masks, metrics, store)
            self._write_run_json(store, fingerprint, len(samples), started, finished=False)
        self._compute_set_values(metrics, store)
        status = self._statuses(store, len(samples))
        held_out = self._held_out(store)
        per_image = [m for m in self.config.metrics if m not in set_metrics(self.metrics)]
        results = _in_run_order(store.results_frame(per_image), self.config, samples)
        write_atomically(self.out / layout.RESULTS_CSV, lambda tmp: results.to_csv(tmp, index=False))
        per_regime = {(m, r): entry for m, s in status.items() for r, entry in s["regimes"].items()}
        set_values = store.set_values(list(set_metrics(self.metrics)))
        summary = summarize(
            results,
            self.config.metrics,
            {key: entry["status"] for key, entry in per_regime.items()},
            held_out,
            set_values,
            self.config.references,
        )
        write_atomically(self.out / layout.SUMMARY_CSV, lambda tmp: summary.to_csv(tmp, index=False))
        self._write_run_json(store, fingerprint, len(samples), started, finished=True)
        self._render_report()
        notes = {
            key: note(entry, held_out[key[0]], key[0] in self.config.references)
            for key, entry in per_regime.items()
        }
        return RunOutcome(
            self.out,
            format_table(
                summary, self.config.metrics, notes, table_notes(set_metrics(self.metrics), set_values)
            ),
            store.session_counts()[store.session],
            store.events("failure", session_only=True),
            self._incomplete(store, status),
        )

    def _statuses(self, store: ResultStore, n_images: int) -> dict[str, Any]:
        counts = {(m, r): len(store.done(m, r)) for m in self.config.models for r in self.config.masks}
        return statuses(counts, self.config.models, self.config.masks, n_images)

    def _held_out(self, store: ResultStore) -> dict[str, bool]:
        """False for a model that read the evaluation images as training data, in any session."""
        trained_on_test = {event["model"] for event in store.events("not_held_out")}
        return {spec: spec not in trained_on_test for spec in self.config.models}

    def _incomplete(self, store: ResultStore, status: dict[str, Any]) -> list[str]:
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

    def _draw_masks(self, regime: str, generator: MaskGenerator, samples: list[Sample]) -> list[np.ndarray]:
        """Every image's mask: the dataset's frozen one, or drawn from the seed and checked to be
        reproducible, so a generator that ignores its rng is refused before any model runs."""
        size = self.config.image_size
        masks, drawn = [], {}
        for s in samples:
            mask = self.dataset.frozen_mask(regime, s.image_id)
            if mask is None:
                mask = drawn[s.image_id] = draw_mask(generator, regime, self.config.seed, s.image_id, size)
            masks.append(mask)
        check_reproducible(generator, regime, self.config.seed, drawn, size)
        return masks

    def _save_inputs(self, samples: list[Sample], masks: dict[str, list[np.ndarray]]) -> None:
        """Each ground truth and each mask as a PNG, once per folder."""
        for i, s in enumerate(samples):
            pngs = [(layout.target_png(self.out, s.image_id), s.image)]
            pngs += [
                (layout.mask_png(self.out, r, s.image_id), m[i].astype(np.float32)) for r, m in masks.items()
            ]
            for path, image in pngs:
                if not path.exists():
                    write_png(path, image)

    def _evaluate_model(
        self,
        spec: str,
        samples: list[Sample],
        masks: dict[str, list[np.ndarray]],
        metrics: dict[str, Metric],
        store: ResultStore,
    ) -> None:
        model = self.models[spec]
        pending = {}
        for regime in masks:
            done = store.done(spec, regime)
            pending[regime] = [i for i, s in enumerate(samples) if s.image_id not in done]
        if not any(pending.values()):
            return
        t0 = time.perf_counter()
        split = self._train_split()
        try:
            model.prepare(self._prepare_context(split))
        except Exception as exc:
            self._failure(store, spec, "prepare", None, exc)
            return
        finally:
            if split.read_test_images:
                store.add_event("not_held_out", {"model": spec, "dataset": split.spec})
        self.timings["prepare_s"][spec] = round(time.perf_counter() - t0, 3)
        for regime, todo in pending.items():
            t0 = time.perf_counter()
            bar = tqdm(
                total=len(todo),
                desc=f"{spec} / {regime}",
                unit="img",
                disable=not self.progress,
                leave=False,
                file=sys.stderr,
            )
            try:
                for start in range(0, len(todo), self.config.batch_size):
                    batch = todo[start : start + self.config.batch_size]
                    store.add(
                        self._evaluate_batch(
                            model, spec, regime, batch, samples, masks[regime], metrics, store
                        )
                    )
                    bar.update(len(batch))
            except ModelFailed as exc:  # InvalidOutput or a model bug: recorded, the other models go on
                self._failure(store, spec, "inpaint", regime, exc.__cause__ or exc)
            finally:
                bar.close()
            self.timings["eval_s"].setdefault(spec, {})[regime] = round(time.perf_counter() - t0, 3)
        try:
            self.model_info[spec] = {
                "provenance": model.provenance(),
                "sources": {r: model.source(r) for r in masks},
            }
        except Exception as exc:
            self._failure(store, spec, "provenance", None, exc)

    def _evaluate_batch(
        self,
        model: Model,
        spec: str,
        regime: str,
        batch: list[int],
        samples: list[Sample],
        masks: list[np.ndarray],
        metrics: dict[str, Metric],
        store: ResultStore,
    ) -> list[Row]:
        with torch.inference_mode():
            images = self._on_device(np.stack([samples[i].image for i in batch]))
            holes = self._on_device(np.stack([masks[i] for i in batch])[..., None])
            try:
                pred = inpaint_sealed(model, images, holes, [samples[i].image_id for i in batch], regime)
                checkpoint = model.source(regime)
            except Exception as exc:
                raise ModelFailed(one_line(exc)) from exc
        scores = self._score(pred, images, holes, metrics, store, spec, regime)
        features = self._features(pred, metrics, store, spec, regime)
        if self.config.save_images:
            pred_np = pred.permute(0, 2, 3, 1).float().cpu().numpy()
            for k, i in enumerate(batch):
                write_png(layout.prediction_png(self.out, spec, regime, samples[i].image_id), pred_np[k])
        return [
            Row(
                spec,
                regime,
                samples[i].image_id,
                float(masks[i].mean()),
                checkpoint,
                {name: values[k] for name, values in scores.items()},
                {key: vectors[k] for key, vectors in features.items()},
            )
            for k, i in enumerate(batch)
        ]

    def _on_device(self, array: np.ndarray) -> torch.Tensor:
        """N x H x W x C numpy -> a fresh contiguous float32 N x C x H x W tensor on the run's device."""
        tensor = torch.from_numpy(array).permute(0, 3, 1, 2).to(self.device, torch.float32)
        return tensor.clone(memory_format=torch.contiguous_format)

    def _score(
        self,
        pred: torch.Tensor,
        images: torch.Tensor,
        holes: torch.Tensor,
        metrics: dict[str, Metric],
        store: ResultStore,
        model: str,
        regime: str,
    ) -> dict[str, list[float]]:
        """Every metric on one batch, each on its own copies of the inputs, so a metric that edits
        them in place cannot change what the next one scores. A metric that raises or returns
        anything but one number per image is named, dropped for the rest of the run, and the others
        go on."""
        scores: dict[str, list[float]] = {}
        for name, metric in list(metrics.items()):
            if isinstance(metric, SetMetric):
                continue
            t0 = time.perf_counter()
            try:
                with torch.no_grad():
                    inputs = (pred.clone(), images.clone(), holes.clone())
                    values = validate_scores(metric.compute(*inputs), len(pred))
            except Exception as exc:
                del metrics[name]
                self._metric_failure(store, name, model, regime, exc)
                continue
            scores[name] = values
            spent = self.timings["metric_s"].get(name, 0.0) + time.perf_counter() - t0
            self.timings["metric_s"][name] = round(spent, 4)
        return scores

    def _features(
        self, images: torch.Tensor, metrics: dict[str, Metric], store: ResultStore, model: str, regime: str
    ) -> dict[str, np.ndarray]:
        """The n x D features of one batch per feature group of the set-level metrics, extracted once per
        group from a copy of the images. A group whose extraction raises or returns anything but one finite
        vector per image is named and its metrics dropped for the rest of the run; the rest goes on."""
        out = {}
        for key, names in feature_groups(metrics).items():
            t0 = time.perf_counter()
            try:
                with torch.no_grad():
                    out[key] = validate_features(metrics[names[0]].features(images.clone()), len(images))
            except Exception as exc:
                for name in names:
                    del metrics[name]
                    self._metric_failure(store, name, model, regime, exc)
                continue
            spent = self.timings["features_s"].get(key, 0.0) + time.perf_counter() - t0
            self.timings["features_s"][key] = round(spent, 4)
        return out

    def _real_features(self, samples: list[Sample], metrics: dict[str, Metric], store: ResultStore) -> None:
        """The ground truth's features for every image that lacks them, once per run (they do not depend
        on the regime), committed batch by batch like the results."""
        done = {key: store.real_done(key) for key in feature_groups(metrics)}
        todo = [s for s in samples if any(s.image_id not in ids for ids in done.values())]
        bar = tqdm(
            total=len(todo),
            desc="ground-truth features",
            unit="img",
            disable=not self.progress or not todo,
            leave=False,
            file=sys.stderr,
        )
        for start in range(0, len(todo), self.config.batch_size):
            chunk = todo[start : start + self.config.batch_size]
            images = self._on_device(np.stack([s.image for s in chunk]))
            for key, vectors in self._features(images, metrics, store, "ground truth", "test images").items():
                new = [k for k, s in enumerate(chunk) if s.image_id not in done[key]]
                store.add_real_features(key, [chunk[k].image_id for k in new], vectors[new])
            bar.update(len(chunk))
        bar.close()

    def _compute_set_values(self, metrics: dict[str, Metric], store: ResultStore) -> None:
        """Each set-level metric over each (model, regime)'s stored features against the ground truth of
        the same images, stored. Values of a metric that cannot run this time stay as last stored."""
        for name, metric in set_metrics(metrics).items():
            t0 = time.perf_counter()
            for spec, regime in itertools.product(self.config.models, self.config.masks):
                images, pred, real = store.paired_features(spec, regime, metric.feature_key())
                if not images:
                    continue
                try:
                    value = validate_set_value(metric.compute_set(pred, real))
                except Exception as exc:
                    del metrics[name]
                    self._metric_failure(store, name, spec, regime, exc)
                    break
                store.set_set_value(spec, regime, name, value, len(images))
            self.timings["metric_s"][name] = round(time.perf_counter() - t0, 4)

    def _train_split(self) -> TrainSplit:
        """A fresh view of the training split for one model: a new dataset object (never the one the
        runner reads test images from), and a record of whether the model read the test images."""
        spec = self.config.train_dataset or self.config.dataset
        return TrainSplit(
            lambda: self.registry.get("dataset", spec),
            spec,
            is_test_data=not self.dataset.has_splits and _same_data(spec, self.config.dataset),
            allowed=self.config.train_on_test,
        )

    def _prepare_context(self, split: TrainSplit) -> PrepareContext:
        return PrepareContext(
            train_dataset=split,
            image_size=self.config.image_size,
            device=self.device,
            seed=self.config.seed,
            regimes=list(self.masks),
            options=dict(self.config.options),
            cache_dir=cache_dir(),
            log=self.log,
            progress=self.progress,
        )

    # -- outputs ------------------------------------------------------------------------------------
    def _components(self) -> dict[str, dict[str, dict[str, str]]]:
        """Each component of the run with its description and the plugin that provides it."""
        chosen = {
            "model": self.models,
            "mask": self.masks,
            "metric": self.metrics,
            "dataset": {self.config.dataset: self.dataset},
        }
        return {
            kind: {
                spec: {"description": c.description, "plugin": self.registry.plugin_of(kind, c.name)}
                for spec, c in items.items()
            }
            for kind, items in chosen.items()
        }

    def _write_run_json(
        self, store: ResultStore, fingerprint: str, n_images: int, started: float, finished: bool
    ) -> None:
        previous = _read_json(self.out / layout.RUN_JSON)
        models = previous.get("models", {}) | self.model_info
        held_out = self._held_out(store)
        for spec, entry in self._statuses(store, n_images).items():
            flags = {"held_out": held_out[spec], "reference": spec in self.config.references}
            models[spec] = models.get(spec, {}) | entry | flags
        timings = dict(self.timings, total_s=round(time.perf_counter() - started, 3))
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
                "plugins": self.registry.plugin_versions(),
            },
            "config": asdict(self.config),
            "device": str(self.device),
            "dataset": {"spec": self.config.dataset, "n_images": n_images, "fingerprint": fingerprint},
            "skipped_inputs": _unique(store.events("skipped_input")),
            "failures": store.events("failure", session_only=True),
            "metric_failures": store.events("metric_failure", session_only=True),
            "metrics_not_computed": store.events("metric_not_computed", session_only=True),
            "metric_info": {
                name: {"higher_is_better": m.higher_is_better, "description": m.description}
                for name, m in self.metrics.items()
            },
            "set_metrics": run_json_section(
                set_metrics(self.metrics), store.set_values(list(set_metrics(self.metrics)))
            ),
            "models": models,
            "components": self._components(),
            "timings": timings,
            "sessions": store.sessions(),
        }
        write_text(self.out / layout.RUN_JSON, json.dumps(doc, indent=2, default=str))

    def _render_report(self) -> None:
        try:
            from ..report import render
        except ImportError:
            return
        try:
            render([self.out], self.out)
        except DiskFull:
            raise
        except Exception as exc:  # the results are on disk already; a report problem must not hide them
            self.log(f"warning: the HTML report could not be written: {type(exc).__name__}: {exc}")


def _in_run_order(results: pd.DataFrame, config: RunConfig, samples: list[Sample]) -> pd.DataFrame:
    """Rows in the order the user named models and regimes, images in dataset order."""
    orders = {
        "model": config.models,
        "mask": config.masks,
        "image": [s.image_id for s in samples],
    }

    def rank(column: pd.Series) -> pd.Series:
        position = {name: i for i, name in enumerate(orders[column.name])}
        return column.map(lambda v: (position.get(v, len(position)), v))

    return results.sort_values(["model", "mask", "image"], key=rank, kind="stable").reset_index(drop=True)


def _same_data(a: str, b: str) -> bool:
    """Whether two dataset specs name the same data: equal names, and equal arguments or arguments
    that are the same path spelt differently."""
    name_a, _, arg_a = a.partition(":")
    name_b, _, arg_b = b.partition(":")
    if name_a != name_b:
        return False
    if arg_a == arg_b:
        return True
    try:
        return Path(arg_a).expanduser().resolve() == Path(arg_b).expanduser().resolve()
    except (OSError, RuntimeError):
        return False


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for item in items:
        key = json.dumps(item, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
