"""Model options (``--option KEY=VALUE`` and the training flags) checked against what models read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .components import Model
from .errors import InpaintbenchError


def check_options(options: Mapping[str, str], models: Sequence[Model]) -> None:
    """Every option must be read by at least one of ``models`` (``Model.options``): options go to all
    models of a run, so one no model reads is a misspelling or a flag meant for another model."""
    known = {key for model in models for key in model.options}
    unknown = sorted(set(options) - known)
    if unknown:
        names = ", ".join(model.name for model in models)
        reads = f"they read: {', '.join(sorted(known))}" if known else "they take no options"
        raise InpaintbenchError(
            f"option '{unknown[0]}' is not read by any model of this run ({names}); {reads}"
        )
