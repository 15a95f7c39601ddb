"""``check_set_metric``: a set-level metric (FID-like) gives one vector per image and ranks a set equal
to the ground truth first.

Features are checked as the runner stores them (``validate_features``): real, finite, one row per image,
the same for an image alone as inside a batch, and the same on equal calls. ``compute_set`` is checked
on the features of the ground truth itself against those of a noisy copy: in the declared direction the
ground truth must score at least as well.
"""

from __future__ import annotations

import numpy as np
import torch

from ..components import SetMetric
from ..runner.model.outputs import InvalidScores, validate_features, validate_set_value
from .metric import REL_TOL, prepared


def _features(metric: SetMetric, images: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return validate_features(metric.features(images), len(images))


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.allclose(a, b, rtol=REL_TOL, atol=1e-6)


def _per_image(metric: SetMetric, images: torch.Tensor, batched: np.ndarray) -> str | None:
    alone = np.concatenate([_features(metric, images[i : i + 1]) for i in range(len(images))])
    if _close(alone, batched):
        return None
    worst = float(np.abs(alone - batched).max())
    return f"features of an image alone differ from those inside the batch by up to {worst:.3g}"


def _direction(metric: SetMetric, real: np.ndarray, poor: np.ndarray) -> str | None:
    perfect = validate_set_value(metric.compute_set(real, real))
    noisy = validate_set_value(metric.compute_set(poor, real))
    sign = 1 if metric.higher_is_better else -1
    if sign * (perfect - noisy) >= 0:
        return None
    return (
        f"the ground truth against itself scored {perfect:.6g}, a noisy copy {noisy:.6g}, with "
        f"higher_is_better = {metric.higher_is_better}: the direction is declared wrong, or the metric is"
    )


def check_set_metric(
    metric: SetMetric, *, device: str | torch.device = "cpu", image_size: int = 64, n: int = 6
) -> None:
    """Set the metric up on ``device`` and check it; raise ContractError listing every violated clause.
    MetricUnavailable from ``setup`` propagates with its reason (a test may turn it into a skip)."""
    report, problem, x = prepared(metric, device, image_size, n)
    target = x["target"]
    saved = target.clone()
    try:
        real = _features(metric, target)
        poor = _features(metric, x["perturbed"])
    except InvalidScores as exc:
        report.fail("features", str(exc))
    except Exception as exc:
        report.fail("features", f"features raised {type(exc).__name__}: {exc}")
    else:
        report.judge(
            "inputs unchanged", lambda: None if torch.equal(target, saved) else "features edited its input"
        )
        report.judge("per-image", lambda: _per_image(metric, x["perturbed"], poor))
        again = _features(metric, x["perturbed"])
        report.judge(
            "deterministic", lambda: None if _close(again, poor) else "two equal calls gave other features"
        )
        if problem is None:
            report.judge("direction", lambda: _direction(metric, real, poor))
    report.raise_if_any()
