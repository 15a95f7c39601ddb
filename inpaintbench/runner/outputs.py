"""Checking and compositing what a model returns, before anything is scored."""

from __future__ import annotations

import torch

#: Rounding slack allowed outside [0, 1] before an output counts as invalid (then it is clamped).
RANGE_TOLERANCE = 1e-4


class InvalidOutput(Exception):
    """A model returned something that cannot be scored; the message says what."""


def validate(output: object, images: torch.Tensor) -> torch.Tensor:
    if not isinstance(output, torch.Tensor):
        raise InvalidOutput(f"returned {type(output).__name__}, expected a torch.Tensor")
    if tuple(output.shape) != tuple(images.shape):
        raise InvalidOutput(f"returned shape {tuple(output.shape)}, expected {tuple(images.shape)}")
    output = output.to(device=images.device, dtype=images.dtype)
    if not torch.isfinite(output).all():
        raise InvalidOutput("returned NaN or infinite values")
    lo, hi = float(output.min()), float(output.max())
    if lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
        raise InvalidOutput(f"returned values in [{lo:.4g}, {hi:.4g}], outside [0, 1]")
    return output.clamp(0, 1)


def composite(prediction: torch.Tensor, images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Prediction inside the hole, the original outside: what every metric scores."""
    return torch.where(masks.bool().expand_as(images), prediction, images)


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
