"""``check_mask``: a mask generator's masks are reproducible from the seed, H x W, binary, and in range.

Masks are seeded as a run seeds them (``mask_rng`` of the seed, the spec and an image id) and read with
the runner's own ``as_mask``. Reproducibility is checked more strictly than the runner's
``check_reproducible`` (which redraws four masks): every mask is redrawn, sizes interleaved and in
reverse order, so state kept between calls or global randomness (``np.random``, ``random``) shows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..components import MaskGenerator
from ..errors import InpaintbenchError
from ..masks.draw import as_mask
from ..seeding import mask_rng
from .report import Report

#: Slack on the declared hole-ratio range, for ratios that are exact fractions of the pixel count.
RATIO_TOLERANCE = 1e-9


def _declared_range(generator: MaskGenerator) -> tuple[float, float] | str | None:
    """The declared (low, high) hole ratio, None when none is declared, or why the declaration is wrong."""
    declared = getattr(generator, "hole_ratio", None)
    if declared is None:
        return None
    try:
        low, high = (float(v) for v in declared)
    except (TypeError, ValueError):
        return f"hole_ratio is {declared!r}, expected (low, high)"
    if not 0.0 <= low <= high <= 1.0:
        return f"hole_ratio {declared!r} is not a range within [0, 1]"
    return low, high


def _redraw_problem(generator: MaskGenerator, seed: int, image_id: str, first: np.ndarray) -> str | None:
    h, w = first.shape
    try:
        again = np.asarray(generator.generate(mask_rng(seed, generator.spec, image_id), h, w))
    except Exception as exc:
        return f"raised {type(exc).__name__} when redrawn: {exc}"
    if np.array_equal(again, first):
        return None
    return (
        "redrawn from the same seed differs: a generator must use only the rng it is given "
        "(not np.random, random or its own state)"
    )


def check_mask(
    generator: MaskGenerator,
    *,
    sizes: Sequence[tuple[int, int]] = ((64, 64), (96, 128)),
    n: int = 16,
    seed: int = 0,
) -> None:
    """Draw ``n`` masks at each (height, width) in ``sizes`` and redraw them; raise ContractError
    listing every violated clause, each with its first offending mask and how many offend."""
    report = Report(generator)
    regime = generator.spec
    declared = _declared_range(generator)
    if isinstance(declared, str):
        report.fail("hole_ratio declaration", declared)
        declared = None
    draws = [(h, w, f"kit-{i}") for h, w in sizes for i in range(n)]
    offending: dict[str, list[str]] = {}
    drawn: dict[tuple[int, int, str], np.ndarray] = {}
    for h, w, image_id in draws:
        where = f"'{image_id}' at {h}x{w}"
        try:
            raw = np.asarray(generator.generate(mask_rng(seed, regime, image_id), h, w))
        except Exception as exc:
            offending.setdefault("generate runs", []).append(f"{where} raised {type(exc).__name__}: {exc}")
            continue
        if raw.shape != (h, w):
            offending.setdefault("shape", []).append(f"{where} drew shape {raw.shape}, expected {(h, w)}")
            continue
        try:
            mask = drawn[h, w, image_id] = as_mask(raw, regime, image_id, h, w)
        except InpaintbenchError as exc:
            offending.setdefault("binary", []).append(f"at {h}x{w}: {exc}")
            continue
        ratio = float(mask.mean())
        if (
            declared is not None
            and not declared[0] - RATIO_TOLERANCE <= ratio <= declared[1] + RATIO_TOLERANCE
        ):
            offending.setdefault("hole ratio", []).append(
                f"{where} has hole ratio {ratio:.4f}, outside the declared {declared}"
            )
    for h, w, image_id in reversed(draws):  # in reverse order, so state kept between calls shows
        if (h, w, image_id) in drawn:
            problem = _redraw_problem(generator, seed, image_id, drawn[h, w, image_id])
            if problem is not None:
                offending.setdefault("reproducible", []).append(f"'{image_id}' at {h}x{w} {problem}")
    for clause, details in offending.items():
        report.fail(clause, f"{details[0]} ({len(details)} of {len(draws)} masks)")
    report.raise_if_any()
