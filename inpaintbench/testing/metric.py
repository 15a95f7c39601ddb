"""``check_metric``: a metric scores one value per image, ranks a perfect prediction first, and is pure.

It is called under ``torch.no_grad()``, outside inference mode, on inference tensors, so an in-place
edit of its inputs raises (a run hands each metric its own copies, so such an edit is harmless there,
but it is still a bug). A second call on ordinary tensors names the input a metric edits. Scores are
compared with a relative tolerance of ``REL_TOL``: a batch of one can take other kernels than a batch
of four.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..components import Metric
from ..masks.draw import draw_masks
from ..masks.random_region import RandomRegionMask
from ..plugins import contract_problem
from ..runner.model.outputs import InvalidScores, validate_scores
from .inputs import as_tensors, photo_crops
from .report import Report

REL_TOL, ABS_TOL = 1e-5, 1e-7
#: How far the perturbed prediction's hole pixels move (uniform noise of this amplitude, clipped).
NOISE = 0.3


def _scores(metric: Metric, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> list[float]:
    with torch.no_grad():
        return validate_scores(metric.compute(pred, target, mask), len(pred))


def _same(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(
        (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=REL_TOL, abs_tol=ABS_TOL)
        for x, y in zip(a, b, strict=True)
    )


def _shown(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{v:.6g}" for v in values) + "]"


def _inputs(image_size: int, batch_size: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Photos, random-region masks (every image has a hole), a prediction equal to the photos, and
    one with noise in the hole (the composited output of a poor model); all inference tensors."""
    crops = photo_crops(image_size, batch_size)
    ids = [c.image_id for c in crops]
    masks = draw_masks(RandomRegionMask(), "random", 0, ids, image_size)
    target, mask = as_tensors([c.image for c in crops], list(masks.values()), device)
    noise = torch.rand(target.shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.inference_mode():
        noisy = (target + NOISE * noise.to(device)).clamp(0, 1)
        return {
            "target": target,
            "mask": mask,
            "identical": target.clone(),
            "perturbed": torch.where(mask.bool().expand_as(target), noisy, target),
        }


def _edited_inputs(metric: Metric, x: dict[str, torch.Tensor]) -> str | None:
    """Which inputs ``compute`` changes, found on ordinary copies (where an edit does not raise)."""
    plain = {"pred": x["perturbed"].clone(), "target": x["target"].clone(), "mask": x["mask"].clone()}
    saved = {name: t.clone() for name, t in plain.items()}
    with torch.no_grad():
        metric.compute(plain["pred"], plain["target"], plain["mask"])
    edited = [name for name in plain if not torch.equal(plain[name], saved[name])]
    return f"compute edited its input {', '.join(edited)} in place" if edited else None


def _direction(higher_is_better: bool, perfect: list[float], poor: list[float]) -> str | None:
    """A prediction equal to the target must score at least as well as a noisy one, image by image."""
    sign = 1 if higher_is_better else -1
    wrong = [i for i, (a, b) in enumerate(zip(perfect, poor, strict=True)) if not sign * (a - b) >= 0]
    if not wrong:
        return None
    i = wrong[0]
    return (
        f"a prediction equal to the target scored worse than a noisy one for {len(wrong)} of {len(poor)} "
        f"images (image {i}: {perfect[i]:.6g} against {poor[i]:.6g}) with higher_is_better = "
        f"{higher_is_better}: the direction is declared wrong, or the metric is"
    )


def _per_image(metric: Metric, x: dict[str, torch.Tensor], batched: list[float]) -> str | None:
    alone: list[float] = []
    for i in range(len(batched)):
        one = slice(i, i + 1)
        alone += _scores(metric, x["perturbed"][one], x["target"][one], x["mask"][one])
    if _same(alone, batched):
        return None
    return f"scored one by one the images get {_shown(alone)}, in one batch {_shown(batched)}"


def _deterministic(metric: Metric, x: dict[str, torch.Tensor], first: list[float]) -> str | None:
    again = _scores(metric, x["perturbed"], x["target"], x["mask"])
    return None if _same(again, first) else f"two equal calls gave {_shown(first)} and {_shown(again)}"


def prepared(
    metric: Metric, device: str | torch.device, image_size: int, count: int
) -> tuple[Report, str | None, dict[str, torch.Tensor]]:
    """The report, the registration problem (None: fine; recorded as "declaration"), and the test inputs
    of a metric set up on ``device``. MetricUnavailable from ``setup`` propagates."""
    report = Report(metric)
    problem = contract_problem("metric", type(metric))
    if problem is not None:
        report.fail("declaration", problem)
    metric.setup(torch.device(device))
    return report, problem, _inputs(image_size, count, torch.device(device))


def check_metric(
    metric: Metric, *, device: str | torch.device = "cpu", image_size: int = 32, batch_size: int = 4
) -> None:
    """Set the metric up on ``device`` and check it; raise ContractError listing every violated clause.
    MetricUnavailable from ``setup`` propagates with its reason (a test may turn it into a skip)."""
    report, problem, x = prepared(metric, device, image_size, batch_size)
    target, mask, perturbed = x["target"], x["mask"], x["perturbed"]
    report.judge("inputs unchanged", lambda: _edited_inputs(metric, x))
    try:
        perfect = _scores(metric, x["identical"], target, mask)
        poor = _scores(metric, perturbed, target, mask)
    except InvalidScores as exc:
        report.fail("scores", f"compute {exc}")
    except Exception as exc:
        report.fail("scores", f"compute raised {type(exc).__name__}: {exc}")
    else:
        if problem is None:
            report.judge("direction", lambda: _direction(metric.higher_is_better, perfect, poor))
        report.judge("per-image", lambda: _per_image(metric, x, poor))
        report.judge("deterministic", lambda: _deterministic(metric, x, poor))
    report.raise_if_any()
