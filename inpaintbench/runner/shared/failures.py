"""Charging each failure to the component that raised it: one line in the terminal and in run.json (through
the store's events), the traceback in ``errors.log``.

A model's failure costs that model (its finished rows are kept, it is marked partial or failed); a
metric's costs that metric (dropped for the rest of the run, named); neither stops the other components.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ...errors import one_line
from .errorlog import ErrorLog

if TYPE_CHECKING:
    from ..store.results import ResultStore


class ModelFailed(Exception):
    """Raised around any exception from a model's own code, so the model is blamed, not the host."""


class Failures:
    """Where this process records failures: its store (events) and the run's error log."""

    def __init__(self, store: ResultStore, errors: ErrorLog, log: Callable[[str], None]) -> None:
        self.store = store
        self.errors = errors
        self.log = log

    def model(self, model: str, stage: str, mask: str | None, exc: BaseException) -> None:
        where = f"{stage}{f', {mask}' if mask else ''}"
        self.errors.record(f"model '{model}' ({where})", exc)
        error = one_line(exc)
        self.log(f"error: model '{model}' failed ({where}): {error} [traceback in {self.errors.path}]")
        self.store.add_event("failure", {"model": model, "stage": stage, "mask": mask, "error": error})

    def metric(self, metric: str, model: str, mask: str, exc: BaseException) -> None:
        self.errors.record(f"metric '{metric}' (scoring {model}, {mask})", exc)
        error = one_line(exc)
        self.log(
            f"error: metric '{metric}' failed scoring {model} on {mask}: {error}; it is dropped for the "
            f"rest of the run, the other metrics go on [traceback in {self.errors.path}]"
        )
        self.store.add_event(
            "metric_failure", {"metric": metric, "model": model, "mask": mask, "error": error}
        )

    def metric_unavailable(self, name: str, reason: str) -> None:
        self.log(f"warning: metric '{name}' not computed: {reason}")
        self.store.add_event("metric_not_computed", {"metric": name, "reason": reason})
