"""The model step: each model prepared when it first has work, then run on the pending images of a batch.

A model sees the test images only through sealed batches (``sealed.py``) and its ``prepare`` only the
training split (``TrainSplit``). A model that fails to prepare is failed for the run; one that fails on a
batch (an exception, NaN, the wrong shape) is failed for that regime, its finished rows kept, and the
other regimes and models go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ...cache import cache_dir
from ...components import Model, PrepareContext, TrainSplit
from ...errors import one_line
from ..plan.config import Plan
from ..shared.failures import Failures, ModelFailed
from ..shared.threads import torch_threads
from .outputs import as_8bit
from .sealed import inpaint_sealed


class ModelStep:
    """One model of the run and what happened to it so far."""

    def __init__(
        self,
        spec: str,
        plan: Plan,
        device: torch.device,
        failures: Failures,
        timings: dict[str, Any],
        log: Callable[[str], None],
        progress: bool,
        prepare_threads: int,
    ) -> None:
        self.spec = spec
        self.model: Model = plan.models[spec]
        self.plan = plan
        self.device = device
        self.failures = failures
        self.timings = timings
        self.log = log
        self.progress = progress
        self.prepared = False
        self.failed = False
        #: torch's threads outside the evaluation: a model's prepare may train.
        self.prepare_threads = prepare_threads
        self.failed_regimes: set[str] = set()

    def runs(self, regime: str) -> bool:
        """Whether the model still takes part in ``regime`` (it has not failed there or in prepare)."""
        return not self.failed and regime not in self.failed_regimes

    def ready(self, settle: Callable[[], None]) -> bool:
        """Prepare the model on first use; False when preparing failed (recorded). ``settle`` first waits
        for the scoring still running: a prepare raises torch's thread count (a whole process's with a
        native thread pool), and a metric computed meanwhile would then run its sums on another number of
        threads, its value depending on that timing."""
        if self.prepared or self.failed:
            return self.prepared
        settle()
        t0 = time.perf_counter()
        split = self._train_split()
        try:
            with torch_threads(self.prepare_threads):  # training gets every CPU (``shared/threads.py``)
                self.model.prepare(self._prepare_context(split))
        except Exception as exc:
            self.failures.model(self.spec, "prepare", None, exc)
            self.failed = True
            return False
        finally:
            if split.read_test_images:
                self.failures.store.add_event("not_held_out", {"model": self.spec, "dataset": split.spec})
        self.timings["prepare_s"][self.spec] = round(time.perf_counter() - t0, 3)
        self.prepared = True
        return True

    def inpaint(
        self, images: torch.Tensor, holes: torch.Tensor, image_ids: list[str], regime: str
    ) -> tuple[torch.Tensor, str]:
        """The scored prediction of a batch and the weights that made it; ``ModelFailed`` blames the model."""
        with torch.inference_mode():
            try:
                pred = inpaint_sealed(self.model, images, holes, image_ids, regime)
                if not self.plan.config.float_scores:
                    pred = as_8bit(pred)
                return pred, self.model.source(regime)
            except Exception as exc:
                raise ModelFailed(one_line(exc)) from exc

    def fail(self, regime: str, exc: BaseException) -> None:
        self.failures.model(self.spec, "inpaint", regime, exc)
        self.failed_regimes.add(regime)

    def info(self) -> dict[str, Any] | None:
        """The model's provenance and per-regime sources for run.json, once it has been prepared."""
        if not self.prepared:
            return None
        try:
            return {
                "provenance": self.model.provenance(),
                "sources": {r: self.model.source(r) for r in self.plan.masks},
            }
        except Exception as exc:
            self.failures.model(self.spec, "provenance", None, exc)
            return None

    def _train_split(self) -> TrainSplit:
        """A fresh view of the training split for one model: a new dataset object (never the one the
        runner reads test images from), and a record of whether the model read the test images."""
        config = self.plan.config
        spec = config.train_dataset or config.dataset
        return TrainSplit(
            lambda: self.plan.registry.get("dataset", spec),
            spec,
            is_test_data=not self.plan.dataset.has_splits and same_data(spec, config.dataset),
            allowed=config.train_on_test,
        )

    def _prepare_context(self, split: TrainSplit) -> PrepareContext:
        config = self.plan.config
        return PrepareContext(
            train_dataset=split,
            image_size=config.image_size,
            device=self.device,
            seed=config.seed,
            regimes=list(self.plan.masks),
            options=dict(config.options),
            cache_dir=cache_dir(),
            log=self.log,
            progress=self.progress,
        )


def same_data(a: str, b: str) -> bool:
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
