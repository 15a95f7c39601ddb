"""``check_dataset``: each split yields samples the runner can stack, and reports skipped inputs properly.

The runner stacks images into one batch and keys every result by image id, so a wrong size, a value
outside [0, 1] or a repeated id would break a run or silently merge two images' rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice

import numpy as np

from ..components import Dataset
from .report import Report


def _image_problem(image: object, image_size: int) -> str | None:
    if not isinstance(image, np.ndarray):
        return f"image is {type(image).__name__}, expected a numpy array"
    expected = (image_size, image_size, 3)
    if image.shape != expected:
        return f"image has shape {image.shape}, expected {expected}"
    if image.dtype.kind != "f":
        return f"image has dtype {image.dtype}, expected float32 in [0, 1]"
    if not np.isfinite(image).all():
        return "image holds NaN or infinite values"
    if image.min() < 0 or image.max() > 1:
        return f"image values lie in [{image.min():.4g}, {image.max():.4g}], outside [0, 1]"
    return None


def _check_split(report: Report, dataset: Dataset, split: str, image_size: int, limit: int) -> None:
    seen: set[str] = set()
    count = 0
    try:
        for sample in islice(dataset.samples(split, image_size), limit):
            image_id = getattr(sample, "image_id", None)
            where = f"[{split}] {image_id!r}: "
            if not isinstance(image_id, str) or not image_id:
                report.fail("ids", f"{where}an image id must be a non-empty string")
            elif image_id in seen:
                report.fail("ids", f"{where}yielded twice; ids must be unique within a split")
            else:
                seen.add(image_id)
            problem = _image_problem(getattr(sample, "image", None), image_size)
            if problem is not None:
                report.fail("images", where + problem)
            count += 1
    except Exception as exc:
        report.fail("samples runs", f"[{split}] raised {type(exc).__name__}: {exc}")
        return
    if not count:
        report.fail("not empty", f"[{split}] yielded no sample")


def check_dataset(
    dataset: Dataset, *, image_size: int = 32, splits: Sequence[str] = ("test",), limit: int = 50
) -> None:
    """Read up to ``limit`` samples of each split at ``image_size``; raise ContractError listing every
    violated clause."""
    report = Report(dataset)
    for split in splits:
        _check_split(report, dataset, split, image_size, limit)
    skipped = getattr(dataset, "skipped", None)
    if not isinstance(skipped, list):
        report.fail("skipped", f"skipped is {type(skipped).__name__}, expected a list")
    else:
        for entry in skipped:
            if not (isinstance(entry, dict) and {"path", "reason"} <= set(entry)):
                report.fail("skipped", f"entry {entry!r} needs 'path' and 'reason'")
    if not isinstance(type(dataset).has_splits, bool):
        report.fail("has_splits", f"has_splits is {type(dataset).has_splits!r}, expected True or False")
    report.raise_if_any()
