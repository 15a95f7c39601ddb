"""The reference baselines a run evaluates beside the models it was asked for.

A table of one model answers nothing ("best" in every cell, no paired comparison), so a run none of
whose models is a reference baseline also evaluates these, on the same images and masks, flagged as
references everywhere its results appear. ``--no-references`` turns that off; naming any of them in
``--model`` means the user chose the comparison, and nothing is added.
"""

from __future__ import annotations

#: Training-free and cheap: a flat fill, a smooth PDE fill and OpenCV's fast marching method.
REFERENCE_MODELS = ("mean_fill", "biharmonic", "opencv_telea")


def with_references(models: list[str], enabled: bool = True) -> tuple[list[str], list[str]]:
    """``models`` with the reference baselines appended when none of them is already named, and the
    list of those appended."""
    named = {spec.partition(":")[0] for spec in models}
    if not enabled or named & set(REFERENCE_MODELS):
        return list(models), []
    return [*models, *REFERENCE_MODELS], list(REFERENCE_MODELS)
