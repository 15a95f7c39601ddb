"""Choosing the compute device: ``auto`` takes CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import InpaintbenchError

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str = "auto") -> torch.device:
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    base = name.split(":")[0]
    if base not in DEVICE_CHOICES:
        raise InpaintbenchError(f"--device '{name}' is not one of {', '.join(DEVICE_CHOICES)}")
    if base == "cuda" and not torch.cuda.is_available():
        raise InpaintbenchError("--device cuda was asked for, but torch sees no CUDA device here")
    if base == "mps" and not torch.backends.mps.is_available():
        raise InpaintbenchError("--device mps was asked for, but torch sees no MPS device here")
    return torch.device(name)
