"""Checking and compositing what a model returns, before anything is scored."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

#: Rounding slack allowed outside [0, 1] before an output counts as invalid (then it is clamped).
RANGE_TOLERANCE = 1e-4


class InvalidOutput(Exception):
    """A model returned something that cannot be scored; the message says what."""


def output_problems(output: object, images: torch.Tensor) -> list[tuple[str, str]]:
    """Every way a model's raw output breaks ``Model.inpaint``'s promise, as (clause, detail): the one
    statement of it, which the runner enforces (``validate``) and the plugin kit reports in full. Any
    device will do: the runner moves the output to the batch's."""
    return _inspect(output, images)[0]


def validate(output: object, images: torch.Tensor) -> torch.Tensor:
    """The output on the batch's device and dtype, rounding slack clamped; ``InvalidOutput`` names the
    first broken clause."""
    problems, lo, hi = _inspect(output, images)
    if problems:
        raise InvalidOutput(problems[0][1])
    assert isinstance(output, torch.Tensor)
    output = output.to(device=images.device, dtype=images.dtype)
    return output.clamp(0, 1) if lo < 0 or hi > 1 else output


def _inspect(output: object, images: torch.Tensor) -> tuple[list[tuple[str, str]], float, float]:
    """The broken clauses, and the output's extremes (0, 1 when it has none)."""
    if not isinstance(output, torch.Tensor):
        return [("output type", f"returned {type(output).__name__}, expected a torch.Tensor")], 0.0, 1.0
    problems = []
    if tuple(output.shape) != tuple(images.shape):
        expected = tuple(images.shape)
        problems.append(("output shape", f"returned shape {tuple(output.shape)}, expected {expected}"))
    if not output.is_floating_point():
        problems.append(("output dtype", f"returned dtype {output.dtype}, expected a floating dtype"))
    lo, hi = 0.0, 1.0
    if output.numel():
        # one pass: the extremes are NaN or infinite exactly when some value is
        lo, hi = (float(v) for v in torch.aminmax(output.detach()))
        if not (math.isfinite(lo) and math.isfinite(hi)):
            problems.append(("output finite", "returned NaN or infinite values"))
        elif lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
            problems.append(("output range", f"returned values in [{lo:.4g}, {hi:.4g}], outside [0, 1]"))
    return problems, lo, hi


def composite(prediction: torch.Tensor, images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Prediction inside the hole, the original outside: what every metric scores."""
    return torch.where(masks.bool().expand_as(images), prediction, images)


def as_8bit(images: torch.Tensor) -> torch.Tensor:
    """``images.as_8bit`` for a tensor, bit for bit: float32 times 255, rounded half to even (as
    ``np.rint``), clipped, divided by 255. A run scores composites so rounded, which are exactly the
    PNGs it saves and the 8-bit files an outside model's predictions come in."""
    return (images.float() * 255.0).round_().clamp_(0, 255) / 255.0


class InvalidScores(Exception):
    """A metric returned something other than one number per image; the message says what."""


def validate_scores(values: object, n: int) -> list[float]:
    """A metric's output as ``n`` floats: a real-valued tensor of shape (n,), nothing else (an (n, 1)
    or 0-d result would be misread as other images' values or broadcast silently)."""
    if not isinstance(values, torch.Tensor):
        raise InvalidScores(f"returned {type(values).__name__}, expected a torch.Tensor of shape ({n},)")
    if tuple(values.shape) != (n,):
        raise InvalidScores(f"returned shape {tuple(values.shape)}, expected ({n},): one value per image")
    if values.is_complex() or values.dtype == torch.bool:
        raise InvalidScores(f"returned dtype {values.dtype}, expected real numbers")
    return values.detach().double().cpu().tolist()


def validate_features(values: object, n: int) -> np.ndarray:
    """A set-level metric's features as an n x D float32 array: a real, finite tensor of shape (n, D)."""
    if not isinstance(values, torch.Tensor):
        raise InvalidScores(f"features: returned {type(values).__name__}, expected a torch.Tensor ({n}, D)")
    if values.dim() != 2 or values.shape[0] != n or values.shape[1] == 0:
        raise InvalidScores(
            f"features: returned shape {tuple(values.shape)}, expected ({n}, D): one per image"
        )
    if values.is_complex() or values.dtype == torch.bool:
        raise InvalidScores(f"features: returned dtype {values.dtype}, expected real numbers")
    if not torch.isfinite(values).all():
        raise InvalidScores("features: returned NaN or infinite values")
    return values.detach().to("cpu", torch.float32, copy=True).numpy()  # never a view of the metric's memory


def validate_set_value(value: object) -> float:
    """A set-level metric's value: one real number (NaN when undefined), not a tensor or an array."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidScores(f"compute_set: returned {type(value).__name__}, expected a float")
    return float(value)
