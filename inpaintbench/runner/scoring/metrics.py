"""The metrics of a run: set up once, applied to every scored batch, each on its own copies of the inputs.

Per-image metrics give one value per image and row; set-level metrics (fid, kid) give per-image features,
stored with each batch (predictions) and once per image (ground truth), and their values are computed at
the end of the run from everything stored (``sets.py``). A metric that fails is named and dropped for the
rest of the run (``shared/failures.py``); the others go on.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ...components import Metric, MetricUnavailable, SetMetric
from ..model.outputs import validate_features, validate_scores, validate_set_value
from ..shared.failures import Failures
from .sets import feature_groups, set_metrics

if TYPE_CHECKING:
    from ..store.results import ResultStore


class Copies:
    """Each metric's own copies of its inputs, written into buffers its thread keeps from batch to batch.

    Why not ``clone``: on the CPU a fresh multi-megabyte buffer costs a page fault per 4 KB page, and in a
    run, where several threads allocate and free batches, glibc hands such buffers back to the system
    often. Measured on a 256 px run (``benchmarks/eval_pipeline.py``, psnr and ssim): about 1,100 faults
    and 2 to 4 ms of the metrics' 15 to 20 ms per image. A metric still gets inputs nobody else holds
    while it runs, so one that edits them cannot change what the next one scores; it must not keep them
    past ``compute``, as the next metric's copies are written into the same memory.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def of(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        held: list[torch.Tensor] = getattr(self._local, "buffers", [])
        copies = []
        for k, tensor in enumerate(tensors):
            buffer = held[k] if k < len(held) else None
            if buffer is None or (buffer.shape, buffer.dtype, buffer.device) != (
                tensor.shape, tensor.dtype, tensor.device
            ):  # fmt: skip
                buffer = torch.empty_like(tensor, memory_format=torch.contiguous_format)
            copies.append(buffer.copy_(tensor))
        self._local.buffers = copies + held[len(copies) :]
        return tuple(copies)


class Scoring:
    """The metrics still in the run, and the time each has taken."""

    def __init__(self, metrics: dict[str, Metric], failures: Failures, timings: dict[str, Any]) -> None:
        self.metrics = dict(metrics)
        self.failures = failures
        self.copies = Copies()
        self.metric_s: dict[str, float] = timings.setdefault("metric_s", {})
        self.features_s: dict[str, float] = timings.setdefault("features_s", {})

    def setup(self, device: torch.device) -> None:
        """Set every metric up on ``device``; one that cannot run here is listed as not computed."""
        for name, metric in list(self.metrics.items()):
            try:
                metric.setup(device)
                if isinstance(metric, SetMetric) and not isinstance(metric.feature_key(), str):
                    raise TypeError("feature_key() must return a str")  # charged here, not mid-run
            except MetricUnavailable as exc:
                reason = str(exc)
            except Exception as exc:
                reason = f"setup failed: {type(exc).__name__}: {exc}"
            else:
                continue
            del self.metrics[name]
            self.failures.metric_unavailable(name, reason)

    @property
    def needs(self) -> tuple[list[str], list[str]]:
        """What a finished result holds in the store with these metrics, a score for each per-image metric
        and a vector for each feature key (``ResultStore.done_among``): one lacking any is computed again."""
        per_image = [name for name, metric in self.metrics.items() if not isinstance(metric, SetMetric)]
        return per_image, list(self.groups)

    @property
    def groups(self) -> dict[str, list[str]]:
        """Feature key -> the set-level metrics reading it (one extraction serves a group)."""
        return feature_groups(self.metrics)

    def score(
        self, pred: torch.Tensor, images: torch.Tensor, holes: torch.Tensor, model: str, regime: str
    ) -> dict[str, list[float]]:
        """Every per-image metric on one batch, each on its own copies of the inputs, so a metric that
        edits them in place cannot change what the next one scores."""
        scores: dict[str, list[float]] = {}
        for name, metric in list(self.metrics.items()):
            if isinstance(metric, SetMetric):
                continue
            t0 = time.perf_counter()
            try:
                with torch.no_grad():
                    values = validate_scores(metric.compute(*self.copies.of(pred, images, holes)), len(pred))
            except Exception as exc:
                del self.metrics[name]
                self.failures.metric(name, model, regime, exc)
                continue
            scores[name] = values
            self.metric_s[name] = round(self.metric_s.get(name, 0.0) + time.perf_counter() - t0, 4)
        return scores

    def features(self, images: torch.Tensor, model: str, regime: str) -> dict[str, np.ndarray]:
        """The n x D features of one batch per feature group, extracted from a copy of the images. A group
        whose extraction raises or returns anything but one finite vector per image loses its metrics."""
        out = {}
        for key, names in self.groups.items():
            t0 = time.perf_counter()
            try:
                with torch.no_grad():
                    features = self.metrics[names[0]].features(*self.copies.of(images))
                    out[key] = validate_features(features, len(images))
            except Exception as exc:
                for name in names:
                    del self.metrics[name]
                    self.failures.metric(name, model, regime, exc)
                continue
            self.features_s[key] = round(self.features_s.get(key, 0.0) + time.perf_counter() - t0, 4)
        return out

    def real_features(
        self, images: torch.Tensor, image_ids: list[str], reader: ResultStore, writer: ResultStore
    ) -> None:
        """The ground truth's features for the images of a batch that lack them (once per image: they do
        not depend on the regime), committed at once like the results."""
        groups = self.groups
        if not groups:
            return
        lacking = {key: set(image_ids) - reader.real_done_among(key, image_ids) for key in groups}
        wanted = [k for k, image in enumerate(image_ids) if any(image in ids for ids in lacking.values())]
        if not wanted:
            return
        index = torch.tensor(wanted, device=images.device)
        found = self.features(images.index_select(0, index), "ground truth", "test images")
        for key, vectors in found.items():
            new = [j for j, k in enumerate(wanted) if image_ids[k] in lacking[key]]
            writer.add_real_features(key, [image_ids[wanted[j]] for j in new], vectors[new])

    def compute_sets(self, store: ResultStore, models: list[str], regimes: list[str]) -> None:
        """Each set-level metric over each (model, regime)'s stored features against the ground truth of
        the same images, stored. Values of a metric that cannot run this time stay as last stored."""
        for name, metric in set_metrics(self.metrics).items():
            t0 = time.perf_counter()
            for spec, regime in itertools.product(models, regimes):
                images, pred, real = store.paired_features(spec, regime, metric.feature_key())
                if not images:
                    continue
                try:
                    value = validate_set_value(metric.compute_set(pred, real))
                except Exception as exc:
                    del self.metrics[name]
                    self.failures.metric(name, spec, regime, exc)
                    break
                store.set_set_value(spec, regime, name, value, len(images))
            self.metric_s[name] = round(time.perf_counter() - t0, 4)
